// A source read while it downloads (src/runtime/progressive-source/, and the transcode's view of it, roles/transcode/progressive-source.ts)
// with the real ffprobe and FFmpeg: an fs bucket whose download this test holds back or
// breaks, so what FFmpeg reads before the download is done, and what a failed download
// becomes, can be seen.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { FsObjectStore } from '../../src/adapters/storage/fs.js';
import { READ_LIMITS } from '../../src/domain/source-read.js';
import { transcodeErrorCode } from '../../src/domain/rugbycodex/transcode-state.js';
import { classifyFailure } from '../../src/domain/failure.js';
import type { DownloadOptions, ObjectInfo } from '../../src/ports/index.js';
import { locateFfmpeg, runFfmpeg, type FfmpegBinaries, type HwVerdict } from '../../src/runtime/ffmpeg/index.js';
import { TranscodeStepError } from '../../roles/transcode/errors.js';
import { produceLadder } from '../../roles/transcode/produce-ladder.js';
import { openProgressiveSource } from '../../src/runtime/progressive-source/progressive-source.js';
import { withProgressiveSource } from '../../roles/transcode/progressive-source.js';
import { DelegatingStore } from '../helpers/delegating-store.js';
import { makeClip } from '../helpers/rugbycodex.js';

const KEY = 'orgs/o/uploads/a/raw/match.mp4';
const CORRUPT_KEY = 'orgs/o/uploads/b/raw/broken.mp4';

/** A bucket whose download sends `holdAt` bytes, then waits for release() (or fails with `failWith`). */
class HeldStore extends DelegatingStore {
  holdAt = Infinity;
  failWith: Error | null = null;
  finished = false;
  private release: () => void = () => undefined;
  private readonly released = new Promise<void>((r) => { this.release = r; });

  go(): void { this.release(); }

  override async download(key: string, file: string, opts: DownloadOptions = {}): Promise<ObjectInfo> {
    const data = await readFile((this.inner as FsObjectStore).pathFor(key));
    const part = `${file}.part`;
    const fh = await open(part, 'w');
    try {
      const aborted = new Promise<never>((_, reject) => {
        if (opts.signal?.aborted) reject(opts.signal.reason);
        opts.signal?.addEventListener('abort', () => reject(opts.signal!.reason), { once: true });
      });
      aborted.catch(() => undefined);
      for (let at = 0; at < data.length;) {
        opts.signal?.throwIfAborted();
        if (at >= this.holdAt) {
          await Promise.race([this.released, aborted]);
          if (this.failWith) throw this.failWith;
        }
        const end = Math.min(data.length, at + 64 * 1024, at < this.holdAt ? this.holdAt : Infinity);
        await fh.write(data, at, end - at, at);
        at = end;
        opts.onProgress?.(at);
      }
    } catch (err) {
      await fh.close();
      await rm(part, { force: true });
      throw err;
    }
    await fh.close();
    await rename(part, file);
    this.finished = true;
    return { key, size: data.length };
  }
}

let tmp: string;
let bins: FfmpegBinaries;
let bucket: FsObjectStore;
let n = 0;
const logger = pino({ level: 'silent' });

beforeAll(async () => {
  bins = await locateFfmpeg(process.env);
  tmp = await mkdtemp(join(tmpdir(), 'rw-progressive-'));
  bucket = new FsObjectStore({ root: join(tmp, 'bucket'), bucket: 'rugbycodex' });
  const clip = join(tmp, 'clip.mp4');
  // No +faststart: the index (moov) is at the end, as phones write it. 720p, so the index
  // lies more than READ_LIMITS.aheadBytes beyond a download held at 1 MiB: fetched, not awaited.
  await makeClip(bins.ffmpeg, clip, 8, '1280x720');
  await bucket.upload(clip, KEY, 'video/mp4');
  const garbage = join(tmp, 'garbage.mp4');
  await writeFile(garbage, Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7919) % 251)));
  await bucket.upload(garbage, CORRUPT_KEY, 'video/mp4');
}, 60_000);

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function job(key = KEY): Promise<{ store: HeldStore; object: ObjectInfo; file: string; dir: string }> {
  const dir = join(tmp, `job-${++n}`);
  await mkdir(dir);
  const store = new HeldStore(bucket);
  return { store, object: (await store.head(key))!, file: join(dir, 'input'), dir };
}

