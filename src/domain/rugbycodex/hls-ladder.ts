// The HLS ladder (issue 4): which renditions a source gets, and the arguments of the ONE
// ffmpeg process that encodes them all (decode once, split, scale per rung; PLATFORM.md
// measured 45 s for a 3-rung ladder in one process against 53 s as three).
import { storyboardFilter, SHEET_PATTERN } from './storyboard.js';
import { THUMBNAILS_FOLDER, TOP_PLAYLIST } from './streaming-layout.js';
import type { VideoEncoder } from './video-encoder.js';

/** A rung as the multivariant playlist lists it. */
export interface Rendition {
  readonly name: string; // e.g. "720p"
  readonly width: number;
  readonly height: number;
  readonly bandwidth: number; // bits/s as in the master playlist
  readonly playlist: string; // relative to the streaming folder, e.g. "720p/index.m3u8"
}

export interface Rung {
  /** e.g. "720p": the short side, so a portrait 720x1280 rung is "720p" too. Also its folder. */
  name: string;
  width: number;
  height: number;
  videoKbps: number;
  maxrateKbps: number;
  bufsizeKbps: number;
  audioKbps: number;
}

export interface LadderSource {
  width: number;
  height: number;
  /** Degrees from ffprobe's display matrix; ±90/270 means the picture is shown sideways. */
  rotation?: number | null;
}

export const DEFAULT_RUNG_HEIGHTS: readonly number[] = [1080, 720, 480, 360];

/**
 * How many rungs of DEFAULT_RUNG_HEIGHTS a source gets when HLS_RENDITIONS is not set: all
 * that fit with a hardware encoder (a rung more costs it next to nothing), the top three
 * where the CPU encodes (an Orin Nano, a CPU-only task): the fourth would add about a
 * twentieth to the encode a coach waits on. null: no limit.
 */
export function defaultRungCount(encoder: string): number | null {
  return encoder === 'libx264' ? 3 : null;
}
/** The multivariant playlist at the top of the streaming folder, where the player looks. */
export const MASTER_PLAYLIST = TOP_PLAYLIST;
export const RENDITION_PLAYLIST = 'index.m3u8';
/** HLS_PRESET's default (issue 19): with x264ParamsFor on the top rung. */
export const DEFAULT_PRESET = 'ultrafast';
export const X264_PRESETS = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow'] as const;

/**
 * x264 options of the top rung on top of the preset. ultrafast turns adaptive quantisation
 * off; turning it back on for the top rung lifts its SSIM against a grainy 1080p source from
 * 0.864 to 0.880 (the Python worker's ultrafast 2 Mb/s output: 0.870) for about a tenth more
 * of its encode. The lower rungs are left without: there AQ cost time and lowered SSIM a little.
 */
export function x264ParamsFor(preset: string): string | null {
  return preset === 'ultrafast' ? 'aq-mode=1' : null;
}

/**
 * Average video bit rates (kb/s) by short side, from Apple's "HLS Authoring Specification
 * for Apple Devices", table "Video average bit rate": 416x234 145, 480x270 365, 640x360 730,
 * 768x432 1100, 960x540 2000, 1280x720 3000, 1920x1080 6000 (the lower of its two 720p
 * and 1080p rows). Other sizes (480p, a small source's own size) are interpolated by
 * pixel count between neighbours, and scaled by pixel count beyond either end.
 */
const APPLE_KBPS: ReadonlyArray<readonly [number, number]> = [
  [234, 145],
  [270, 365],
  [360, 730],
  [432, 1100],
  [540, 2000],
  [720, 3000],
  [1080, 6000],
];
const MIN_VIDEO_KBPS = 100;

