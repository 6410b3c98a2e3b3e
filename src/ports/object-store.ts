// The ObjectStore port (DESIGN §3): S3, Wasabi, any S3 endpoint, or a directory.
import type { Readable } from 'node:stream';

export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
  readonly etag?: string;
  readonly lastModified?: Date;
  /** From head, download and upload; list leaves it out, as ListObjectsV2 does. */
  readonly contentType?: string;
}

/** Bytes `start` … `end` of an object (`end` inclusive, as in HTTP; absent or past the object: to its last byte). */
export interface ReadRange {
  readonly start: number;
  readonly end?: number;
}

export interface GetStreamOptions {
  signal?: AbortSignal;
  /** A range starting at or past the end of the object rejects with a RangeError; end before start too. */
  range?: ReadRange;
}

export interface DownloadOptions {
  signal?: AbortSignal;
  /**
   * After each write: how many leading bytes of the object `file.part` holds so far, readable
   * there while the download goes on (a resumed download goes on from them). Must not throw.
   */
  onProgress?: (bytesOnDisk: number) => void;
}

/**
 * Keys are checked by assertSafeKey (src/domain/object-keys.ts): an unsafe key rejects
 * with UnsafeKeyError before anything is read or written; a missing object rejects
 * download/getStream with ObjectNotFoundError.
 */
export interface ObjectStore {
  readonly bucket: string;
  /** null when there is no such object. */
  head(key: string): Promise<ObjectInfo | null>;
  exists(key: string): Promise<boolean>;
  /** The object's bytes, or with `range` those bytes of it; the caller must consume or destroy the stream. */
  getStream(key: string, opts?: GetStreamOptions): Promise<Readable>;
  /** Streams to `file` (via `file.part`, renamed when complete; no partial file is left on failure). */
  download(key: string, file: string, opts?: DownloadOptions): Promise<ObjectInfo>;
  /** A file path or a stream; large bodies go up in parallel parts. Resolves when the object is visible. */
  upload(source: string | NodeJS.ReadableStream, key: string, contentType: string, opts?: { signal?: AbortSignal }): Promise<ObjectInfo>;
  /**
   * `sourceKey` of `source` (this store or another) copied to `key` with `contentType`:
   * server-side where the backend reaches both (S3 CopyObject, a file copy), else streamed
   * through this process. ObjectNotFoundError when the source is missing.
   */
  copyFrom(source: ObjectStore, sourceKey: string, key: string, contentType: string, opts?: { signal?: AbortSignal }): Promise<ObjectInfo>;
  /** Every object whose key starts with `prefix`, in key order, across all pages. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** Missing keys count as deleted (as in S3); per-key failures land in `errors`, the call does not throw for them. */
  deleteMany(keys: readonly string[]): Promise<{ deleted: string[]; errors: Array<{ key: string; message: string }> }>;
}