describe('the progressive source', () => {
  it('probes a video whose index is at the end with 1 MiB of it downloaded: the index comes from the store', async () => {
    const { store, object, file } = await job();
    expect(object.size - 1024 * 1024).toBeGreaterThan(READ_LIMITS.aheadBytes);
    store.holdAt = 1024 * 1024;
    await withProgressiveSource({ ffmpeg: bins, store, object, file, signal: new AbortController().signal, logger }, async (source) => {
      try {
        const probed = await source.probe();
        expect(probed.video).toMatchObject({ codecName: 'h264', width: 1280, height: 720 });
        expect(probed.durationSeconds).toBeCloseTo(8, 0);
        expect(store.finished).toBe(false);
        expect(source.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[0-9a-f]{32}$/);
        expect(source.inputArgs).toEqual(['-protocol_whitelist', 'http,tcp', '-format_whitelist', expect.stringMatching(/^mov,/)]);
      } finally {
        store.go();
      }
    });
  }, 30_000);

  it('FFmpeg reads the whole video through it while the download goes on, output complete', async () => {
    const { store, object, file, dir } = await job();
    store.holdAt = Math.floor(object.size / 3);
    const out = join(dir, 'out.mp4');
    await withProgressiveSource({ ffmpeg: bins, store, object, file, signal: new AbortController().signal, logger }, async (source) => {
      const encoding = source.read((signal) => runFfmpeg(bins.ffmpeg, ['-y', ...source.inputArgs, '-i', source.url, '-c', 'copy', out], { signal }));
      setTimeout(() => store.go(), 500); // FFmpeg waits at a third, then the download goes on
      await encoding;
    });
    expect(store.finished).toBe(true);
    const frames = await runFfmpeg(bins.ffmpeg, ['-i', out, '-map', '0:v', '-f', 'null', '-'], {});
    expect(frames.stderrTail).not.toMatch(/error/i);
    expect(existsSync(`${file}.part`)).toBe(false);
  }, 30_000);

  it('a download that fails for good stops FFmpeg at once, and the job sees a DOWNLOAD error (retried), not a bad input', async () => {
    const { store, object, file, dir } = await job();
    store.holdAt = Math.floor(object.size / 2);
    store.failWith = Object.assign(new Error('connection reset, five times over'), { code: 'ECONNRESET' });
    const started = Date.now();
    const err = await withProgressiveSource({ ffmpeg: bins, store, object, file, signal: new AbortController().signal, logger }, async (source) => {
      const encoding = source.read((signal) => runFfmpeg(bins.ffmpeg, ['-y', ...source.inputArgs, '-i', source.url, '-f', 'mpegts', join(dir, 'out.ts')], { signal, stallSeconds: 60 }));
      setTimeout(() => store.go(), 500);
      return encoding;
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TranscodeStepError);
    expect((err as TranscodeStepError).failure).toEqual({ kind: 'download' });
    // A reset is an outage the engine waits out: never the FFmpeg exit that followed it.
    expect([transcodeErrorCode((err as TranscodeStepError).failure), classifyFailure(err)]).toEqual(['DOWNLOAD_ERROR', 'outage']);
    expect((err as Error).message).toBe('connection reset, five times over');
    expect(Date.now() - started).toBeLessThan(10_000); // not FFmpeg's stall watchdog
  }, 30_000);

  it('a corrupt file is an invalid input, its message naming the object, never the loopback URL', async () => {
    const { store, object, file } = await job(CORRUPT_KEY);
    let url = '';
    const err = await withProgressiveSource({ ffmpeg: bins, store, object, file, signal: new AbortController().signal, logger }, (source) => {
      url = source.url;
      return source.probe();
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TranscodeStepError);
    expect((err as TranscodeStepError).failure).toEqual({ kind: 'invalid_input' });
    expect((err as Error).message).toMatch(new RegExp(`^cannot read the video: ffprobe ${CORRUPT_KEY} exited with code 1`));
    expect((err as Error).message).not.toContain(url);
  }, 30_000);

  it('the hardware-decode fallback: the software re-run reads the source again through it, the ladder complete', async () => {
    const { store, object, file, dir } = await job();
    store.holdAt = 1024 * 1024;
    const events: Array<Record<string, unknown>> = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void events.push(JSON.parse(line) as Record<string, unknown>) });
    const bucketOut = new FsObjectStore({ root: join(dir, 'out'), bucket: 'out' });
    // A decoder this machine does not have, as a Jetson's verdict would name one.
    const hw: HwVerdict = { kind: 'nvidia', h264InputArgs: ['-c:v', 'h264_cuvid'], hevcInputArgs: [], platform: 'test', reason: 'claimed by the test' };
    const ladder = await withProgressiveSource({ ffmpeg: bins, store, object, file, signal: new AbortController().signal, logger: log }, async (source) => {
      const probed = await source.probe();
      setTimeout(() => store.go(), 300);
      return source.read((signal) => produceLadder({
        ffmpeg: bins, hw, input: source.url, transport: source.transport, source: probed, workDir: dir, store: bucketOut, prefix: 'streaming/',
        storyboard: false, rungHeights: [240], segmentSeconds: 2, segmentType: 'ts', stallSeconds: 30, signal, logger: log, onProgress: () => undefined,
      }));
    });
    expect(ladder.hardwareDecode).toBe(false);
    expect(events.filter((e) => e.event_type === 'hw_decode_fallback')).toHaveLength(1);
    const keys: string[] = [];
    for await (const o of bucketOut.list('streaming/')) keys.push(o.key);
    expect(keys.filter((k) => k.endsWith('.ts'))).toHaveLength(4);
    expect(keys).toContain('streaming/index.m3u8');
  }, 60_000);

  it('close() stops a download still going and leaves no part file', async () => {
    const { store, object, file } = await job();
    store.holdAt = 100_000;
    const source = await openProgressiveSource({ store, object, file, signal: new AbortController().signal, logger });
    await source.close();
    expect(store.finished).toBe(false);
    expect(existsSync(`${file}.part`)).toBe(false);
    expect(existsSync(file)).toBe(false);
  }, 30_000);
});
