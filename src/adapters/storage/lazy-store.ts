// An ObjectStore whose adapter (and its SDK) is loaded by the first call, not when the store
// is handed out: ports.storage() answers at once, and a worker that has not touched storage
// yet (a transcode worker before its first job) has not paid for the S3 SDK at start-up.
import type { Readable } from 'node:stream';
import type { DownloadOptions, GetStreamOptions, ObjectInfo, ObjectStore } from '../../ports/index.js';

// Symbol-keyed, so a watched() proxy hands it over as it is (no health report for a load).
const REAL = Symbol('rugbyworker.lazyStore.real');

export class LazyObjectStore implements ObjectStore {
  readonly [REAL]: () => Promise<ObjectStore>;

  constructor(readonly bucket: string, load: () => Promise<ObjectStore>) {
    let loaded: Promise<ObjectStore> | undefined;
    // A closure, not a private field: the store is used through a Proxy (dependency health).
    this[REAL] = () => (loaded ??= load());
  }

  async head(key: string): Promise<ObjectInfo | null> { return (await this[REAL]()).head(key); }
  async exists(key: string): Promise<boolean> { return (await this[REAL]()).exists(key); }
  async getStream(key: string, opts?: GetStreamOptions): Promise<Readable> { return (await this[REAL]()).getStream(key, opts); }
  async download(key: string, file: string, opts?: DownloadOptions): Promise<ObjectInfo> { return (await this[REAL]()).download(key, file, opts); }

  async upload(source: string | NodeJS.ReadableStream, key: string, contentType: string, opts?: { signal?: AbortSignal }): Promise<ObjectInfo> {
    return (await this[REAL]()).upload(source, key, contentType, opts);
  }

  async copyFrom(source: ObjectStore, sourceKey: string, key: string, contentType: string, opts?: { signal?: AbortSignal }): Promise<ObjectInfo> {
    // The adapter copies server-side only from a store of its own kind: hand it the real one.
    const from = source instanceof LazyObjectStore ? await source[REAL]() : source;
    return (await this[REAL]()).copyFrom(from, sourceKey, key, contentType, opts);
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    yield* (await this[REAL]()).list(prefix);
  }

  async deleteMany(keys: readonly string[]): Promise<{ deleted: string[]; errors: Array<{ key: string; message: string }> }> {
    return (await this[REAL]()).deleteMany(keys);
  }
}
