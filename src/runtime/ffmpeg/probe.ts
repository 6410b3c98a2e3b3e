import { execa } from 'execa';
import { untrustedInputArgs, type MediaTransport } from '../../domain/untrusted-media.js';
import { mediaToolSpawn } from './child-env.js';
import { FfmpegError } from './errors.js';
import { tailLines } from './tail.js';

export interface StreamInfo {
  index: number;
  codecType: string;
  codecName: string;
  width?: number;
  height?: number;
  /** From avg_frame_rate; absent for "0/0" (audio, or unknown). */
  frameRate?: number;
  /** Degrees as ffprobe reports them (display matrix first, then the legacy `rotate` tag). */
  rotation?: number;
  durationSeconds?: number | null;
  frames?: number | null;
  /** Audio: channels and bits/s, when ffprobe knows them. */
  channels?: number;
  bitRate?: number;
}

export interface ProbeResult {
  durationSeconds: number | null;
  sizeBytes: number;
  formatName: string;
  bitRate: number | null;
  streams: StreamInfo[];
  /** First video stream that is not a cover picture. */
  video: StreamInfo | null;
  audio: StreamInfo | null;
}

export interface ProbeOptions {
  signal?: AbortSignal;
  /** How ffprobe reaches `file`: a local path (default) or a URL of our loopback source server. */
  transport?: MediaTransport;
}

/** ffprobe of a video, which may be anyone's: only video containers, only the protocol `transport` needs. */
export async function probe(ffprobe: string, file: string, opts: ProbeOptions = {}): Promise<ProbeResult> {
  const args = ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', ...untrustedInputArgs(opts.transport ?? 'file'), file];
  const what = `ffprobe ${file}`;
  const result = await execa(ffprobe, args, {
    reject: false,
    stdin: 'ignore',
    ...mediaToolSpawn(),
    cancelSignal: opts.signal,
    forceKillAfterDelay: 2000,
    maxBuffer: 32 * 1024 * 1024,
  });
  const stderrTail = tailLines(String(result.stderr ?? ''), 40);
  if (result.isCanceled) throw new FfmpegError({ reason: 'aborted', stderrTail, what });
  if (result.exitCode === undefined && result.signal === undefined) {
    throw new FfmpegError({ reason: 'spawn', stderrTail: stderrTail || (result.shortMessage ?? 'spawn failed'), what }, { cause: result.cause });
  }
  if (result.exitCode !== 0) throw new FfmpegError({ reason: 'exit', exitCode: result.exitCode, stderrTail, what });
  try {
    return parseProbeJson(JSON.parse(String(result.stdout)));
  } catch (err) {
    throw new FfmpegError({ reason: 'exit', exitCode: 0, stderrTail: stderrTail || 'unreadable ffprobe output', what }, { cause: err });
  }
}

type Json = Record<string, unknown>;

/** Pure mapping of `ffprobe -print_format json -show_format -show_streams` output. */
export function parseProbeJson(json: unknown): ProbeResult {
  const root = asObject(json);
  const format = asObject(root.format);
  const streams = (Array.isArray(root.streams) ? root.streams : []).map((s) => parseStream(asObject(s)));
  const rawStreams = Array.isArray(root.streams) ? root.streams.map(asObject) : [];
  const isCover = (i: number) => asObject(rawStreams[i]?.disposition).attached_pic === 1;
  const video = streams.find((s, i) => s.codecType === 'video' && !isCover(i)) ?? null;
  const audio = streams.find((s) => s.codecType === 'audio') ?? null;
  return {
    durationSeconds: positiveOrNull(num(format.duration)),
    sizeBytes: num(format.size) ?? 0,
    formatName: str(format.format_name),
    bitRate: num(format.bit_rate),
    streams,
    video,
    audio,
  };
}

function parseStream(s: Json): StreamInfo {
  const info: StreamInfo = {
    index: num(s.index) ?? 0,
    codecType: str(s.codec_type),
    codecName: str(s.codec_name),
    durationSeconds: positiveOrNull(num(s.duration)),
    frames: num(s.nb_frames),
  };
  const width = num(s.width);
  const height = num(s.height);
  if (width !== null) info.width = width;
  if (height !== null) info.height = height;
  const frameRate = rational(s.avg_frame_rate);
  if (frameRate !== null) info.frameRate = frameRate;
  const rotation = rotationOf(s);
  if (rotation !== null) info.rotation = rotation;
  const channels = num(s.channels);
  if (channels !== null) info.channels = channels;
  const bitRate = num(s.bit_rate);
  if (bitRate !== null && bitRate > 0) info.bitRate = bitRate;
  return info;
}

function rotationOf(s: Json): number | null {
  const sideData = Array.isArray(s.side_data_list) ? s.side_data_list.map(asObject) : [];
  for (const entry of sideData) {
    const r = num(entry.rotation);
    if (r !== null && (entry.side_data_type === 'Display Matrix' || 'displaymatrix' in entry)) return r + 0;
  }
  // Older muxers and ffprobe builds only have the tag.
  const tag = num(asObject(s.tags).rotate);
  return tag === null ? null : tag + 0;
}

/** "30000/1001" → 29.97…; "0/0" and garbage → null. */
function rational(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const [n, d] = value.split('/').map(Number);
  if (n === undefined || !Number.isFinite(n)) return null;
  if (d === undefined) return n > 0 ? n : null;
  return Number.isFinite(d) && d !== 0 && n > 0 ? n / d : null;
}

function asObject(value: unknown): Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {};
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** ffprobe prints most numbers as strings, and "N/A" when unknown. */
function num(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value !== 'string' || value.trim() === '' || value === 'N/A') return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

function positiveOrNull(n: number | null): number | null {
  return n !== null && n >= 0 ? n : null;
}
