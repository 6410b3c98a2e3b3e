// ObjectStore on S3 or anything that speaks it (Wasabi, fauxqs). Bodies are streamed
// both ways: a download goes socket → file, an upload is cut into parts that go up in
// parallel, so memory stays near queueSize × partSize whatever the object's size.
// A file larger than a part goes up from the process's pool of reused part buffers
// (s3-file-upload.ts, part-pool.ts); streams and small files go through lib-storage's
// Upload. A copy between buckets of one client is CopyObject: no byte passes through here.
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CopyObjectCommand, DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, S3Client, paginateListObjectsV2 } from '@aws-sdk/client-s3';
import type { GetObjectCommandOutput, S3ClientConfig } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ObjectNotFoundError, assertSafeKey, assertSafePrefix, safeKeyProblem } from '../../domain/object-keys.js';
import type { DownloadOptions, GetStreamOptions, ObjectInfo, ObjectStore } from '../../ports/index.js';
import type { AwsClientOptions } from '../aws/client-config.js';
import { PartPool } from './part-pool.js';
import { backoffDelayMs } from '../../domain/backoff.js';
import { rangeHeader, rangeProblem } from '../../domain/byte-range.js';
import { isNetworkError } from '../../domain/failure.js';
import { sleep } from '../../runtime/retry.js';
import { uploadFileMultipart } from './s3-file-upload.js';
import { streamCopy } from './stream-copy.js';
import { writeFully } from './write-fully.js';

const MiB = 1024 * 1024;
/** Times a download goes on after a broken connection before the failure is the job's. */
const MAX_RESUMES = 5;
/** DeleteObjects takes at most 1000 keys a call. */
const DELETE_BATCH = 1000;
/** CopyObject takes sources up to 5 GiB; bigger ones would need UploadPartCopy. */
const MAX_COPY_OBJECT = 5 * 1024 * MiB;

export interface S3ObjectStoreOptions {
  client: S3Client;
  bucket: string;
  /** Multipart part size; bodies up to this size go in one PutObject (S3 minimum 5 MiB). Default: the pool's, else 5 MiB. */
  partSizeBytes?: number;
  /** Parts in flight at once per upload (default 4). */
  queueSize?: number;
  /** Part buffers shared with the process's other stores (src/wiring/production-ports.ts); default a pool of this store's own, queueSize × partSizeBytes. */
  partPool?: PartPool;
}

/**
 * An S3 client for the store. With a custom endpoint (Wasabi, a stand-in) checksums are
 * only sent where S3 requires them: the SDK's default CRC32 trailers on every PUT are not
 * understood by every S3-compatible service.
 */
