// LazyObjectStore: the adapter loads on the first call, once, and a copy between two lazy
// stores reaches the adapter with the real source, so its server-side copy still applies.
import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LazyObjectStore } from '../../src/adapters/storage/lazy-store.js';
import { FsObjectStore } from '../../src/adapters/storage/fs.js';
import { DependencyHealth, watched } from '../../src/runtime/dependency-health.js';
import type { ObjectStore } from '../../src/ports/index.js';

const root = mkdtempSync(join(tmpdir(), 'rw-lazy-store-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function lazyFs(bucket: string, loads: string[]): LazyObjectStore {
  return new LazyObjectStore(bucket, async () => {
    loads.push(bucket);
    return new FsObjectStore({ root: join(root, bucket), bucket });
  });
}

describe('LazyObjectStore', () => {
  it('names its bucket without loading, then loads once for every call', async () => {
    const loads: string[] = [];
    const store = lazyFs('a', loads);
    expect(store.bucket).toBe('a');
    expect(loads).toEqual([]);
    const file = join(root, 'clip.txt');
    writeFileSync(file, 'twelve bytes');
    await Promise.all([store.upload(file, 'x/1.txt', 'text/plain'), store.upload(file, 'x/2.txt', 'text/plain')]);
    const listed: string[] = [];
    for await (const o of store.list('x/')) listed.push(`${o.key}:${o.size}`);
    expect(listed).toEqual(['x/1.txt:12', 'x/2.txt:12']);
    expect(await store.exists('x/3.txt')).toBe(false);
    expect(loads).toEqual(['a']);
  });

  it('hands the adapter the real source of a copy, also through the dependency-health proxy', async () => {
    const seen: ObjectStore[] = [];
    const fs = new FsObjectStore({ root: join(root, 'c'), bucket: 'c' });
    const recording = Object.assign(Object.create(fs) as FsObjectStore, {
      copyFrom: async (source: ObjectStore) => { seen.push(source); return { key: 'k', size: 0 }; },
    });
    const loads: string[] = [];
    const source = lazyFs('b', loads);
    const deps = new DependencyHealth();
    const target = watched(new LazyObjectStore('c', async () => recording), 's3', deps);
    await target.copyFrom(watched(source, 's3', deps), 'k', 'k2', 'video/mp4');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeInstanceOf(FsObjectStore);
    expect(seen[0]).not.toBeInstanceOf(LazyObjectStore);
    expect(loads).toEqual(['b']);
  });
});
