// One behaviour for every ObjectStore adapter: run by storage-s3.test.ts (fauxqs) and
// storage-fs.test.ts (a temp directory). What only one backend can show (HeadObject,
// UploadPart calls, the fs layout) comes in through the harness.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, statSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ObjectNotFoundError, UnsafeKeyError } from '../../src/domain/object-keys.js';
import type { ObjectInfo, ObjectStore } from '../../src/ports/index.js';
import { DelegatingStore } from '../helpers/delegating-store.js';

export interface StoreHarness {
  store: ObjectStore;
  /** Another bucket of the same backend (and client), for copies between buckets. */
  other: ObjectStore;
  /** The content type as the backend itself keeps it (S3: a raw HeadObject). */
  storedContentType(key: string): Promise<string | undefined>;
  /** Multipart parts sent so far, or null for a backend without multipart. */
  uploadParts(): number | null;
  /** The multipart part size the store was built with, when it has one. */
  partSizeBytes?: number;
  /** Why this backend cannot be held to S3's UTF-8 byte order of keys (a stand-in's defect), if it cannot. */
  notByteOrdered?: string;
  /** Server-side copies (CopyObject) sent so far, or null for a backend without them. */
  serverCopies(): number | null;
  /** Why this backend cannot be held to a copy taking the content type it is given (a stand-in's defect), if it cannot. */
  copyKeepsSourceType?: string;
  /** Sizes of the DeleteObjects calls so far, or null for a backend without them. */
  deleteCalls(): number[] | null;
  /** Makes deleting `key` fail in the next deleteMany; resolves a pattern the per-key error message must match. */
  makeUndeletable(key: string): Promise<RegExp>;
  teardown(): Promise<void>;
}

const MiB = 1024 * 1024;
const LONG = 120_000;

export const UNSAFE_KEYS = ['', '/abs/x', '../escape.txt', 'a/../../escape.txt', 'a//b', 'a/./b', 'nul\0.txt', 'back\\slash', 'ctl\u0001.txt', 'trailing/'];

/** `size` bytes of random-looking data, made 1 MiB at a time, and its sha256 once read. */
export function randomStream(size: number): { stream: Readable; sha256: () => string } {
  const base = randomBytes(MiB);
  const hash = createHash('sha256');
  let digest: string | undefined;
  function* chunks(): Generator<Buffer> {
    for (let offset = 0, i = 0; offset < size; offset += MiB, i++) {
      const chunk = Buffer.from(base.subarray(0, Math.min(MiB, size - offset)));
      if (chunk.length >= 8) chunk.writeBigUInt64LE(BigInt(i), 0); // every MiB (so every part) differs
      hash.update(chunk);
      yield chunk;
    }
    digest = hash.digest('hex');
  }
  return {
    stream: Readable.from(chunks(), { objectMode: false }),
    sha256: () => {
      if (digest === undefined) throw new Error('stream not fully read');
      return digest;
    },
  };
}

export async function sha256Of(source: string | Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of typeof source === 'string' ? createReadStream(source) : source) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function collect(iterable: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const all: ObjectInfo[] = [];
  for await (const o of iterable) all.push(o);
  return all;
}

/** Runs `fn` over `items` with at most `limit` at once. */
export async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

