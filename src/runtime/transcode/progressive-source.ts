// The raw video of a transcode, readable by FFmpeg from its first bytes (issue 19): the
// same sequential, resumable download to the work file as before, and beside it the
// loopback server (source-server.ts) that FFmpeg and ffprobe read instead of the file, so
// the encode starts while the download goes on. What the job sees: a URL to read, the
// probe, and, when the download fails for good, that failure (a DOWNLOAD error, retried)
// rather than whatever FFmpeg made of a cut connection (which would read as a bad input).
import type { Logger } from 'pino';
import type { ObjectInfo, ObjectStore } from '../../ports.js';
import { untrustedInputArgs } from '../../domain/untrusted-media.js';
import { FfmpegError, probe, type FfmpegBinaries, type ProbeResult } from '../ffmpeg/index.js';
import { invalidInput, toStepError } from './errors.js';
import { GrowingFile } from './growing-file.js';
import { startSourceServer, type SourceServer } from './source-server.js';

/**
 * The source is untrusted input: FFmpeg may open only HTTP (to our loopback server) and only
 * video containers, so a playlist or a concat list cannot make it read anything else.
 */
export const SOURCE_INPUT_ARGS: readonly string[] = untrustedInputArgs('http');

export interface ProgressiveSourceOptions {
  ffmpeg: FfmpegBinaries;
  store: ObjectStore;
  /** The object as HEAD saw it: its size is what the server announces. */
  object: ObjectInfo;
  /** The work file the download fills (and `file.part` while it runs). */
  file: string;
  /** The job's: aborts the download and every read. */
  signal: AbortSignal;
  logger: Logger;
  /** Once the whole source is on disk: how long the download took (the time-to-ready phase). */
  onDownloaded?: (seconds: number) => void;
}

export interface ProgressiveSource {
  /** Where FFmpeg reads the source: 127.0.0.1, a random port, an unguessable path. */
  readonly url: string;
  /** FFmpeg's options for that input (before -i): SOURCE_INPUT_ARGS. */
  readonly inputArgs: readonly string[];
  /** For produceLadder: FFmpeg reaches the source over HTTP. */
  readonly transport: 'http';
  /** ffprobe of the source: an unreadable video is an invalid input; a failed download a DOWNLOAD error. */
  probe(): Promise<ProbeResult>;
  /**
   * Runs `work` with a signal that also aborts when the download fails for good; if `work`
   * throws and the download has failed, the download's failure is thrown instead.
   */
  read<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T>;
  /** Stops the download if it still runs, and the server; the work file is left to the job's folder. */
  close(): Promise<void>;
}

export async function openProgressiveSource(opts: ProgressiveSourceOptions): Promise<ProgressiveSource> {
  const { store, object, logger } = opts;
  const key = object.key;
  const file = new GrowingFile({ part: `${opts.file}.part`, whole: opts.file }, object.size);
  const stop = new AbortController();
  const failed = new AbortController();
  const started = performance.now();
  const downloading = store.download(key, opts.file, { signal: AbortSignal.any([opts.signal, stop.signal]), onProgress: (b) => file.advance(b) }).then(
    () => {
      file.complete();
      const seconds = (performance.now() - started) / 1000;
      logger.info({ event_type: 'transcode_source_downloaded', bytes: object.size, seconds: round(seconds) }, `downloaded ${object.size} bytes in ${round(seconds)} s`);
      opts.onDownloaded?.(seconds);
    },
    (err: unknown) => {
      // Stopped by us or by the job: not a failure of the download.
      if (stop.signal.aborted || opts.signal.aborted) return;
      file.fail(err);
      failed.abort(err);
    },
  );
  let server: SourceServer;
  try {
    server = await startSourceServer({ file, logger, fetch: (range, signal) => store.getStream(key, { range, signal }) });
  } catch (err) {
    stop.abort();
    await downloading;
    throw err;
  }

  const read = async <T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> => {
    try {
      return await work(AbortSignal.any([opts.signal, failed.signal]));
    } catch (err) {
      if (failed.signal.aborted) throw toStepError('download', failed.signal.reason);
      throw err;
    }
  };

  return {
    url: server.url,
    inputArgs: SOURCE_INPUT_ARGS,
    transport: 'http',
    probe: () => read((signal) => probe(opts.ffmpeg.ffprobe, server.url, { signal, transport: 'http' }).catch((err: unknown) => {
      if (signal.aborted) throw err;
      if (err instanceof FfmpegError && err.refused !== null) throw invalidInput(`the upload ${key} is ${err.refused}`);
      // Name the object, not our loopback URL: this line ends up in the job's error_message.
      throw invalidInput(`cannot read the video: ${(err as Error).message.replaceAll(server.url, key)}`);
    })),
    read,
    async close() {
      stop.abort();
      await downloading;
      const stats = server.stats();
      await server.close();
      await file.close();
      logger.debug({ event_type: 'transcode_source_closed', ...stats }, 'source server closed');
    },
  };
}

/** Opens the source, runs `work` with it, and closes it whatever happens. */
export async function withProgressiveSource<T>(opts: ProgressiveSourceOptions, work: (source: ProgressiveSource) => Promise<T>): Promise<T> {
  const source = await openProgressiveSource(opts);
  try {
    return await work(source);
  } finally {
    await source.close();
  }
}

const round = (n: number): number => Math.round(n * 1000) / 1000;
