// An ObjectStore that hands every call to a real one; tests subclass it to record or fail
// the calls they care about and leave the rest untouched.
import type { Readable } from 'node:stream';
import type { DownloadOptions, GetStreamOptions, ObjectInfo, ObjectStore } from '../../src/ports/index.js';

export class DelegatingStore implements ObjectStore {
  readonly bucket: string;

  constructor(readonly inner: ObjectStore) {
    this.bucket = inner.bucket;
  }

  head(key: string): Promise<ObjectInfo | null> { return this.inner.head(key); }
  exists(key: string): Promise<boolean> { return this.inner.exists(key); }
  getStream(key: string, opts?: GetStreamOptions): Promise<Readable> { return this.inner.getStream(key, opts); }
  download(key: string, file: string, opts?: DownloadOptions): Promise<ObjectInfo> { return this.inner.download(key, file, opts); }
  upload(source: string | NodeJS.ReadableStream, key: string, contentType: string, opts?: { signal?: AbortSignal }): Promise<ObjectInfo> {
    return this.inner.upload(source, key, contentType, opts);
  }
  copyFrom(source: ObjectStore, sourceKey: string, key: string, contentType: string, opts?: { signal?: AbortSignal }): Promise<ObjectInfo> {
    return this.inner.copyFrom(source, sourceKey, key, contentType, opts);
  }
  list(prefix: string): AsyncIterable<ObjectInfo> { return this.inner.list(prefix); }
  deleteMany(keys: readonly string[]): ReturnType<ObjectStore['deleteMany']> { return this.inner.deleteMany(keys); }
}