/** Video kb/s for a rung whose short side is `shortSide` pixels (480p → 1475). */
export function videoKbpsFor(shortSide: number): number {
  const px = shortSide * shortSide;
  const first = APPLE_KBPS[0]!;
  const last = APPLE_KBPS[APPLE_KBPS.length - 1]!;
  let kbps: number;
  if (shortSide <= first[0]) kbps = first[1] * (px / (first[0] * first[0]));
  else if (shortSide >= last[0]) kbps = last[1] * (px / (last[0] * last[0]));
  else {
    const upper = APPLE_KBPS.findIndex(([h]) => h >= shortSide);
    const [h1, k1] = APPLE_KBPS[upper - 1]!;
    const [h2, k2] = APPLE_KBPS[upper]!;
    kbps = k1 + ((px - h1 * h1) / (h2 * h2 - h1 * h1)) * (k2 - k1);
  }
  return Math.max(MIN_VIDEO_KBPS, Math.round(kbps));
}

function rungFor(shortSide: number, long: number, short: number, portrait: boolean): Rung {
  const s = Math.max(2, evenFloor(shortSide));
  // Aspect kept from the source, capped at the source (an own-size rung must not grow).
  const l = Math.max(2, Math.min(evenRound((s * long) / short), evenFloor(long)));
  const videoKbps = videoKbpsFor(s);
  return {
    name: `${s}p`,
    width: portrait ? s : l,
    height: portrait ? l : s,
    videoKbps,
    // 110 % constrained VBR: the spec wants the measured peak within 10 % of BANDWIDTH,
    // which ffmpeg writes as 1.1 × the average. A 2 s buffer matches the 2 s GOP.
    maxrateKbps: Math.round(videoKbps * 1.1),
    bufsizeKbps: videoKbps * 2,
    // Stereo AAC-LC; the low rungs spend less of their small budget on audio.
    audioKbps: s >= 720 ? 128 : 96,
  };
}

/**
 * The rungs for a source, largest first: each wanted height (the short side) that does
 * not exceed the source, the `most` largest of them; none fits → one rung at the source's own size. Portrait
 * sources (after rotation) stay portrait; dimensions are even and keep the aspect.
 */
export function chooseRungs(source: LadderSource, wanted: readonly number[] = DEFAULT_RUNG_HEIGHTS, most: number | null = null): Rung[] {
  const { width, height } = source;
  if (!isPositive(width) || !isPositive(height)) throw new RangeError(`source size must be positive, got ${width}x${height}`);
  if (wanted.length === 0 || !wanted.every((h) => Number.isInteger(h) && h >= 2)) {
    throw new RangeError(`rendition heights must be integers ≥ 2, got [${wanted.join(', ')}]`);
  }
  const sideways = Math.abs(normalizeRotation(source.rotation ?? 0)) === 90;
  const shownW = sideways ? height : width;
  const shownH = sideways ? width : height;
  const portrait = shownH > shownW;
  const short = Math.min(shownW, shownH);
  const long = Math.max(shownW, shownH);

  const fitting = [...new Set(wanted.map(evenFloor))].filter((h) => h <= short).sort((a, b) => b - a).slice(0, most ?? undefined);
  const heights = fitting.length > 0 ? fitting : [short];
  return heights.map((h) => rungFor(h, long, short, portrait));
}

/** -180..180 in steps as given; 270 → -90. */
function normalizeRotation(degrees: number): number {
  if (!Number.isFinite(degrees)) return 0;
  const r = ((Math.round(degrees) % 360) + 360) % 360;
  return r > 180 ? r - 360 : r;
}

/**
 * Keyframe spacing: 2 s (the spec's "IDRs SHOULD be present every two seconds") when it
 * divides the segment length, otherwise the largest even split of the segment below 2 s,
 * so every segment starts on a keyframe and segments come out exactly segmentSeconds long.
 */
export function keyframeSeconds(segmentSeconds: number): number {
  return segmentSeconds / Math.ceil(segmentSeconds / 2);
}