export function describeObjectStoreConformance(name: string, setup: () => Promise<StoreHarness>): void {
  describe(`ObjectStore conformance: ${name}`, () => {
    let h: StoreHarness;
    let store: ObjectStore;
    let work: string;

    beforeAll(async () => {
      h = await setup();
      store = h.store;
      work = await mkdtemp(join(tmpdir(), 'rugbyworker-conformance-'));
    }, LONG);

    afterAll(async () => {
      await h?.teardown();
      if (work) await rm(work, { recursive: true, force: true });
    }, LONG);

    it('round-trips a file: upload, head, exists, download, getStream with equal sha256', async () => {
      const src = join(work, 'small-src.bin');
      const data = randomBytes(300_000);
      await writeFile(src, data);
      const want = createHash('sha256').update(data).digest('hex');

      const put = await store.upload(src, 'rt/dir/small file.bin', 'application/octet-stream');
      expect(put).toMatchObject({ key: 'rt/dir/small file.bin', size: data.length });

      const head = await store.head('rt/dir/small file.bin');
      expect(head).toMatchObject({ key: 'rt/dir/small file.bin', size: data.length, contentType: 'application/octet-stream' });
      expect(head?.etag).toBe(put.etag);
      expect(head?.lastModified?.getTime()).toEqual(expect.any(Number)); // a Date (from another realm under jest)
      expect(await store.exists('rt/dir/small file.bin')).toBe(true);
      expect(await store.exists('rt/dir/other.bin')).toBe(false);
      expect(await store.head('rt/dir')).toBeNull(); // a prefix is not an object

      const dst = join(work, 'deep', 'er', 'small-dst.bin');
      const got = await store.download('rt/dir/small file.bin', dst);
      expect(got).toMatchObject({ key: 'rt/dir/small file.bin', size: data.length });
      expect(await sha256Of(dst)).toBe(want);
      expect(existsSync(`${dst}.part`)).toBe(false);

      expect(await sha256Of(await store.getStream('rt/dir/small file.bin'))).toBe(want);
    });

    it('getStream reads a byte range: within, to the end, an end past the object clamped; a start past it refused', async () => {
      const data = randomBytes(100_000);
      await store.upload(Readable.from([data]), 'range/clip.mp4', 'video/mp4');
      const read = async (range: { start: number; end?: number }): Promise<Buffer> => {
        const parts: Buffer[] = [];
        for await (const chunk of await store.getStream('range/clip.mp4', { range })) parts.push(chunk as Buffer);
        return Buffer.concat(parts);
      };
      expect((await read({ start: 1000, end: 1999 })).equals(data.subarray(1000, 2000))).toBe(true);
      expect((await read({ start: 99_990 })).equals(data.subarray(99_990))).toBe(true);
      expect((await read({ start: 99_999, end: 99_999 })).equals(data.subarray(99_999))).toBe(true);
      expect((await read({ start: 90_000, end: 200_000 })).equals(data.subarray(90_000))).toBe(true);
      expect((await read({ start: 0 })).equals(data)).toBe(true);
      await expect(store.getStream('range/clip.mp4', { range: { start: 100_000 } })).rejects.toThrow(RangeError);
      await expect(store.getStream('range/clip.mp4', { range: { start: 10, end: 5 } })).rejects.toThrow(RangeError);
      await expect(store.getStream('range/missing.mp4', { range: { start: 0 } })).rejects.toThrow(ObjectNotFoundError);
    });

    it('download reports the bytes on disk as it goes: the part file holds them, the last report is the size', async () => {
      const size = 3 * MiB + 12_345;
      const src = randomStream(size);
      await store.upload(src.stream, 'progress/clip.mp4', 'video/mp4');
      const dst = join(work, 'progress', 'clip.mp4');
      const seen: number[] = [];
      let behind: string | null = null;
      await store.download('progress/clip.mp4', dst, {
        onProgress: (bytes) => {
          seen.push(bytes);
          // What the hook reports must already be readable from the part file.
          const onDisk = statSync(`${dst}.part`).size;
          if (onDisk < bytes && behind === null) behind = `reported ${bytes} with ${onDisk} bytes in the part file`;
        },
      });
      expect(behind).toBeNull();
      expect(seen.length).toBeGreaterThan(1);
      expect(seen.at(-1)).toBe(size);
      expect(seen.every((b, i) => i === 0 || b > seen[i - 1]!)).toBe(true);
      expect(await sha256Of(dst)).toBe(src.sha256());
    });

    it('keeps the content type, and an overwrite replaces body and type', async () => {
      await store.upload(Readable.from([Buffer.from('first')]), 'ct/clip.mp4', 'video/mp4');
      expect(await h.storedContentType('ct/clip.mp4')).toBe('video/mp4');
      expect((await store.head('ct/clip.mp4'))?.contentType).toBe('video/mp4');

      await store.upload(Readable.from([Buffer.from('#EXTM3U\n')]), 'ct/clip.mp4', 'application/vnd.apple.mpegurl');
      expect(await h.storedContentType('ct/clip.mp4')).toBe('application/vnd.apple.mpegurl');
      expect(await store.head('ct/clip.mp4')).toMatchObject({ size: 8, contentType: 'application/vnd.apple.mpegurl' });
      expect(await sha256Of(await store.getStream('ct/clip.mp4'))).toBe(createHash('sha256').update('#EXTM3U\n').digest('hex'));
    });

    it('uploads an empty object', async () => {
      const put = await store.upload(Readable.from([], { objectMode: false }), 'empty/zero', 'text/plain');
      expect(put.size).toBe(0);
      expect(await store.head('empty/zero')).toMatchObject({ size: 0 });
      const dst = join(work, 'zero');
      await store.download('empty/zero', dst);
      expect(await sha256Of(dst)).toBe(createHash('sha256').digest('hex'));
    });

    it('a small body goes up in one request', async () => {
      const before = h.uploadParts();
      await store.upload(randomStream(2 * MiB).stream, 'small/two-mib.bin', 'application/octet-stream');
      expect(h.uploadParts()).toBe(before);
    });

    it('streams a 50 MiB upload (multipart where the backend has it) and downloads it back intact', async () => {
      const size = 50 * MiB;
      const before = h.uploadParts();
      const body = randomStream(size);
      const put = await store.upload(body.stream, 'big/fifty.bin', 'video/mp4');
      expect(put.size).toBe(size);
      if (before !== null) {
        const parts = (h.uploadParts() ?? 0) - before;
        expect(parts).toBeGreaterThan(1);
        if (h.partSizeBytes) expect(parts).toBe(Math.ceil(size / h.partSizeBytes));
      }
      expect(await store.head('big/fifty.bin')).toMatchObject({ size, contentType: 'video/mp4' });
      const dst = join(work, 'fifty.bin');
      await store.download('big/fifty.bin', dst);
      expect(await sha256Of(dst)).toBe(body.sha256());
    }, LONG);

    it('uploads a 50 MiB file (parallel parts from a file where the backend has them) intact', async () => {
      const size = 50 * MiB + 12345; // a short last part
      const src = join(work, 'fifty-src.bin');
      const body = randomStream(size);
      await pipeline(body.stream, createWriteStream(src));
      const before = h.uploadParts();
      const put = await store.upload(src, 'big/fifty-file.bin', 'video/mp4');
      expect(put.size).toBe(size);
      if (before !== null) {
        const parts = (h.uploadParts() ?? 0) - before;
        expect(parts).toBeGreaterThan(1);
        if (h.partSizeBytes) expect(parts).toBe(Math.ceil(size / h.partSizeBytes));
      }
      expect(await store.head('big/fifty-file.bin')).toMatchObject({ size, contentType: 'video/mp4', etag: put.etag });
      expect(await sha256Of(await store.getStream('big/fifty-file.bin'))).toBe(body.sha256());
      await rm(src);
    }, LONG);

    it('a failed or aborted file upload leaves no object', async () => {
      await expect(store.upload(join(work, 'no-such-file.bin'), 'big/missing-src.bin', 'video/mp4')).rejects.toThrow(/ENOENT.*no-such-file\.bin/);
      const src = join(work, 'abort-src.bin');
      await pipeline(randomStream(30 * MiB).stream, createWriteStream(src));
      const ctl = new AbortController();
      const pending = store.upload(src, 'big/aborted-file.bin', 'video/mp4', { signal: ctl.signal });
      setImmediate(() => ctl.abort(new Error('shutting down')));
      await expect(pending).rejects.toThrow('shutting down');
      expect(await store.head('big/aborted-file.bin')).toBeNull();
      expect(await store.head('big/missing-src.bin')).toBeNull();
      await rm(src);
    }, LONG);

    it('lists 2500 objects across pages, exactly, in key order', async () => {
      const keys = Array.from({ length: 2500 }, (_, i) => `many/d${i % 7}/k${String(i).padStart(4, '0')}.txt`);
      await mapLimit(keys, 32, (key) => store.upload(Readable.from([Buffer.from(key)]), key, 'text/plain'));
      const listed = await collect(store.list('many/'));
      expect(listed).toHaveLength(2500);
      expect(new Set(listed.map((o) => o.key))).toEqual(new Set(keys));
      expect(listed.map((o) => o.key)).toEqual([...keys].sort(byteOrder));
      const one = listed.find((o) => o.key === 'many/d3/k0003.txt');
      expect(one).toMatchObject({ size: 'many/d3/k0003.txt'.length });
      expect(one?.lastModified?.getTime()).toEqual(expect.any(Number));
    }, LONG);

    it('deleteMany removes 2500 keys (in calls of at most 1000), then the listing is empty', async () => {
      const keys = (await collect(store.list('many/'))).map((o) => o.key);
      expect(keys).toHaveLength(2500);
      const callsBefore = h.deleteCalls()?.length ?? 0;
      const res = await store.deleteMany(keys);
      expect(res.errors).toEqual([]);
      expect(new Set(res.deleted)).toEqual(new Set(keys));
      const calls = h.deleteCalls();
      if (calls) expect(calls.slice(callsBefore)).toEqual([1000, 1000, 500]);
      expect(await collect(store.list('many/'))).toEqual([]);
    }, LONG);

    it('a prefix that is a prefix of a sibling lists only its own objects', async () => {
      const keys = ['pfx/a/ab/1', 'pfx/a/ab/2', 'pfx/a/abc/1', 'pfx/a/ab.txt', 'pfx/a/a', 'pfx/b/ab/1'];
      for (const key of keys) await store.upload(Readable.from([Buffer.from(key)]), key, 'text/plain');
      expect((await collect(store.list('pfx/a/ab/'))).map((o) => o.key)).toEqual(['pfx/a/ab/1', 'pfx/a/ab/2']);
      expect((await collect(store.list('pfx/a/abc/'))).map((o) => o.key)).toEqual(['pfx/a/abc/1']);
      expect((await collect(store.list('pfx/a/ab'))).map((o) => o.key)).toEqual(['pfx/a/ab.txt', 'pfx/a/ab/1', 'pfx/a/ab/2', 'pfx/a/abc/1']);
      expect((await collect(store.list('pfx/a/zz'))).map((o) => o.key)).toEqual([]);
      expect((await collect(store.list('nothing-here/'))).map((o) => o.key)).toEqual([]);
    });

    it('lists in S3 key order ("a.txt" before "a/…", UTF-8 byte order)', async () => {
      const keys = ['ord/a/b', 'ord/a.txt', 'ord/a-b', 'ord/a0', 'ord/B', 'ord/é', 'ord/z', 'ord/a b'];
      for (const key of keys) await store.upload(Readable.from([Buffer.from('x')]), key, 'text/plain');
      const listed = (await collect(store.list('ord/'))).map((o) => o.key);
      expect(new Set(listed)).toEqual(new Set(keys));
      if (h.notByteOrdered) console.warn(`key order not checked: ${h.notByteOrdered}`);
      else expect(listed).toEqual([...keys].sort(byteOrder));
    });

    it('deleteMany reports per-key errors and deletes the rest', async () => {
      const keys = ['del/one', 'del/two', 'del/three'];
      for (const key of keys) await store.upload(Readable.from([Buffer.from(key)]), key, 'text/plain');
      const blockedMessage = await h.makeUndeletable('del/blocked');
      const res = await store.deleteMany([...keys, 'del/blocked', '../evil', 'del/never-existed', 'del/one']);
      expect(new Set(res.deleted)).toEqual(new Set([...keys, 'del/never-existed'])); // missing counts as deleted, as in S3
      expect(res.errors).toHaveLength(2);
      expect(res.errors.find((e) => e.key === 'del/blocked')?.message).toMatch(blockedMessage);
      expect(res.errors.find((e) => e.key === '../evil')?.message).toMatch(/unsafe key: has a "\.\." segment/);
      for (const key of keys) expect(await store.exists(key)).toBe(false);
    });

    it('refuses unsafe keys with a clear error and writes nothing', async () => {
      const before = (await collect(store.list(''))).map((o) => o.key);
      const src = join(work, 'unsafe-src.txt');
      await writeFile(src, 'must not land anywhere');
      for (const key of UNSAFE_KEYS) {
        const quoted = JSON.stringify(key).slice(1, -1);
        await expect(store.upload(src, key, 'text/plain')).rejects.toThrow(UnsafeKeyError);
        await expect(store.upload(Readable.from([Buffer.from('x')]), key, 'text/plain')).rejects.toThrow(`unsafe object key "${quoted}"`);
        await expect(store.head(key)).rejects.toThrow(UnsafeKeyError);
        await expect(store.exists(key)).rejects.toThrow(UnsafeKeyError);
        await expect(store.getStream(key)).rejects.toThrow(UnsafeKeyError);
        await expect(store.download(key, join(work, 'unsafe-dst'))).rejects.toThrow(UnsafeKeyError);
      }
      await expect(store.upload(src, '../escape.txt', 'text/plain')).rejects.toThrow('unsafe object key "../escape.txt": has a ".." segment');
      await expect(collect(store.list('../'))).rejects.toThrow(UnsafeKeyError);
      expect((await collect(store.list(''))).map((o) => o.key)).toEqual(before);
      expect(existsSync(join(work, 'unsafe-dst'))).toBe(false);
    });

    it('copyFrom copies within the store (server-side where the backend can) with the type it is given, over an older object', async () => {
      const src = 'copy/src dir/clip +1 é%20.bin'; // what CopySource must URL-encode: spaces, '+', UTF-8, '%'
      const dst = 'copy/dst/clip.mp4';
      const size = 20 * MiB + 7; // several parts where the backend has them
      const body = randomStream(size);
      await store.upload(body.stream, src, 'application/octet-stream');
      await store.upload(Readable.from([Buffer.from('older')]), dst, 'text/plain');
      const copies = h.serverCopies();
      const got = await store.copyFrom(store, src, dst, 'video/mp4');
      expect(got).toMatchObject({ key: dst, size, contentType: 'video/mp4' });
      if (copies !== null) expect(h.serverCopies()).toBe(copies + 1);
      expect(await store.head(dst)).toMatchObject({ key: dst, size, ...(got.etag ? { etag: got.etag } : {}) });
      expect(await sha256Of(await store.getStream(dst))).toBe(body.sha256());
      if (h.copyKeepsSourceType) console.warn(`copied content type not checked: ${h.copyKeepsSourceType}`);
      else expect(await h.storedContentType(dst)).toBe('video/mp4');
      expect(await store.head(src)).toMatchObject({ size, contentType: 'application/octet-stream' }); // the source is untouched
    }, LONG);

    it('copyFrom another bucket of the backend, and streamed from a store it does not know', async () => {
      const data = randomBytes(300_000);
      const want = createHash('sha256').update(data).digest('hex');
      await store.upload(Readable.from([data]), 'copy/cross.bin', 'application/octet-stream');
      const copies = h.serverCopies();
      expect(await h.other.copyFrom(store, 'copy/cross.bin', 'in/other.bin', 'video/mp4')).toMatchObject({ key: 'in/other.bin', size: data.length, contentType: 'video/mp4' });
      if (copies !== null) expect(h.serverCopies()).toBe(copies + 1);
      expect(await sha256Of(await h.other.getStream('in/other.bin'))).toBe(want);
      if (!h.copyKeepsSourceType) expect((await h.other.head('in/other.bin'))?.contentType).toBe('video/mp4');
      expect(await store.exists('in/other.bin')).toBe(false);

      // A wrapper is a store of another kind: nothing to copy server-side from, the bytes go through.
      const foreign = new DelegatingStore(h.other);
      expect(await store.copyFrom(foreign, 'in/other.bin', 'copy/back.mp4', 'video/mp4')).toMatchObject({ key: 'copy/back.mp4', size: data.length, contentType: 'video/mp4' });
      if (copies !== null) expect(h.serverCopies()).toBe(copies + 1);
      expect(await sha256Of(await store.getStream('copy/back.mp4'))).toBe(want);
      expect(await h.storedContentType('copy/back.mp4')).toBe('video/mp4');
    });

    it('copyFrom a missing source fails with ObjectNotFoundError naming it and writes nothing', async () => {
      for (const source of [store, h.other, new DelegatingStore(store)]) {
        const err = await store.copyFrom(source, 'copy/no-such.bin', 'copy/never.bin', 'video/mp4').catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ObjectNotFoundError);
        expect((err as Error).message).toBe(`no object "copy/no-such.bin" in bucket "${source.bucket}"`);
      }
      expect(await store.head('copy/never.bin')).toBeNull();
    });

    it('copyFrom refuses unsafe keys, source or target, and honours an aborted signal, writing nothing', async () => {
      await store.upload(Readable.from([Buffer.from('x')]), 'copy/safe.txt', 'text/plain');
      const before = (await collect(store.list(''))).map((o) => o.key);
      for (const source of [store, new DelegatingStore(store)]) {
        for (const key of UNSAFE_KEYS) {
          await expect(store.copyFrom(source, key, 'copy/from-unsafe.txt', 'text/plain')).rejects.toThrow(UnsafeKeyError);
          await expect(store.copyFrom(source, 'copy/safe.txt', key, 'text/plain')).rejects.toThrow(UnsafeKeyError);
        }
        await expect(store.copyFrom(source, 'copy/safe.txt', '../escape.txt', 'text/plain')).rejects.toThrow('unsafe object key "../escape.txt": has a ".." segment');
        const ctl = new AbortController();
        ctl.abort(new Error('job cancelled'));
        await expect(store.copyFrom(source, 'copy/safe.txt', 'copy/aborted.txt', 'text/plain', { signal: ctl.signal })).rejects.toThrow('job cancelled');
      }
      expect((await collect(store.list(''))).map((o) => o.key)).toEqual(before);
    });

    it('downloading a missing key fails clearly and leaves no file, not even a partial one', async () => {
      const dst = join(work, 'missing', 'never.bin');
      const err = await store.download('no/such/key.mp4', dst).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ObjectNotFoundError);
      expect((err as Error).message).toBe(`no object "no/such/key.mp4" in bucket "${store.bucket}"`);
      expect(existsSync(dst)).toBe(false);
      expect(existsSync(`${dst}.part`)).toBe(false);
      await expect(store.getStream('no/such/key.mp4')).rejects.toThrow(ObjectNotFoundError);
      expect(await store.head('no/such/key.mp4')).toBeNull();
    });

    it('honours an aborted signal on download and leaves no file', async () => {
      await store.upload(randomStream(8 * MiB).stream, 'abort/eight.bin', 'application/octet-stream');
      const dst = join(work, 'aborted.bin');
      const pre = new AbortController();
      pre.abort(new Error('stop before'));
      await expect(store.download('abort/eight.bin', dst, { signal: pre.signal })).rejects.toThrow('stop before');
      const mid = new AbortController();
      const pending = store.download('abort/eight.bin', dst, { signal: mid.signal });
      setImmediate(() => mid.abort());
      await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
      expect(existsSync(dst)).toBe(false);
      expect(existsSync(`${dst}.part`)).toBe(false);
      expect((await readdir(work)).filter((f) => f.startsWith('aborted'))).toEqual([]);
    });

    it('an aborted stream upload leaves no object', async () => {
      const ctl = new AbortController();
      async function* slow(): AsyncGenerator<Buffer> {
        yield randomBytes(MiB);
        ctl.abort(new Error('job cancelled'));
        await new Promise((resolve) => setTimeout(resolve, 50));
        yield randomBytes(MiB);
      }
      await expect(store.upload(Readable.from(slow(), { objectMode: false }), 'aborted/upload.bin', 'application/octet-stream', { signal: ctl.signal }))
        .rejects.toThrow('job cancelled');
      expect(await store.head('aborted/upload.bin')).toBeNull();
      expect(await collect(store.list('aborted/'))).toEqual([]);
    });

    it('a failing source stream fails the upload and leaves no object', async () => {
      async function* broken(): AsyncGenerator<Buffer> {
        yield randomBytes(64 * 1024);
        throw new Error('camera unplugged');
      }
      await expect(store.upload(Readable.from(broken(), { objectMode: false }), 'broken/upload.bin', 'application/octet-stream'))
        .rejects.toThrow('camera unplugged');
      expect(await store.head('broken/upload.bin')).toBeNull();
    });
  });
}