export function createS3Client(options: AwsClientOptions & Partial<S3ClientConfig>): S3Client {
  return new S3Client({
    ...(options.endpoint ? { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' } : {}),
    ...options,
  });
}

export class S3ObjectStore implements ObjectStore {
  readonly bucket: string;
  private readonly client: S3Client;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly pool: PartPool;

  constructor(options: S3ObjectStoreOptions) {
    this.client = options.client;
    this.bucket = options.bucket;
    // 5 MiB × 4, lib-storage's own defaults and S3's minimum part: reassembling a 4 GiB
    // source peaked at 154.8 MB with 8 MiB parts, above the 150 MB goal; a part size that
    // small costs more requests, not throughput, with 4 in flight.
    this.partSize = options.partSizeBytes ?? options.partPool?.partSize ?? 5 * MiB;
    this.queueSize = options.queueSize ?? 4;
    if (this.partSize < 5 * MiB) throw new RangeError(`S3 part size must be at least 5 MiB, got ${this.partSize} bytes`);
    if (!Number.isInteger(this.queueSize) || this.queueSize < 1) throw new RangeError(`S3 upload queue size must be a positive integer, got ${this.queueSize}`);
    if (options.partPool && options.partPool.partSize !== this.partSize) {
      throw new RangeError(`S3 part size ${this.partSize} differs from the part pool's ${options.partPool.partSize} bytes`);
    }
    this.pool = options.partPool ?? new PartPool({ partSize: this.partSize, buffers: this.queueSize });
  }

  async head(key: string): Promise<ObjectInfo | null> {
    assertSafeKey(key);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return info(key, out);
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async exists(key: string): Promise<boolean> {
    return (await this.head(key)) !== null;
  }

  async getStream(key: string, opts: GetStreamOptions = {}): Promise<Readable> {
    const { range } = opts;
    if (!range) return (await this.get(key, opts.signal)).body;
    const problem = rangeProblem(range);
    if (problem) throw new RangeError(`cannot read ${rangeHeader(range)} of s3://${this.bucket}/${key}: ${problem}`);
    try {
      return (await this.get(key, opts.signal, { Range: rangeHeader(range) })).body;
    } catch (err) {
      if (isInvalidRange(err)) throw new RangeError(`cannot read ${rangeHeader(range)} of s3://${this.bucket}/${key}: it starts at or past the end of the object`, { cause: err });
      throw err;
    }
  }

  async download(key: string, file: string, opts: DownloadOptions = {}): Promise<ObjectInfo> {
    const first = await this.get(key, opts.signal);
    const { out } = first;
    let body = first.body;
    const part = `${file}.part`;
    const onAbort = (): void => void body.destroy(new Error('download aborted')); // rethrown below as the caller's reason
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    let fh: FileHandle | undefined;
    try {
      await mkdir(dirname(file), { recursive: true });
      fh = await open(part, 'w');
      // One chunk at a time, each write awaited, rather than pipeline() into a WriteStream:
      // nothing queues between socket and disk, and 4 parallel downloads peaked ~20 MB lower
      // (the socket's 64 KiB chunks are garbage once written; fewer pile up before V8 collects).
      let written = 0;
      for (let resumes = 0; ; resumes++) {
        try {
          for await (const chunk of body as AsyncIterable<Buffer>) {
            await writeFully(fh, chunk);
            written += chunk.length;
            opts.onProgress?.(written);
          }
          // A connection cut mid-body can end the stream early without an error.
          if (out.ContentLength !== undefined && written !== out.ContentLength) {
            throw Object.assign(new Error(`download of s3://${this.bucket}/${key} ended after ${written} of ${out.ContentLength} bytes`), { code: 'ECONNRESET' });
          }
          break;
        } catch (err) {
          // A connection reset on a slow or flaky link: go on from the bytes we have, from the
          // same version of the object (If-Match), instead of failing the whole job.
          if (opts.signal?.aborted || !isNetworkError(err) || resumes >= MAX_RESUMES || out.ContentLength === undefined) throw err;
          body.destroy();
          await sleep(backoffDelayMs(resumes + 1, { baseMs: 200, maxMs: 2000 }), opts.signal);
          body = (await this.get(key, opts.signal, { Range: `bytes=${written}-`, ...(out.ETag ? { IfMatch: out.ETag } : {}) })).body;
        }
      }
      await fh.close();
      fh = undefined;
      await rename(part, file);
    } catch (err) {
      body.destroy();
      await fh?.close().catch(() => { /* the failure matters more */ });
      await rm(part, { force: true }).catch(() => { /* clean-up must not hide the failure */ });
      // The stream only says it was destroyed: give the caller's reason.
      throw opts.signal?.aborted ? opts.signal.reason : err;
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
    return info(key, out);
  }

  async upload(source: string | NodeJS.ReadableStream, key: string, contentType: string, opts: { signal?: AbortSignal } = {}): Promise<ObjectInfo> {
    assertSafeKey(key);
    opts.signal?.throwIfAborted();
    let counted = 0;
    let fileSize: number | undefined;
    let body: Readable;
    if (typeof source === 'string') {
      fileSize = (await stat(source)).size; // fails with ENOENT naming the file before any request
      if (fileSize > this.partSize) {
        const etag = await uploadFileMultipart({
          client: this.client, bucket: this.bucket, key, contentType, file: source, size: fileSize,
          partSize: this.partSize, queueSize: this.queueSize, pool: this.pool, ...(opts.signal ? { signal: opts.signal } : {}),
        });
        return { key, size: fileSize, contentType, ...(etag ? { etag } : {}) };
      }
      body = createReadStream(source);
    } else {
      // lib-storage needs a real Readable; counting on the way gives the size S3 does not return.
      const counter = new Transform({ transform(chunk: Buffer, _enc, done) { counted += chunk.length; done(null, chunk); } });
      body = counter;
      pipeline(source, counter).catch(() => { /* pipeline destroys `body` with the error; Upload reports it */ });
    }
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(opts.signal?.reason);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) onAbort(); // fired while we were stat-ing
    try {
      const upload = new Upload({
        client: this.client,
        params: { Bucket: this.bucket, Key: key, Body: body, ContentType: contentType },
        partSize: this.partSize,
        queueSize: this.queueSize,
        leavePartsOnError: false, // abort the multipart upload so no orphan parts are billed
        abortController: controller,
      });
      const out = await upload.done();
      return { key, size: fileSize ?? counted, contentType, ...(out.ETag ? { etag: out.ETag } : {}) };
    } catch (err) {
      // lib-storage throws its own "Upload aborted." on abort: report the caller's reason.
      if (opts.signal?.aborted) throw opts.signal.reason;
      throw err;
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      if (!body.readableEnded) body.destroy();
    }
  }

  async copyFrom(source: ObjectStore, sourceKey: string, key: string, contentType: string, opts: { signal?: AbortSignal } = {}): Promise<ObjectInfo> {
    // Server-side only where one client reaches both buckets (same endpoint and credentials).
    if (!(source instanceof S3ObjectStore) || source.client !== this.client) return streamCopy(this, source, sourceKey, key, contentType, opts);
    assertSafeKey(sourceKey);
    assertSafeKey(key);
    opts.signal?.throwIfAborted();
    const send = opts.signal ? { abortSignal: opts.signal } : {};
    const fail = (err: unknown): never => {
      if (isNotFound(err)) throw new ObjectNotFoundError(source.bucket, sourceKey);
      throw opts.signal?.aborted ? opts.signal.reason : err;
    };
    const head = await this.client.send(new HeadObjectCommand({ Bucket: source.bucket, Key: sourceKey }), send).catch(fail);
    const size = head.ContentLength ?? 0;
    // Beyond CopyObject's limit the copy is streamed: UploadPartCopy could do it server-side,
    // but no stand-in here serves UploadPartCopy to test it against.
    if (size > MAX_COPY_OBJECT) return streamCopy(this, source, sourceKey, key, contentType, opts);
    let result: { ETag?: string; LastModified?: Date } | undefined;
    try {
      result = (await this.client.send(new CopyObjectCommand({
        Bucket: this.bucket, Key: key, CopySource: copySource(source.bucket, sourceKey),
        MetadataDirective: 'REPLACE', ContentType: contentType, // without REPLACE, S3 keeps the source's type
      }), send)).CopyObjectResult;
    } catch (err) {
      // An S3-compatible service without CopyObject (the stereo bench's disk-backed stand-in).
      if (isNotImplemented(err)) return streamCopy(this, source, sourceKey, key, contentType, opts);
      return fail(err);
    }
    return { key, size, contentType, ...(result?.ETag ? { etag: result.ETag } : {}), ...(result?.LastModified ? { lastModified: result.LastModified } : {}) };
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    assertSafePrefix(prefix);
    const pages = paginateListObjectsV2({ client: this.client }, { Bucket: this.bucket, Prefix: prefix });
    for await (const page of pages) {
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined) continue;
        yield {
          key: o.Key,
          size: o.Size ?? 0,
          ...(o.ETag ? { etag: o.ETag } : {}),
          ...(o.LastModified ? { lastModified: o.LastModified } : {}),
        };
      }
    }
  }

  async deleteMany(keys: readonly string[]): Promise<{ deleted: string[]; errors: Array<{ key: string; message: string }> }> {
    const deleted: string[] = [];
    const errors: Array<{ key: string; message: string }> = [];
    const wanted: string[] = [];
    for (const key of new Set(keys)) {
      const problem = safeKeyProblem(key);
      if (problem) errors.push({ key, message: `unsafe key: ${problem}` });
      else wanted.push(key);
    }
    for (let i = 0; i < wanted.length; i += DELETE_BATCH) {
      const batch = wanted.slice(i, i + DELETE_BATCH);
      try {
        const out = await this.client.send(new DeleteObjectsCommand({
          Bucket: this.bucket,
          // Quiet: the response lists only failures, so 1000 successes cost no response body.
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }));
        const failed = new Set<string>();
        for (const e of out.Errors ?? []) {
          if (e.Key === undefined) continue;
          failed.add(e.Key);
          errors.push({ key: e.Key, message: [e.Code, e.Message].filter(Boolean).join(': ') || 'not deleted' });
        }
        for (const key of batch) if (!failed.has(key)) deleted.push(key);
      } catch (err) {
        // The whole call failed (network, credentials): report its keys and go on with the rest.
        const message = err instanceof Error ? err.message : String(err);
        for (const key of batch) errors.push({ key, message });
      }
    }
    return { deleted, errors };
  }

  private async get(key: string, signal: AbortSignal | undefined, range: { Range?: string; IfMatch?: string } = {}): Promise<{ body: Readable; out: GetObjectCommandOutput }> {
    assertSafeKey(key);
    signal?.throwIfAborted();
    let out: GetObjectCommandOutput;
    try {
      out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, ...range }), signal ? { abortSignal: signal } : {});
    } catch (err) {
      if (isNotFound(err)) throw new ObjectNotFoundError(this.bucket, key);
      throw err;
    }
    // On Node the SDK's body is an http.IncomingMessage (a Readable).
    if (!(out.Body instanceof Readable)) throw new Error(`GetObject s3://${this.bucket}/${key} returned no stream body`);
    return { body: out.Body, out };
  }
}

function info(key: string, out: { ContentLength?: number; ETag?: string; LastModified?: Date; ContentType?: string }): ObjectInfo {
  return {
    key,
    size: out.ContentLength ?? 0,
    ...(out.ETag ? { etag: out.ETag } : {}),
    ...(out.LastModified ? { lastModified: out.LastModified } : {}),
    ...(out.ContentType ? { contentType: out.ContentType } : {}),
  };
}

/** CopySource is "bucket/key", URL-encoded; each key segment on its own so its slashes stay. */
function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

function isNotImplemented(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  return e?.name === 'NotImplemented' || e?.$metadata?.httpStatusCode === 501;
}

/** GetObject with a Range that starts at or past the end of the object: 416 InvalidRange. */
function isInvalidRange(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  return e?.name === 'InvalidRange' || e?.$metadata?.httpStatusCode === 416;
}

/** HeadObject says NotFound (no body to carry a code), GetObject NoSuchKey; both are 404. */
function isNotFound(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  if (e.name === 'NoSuchBucket') return false; // a missing bucket is a configuration error, not a missing object
  return e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404;
}
