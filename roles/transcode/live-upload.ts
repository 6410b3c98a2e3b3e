// Uploads an HLS output while FFmpeg is still writing it, so the upload mostly overlaps
// the encode. Order is what keeps a half-finished output from looking complete: a media
// file goes up only once FFmpeg has closed it, a rendition playlist only after every file
// it lists, and the master (index.m3u8) last of all, in finish(), after FFmpeg exited 0.
//
// How a file is known to be closed:
// - it is listed in its rendition playlist: the hls muxer lists a segment only after
//   closing it. FFmpeg rewrites the playlist per segment for EVENT/live playlists; a VOD
//   playlist is written once, at the end (ffmpeg 5.1), so that alone uploads nothing early.
// - with `tempFile` (FFmpeg runs with `-hls_flags temp_file`) a .ts/.m4s file under its
//   final name is complete: FFmpeg writes `seg.ts.tmp` and renames it when closed. The
//   fmp4 init file is written in place, so it waits for a playlist to list it.
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { contentTypeFor } from '../../src/domain/content-types.js';
import { completedSegments, hasByteRanges, initSegments, masterVariants, resolvePlaylistUri } from '../../src/domain/rugbycodex/hls-playlist.js';
import { MASTER_PLAYLIST } from '../../src/domain/rugbycodex/hls-ladder.js';
import { THUMBNAILS_FOLDER } from '../../src/domain/rugbycodex/streaming-layout.js';
import type { ObjectStore } from '../../src/ports/index.js';
import { errorText } from '../../src/domain/describe-error.js';

export interface LiveUploadOptions {
  /** FFmpeg's output folder: master playlist at its top, renditions in sub-folders. */
  dir: string;
  store: ObjectStore;
  /** Key prefix of the output, e.g. `orgs/o/uploads/u/streaming/` ('/' is added when missing). */
  prefix: string;
  /** Aborting it is stop(): finish() then rejects with its reason. */
  signal?: AbortSignal;
  logger?: Logger;
  /** Uploads in flight at once. */
  concurrency?: number;
  /** Rescan period, as fs.watch misses events (network file systems, overlayfs, renames). */
  pollMs?: number;
  /** Remove a media file once uploaded (a small board's disk); playlists are always kept. */
  deleteUploaded?: boolean;
  /** FFmpeg runs with `-hls_flags temp_file`: .ts/.m4s files are complete once visible. */
  tempFile?: boolean;
  /** The master playlist's name in `dir` (default index.m3u8, where the player looks). */
  masterName?: string;
  /** Told of the first failed upload at once, so the caller can stop FFmpeg instead of encoding for nothing. */
  onError?: (err: Error) => void;
  /**
   * Told once of each media segment (.ts/.m4s) FFmpeg has closed, as soon as it is seen: its
   * rendition folder ('' at the top) and path under `dir`. How far the encode really is.
   */
  onSegment?: (segment: { rendition: string; path: string }) => void;
}

export interface LiveUploadSummary {
  objects: number;
  bytes: number;
}

export interface LiveUpload {
  /** After FFmpeg exited 0: the rest of the media, then rendition playlists, then the master. */
  finish(): Promise<LiveUploadSummary>;
  /** Cancels: in-flight uploads are aborted and the master is never uploaded. */
  stop(): Promise<void>;
}

/** Media files that go up without being listed, if FFmpeg left them (never the caller's poster.jpg). */
const LEFTOVER_MEDIA = /\.(ts|m4s|m4a|aac|vtt|webvtt)$/i;
/** What `tempFile` makes safe to upload on sight; init .mp4 files are written in place. */
const RENAMED_MEDIA = /\.(ts|m4s)$/i;
/** The storyboard (sheets written in place, then the VTT): whole only once FFmpeg has exited. */
const STORYBOARD = `${THUMBNAILS_FOLDER}/`;
const PLAYLIST = /\.m3u8$/i;

/** A fixed number of slots; a freed slot passes straight to the next waiter, so the cap holds. */
class Slots {
  private free: number;
  private readonly waiting: Array<() => void> = [];
  constructor(size: number) {
    this.free = size;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}

/** Every regular file under `dir` as a '/'-separated relative path; FFmpeg's *.tmp files are skipped. */
async function listFiles(dir: string, rel = ''): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(join(dir, ...rel.split('/').filter(Boolean)), { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []; // not created yet, or removed
    throw err;
  }
  const out: string[] = [];
  for (const e of entries) {
    const path = rel + e.name;
    if (e.isDirectory()) out.push(...(await listFiles(dir, `${path}/`)));
    else if (e.isFile() && !e.name.endsWith('.tmp')) out.push(path);
  }
  return out;
}

function oneLine(err: unknown): string {
  return errorText(err).replace(/\s*\n\s*/g, ' ');
}

export function startLiveUpload(options: LiveUploadOptions): LiveUpload {
  const { dir, store, logger } = options;
  const prefix = options.prefix === '' || options.prefix.endsWith('/') ? options.prefix : `${options.prefix}/`;
  const concurrency = options.concurrency ?? 4;
  const pollMs = options.pollMs ?? 500;
  const deleteUploaded = options.deleteUploaded ?? true;
  const masterName = options.masterName ?? MASTER_PLAYLIST;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`live upload concurrency must be a positive integer, got ${concurrency}`);