/** `gte(t,n_forced*2)`, or `n_forced*5/3` style so ffmpeg multiplies before dividing (no drift). */
function keyframeExpr(segmentSeconds: number): string {
  const perSegment = Math.ceil(segmentSeconds / 2);
  const step = segmentSeconds / perSegment;
  return Number.isInteger(step) ? `expr:gte(t,n_forced*${step})` : `expr:gte(t,n_forced*${segmentSeconds}/${perSegment})`;
}

/** NVENC's preset, as the AWS burst workers run it (RUGBYCODEX.md). */
export const NVENC_PRESET = 'p4';
/** For a fixed GOP when ffprobe reported no frame rate. */
const ASSUMED_FPS = 30;

export interface EncoderArgsOptions {
  rungs: ReadonlyArray<Pick<Rung, 'videoKbps' | 'maxrateKbps' | 'bufsizeKbps'>>;
  preset?: string;
  segmentSeconds: number;
  fps: number | null;
}

/**
 * The video encoder's arguments for every rung: the same bit rate, 110 % maxrate and 2 s
 * buffer per rung whatever the encoder, and keyframes at the same instants in every rung
 * so segments align across renditions. Nothing may depend on the picture (a scene cut in
 * one rung is not one in another), so scene-cut keyframes are off everywhere.
 * - libx264: forced keyframes every keyframeSeconds, -g as a ceiling.
 * - h264_nvenc (NVENC_PRESET, as the burst workers): forced keyframes made IDR
 *   (-forced-idr), -g as a ceiling; VBR; 2 B-frames (every NVENC generation has H.264
 *   B-frames; they buy quality at no real speed cost); no lookahead, which is also what
 *   would turn on NVENC's scene-cut I-frames (-no-scenecut says so twice) and costs GPU
 *   memory per rung.
 * - h264_nvv4l2enc / h264_nvmpi: not every build honours -force_key_frames, so a fixed
 *   GOP of keyframeSeconds × fps (every I-frame an IDR in nvmpi; 30 fps assumed when
 *   unknown), no B-frames (nvmpi's default; older builds pass none), and only generic
 *   options, which any build accepts. Older nvmpi builds ignore maxrate and bufsize.
 */
export function videoEncoderArgs(encoder: VideoEncoder, opts: EncoderArgsOptions): string[] {
  const fps = opts.fps !== null && isPositive(opts.fps) ? opts.fps : null;
  const gopFrames = (rate: number): string => String(Math.ceil(keyframeSeconds(opts.segmentSeconds) * rate));
  const rates = opts.rungs.flatMap((r, i) => [`-b:v:${i}`, `${r.videoKbps}k`, `-maxrate:v:${i}`, `${r.maxrateKbps}k`, `-bufsize:v:${i}`, `${r.bufsizeKbps}k`]);
  const forced = ['-force_key_frames', keyframeExpr(opts.segmentSeconds)];
  const ceiling = fps === null ? [] : ['-g', gopFrames(fps)];
  switch (encoder) {
    case 'libx264': {
      const preset = opts.preset ?? DEFAULT_PRESET;
      const params = x264ParamsFor(preset);
      return ['-c:v', 'libx264', '-preset', preset, ...(params === null ? [] : ['-x264-params:v:0', params]), ...rates, ...forced, '-sc_threshold', '0', ...ceiling];
    }
    case 'h264_nvenc':
      return [
        '-c:v', 'h264_nvenc', '-preset', NVENC_PRESET, '-profile:v', 'high', '-rc', 'vbr', '-bf', '2', '-rc-lookahead', '0', '-no-scenecut', '1',
        ...rates, ...forced, '-forced-idr', '1', ...ceiling,
      ];
    case 'h264_nvv4l2enc':
    case 'h264_nvmpi':
      return ['-c:v', encoder, '-bf', '0', ...rates, '-g', gopFrames(fps ?? ASSUMED_FPS)];
  }
}

/** The most audio copied as it is into every rung; above it, each rung encodes its own. */
const MAX_COPIED_AUDIO_BPS = 192_000;

