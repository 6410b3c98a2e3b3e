// An object FFmpeg and ffprobe can read from its first bytes (issue 19): the same sequential,
// resumable download to the work file as a plain download, and beside it the loopback server
// (source-server.ts) they read instead of the file, so the work starts while the download
// goes on. Transcode encodes from it; chunk splits from it. A download that fails for good
// aborts the reading work and is what the work throws (SourceDownloadError, retried), never
// whatever FFmpeg made of a cut connection (which would read as a bad input).
import type { Logger } from 'pino';
import type { ObjectInfo, ObjectStore } from '../../ports/index.js';
import { untrustedInputArgs } from '../../domain/untrusted-media.js';
import { GrowingFile } from './growing-file.js';
import { startSourceServer, type SourceServer } from './source-server.js';

/**
 * The source is untrusted input: FFmpeg may open only HTTP (to our loopback server) and only
 * video containers, so a playlist or a concat list cannot make it read anything else.
 */
export const SOURCE_INPUT_ARGS: readonly string[] = untrustedInputArgs('http');

/** The download under a progressive source failed for good; `cause` says why. */
export class SourceDownloadError extends Error {
  override readonly name = 'SourceDownloadError';
  constructor(key: string, cause: unknown) {
    super(`downloading ${key} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

export interface ProgressiveSourceOptions {
  store: ObjectStore;
  /** The object as HEAD saw it: its size is what the server announces. */
  object: ObjectInfo;
  /** The work file the download fills (and `file.part` while it runs). */
  file: string;
  /** The job's: aborts the download and every read. */
  signal: AbortSignal;
  logger: Logger;
  /** Once the whole object is in `file`, with the download's wall seconds. */
  onDownloaded?: (seconds: number) => void;
}

export interface ProgressiveSource {
  /** Where FFmpeg reads the source: 127.0.0.1, a random port, an unguessable path. */
  readonly url: string;
  /** FFmpeg's options for that input (before -i): SOURCE_INPUT_ARGS. */
  readonly inputArgs: readonly string[];
  /** FFmpeg reaches the source over HTTP. */
  readonly transport: 'http';
  /**
   * Runs `work` with a signal that also aborts when the download fails for good; if `work`
   * throws and the download has failed, a SourceDownloadError is thrown instead.
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
      opts.onDownloaded?.((performance.now() - started) / 1000);
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

  return {
    url: server.url,
    inputArgs: SOURCE_INPUT_ARGS,
    transport: 'http',
    async read<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
      try {
        return await work(AbortSignal.any([opts.signal, failed.signal]));
      } catch (err) {
        if (failed.signal.aborted) throw new SourceDownloadError(key, failed.signal.reason);
        throw err;
      }
    },
    async close() {
      stop.abort();
      await downloading;
      const stats = server.stats();
      await server.close();
      await file.close();
      logger.debug({ event_type: 'source_closed', ...stats }, 'source server closed');
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
