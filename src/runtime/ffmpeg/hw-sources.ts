import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { mediaToolSpawn } from './child-env.js';
import type { FfmpegBinaries } from './locate.js';

/** Everything hardware detection reads from the system, so tests can feed fixtures. */
export interface HwProbeSources {
  /** File contents, or null when absent/unreadable. */
  readFile(path: string): Promise<string | null>;
  /** `ffmpeg -hide_banner -decoders` output. */
  decoders(): Promise<string>;
  /** `ffmpeg -hide_banner -hwaccels` output. */
  hwaccels(): Promise<string>;
  /** `ffmpeg -hide_banner -encoders` output. */
  encoders(): Promise<string>;
  /** Decode one frame of a small H.264 sample with these args before `-i`. */
  tryDecode(inputArgs: string[]): Promise<{ ok: boolean; detail: string }>;
  /** Encode a second of a small picture into `streams` streams at once with these encoder args (per-stream ones indexed 0…). */
  tryEncode(encoderArgs: string[], streams: number): Promise<{ ok: boolean; detail: string }>;
}

const LIST_TIMEOUT_MS = 15_000;
/** A test decode or encode; a hardware one that hangs is a failed one. */
const TEST_RUN_TIMEOUT_MS = 30_000;

export function systemHwSources(paths: Pick<FfmpegBinaries, 'ffmpeg'>): HwProbeSources {
  const list = async (flag: string) => {
    const { stdout } = await execa(paths.ffmpeg, ['-hide_banner', flag], { stdin: 'ignore', timeout: LIST_TIMEOUT_MS, ...mediaToolSpawn() });
    return stdout;
  };
  return {
    readFile: readTextFile,
    decoders: () => list('-decoders'),
    hwaccels: () => list('-hwaccels'),
    encoders: () => list('-encoders'),
    tryDecode: (inputArgs) => tryDecode(paths.ffmpeg, inputArgs),
    tryEncode: (encoderArgs, streams) => tryEncode(paths.ffmpeg, encoderArgs, streams),
  };
}

/** A platform file's text, or null when it is absent or unreadable (a board without it). */
export async function readTextFile(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

async function tryDecode(ffmpeg: string, inputArgs: string[]): Promise<{ ok: boolean; detail: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'rugbyworker-hwprobe-'));
  try {
    const sample = join(dir, 'sample.mp4');
    // 320x240: hardware decoders reject very small frames, which would be a false negative.
    const make = await execa(ffmpeg, [
      '-hide_banner', '-nostdin', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25',
      '-frames:v', '5', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-y', sample,
    ], { reject: false, stdin: 'ignore', timeout: TEST_RUN_TIMEOUT_MS, ...mediaToolSpawn() });
    if (make.exitCode !== 0) return { ok: false, detail: `could not make the test sample: ${firstLine(String(make.stderr))}` };
    const run = await execa(ffmpeg, [
      '-hide_banner', '-nostdin', '-v', 'error', ...inputArgs, '-i', sample, '-frames:v', '1', '-f', 'null', '-',
    ], { reject: false, stdin: 'ignore', timeout: TEST_RUN_TIMEOUT_MS, ...mediaToolSpawn() });
    if (run.exitCode === 0) return { ok: true, detail: 'decoded a test frame' };
    const why = run.timedOut ? 'timed out' : firstLine(String(run.stderr)) || `exit code ${run.exitCode ?? run.signal ?? '?'}`;
    return { ok: false, detail: why };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * As many streams as the ladder has rungs, from one process, as the ladder opens them: a
 * consumer GPU allows only a few NVENC sessions at once, and one stream would pass where
 * the ladder fails. 320x240: hardware encoders reject very small frames.
 */
async function tryEncode(ffmpeg: string, encoderArgs: string[], streams: number): Promise<{ ok: boolean; detail: string }> {
  const n = Math.max(1, streams);
  const labels = Array.from({ length: n }, (_, i) => `[e${i}]`);
  const graph = n === 1 ? '[0:v]format=yuv420p[e0]' : `[0:v]format=yuv420p,split=${n}${labels.join('')}`;
  const run = await execa(ffmpeg, [
    '-hide_banner', '-nostdin', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25:duration=1',
    '-filter_complex', graph, ...labels.flatMap((l) => ['-map', l]), ...encoderArgs, '-f', 'null', '-',
  ], { reject: false, stdin: 'ignore', timeout: TEST_RUN_TIMEOUT_MS, ...mediaToolSpawn() });
  if (run.exitCode === 0) return { ok: true, detail: `encoded a test clip${n > 1 ? ` in ${n} streams at once` : ''}` };
  const why = run.timedOut ? 'timed out' : firstLine(String(run.stderr)) || `exit code ${run.exitCode ?? run.signal ?? '?'}`;
  return { ok: false, detail: why };
}

/** First stderr line without ffmpeg's "[h264_cuvid @ 0x…] " prefix: usually the root cause. */
function firstLine(stderr: string): string {
  const line = stderr.split(/\r?\n/).map((l) => l.trim()).find(Boolean) ?? '';
  return line.replace(/^\[[^\]]*@ 0x[0-9a-f]+\]\s*/i, '');
}