/**
 * The source's audio bit rate (bits/s) when it can go into every rung as it is: AAC (what
 * phones record), at most stereo, of a known rate no higher than MAX_COPIED_AUDIO_BPS. Else
 * null, and each rung encodes AAC. Copying saves one AAC encode per rung, which FFmpeg 5.1
 * runs on the same thread as the filter graph: a sixth of the ladder's time on a 1080p source.
 */
export function copyableAudioBps(audio: { codecName: string; channels?: number; bitRate?: number } | null): number | null {
  if (audio === null || audio.codecName !== 'aac' || audio.bitRate === undefined) return null;
  if (audio.channels !== undefined && audio.channels > 2) return null;
  return audio.bitRate <= MAX_COPIED_AUDIO_BPS ? audio.bitRate : null;
}

export interface LadderArgsOptions {
  input: string;
  /** Decoder choice (hardware decode), placed before -i. */
  inputArgs: readonly string[];
  rungs: readonly Rung[];
  hasAudio: boolean;
  /** The source's audio goes into every rung as it is (copyableAudioBps), not encoded per rung. */
  copyAudio?: boolean;
  /** Source frame rate, for the GOP length; null when unknown. */
  fps: number | null;
  segmentSeconds: number;
  segmentType: 'ts' | 'fmp4';
  /** Gets the master playlist (index.m3u8) and one folder per rung; must not contain "%" (ffmpeg's pattern character). */
  outDir: string;
  /** Video encoder of every rung (default libx264). */
  encoder?: VideoEncoder;
  /** libx264 preset (default DEFAULT_PRESET); the hardware encoders have their own. */
  preset?: string;
  /** Absolute stream indexes from ffprobe, when the first stream of a kind is not the one (cover art). */
  videoStreamIndex?: number;
  audioStreamIndex?: number;
  /** Also write the storyboard sheets to outDir/thumbnails/, from the same decode; the tile height. */
  storyboardTileHeight?: number;
}

const RUNG_NAME = /^[0-9A-Za-z_-]+$/;