  // Aborted by stop(), the caller's signal, or the first failed upload (the rest is moot).
  const cancel = new AbortController();
  const onCallerAbort = (): void => {
    cancel.abort(options.signal?.reason);
    unwatch();
  };

  const slots = new Slots(concurrency);
  const claimed = new Set<string>(); // relative paths, each uploaded at most once
  const uploaded = new Set<string>();
  const tasks = new Set<Promise<void>>();
  let firstError: Error | null = null;
  let objects = 0;
  let bytes = 0;

  const fail = (err: Error): void => {
    if (firstError) return;
    firstError = err;
    logger?.warn({ event_type: 'hls_upload_failed', err: err.message }, err.message);
    cancel.abort(err);
    unwatch();
    try {
      options.onError?.(err);
    } catch (cbErr) {
      logger?.warn({ event_type: 'hls_upload_callback_failed', err: oneLine(cbErr) }, 'onError callback threw');
    }
  };
  const throwIfFailed = (): void => {
    if (firstError) throw firstError;
    if (cancel.signal.aborted) throw cancel.signal.reason;
  };

  const told = (rel: string): void => {
    const slash = rel.lastIndexOf('/');
    try {
      options.onSegment?.({ rendition: slash < 0 ? '' : rel.slice(0, slash), path: rel });
    } catch (cbErr) {
      logger?.warn({ event_type: 'hls_upload_callback_failed', err: oneLine(cbErr) }, 'onSegment callback threw');
    }
  };

  const upload = (rel: string, kind: 'media' | 'playlist'): void => {
    if (claimed.has(rel)) return;
    claimed.add(rel);
    if (kind === 'media' && RENAMED_MEDIA.test(rel)) told(rel);
    const key = prefix + rel;
    const file = join(dir, ...rel.split('/'));
    const task = slots.run(async () => {
      cancel.signal.throwIfAborted();
      const info = await store.upload(file, key, contentTypeFor(key), { signal: cancel.signal });
      uploaded.add(rel);
      objects++;
      bytes += info.size;
      logger?.debug({ event_type: 'hls_uploaded', key, bytes: info.size }, 'hls file uploaded');
      // The object is safe in the store; FFmpeg never reopens a closed segment.
      if (deleteUploaded && kind === 'media') await rm(file, { force: true });
    }).catch((err: unknown) => {
      if (cancel.signal.aborted) return; // stopped, or another upload failed first
      fail(new Error(`upload of ${key} failed: ${oneLine(err)}`, { cause: err }));
    }).finally(() => tasks.delete(task));
    tasks.add(task);
  };

  /** Waits until no upload is running, including ones queued while waiting. */
  const drain = async (): Promise<void> => {
    while (tasks.size > 0) await Promise.all(tasks);
  };

  // Playlists already read, so an unchanged one is not parsed again at every poll.
  const seen = new Map<string, string>();

  /** The files `playlist` lists (init sections first), as paths relative to dir. */
  const listedBy = (playlist: string, text: string): string[] =>
    [...initSegments(text), ...completedSegments(text)].map((uri) => {
      const rel = resolvePlaylistUri(playlist, uri);
      if (rel === null) throw new Error(`${playlist} lists ${uri}, which is not a file under the output folder`);
      return rel;
    });

  /** One look at the folder; `final` once FFmpeg has exited (everything on disk is complete). */
  const scan = async (final: boolean): Promise<string[]> => {
    const files = await listFiles(dir);
    const playlists = files.filter((f) => PLAYLIST.test(f) && f !== masterName).sort();
    for (const playlist of playlists) {
      const file = join(dir, ...playlist.split('/'));
      const st = await stat(file).catch(() => null);
      if (!st) continue;
      const stamp = `${st.size}:${st.mtimeMs}`;
      if (!final && seen.get(playlist) === stamp) continue;
      const text = await readFile(file, 'utf8').catch(() => null);
      if (text === null) continue;
      seen.set(playlist, stamp);
      // A byte-range file keeps growing until FFmpeg exits.
      if (!final && hasByteRanges(text)) continue;
      for (const rel of listedBy(playlist, text)) upload(rel, 'media');
    }
    for (const f of files) {
      if (PLAYLIST.test(f)) continue;
      if ((options.tempFile && RENAMED_MEDIA.test(f)) || (final && (LEFTOVER_MEDIA.test(f) || f.startsWith(STORYBOARD)))) upload(f, 'media');
    }
    return playlists;
  };

