// The raw video of a transcode, read by FFmpeg while it downloads (../progressive-source/):
// what the job sees is a URL to read, the probe (an unreadable video is an invalid input),
// and, when the download fails for good, a DOWNLOAD step error (retried).
import { FfmpegError, probe, type FfmpegBinaries, type ProbeResult } from '../../src/runtime/ffmpeg/index.js';
import { openProgressiveSource, SourceDownloadError, type ProgressiveSource, type ProgressiveSourceOptions } from '../../src/runtime/progressive-source/progressive-source.js';
import { invalidInput, toStepError } from './errors.js';

export type TranscodeSourceOptions = ProgressiveSourceOptions & { ffmpeg: FfmpegBinaries };

/** The progressive source, its read failures DOWNLOAD step errors, with the transcode's probe. */
export type TranscodeSource = Omit<ProgressiveSource, 'close'> & {
  /** ffprobe of the source: an unreadable video is an invalid input; a failed download a DOWNLOAD error. */
  probe(): Promise<ProbeResult>;
};

/** Opens the source, runs `work` with it, and closes it whatever happens. */
export async function withProgressiveSource<T>(opts: TranscodeSourceOptions, work: (source: TranscodeSource) => Promise<T>): Promise<T> {
  const { object, logger } = opts;
  const key = object.key;
  const source = await openProgressiveSource({
    store: opts.store, object, file: opts.file, signal: opts.signal, logger,
    onDownloaded: (seconds) => {
      logger.info({ event_type: 'transcode_source_downloaded', bytes: object.size, seconds: round(seconds) }, `downloaded ${object.size} bytes in ${round(seconds)} s`);
      opts.onDownloaded?.(seconds);
    },
  });
  const read = async <R>(fn: (signal: AbortSignal) => Promise<R>): Promise<R> => {
    try {
      return await source.read(fn);
    } catch (err) {
      throw err instanceof SourceDownloadError ? toStepError('download', err.cause) : err;
    }
  };
  try {
    return await work({
      url: source.url,
      inputArgs: source.inputArgs,
      transport: source.transport,
      read,
      probe: () => read((signal) => probe(opts.ffmpeg.ffprobe, source.url, { signal, transport: 'http' }).catch((err: unknown) => {
        if (signal.aborted) throw err;
        if (err instanceof FfmpegError && err.refused !== null) throw invalidInput(`the upload ${key} is ${err.refused}`);
        // Name the object, not our loopback URL: this line ends up in the job's error_message.
        throw invalidInput(`cannot read the video: ${(err as Error).message.replaceAll(source.url, key)}`);
      })),
    });
  } finally {
    await source.close();
  }
}

const round = (n: number): number => Math.round(n * 1000) / 1000;
