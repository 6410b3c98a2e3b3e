// The loopback server FFmpeg reads a downloading source from (roles/transcode/
// source-server.ts), over real HTTP: the "download" is this test writing the part file and
// calling the progress hook; the store is an fs bucket holding the whole object.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { appendFile, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { FsObjectStore } from '../../src/adapters/storage/fs.js';
import type { ByteRange } from '../../src/domain/byte-range.js';
import type { ReadLimits } from '../../src/domain/source-read.js';
import { GrowingFile } from '../../src/runtime/progressive-source/growing-file.js';
import { startSourceServer, type SourceServer } from '../../src/runtime/progressive-source/source-server.js';

const SIZE = 3 * 1024 * 1024;
const KEY = 'orgs/o/uploads/a/raw/match.mp4';
// Small enough that a 3 MiB object has bytes "just ahead" and "far ahead" of a partial download.
const LIMITS: ReadLimits = { chunkBytes: 64 * 1024, aheadBytes: 256 * 1024, windowBytes: 512 * 1024 };

let tmp: string;
let data: Buffer;
let store: FsObjectStore;
let n = 0;
let part: string;
let whole: string;
/** Where the "download" writes: the part file, or the whole file once renamed. */
let target: string;
let file: GrowingFile;
let server: SourceServer;
let fetched: ByteRange[];
let breakStoreAfter: number | null;

interface Answer { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer; error?: Error }

/** A plain HTTP request, as FFmpeg makes them; `error` when the connection was cut mid-body. */
function get(url: string, opts: { method?: string; range?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.range ? { Range: opts.range } : {} }, (res) => {
      const parts: Buffer[] = [];
      const done = (error?: Error): void => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts), ...(error ? { error } : {}) });
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => done());
      res.on('error', (err) => done(err));
      res.on('aborted', () => done(new Error('aborted')));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The "download" writing bytes from..to (exclusive) and reporting them. */
async function download(to: number): Promise<void> {
  const from = file.bytesOnDisk;
  await appendFile(target, data.subarray(from, to));
  file.advance(to);
}

const pending = (p: Promise<unknown>): Promise<boolean> => Promise.race([p.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 300))]);

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'rw-source-server-'));
  data = randomBytes(SIZE);
  store = new FsObjectStore({ root: join(tmp, 'bucket'), bucket: 'rugbycodex' });
  await store.upload(Readable.from([data]), KEY, 'video/mp4');
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

beforeEach(async () => {
  whole = join(tmp, `job-${++n}`);
  part = `${whole}.part`;
  target = part;
  await writeFile(part, '');
  file = new GrowingFile({ part, whole }, SIZE);
  fetched = [];
  breakStoreAfter = null;
  server = await startSourceServer({
    file, limits: LIMITS,
    fetch: async (range, signal) => {
      fetched.push(range);
      const body = await store.getStream(KEY, { range, signal });
      if (breakStoreAfter === null) return body;
      // A connection reset after some bytes.
      const cut = breakStoreAfter;
      return Readable.from((async function* () {
        let sent = 0;
        for await (const chunk of body as AsyncIterable<Buffer>) {
          if (sent + chunk.length > cut) {
            yield chunk.subarray(0, cut - sent);
            throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
          }
          sent += chunk.length;
          yield chunk;
        }
      })());
    },
  });
});

afterEach(async () => {
  await server.close();
  await file.close();
});

