// The ObjectStore conformance suite against a temp directory, plus what only the fs
// bucket has: the ObjectCreated:Put events, crash safety of writes, the root as a wall.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { FsObjectStore } from '../../src/adapters/storage/fs.js';
import { ObjectNotFoundError, UnsafeKeyError } from '../../src/domain/object-keys.js';
import { parseS3Event } from '../../src/domain/s3-event.js';
import type { S3EventNotification } from '../../src/domain/s3-event.js';
import { UNSAFE_KEYS, collect } from './storage.conformance.js';
import { describeObjectStoreConformance } from './storage.conformance.js';

/** Every file under `dir`, relative, sorted (temp files and sidecars included). */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => !e.isDirectory()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1)).sort();
}

describeObjectStoreConformance('fs', async () => {
  const base = await mkdtemp(join(tmpdir(), 'rugbyworker-fs-bucket-'));
  const root = join(base, 'bucket');
  const store = new FsObjectStore({ root, bucket: 'local-media' });
  return {
    store,
    other: new FsObjectStore({ root: join(base, 'other'), bucket: 'local-other' }),
    storedContentType: async (key) => (await store.head(key))?.contentType,
    uploadParts: () => null,
    serverCopies: () => null,
    deleteCalls: () => null,
    async makeUndeletable(key) {
      // A directory where the key's file would be: other objects live under "key/".
      await store.upload(Readable.from([Buffer.from('child')]), `${key}/child`, 'text/plain');
      return /is a directory/;
    },
    teardown: () => rm(base, { recursive: true, force: true }),
  };
});

