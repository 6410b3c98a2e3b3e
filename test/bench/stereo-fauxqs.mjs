// fauxqs (SQS + S3) in a process of its own for test/bench/stereo.bench.mjs, so its memory
// can be read apart from the bench's and the worker's and its event loop shares nothing.
// Two changes to fauxqs as the tests run it, both for big objects:
// - request bodies up to STEREO_FAUXQS_BODY_MIB (default 64): fauxqs takes at most 11 MiB
//   a request (the executable's parts are 8 MiB; bigger files get bigger parts);
// - STEREO_FAUXQS_DISK=<dir>: objects and multipart parts kept in files under <dir> instead
//   of Buffers in the heap (fauxqs's S3Store keeps every object in memory and joins a
//   multipart upload with Buffer.concat, so a 4 GiB source, its segments, their outputs and
//   final.mp4 would hold ~16 GiB). An object is the list of its part files, served in
//   order as one stream; completing an upload moves no bytes; CopyObject copies the files
//   (the stub backend's server-side copy). Range and conditional GETs are not served in this
//   mode (the stereo roles use none). The directory is removed on exit.
// Prints {"port": N} on stdout once listening. Exits on SIGTERM/SIGINT, or when stdin
// closes (the bench is gone, however it died).
import { createHash, randomUUID } from 'node:crypto';
import { copyFileSync, createReadStream, mkdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildApp } from 'fauxqs';

const MiB = 1024 * 1024;
const bodyLimit = Number(process.env.STEREO_FAUXQS_BODY_MIB ?? 64) * MiB;
const diskDir = process.env.STEREO_FAUXQS_DISK || null;

// S3Store and S3Error are not in fauxqs's exports map: load them from its files.
const fauxqsDist = dirname(fileURLToPath(import.meta.resolve('fauxqs'))); // …/fauxqs/dist
const { S3Store } = await import(pathToFileURL(join(fauxqsDist, 's3', 's3Store.js')).href);
const { S3Error } = await import(pathToFileURL(join(fauxqsDist, 'common', 'errors.js')).href);

const noUpload = () => new S3Error('NoSuchUpload', 'The specified multipart upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', 404);
const badPart = () => new S3Error('InvalidPart', 'One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part\'s entity tag.', 400);
const unlinkQuiet = (f) => { try { unlinkSync(f); } catch { /* already gone */ } };

/** A disk object's body: fauxqs's CopyObject hands the source's `body` to putObject. */
class FileBody {
  constructor(files) {
    this.files = files;
  }
}

/** fauxqs's S3Store with bodies in files: the same API, the same errors, the same ETags. */
class DiskS3Store extends S3Store {
  constructor(dir) {
    super();
    this.dir = dir;
  }

