// INFERENCE_BACKEND=ffmpeg: a naive stereo picture made by FFmpeg filters (the view beside a
// shifted copy of itself, or their red/cyan anaglyph) so a local run shows a visible result.
// Not depth-based 3D.
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Inference, InferenceRequest } from '../../ports/index.js';
import { naiveStereoArgs, passthroughFramesArgs } from '../../domain/stereo/media-args.js';
import { InvalidInputError } from '../../ports/index.js';
import { FfmpegError, ffmpegVersion, runFfmpeg, type FfmpegBinaries } from '../../runtime/ffmpeg/index.js';
import { objectOf, type StoreOf } from './stub.js';

export class FfmpegInference implements Inference {
  readonly name = 'ffmpeg';
  /** The frame-keeping flag depends on the FFmpeg version: asked once. */
  private passthrough: Promise<string[]> | undefined;
  constructor(private readonly opts: { storeOf: StoreOf; ffmpeg: () => Promise<FfmpegBinaries>; workDir: string; stallSeconds: number }) {}

  async process(req: InferenceRequest): Promise<void> {
    const from = objectOf(req.inputUri);
    const to = objectOf(req.outputUri);
    const dir = await mkdtemp(join(this.opts.workDir, 'infer-'));
    try {
      const input = join(dir, 'in.mp4');
      const output = join(dir, 'out.mp4');
      await this.opts.storeOf(from.bucket).download(from.key, input, { signal: req.signal });
      const ffmpeg = await this.opts.ffmpeg();
      // A -version that failed is asked again by the next segment.
      const passthrough = this.passthrough ??= ffmpegVersion(ffmpeg.ffmpeg).then(passthroughFramesArgs, (err: unknown) => { this.passthrough = undefined; throw err; });
      await runFfmpeg(ffmpeg.ffmpeg, naiveStereoArgs({ input, output, mode: req.mode, passthrough: await passthrough }), { signal: req.signal, stallSeconds: this.opts.stallSeconds, logger: req.logger }).catch((err: unknown) => {
        // The segment is no video container (a playlist uploaded under segments/): no retry can help.
        throw err instanceof FfmpegError && err.refused !== null ? new InvalidInputError(`${req.inputUri} is ${err.refused}`, { cause: err }) : err;
      });
      await this.opts.storeOf(to.bucket).upload(output, to.key, 'video/mp4', { signal: req.signal });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