/** Arguments (after ffmpeg's global ones) for the whole ladder in one ffmpeg process. */
export function buildLadderArgs(opts: LadderArgsOptions): string[] {
  const { rungs, hasAudio, segmentSeconds, outDir } = opts;
  if (rungs.length === 0) throw new RangeError('a ladder needs at least one rung');
  if (!isPositive(segmentSeconds)) throw new RangeError(`segmentSeconds must be positive, got ${segmentSeconds}`);
  if (outDir.includes('%')) throw new RangeError(`outDir must not contain "%": ${outDir}`);
  const names = rungs.map((r) => r.name);
  // Names become folders and var_stream_map tokens, where a space or comma would split them.
  if (!names.every((n) => RUNG_NAME.test(n)) || new Set(names).size !== names.length) {
    throw new RangeError(`rung names must be unique [0-9A-Za-z_-] words, got ${names.join(', ')}`);
  }
  const videoIn = opts.videoStreamIndex === undefined ? '0:v:0' : `0:${opts.videoStreamIndex}`;
  const audioIn = opts.audioStreamIndex === undefined ? '0:a:0' : `0:${opts.audioStreamIndex}`;
  const dir = outDir.replace(/\/+$/, '') || '/';
  const ext = opts.segmentType === 'fmp4' ? 'm4s' : 'ts';

  // Decode once; each rung is scaled from the one above it (largest first), not from the
  // source: the filter graph runs on one thread, and a 720p picture is a third of the work
  // of a 1080p one to scale down. setsar=1: the sizes above already keep the aspect.
  const storyboard = opts.storyboardTileHeight;
  const from = (i: number): string => (i === 0 && storyboard === undefined ? `[${videoIn}]` : `[c${i}]`);
  const graph = [
    ...(storyboard === undefined ? [] : [`[${videoIn}]split=2[c0][sb0]`]),
    ...rungs.map((r, i) => `${from(i)}scale=${r.width}:${r.height},setsar=1,format=yuv420p${i === rungs.length - 1 ? `[v${i}]` : `,split=2[v${i}][c${i + 1}]`}`),
    // Sheets are renumbered 0, 1, 2 … at 1 fps so the image muxer writes each once, without
    // -fps_mode (FFmpeg ≥ 5) or -vsync (deprecated there): JetPack's FFmpeg is 4.x.
    ...(storyboard === undefined ? [] : [`[sb0]${storyboardFilter(segmentSeconds, storyboard)},settb=1,setpts=N,fps=1[sb]`]),
  ].join(';');

  const args = ['-y', ...opts.inputArgs, '-i', opts.input, '-filter_complex', graph];
  rungs.forEach((_, i) => {
    args.push('-map', `[v${i}]`);
    if (hasAudio) args.push('-map', audioIn);
  });
  args.push(...videoEncoderArgs(opts.encoder ?? 'libx264', { rungs, preset: opts.preset, segmentSeconds, fps: opts.fps }));
  if (hasAudio && opts.copyAudio) {
    args.push('-c:a', 'copy');
  } else if (hasAudio) {
    args.push('-c:a', 'aac', '-ac', '2');
    rungs.forEach((r, i) => args.push(`-b:a:${i}`, `${r.audioKbps}k`));
  }
  // Audio packets arrive before the filter graph has produced video; the default
  // muxing queue can overflow on that ("Too many packets buffered").
  args.push('-max_muxing_queue_size', '1024');
  args.push(
    '-f', 'hls',
    '-hls_time', String(segmentSeconds),
    '-hls_playlist_type', 'vod',
    '-hls_segment_type', opts.segmentType === 'fmp4' ? 'fmp4' : 'mpegts',
  );
  // ffmpeg appends the variant index: <rung>/init_<i>.mp4, next to that rung's playlist.
  if (opts.segmentType === 'fmp4') args.push('-hls_fmp4_init_filename', 'init.mp4');
  args.push(
    // temp_file: a segment appears under its final name only once closed, so it can be uploaded while FFmpeg goes on.
    '-hls_flags', 'independent_segments+temp_file',
    '-master_pl_name', MASTER_PLAYLIST,
    '-var_stream_map', rungs.map((r, i) => (hasAudio ? `v:${i},a:${i},name:${r.name}` : `v:${i},name:${r.name}`)).join(' '),
    '-hls_segment_filename', `${dir}/%v/seg_%05d.${ext}`,
    `${dir}/%v/${RENDITION_PLAYLIST}`,
  );
  if (storyboard !== undefined) {
    args.push('-map', '[sb]', '-c:v', 'mjpeg', '-q:v', '4', '-max_muxing_queue_size', '1024', '-start_number', '0', `${dir}/${THUMBNAILS_FOLDER}/${SHEET_PATTERN}`);
  }
  return args;
}

/**
 * The renditions as the master playlist lists them: ffmpeg writes BANDWIDTH as the video and
 * audio bit rates plus a tenth (in whole bits/s), so the database carries the same figure.
 * `copiedAudioBps`: the source's audio rate, when it was copied into every rung.
 */
export function renditionsFor(rungs: readonly Rung[], hasAudio = true, copiedAudioBps: number | null = null): Rendition[] {
  return rungs.map((r) => {
    const bps = r.videoKbps * 1000 + (hasAudio ? copiedAudioBps ?? r.audioKbps * 1000 : 0);
    return { name: r.name, width: r.width, height: r.height, bandwidth: bps + Math.floor(bps / 10), playlist: `${r.name}/${RENDITION_PLAYLIST}` };
  });
}

function isPositive(n: number): boolean {
  return typeof n === 'number' && Number.isFinite(n) && n > 0;
}

function evenFloor(n: number): number {
  return Math.floor(n / 2) * 2;
}

function evenRound(n: number): number {
  return Math.round(n / 2) * 2;
}
