// The poster frame: one JPEG at ~10% of the video (software decode: one frame is cheap).
import { stat } from 'node:fs/promises';
import { buildPosterArgs, posterAtSeconds } from '../../domain/hls-ladder.js';
import { runFfmpeg, type FfmpegBinaries, type ProbeResult } from '../ffmpeg/index.js';

export async function makePoster(opts: { ffmpeg: FfmpegBinaries; input: string; source: ProbeResult; outFile: string; signal: AbortSignal; stallSeconds: number }): Promise<void> {
  const run = (atSeconds: number) => runFfmpeg(opts.ffmpeg.ffmpeg, buildPosterArgs({
    input: opts.input, inputArgs: [], atSeconds, outFile: opts.outFile, width: 1280, videoStreamIndex: opts.source.video?.index,
  }), { signal: opts.signal, stallSeconds: opts.stallSeconds });
  await run(posterAtSeconds(opts.source.durationSeconds));
  // A seek past the last frame exits 0 without writing anything: take the first frame then.
  if (!(await exists(opts.outFile))) await run(0);
  if (!(await exists(opts.outFile))) throw new Error('ffmpeg wrote no poster frame');
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then((s) => s.size > 0, () => false);
}