  // Scans are serialised; events during a scan ask for one more.
  let scanning: Promise<void> | null = null;
  let again = false;
  let watching = true;
  const requestScan = (): void => {
    if (!watching || cancel.signal.aborted) return;
    if (scanning) {
      again = true;
      return;
    }
    scanning = (async () => {
      do {
        again = false;
        await scan(false);
      } while (again && watching && !cancel.signal.aborted);
    })().catch((err: unknown) => {
      if (!cancel.signal.aborted) fail(err instanceof Error ? err : new Error(String(err)));
    }).finally(() => {
      scanning = null;
    });
  };

  // fs.watch on the folder and each sub-folder (FFmpeg creates them); the poll covers the rest.
  const watchers = new Map<string, FSWatcher>();
  const watchFolder = (path: string): void => {
    if (watchers.has(path)) return;
    try {
      const w = watch(path, { persistent: false }, () => {
        requestScan();
        void watchSubfolders();
      });
      w.on('error', () => {
        w.close();
        watchers.delete(path); // removed or unwatchable: the poll carries on
      });
      watchers.set(path, w);
    } catch {
      // Not there yet (or no inotify): a later poll tries again.
    }
  };
  const watchSubfolders = async (): Promise<void> => {
    if (!watching) return;
    watchFolder(dir);
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory() && watching) watchFolder(join(dir, e.name));
  };
  const poll = setInterval(() => {
    requestScan();
    void watchSubfolders();
  }, pollMs);
  poll.unref();
  function unwatch(): void {
    watching = false;
    clearInterval(poll);
    for (const w of watchers.values()) w.close();
    watchers.clear();
  }
  const stopWatching = async (): Promise<void> => {
    unwatch();
    await scanning;
  };
  options.signal?.addEventListener('abort', onCallerAbort, { once: true });
  if (options.signal?.aborted) onCallerAbort();
  void watchSubfolders();
  requestScan();

  const finishUpload = async (): Promise<LiveUploadSummary> => {
    await stopWatching();
    throwIfFailed();
    const started = Date.now();
    const playlists = await scan(true);
    await drain();
    throwIfFailed();

    // Rendition playlists, each only once everything it lists is in the store.
    for (const playlist of playlists) {
      const text = await readFile(join(dir, ...playlist.split('/')), 'utf8');
      const missing = listedBy(playlist, text).filter((rel) => !uploaded.has(rel));
      if (missing.length > 0) throw new Error(`${playlist} lists ${missing.join(', ')}, which ${missing.length === 1 ? 'was' : 'were'} not uploaded`);
      upload(playlist, 'playlist');
    }
    await drain();
    throwIfFailed();

    // The master last, and only when every playlist it points at is in the store.
    const master = await readFile(join(dir, masterName), 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new Error(err.code === 'ENOENT' ? `no ${masterName} in ${dir}: FFmpeg wrote no master playlist` : `cannot read ${masterName}: ${oneLine(err)}`, { cause: err });
    });
    const variants = masterVariants(master);
    if (variants.length === 0) throw new Error(`${masterName} lists no variant playlists`);
    for (const uri of variants) {
      const rel = resolvePlaylistUri(masterName, uri);
      if (rel === null || !uploaded.has(rel)) throw new Error(`${masterName} references ${uri}, which was not uploaded`);
    }
    upload(masterName, 'playlist');
    await drain();
    throwIfFailed();
    logger?.info({ event_type: 'hls_upload_finished', objects, bytes, tail_ms: Date.now() - started }, 'hls output uploaded');
    return { objects, bytes };
  };

  let finishing: Promise<LiveUploadSummary> | null = null;
  const cleanup = (): void => options.signal?.removeEventListener('abort', onCallerAbort);

  return {
    finish() {
      finishing ??= finishUpload().catch(async (err: unknown) => {
        // Whatever failed, nothing may go up after this: no master, no stray uploads.
        if (!cancel.signal.aborted) cancel.abort(err);
        await drain();
        throw firstError ?? err;
      }).finally(cleanup);
      return finishing;
    },
    async stop() {
      cancel.abort(new Error('live upload stopped'));
      await stopWatching();
      await drain();
      cleanup();
    },
  };
}