  #newFile() {
    return join(this.dir, randomUUID());
  }

  #object(fields) {
    return { ...fields, body: new FileBody(fields.files) };
  }

  /** The object's bytes: every file in turn. */
  static open(obj) {
    return Readable.from((async function* () {
      for (const f of obj.files) yield* createReadStream(f, { highWaterMark: MiB });
    })(), { objectMode: false });
  }

  #replace(objects, key, obj) {
    const old = objects.get(key);
    objects.set(key, obj);
    if (old && old.files !== obj.files) for (const f of old.files) unlinkQuiet(f);
  }

  putObject(bucket, key, body, contentType, metadata) {
    const objects = this.buckets.get(bucket);
    if (!objects) throw new S3Error('NoSuchBucket', `The specified bucket does not exist: ${bucket}`, 404);
    if (body instanceof FileBody) {
      // CopyObject: the files copied, so deleting either object leaves the other whole.
      const files = body.files.map((f) => { const to = this.#newFile(); copyFileSync(f, to); return to; });
      const src = [...this.buckets.values()].flatMap((o) => [...o.values()]).find((o) => o.body === body);
      const obj = this.#object({
        key, files, contentType: contentType ?? 'application/octet-stream', contentLength: src?.contentLength ?? 0,
        etag: src?.etag ?? '""', lastModified: new Date(), metadata: metadata ?? {},
      });
      this.#replace(objects, key, obj);
      return obj;
    }
    if (!Buffer.isBuffer(body)) throw new S3Error('NotImplemented', 'unexpected body in the disk-backed bench store', 501);
    const file = this.#newFile();
    writeFileSync(file, body);
    const obj = this.#object({
      key, files: [file], contentType: contentType ?? 'application/octet-stream', contentLength: body.length,
      etag: `"${createHash('md5').update(body).digest('hex')}"`, lastModified: new Date(), metadata: metadata ?? {},
    });
    this.#replace(objects, key, obj);
    return obj;
  }

  deleteObject(bucket, key) {
    const objects = this.buckets.get(bucket);
    const old = objects?.get(key);
    super.deleteObject(bucket, key);
    if (old) for (const f of old.files) unlinkQuiet(f);
  }

  uploadPart(uploadId, partNumber, body) {
    const upload = this.multipartUploads.get(uploadId);
    if (!upload) throw noUpload();
    const digest = createHash('md5').update(body).digest();
    const file = this.#newFile();
    writeFileSync(file, body);
    const old = upload.parts.get(partNumber);
    upload.parts.set(partNumber, { partNumber, file, size: body.length, digest, etag: `"${digest.toString('hex')}"`, lastModified: new Date() });
    if (old) unlinkQuiet(old.file);
    return `"${digest.toString('hex')}"`;
  }

  completeMultipartUpload(uploadId, partSpecs) {
    const upload = this.multipartUploads.get(uploadId);
    if (!upload) throw noUpload();
    const objects = this.buckets.get(upload.bucket);
    if (!objects) throw new S3Error('NoSuchBucket', `The specified bucket does not exist: ${upload.bucket}`, 404);
    for (let i = 1; i < partSpecs.length; i++) {
      if (partSpecs[i].partNumber <= partSpecs[i - 1].partNumber) {
        throw new S3Error('InvalidPartOrder', 'The list of parts was not in ascending order. The parts list must be specified in order by part number.', 400);
      }
    }
    const parts = partSpecs.map((spec) => {
      const part = upload.parts.get(spec.partNumber);
      if (!part || spec.etag.replaceAll('"', '') !== part.etag.replaceAll('"', '')) throw badPart();
      return part;
    });
    if (parts.slice(0, -1).some((p) => p.size < 5 * MiB)) throw new S3Error('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size', 400);
    const used = new Set(parts.map((p) => p.file));
    for (const p of upload.parts.values()) if (!used.has(p.file)) unlinkQuiet(p.file); // uploaded but not listed
    const obj = this.#object({
      key: upload.key, files: parts.map((p) => p.file), contentType: upload.contentType,
      contentLength: parts.reduce((s, p) => s + p.size, 0),
      etag: `"${createHash('md5').update(Buffer.concat(parts.map((p) => p.digest))).digest('hex')}-${parts.length}"`,
      lastModified: new Date(), metadata: upload.metadata,
    });
    this.#replace(objects, upload.key, obj);
    this.multipartUploads.delete(uploadId);
    this.multipartUploadsByBucket.get(upload.bucket)?.delete(uploadId);
    return obj;
  }

  abortMultipartUpload(uploadId) {
    const upload = this.multipartUploads.get(uploadId);
    super.abortMultipartUpload(uploadId);
    for (const p of upload.parts.values()) unlinkQuiet(p.file);
  }
}

if (diskDir) mkdirSync(diskDir, { recursive: true });
const stores = diskDir ? { s3Store: new DiskS3Store(diskDir) } : {};
const app = buildApp({ logger: false, stores });
// The same catch-all body parser fauxqs adds, with a larger limit (the last '*' parser wins).
app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body));
if (diskDir) {
  // GetObject of a file-backed object, streamed. fauxqs's route sends obj.body from an async
  // handler without returning the reply, which only works for a Buffer (a stream goes out empty),
  // so plain GETs are answered here; anything else (errors, Range, conditions) goes on to fauxqs.
  app.addHook('onRequest', (request, reply, done) => {
    const key = request.params?.['*'];
    const h = request.headers;
    if (request.method !== 'GET' || !key || h.range || h['if-match'] || h['if-none-match'] || h['if-modified-since'] || h['if-unmodified-since']) return done();
    let obj;
    try {
      obj = stores.s3Store.getObject(request.params.bucket, key);
    } catch {
      return done(); // NoSuchKey / NoSuchBucket: fauxqs writes the error
    }
    reply.hijack();
    reply.raw.writeHead(200, {
      'content-type': obj.contentType, 'content-length': obj.contentLength, etag: obj.etag,
      'last-modified': obj.lastModified.toUTCString(), 'x-amz-request-id': randomUUID().replaceAll('-', '').slice(0, 16).toUpperCase(),
      ...Object.fromEntries(Object.entries(obj.metadata).map(([k, v]) => [`x-amz-meta-${k}`, v])),
    });
    pipeline(DiskS3Store.open(obj), reply.raw).catch(() => reply.raw.destroy());
  });
}
await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${JSON.stringify({ port: app.server.address().port, disk: diskDir })}\n`);

let closing = false;
async function stop() {
  if (closing) return;
  closing = true;
  await app.close().catch(() => { /* exiting anyway */ });
  if (diskDir) rmSync(diskDir, { recursive: true, force: true });
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
