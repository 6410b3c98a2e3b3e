// The FFmpeg side of the stereo pipeline as pure argument builders (PLATFORM.md §FFmpeg):
// the split (stream copy, cuts on keyframes), the frame-exact join (an ffconcat list with
// each file's duration: a plain concat list drifts), and the naive stereo filters the
// `ffmpeg` inference backend uses so a local run shows something (not depth-based 3D).
// Every input is someone else's file (the upload, a segment, a model server's output): read
// as untrusted media (untrusted-media.ts), our own concat list alone as a list.
import type { StereoMode } from './records.js';
import { ownConcatListArgs, untrustedInputArgs, type MediaTransport } from '../untrusted-media.js';

/** The split's output pattern inside its folder; files come out seg_00000.mp4, seg_00001.mp4, … */
export const SPLIT_PATTERN = 'seg_%05d.mp4';

/** `transport`: how FFmpeg reaches the source: its file, or the loopback URL of a source still downloading. */
export function splitArgs(opts: { input: string; outDir: string; segmentSeconds: number; transport?: MediaTransport }): string[] {
  if (!(opts.segmentSeconds > 0)) throw new RangeError(`segment length must be positive, got ${opts.segmentSeconds}`);
  return [
    '-y', ...untrustedInputArgs(opts.transport ?? 'file'), '-i', opts.input,
    // Video and audio only: data streams (an iPhone's timecode track) make the MP4 segment muxer fail.
    '-map', '0:v', '-map', '0:a?', '-c', 'copy',
    '-f', 'segment', '-segment_time', String(opts.segmentSeconds), '-reset_timestamps', '1', '-segment_format', 'mp4',
    `${opts.outDir.replace(/\/+$/, '')}/${SPLIT_PATTERN}`,
  ];
}

export interface ConcatPart {
  /** Path as FFmpeg should open it (absolute, or relative to the list). */
  file: string;
  /** The part's video length: its frames ÷ its frame rate. */
  durationSeconds: number;
}

/** `ffconcat version 1.0` with an explicit duration per file, so the join does not drift. */
export function ffconcatList(parts: readonly ConcatPart[]): string {
  if (parts.length === 0) throw new RangeError('nothing to join');
  return ['ffconcat version 1.0', ...parts.flatMap((p) => [`file ${ffconcatPath(p.file)}`, `duration ${p.durationSeconds.toFixed(6)}`]), ''].join('\n');
}

/**
 * A path as one ffconcat token, by FFmpeg's quoting rules (ffmpeg-utils, "Quoting and
 * escaping"): between single quotes every character is literal, backslashes and spaces
 * included, except `'` itself, which cannot be quoted: the quote is closed, the `'` escaped,
 * the quote reopened (`'\''`). A WORK_DIR such as /srv/it's here/ then joins like any other.
 */
export function ffconcatPath(path: string): string {
  // The list is read a line at a time: no quoting can carry a line break (nor a NUL) through it.
  if (/[\r\n\0]/.test(path)) throw new RangeError(`a path in an ffconcat list cannot hold a line break or NUL: ${JSON.stringify(path)}`);
  return `'${path.replaceAll("'", "'\\''")}'`;
}

export function concatArgs(opts: { list: string; output: string }): string[] {
  // faststart: the moov atom first, so a browser plays final.mp4 before it has all of it.
  return ['-y', ...ownConcatListArgs(), '-i', opts.list, '-map', '0:v', '-map', '0:a?', '-c', 'copy', '-movflags', '+faststart', opts.output];
}

/** Frames and frame rate of a file's first video stream, without decoding (packets are frames for these codecs). */
export function frameCountArgs(file: string): string[] {
  return ['-v', 'error', '-select_streams', 'v:0', '-count_packets', '-show_entries', 'stream=nb_read_packets,avg_frame_rate,r_frame_rate', '-of', 'json', ...untrustedInputArgs('file'), file];
}

/** ffprobe's "30000/1001" → 29.97…; null for 0/0 or garbage. */
export function parseRate(rate: unknown): number | null {
  if (typeof rate !== 'string') return null;
  const [n, d] = rate.split('/').map(Number);
  if (n === undefined || !Number.isFinite(n) || n <= 0) return null;
  const den = d === undefined ? 1 : d;
  return Number.isFinite(den) && den > 0 ? n / den : null;
}

/**
 * Keeps every decoded frame with its own timestamp. FFmpeg's default for MP4 is constant
 * frame rate, which duplicates a frame when a segment's video starts a little after its
 * audio (the split leaves ~20 ms there): 61 frames out of 60. The flag is `-fps_mode` from
 * FFmpeg 5.1 (FFmpeg 9 removed `-vsync`), `-vsync` before it (JetPack's FFmpeg is 4.x).
 * `version` is `-version`'s token ("5.1.6-0+deb12u1", "n4.4.2", "N-113-gabc": a git build, new).
 */
export function passthroughFramesArgs(version: string): string[] {
  const m = /^n?(\d+)\.(\d+)/.exec(version);
  const old = m !== null && (Number(m[1]) < 5 || (Number(m[1]) === 5 && Number(m[2]) < 1));
  return [old ? '-vsync' : '-fps_mode', 'passthrough'];
}

/**
 * A naive stereo picture from one view (the `ffmpeg` inference backend): sbs is full
 * side by side, twice the source width, the right eye shifted a little; anaglyph is the
 * red/cyan mix of the same two views, at the source size. Every frame kept
 * (`passthrough`: passthroughFramesArgs of the FFmpeg that runs it), audio copied.
 */
export function naiveStereoArgs(opts: { input: string; output: string; mode: StereoMode; shiftPixels?: number; passthrough: readonly string[] }): string[] {
  const shift = Math.max(2, Math.round(opts.shiftPixels ?? 8));
  // The right view: the picture moved `shift` pixels left, its right edge repeated.
  const views = `[0:v]split[l][r0];[r0]crop=iw-${shift}:ih:${shift}:0,pad=iw+${shift}:ih:0:0,fillborders=right=${shift}:mode=smear[r];[l][r]hstack`;
  const graph = opts.mode === 'sbs' ? `${views},format=yuv420p[v]` : `${views},stereo3d=sbsl:arcd,format=yuv420p[v]`;
  return [
    '-y', ...untrustedInputArgs('file'), '-i', opts.input, '-filter_complex', graph, '-map', '[v]', '-map', '0:a?', ...opts.passthrough,
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-c:a', 'copy', '-movflags', '+faststart', opts.output,
  ];
}
