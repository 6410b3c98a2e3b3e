// Running the stereo pipeline's FFmpeg steps (arguments from src/domain/stereo/media-args.ts):
// split a source into segments, count a file's frames, join segments frame-exactly and
// check the result before anyone uploads it.
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { mediaToolSpawn } from '../../src/runtime/ffmpeg/child-env.js';
import { concatArgs, ffconcatList, frameCountArgs, parseRate, splitArgs } from '../../src/domain/stereo/media-args.js';
import type { MediaTransport } from '../../src/domain/untrusted-media.js';
import { FfmpegError, runFfmpeg, type FfmpegBinaries } from '../../src/runtime/ffmpeg/index.js';
import { mapLimit } from '../../src/runtime/parallel.js';
import { InvalidInputError } from '../../src/ports/index.js';

export interface FrameCount {
  frames: number;
  fps: number;
  /** frames ÷ fps */
  durationSeconds: number;
}

/** Frames of the first video stream (packets counted, nothing decoded); an error when there is no video. */
export async function countFrames(ffprobe: string, file: string, signal?: AbortSignal): Promise<FrameCount> {
  const r = await execa(ffprobe, frameCountArgs(file), { reject: false, stdin: 'ignore', cancelSignal: signal, forceKillAfterDelay: 2000, ...mediaToolSpawn() });
  if (r.isCanceled) throw new FfmpegError({ reason: 'aborted', stderrTail: '', what: `ffprobe ${file}` });
  if (r.exitCode !== 0) throw new FfmpegError({ reason: 'exit', exitCode: r.exitCode, stderrTail: String(r.stderr ?? '').slice(-2000), what: `ffprobe ${file}` });
  const stream = (JSON.parse(String(r.stdout)) as { streams?: Array<Record<string, unknown>> }).streams?.[0];
  const frames = Number(stream?.nb_read_packets);
  const fps = parseRate(stream?.avg_frame_rate) ?? parseRate(stream?.r_frame_rate);
  if (!stream || !Number.isInteger(frames) || frames < 1 || fps === null) throw new InvalidInputError(`${file} has no video frames`);
  return { frames, fps, durationSeconds: frames / fps };
}

/**
 * A part that could not be read, named by its index; what it means is its cause's (FFmpeg
 * refusing it or exiting on it: a bad input; a stall or a kill: another try's business).
 */
export class PartError extends Error {
  override readonly name = 'PartError';
  /** `problem` ends "part N is …": "an HLS playlist, not a video container", "not readable as video (…)". */
  constructor(readonly index: number, readonly problem: string, options: { cause: unknown }) {
    super(`part ${index} is ${problem}`, options);
  }
}

/** What was wrong with a part, when its frame count failed on the part itself; null for a failure of this worker. */
function partProblem(err: unknown, file: string): string | null {
  if (err instanceof FfmpegError) {
    if (err.refused !== null) return err.refused;
    if (err.reason !== 'exit') return null;
    // FFmpeg's last line names the worker's file: the part is named by the caller instead.
    const last = err.stderrTail.trim().split('\n').at(-1)?.trim().replaceAll(`${file}: `, '') ?? '';
    return `not readable as video (ffprobe exit code ${err.exitCode ?? 'none'}${last ? `: ${last}` : ''})`;
  }
  return err instanceof InvalidInputError ? 'without video frames' : null;
}

/** Splits `input` (a file, or the URL of a progressive source) into `outDir/seg_00000.mp4`, … (stream copy, cuts on keyframes); the files in order. */
export async function splitSource(opts: {
  ffmpeg: FfmpegBinaries; input: string; transport?: MediaTransport; outDir: string; segmentSeconds: number; signal: AbortSignal; stallSeconds: number; durationSeconds?: number;
}): Promise<string[]> {
  await runFfmpeg(opts.ffmpeg.ffmpeg, splitArgs(opts), { signal: opts.signal, stallSeconds: opts.stallSeconds, durationSeconds: opts.durationSeconds });
  const files = (await readdir(opts.outDir)).filter((f) => /^seg_\d{5,}\.mp4$/.test(f)).sort();
  return files.map((f) => join(opts.outDir, f));
}

export interface JoinResult {
  frames: number;
  durationSeconds: number;
}

/**
 * Joins `parts` (in order) into `output` with stream copy and checks it: video frames equal
 * the sum of the parts', duration within one frame. A join that fails the check throws.
 */
export async function joinSegments(opts: {
  ffmpeg: FfmpegBinaries; parts: readonly string[]; output: string; workDir: string; signal: AbortSignal; stallSeconds: number;
  /** ffprobe runs at once while the parts are counted: a job of a thousand segments must not start a thousand. */
  probesInFlight: number;
}): Promise<JoinResult> {
  // Each part read alone as untrusted media first: the concat below may then open it.
  const counts = await mapLimit(opts.parts, opts.probesInFlight, (p, i) => countFrames(opts.ffmpeg.ffprobe, p, opts.signal).catch((err: unknown) => {
    const problem = partProblem(err, p);
    throw problem === null ? err : new PartError(i, problem, { cause: err });
  }));
  const list = join(opts.workDir, 'parts.ffconcat');
  await writeFile(list, ffconcatList(opts.parts.map((file, i) => ({ file, durationSeconds: counts[i]!.durationSeconds }))));
  const expectedSeconds = counts.reduce((s, c) => s + c.durationSeconds, 0);
  await runFfmpeg(opts.ffmpeg.ffmpeg, concatArgs({ list, output: opts.output }), { signal: opts.signal, stallSeconds: opts.stallSeconds, durationSeconds: expectedSeconds });
  const joined = await countFrames(opts.ffmpeg.ffprobe, opts.output, opts.signal);
  const expectedFrames = counts.reduce((s, c) => s + c.frames, 0);
  // The same parts join the same way on every try: a join that fails its check never passes it.
  if (joined.frames !== expectedFrames) throw new InvalidInputError(`joined file has ${joined.frames} video frames, the segments ${expectedFrames}`);
  if (Math.abs(joined.durationSeconds - expectedSeconds) > 1 / joined.fps) {
    throw new InvalidInputError(`joined file lasts ${joined.durationSeconds.toFixed(3)} s, the segments ${expectedSeconds.toFixed(3)} s`);
  }
  return { frames: joined.frames, durationSeconds: joined.durationSeconds };
}