describe('FsObjectStore', () => {
  let base: string;
  let root: string;
  let events: S3EventNotification[];
  let store: FsObjectStore;

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'rugbyworker-fs-only-'));
    root = join(base, 'bucket');
    events = [];
    store = new FsObjectStore({ root, bucket: 'local-media', region: 'eu-west-1', onObjectCreated: (e) => { events.push(e); } });
  });

  afterAll(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('emits an ObjectCreated:Put event shaped like an S3 bucket notification after each upload', async () => {
    const data = Buffer.from('hello rugby');
    const before = Date.now();
    const info = await store.upload(Readable.from([data]), 'orgs/o1/uploads/7/raw/My Match+1.mp4', 'video/mp4');
    expect(events).toHaveLength(1);
    const event = JSON.parse(JSON.stringify(events[0])) as S3EventNotification; // it is plain JSON
    const md5 = createHash('md5').update(data).digest('hex');
    expect(event).toEqual({
      Records: [{
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: 'eu-west-1',
        eventTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        eventName: 'ObjectCreated:Put',
        userIdentity: { principalId: expect.any(String) },
        requestParameters: { sourceIPAddress: '127.0.0.1' },
        responseElements: { 'x-amz-request-id': expect.any(String), 'x-amz-id-2': expect.any(String) },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: expect.any(String),
          bucket: { name: 'local-media', ownerIdentity: { principalId: expect.any(String) }, arn: 'arn:aws:s3:::local-media' },
          object: { key: 'orgs/o1/uploads/7/raw/My+Match%2B1.mp4', size: data.length, eTag: md5, sequencer: expect.stringMatching(/^[0-9A-F]+$/) },
        },
      }],
    });
    const record = event.Records[0];
    expect(Date.parse(record?.eventTime ?? '')).toBeGreaterThanOrEqual(before - 1000);
    expect(info.etag).toBe(`"${md5}"`);
    expect(parseS3Event(JSON.stringify(event))).toEqual([{ bucket: 'local-media', key: 'orgs/o1/uploads/7/raw/My Match+1.mp4', size: data.length, eventName: 'ObjectCreated:Put' }]);

    await store.upload(Readable.from([data]), 'second', 'text/plain');
    expect(events).toHaveLength(2);
    const seq = events.map((e) => e.Records[0]?.s3.object.sequencer ?? '');
    expect(seq[1]! > seq[0]!).toBe(true); // S3 orders same-key events by sequencer
  });

  it('emits nothing for a failed upload', async () => {
    const count = events.length;
    async function* broken(): AsyncGenerator<Buffer> {
      yield Buffer.from('partial');
      throw new Error('boom');
    }
    await expect(store.upload(Readable.from(broken(), { objectMode: false }), 'noevent', 'text/plain')).rejects.toThrow('boom');
    expect(events).toHaveLength(count);
  });

  it('a write aborted midway leaves no partial object and no temp file', async () => {
    const ctl = new AbortController();
    let sent = 0;
    async function* feed(): AsyncGenerator<Buffer> {
      for (;;) {
        yield randomBytes(256 * 1024);
        sent += 256 * 1024;
        if (sent >= 2 * 1024 * 1024) ctl.abort(new Error('worker crashed'));
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    await store.upload(Readable.from([Buffer.from('old complete version')]), 'crash/video.mp4', 'video/mp4');
    const before = await filesUnder(root);
    await expect(store.upload(Readable.from(feed(), { objectMode: false }), 'crash/video.mp4', 'video/mp4', { signal: ctl.signal })).rejects.toThrow('worker crashed');
    expect(await filesUnder(root)).toEqual(before);
    // The old object is intact: writes are temp file + rename.
    expect(await store.head('crash/video.mp4')).toMatchObject({ size: 'old complete version'.length, contentType: 'video/mp4' });
  });

  it('a temp file left by a real crash is invisible to head, list and download', async () => {
    await mkdir(join(root, 'leftover'), { recursive: true });
    await writeFile(join(root, 'leftover', 'clip.mp4\\0b7c.tmp'), 'half written');
    expect(await store.head('leftover/clip.mp4')).toBeNull();
    expect(await collect(store.list('leftover/'))).toEqual([]);
    await expect(store.download('leftover/clip.mp4', join(base, 'x'))).rejects.toThrow(ObjectNotFoundError);
  });

  it('keeps the object and its sidecar out of the key space', async () => {
    await store.upload(Readable.from([Buffer.from('x')]), 'side/a.txt', 'text/plain');
    expect((await collect(store.list('side/'))).map((o) => o.key)).toEqual(['side/a.txt']);
    expect(await filesUnder(join(root, 'side'))).toEqual(['a.txt', 'a.txt\\meta.json']);
  });

  it('never writes outside root, whatever the key', async () => {
    for (const key of UNSAFE_KEYS) {
      await expect(store.upload(Readable.from([Buffer.from('x')]), key, 'text/plain')).rejects.toThrow(UnsafeKeyError);
    }
    expect(existsSync(join(base, 'escape.txt'))).toBe(false);
    expect(existsSync(join(dirname(base), 'escape.txt'))).toBe(false);
    expect(() => store.pathFor('../x')).toThrow('unsafe object key "../x": has a ".." segment');
    expect(store.pathFor('a/b c.mp4')).toBe(join(root, 'a', 'b c.mp4'));
  });

  it('does not follow a symlink inside the bucket to a place outside it', async () => {
    const outside = join(base, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'secret.txt'), 'secret');
    await symlink(outside, join(root, 'link'));
    await expect(store.upload(Readable.from([Buffer.from('x')]), 'link/planted.txt', 'text/plain')).rejects.toThrow(/outside the bucket root/);
    expect(existsSync(join(outside, 'planted.txt'))).toBe(false);
    expect(await store.head('link/secret.txt')).toBeNull();
    await expect(store.download('link/secret.txt', join(base, 'stolen'))).rejects.toThrow(ObjectNotFoundError);
    expect((await collect(store.list(''))).some((o) => o.key.startsWith('link/'))).toBe(false);
    expect((await store.deleteMany(['link/secret.txt'])).errors).toEqual([{ key: 'link/secret.txt', message: 'resolves outside the bucket root' }]);
    expect(existsSync(join(outside, 'secret.txt'))).toBe(true);
    await rm(join(root, 'link'));
  });

  it('refuses a key whose parent is an object, and a key that is a prefix of objects', async () => {
    await store.upload(Readable.from([Buffer.from('x')]), 'clash/file', 'text/plain');
    await expect(store.upload(Readable.from([Buffer.from('y')]), 'clash/file/below', 'text/plain')).rejects.toThrow(/a parent of it is an object/);
    await expect(store.upload(Readable.from([Buffer.from('y')]), 'clash', 'text/plain')).rejects.toThrow(/other objects live under "clash\/"/);
    expect(await filesUnder(join(root, 'clash'))).toEqual(['file', 'file\\meta.json']);
  });

  it('deleteMany removes emptied parent directories but keeps root', async () => {
    await store.upload(Readable.from([Buffer.from('x')]), 'prune/a/b/c.txt', 'text/plain');
    await store.upload(Readable.from([Buffer.from('x')]), 'prune/a/keep.txt', 'text/plain');
    expect((await store.deleteMany(['prune/a/b/c.txt'])).deleted).toEqual(['prune/a/b/c.txt']);
    expect(existsSync(join(root, 'prune', 'a', 'b'))).toBe(false);
    expect(existsSync(join(root, 'prune', 'a', 'keep.txt'))).toBe(true);
    await store.deleteMany(['prune/a/keep.txt']);
    expect(existsSync(join(root, 'prune'))).toBe(false);
    expect(existsSync(root)).toBe(true);
  });

  it('treats a file put there by hand as an object without type or ETag', async () => {
    await mkdir(join(root, 'manual'), { recursive: true });
    await writeFile(join(root, 'manual', 'drop.mp4'), 'dropped');
    const head = await store.head('manual/drop.mp4');
    expect(head).toMatchObject({ key: 'manual/drop.mp4', size: 7 });
    expect(head?.contentType).toBeUndefined();
    expect(head?.etag).toBeUndefined();
  });
});