describe('the source server', () => {
  it('answers HEAD with the size and byte ranges, only on its own path, only HEAD and GET', async () => {
    const head = await get(server.url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers).toMatchObject({ 'content-length': String(SIZE), 'accept-ranges': 'bytes' });
    expect(head.body.length).toBe(0);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[0-9a-f]{32}$/);
    expect((await get(new URL('/other', server.url).href)).status).toBe(404);
    expect((await get(`${server.url}x`)).status).toBe(404);
    expect((await get(server.url, { method: 'POST' })).status).toBe(405);
    expect((await get(server.url, { range: `bytes=${SIZE}-` })).status).toBe(416);
    expect((await get(server.url, { range: `bytes=${SIZE}-` })).headers['content-range']).toBe(`bytes */${SIZE}`);
    expect(fetched).toEqual([]);
  });

  it('serves a range already on disk from the growing file', async () => {
    await download(1024 * 1024);
    const r = await get(server.url, { range: 'bytes=1000-299999' });
    expect(r.status).toBe(206);
    expect(r.headers).toMatchObject({ 'content-range': `bytes 1000-299999/${SIZE}`, 'content-length': '299000' });
    expect(r.body.equals(data.subarray(1000, 300_000))).toBe(true);
    expect(fetched).toEqual([]);
    expect(server.stats()).toMatchObject({ diskBytes: 299_000, storeBytes: 0, waits: 0 });
  });

  it('fetches a range far ahead of the download (an index at the end) from the store, in windows', async () => {
    await download(100_000);
    const start = SIZE - 700_000;
    const r = await get(server.url, { range: `bytes=${start}-` });
    expect(r.status).toBe(206);
    expect(r.body.equals(data.subarray(start))).toBe(true);
    expect(fetched).toEqual([{ start, end: start + LIMITS.windowBytes - 1 }, { start: start + LIMITS.windowBytes, end: SIZE - 1 }]);
    expect(file.bytesOnDisk).toBe(100_000);
  });

  it('makes a range just ahead of the download wait for it, then serves it from disk', async () => {
    await download(1024 * 1024);
    const start = 1024 * 1024 + 1000;
    const answer = get(server.url, { range: `bytes=${start}-${start + 99}` });
    expect(await pending(answer)).toBe(true);
    await download(start + 50); // not there yet
    expect(await pending(answer)).toBe(true);
    await download(start + 100);
    const r = await answer;
    expect(r.body.equals(data.subarray(start, start + 100))).toBe(true);
    expect(fetched).toEqual([]);
    expect(server.stats().waits).toBeGreaterThanOrEqual(1);
  });

  it('streams the whole source as the download brings it, the part file renamed on the way', async () => {
    await download(200_000);
    const answer = get(server.url, { range: 'bytes=0-' });
    for (let at = 400_000; at < SIZE; at += 400_000) {
      await new Promise((r) => setTimeout(r, 10));
      await download(at);
      if (at === 1_200_000) {
        await rename(part, whole); // as the adapter does once done: an open handle reads on
        target = whole;
      }
    }
    await download(SIZE);
    file.complete();
    const r = await answer;
    expect(r.error).toBeUndefined();
    expect(r.body.equals(data)).toBe(true);
    expect(fetched).toEqual([]);
  });

  it('reads the finished file when the download was done (and renamed its part file) before the first read', async () => {
    await download(SIZE);
    await rename(part, whole);
    file.complete();
    const r = await get(server.url, { range: 'bytes=5-' });
    expect(r.body.equals(data.subarray(5))).toBe(true);
    expect(fetched).toEqual([]);
  });

  it('a download that fails for good cuts the responses waiting for it (an error, never a short body) and refuses new ones', async () => {
    await download(500_000);
    const answer = get(server.url);
    expect(await pending(answer)).toBe(true);
    file.fail(new Error('download failed for good'));
    const r = await answer;
    expect(r.status).toBe(200);
    expect(r.body.length).toBeLessThan(SIZE);
    expect(r.error).toBeDefined();
    expect((await get(server.url, { range: 'bytes=0-99' })).status).toBe(503);
  });

  it('a store read that breaks falls back to waiting for the download, which resumes', async () => {
    await download(100_000);
    breakStoreAfter = 1000;
    const start = SIZE - 300_000;
    const answer = get(server.url, { range: `bytes=${start}-` });
    expect(await pending(answer)).toBe(true);
    expect(fetched).toHaveLength(1);
    await download(SIZE);
    file.complete();
    const r = await answer;
    expect(r.error).toBeUndefined();
    expect(r.body.equals(data.subarray(start))).toBe(true);
    expect(server.stats()).toMatchObject({ storeReads: 1, storeFailures: 1, storeBytes: 1000 });
  });

  it('close() cuts the open responses and stops listening', async () => {
    await download(100_000);
    const answer = get(server.url);
    expect(await pending(answer)).toBe(true);
    await server.close();
    expect((await answer).error).toBeDefined();
    await expect(get(server.url)).rejects.toThrow(/ECONNREFUSED/);
  });
});
