// ObjectStore on a local directory: the directory is the bucket, a key is a path under
// it. Used by `--role all` and the local commands, so it behaves like S3 where roles can
// tell: atomic objects, key-ordered listings, ObjectCreated:Put events.
//
// Beside each object lives a sidecar `<name>\meta.json` (content type, ETag), and an
// upload writes `<name>\<uuid>.tmp` first. Both names contain a backslash, which no safe
// key can (src/domain/object-keys.ts), so they never collide with an object and listings
// skip them without ambiguity — also a temp file a crash left behind.
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, constants as fsConstants } from 'node:fs';
import type { Dirent } from 'node:fs';
import { copyFile, lstat, mkdir, open, readFile, readdir, realpath, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { Transform } from 'node:stream';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ObjectNotFoundError, UnsafeKeyError, assertSafeKey, assertSafePrefix, safeKeyProblem } from '../../domain/object-keys.js';
import { rangeHeader, rangeProblem } from '../../domain/byte-range.js';
import { buildObjectCreatedEvent } from '../../domain/s3-event.js';
import type { S3EventNotification } from '../../domain/s3-event.js';
import type { DownloadOptions, GetStreamOptions, ObjectInfo, ObjectStore } from '../../ports/index.js';
import { streamCopy } from './stream-copy.js';
import { writeFully } from './write-fully.js';

const META_SUFFIX = '\\meta.json';

export interface FsObjectStoreOptions {
  /** The bucket's directory; created on the first upload. */
  root: string;
  /** The bucket name events and errors carry. */
  bucket: string;
  /** awsRegion in events (default us-east-1). */
  region?: string;
  /** Called after every completed upload, as an S3 bucket notification would be sent. Awaited: a failure fails the upload. */
  onObjectCreated?: (event: S3EventNotification) => void | Promise<void>;
}

interface Meta {
  contentType: string;
  etag: string;
  /** The object this sidecar describes: a sidecar left from an older version is ignored. */
  size: number;
  mtimeMs: number;
}

let sequence = 0;

export class FsObjectStore implements ObjectStore {
  readonly bucket: string;
  readonly root: string;
  private readonly region: string;
  private readonly onObjectCreated: FsObjectStoreOptions['onObjectCreated'];
  private realRoot: string | undefined;

  constructor(options: FsObjectStoreOptions) {
    this.root = resolve(options.root);
    this.bucket = options.bucket;
    this.region = options.region ?? 'us-east-1';
    this.onObjectCreated = options.onObjectCreated;
  }

  /** The file of `key`; never outside root, whatever the key. */
  pathFor(key: string): string {
    assertSafeKey(key);
    const file = resolve(this.root, ...key.split('/'));
    // assertSafeKey already rules out "..", "/" and "\"; this is the belt to its braces.
    if (!file.startsWith(this.root + sep)) throw new UnsafeKeyError(key, `resolves outside the bucket root ${this.root}`);
    return file;
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const file = this.pathFor(key);
    const st = await lstat(file).catch(ignoreMissing);
    if (!st?.isFile() || !(await this.insideRoot(dirname(file)))) return null;
    const meta = await readMeta(file, st.size, st.mtimeMs);
    return objectInfo(key, st.size, st.mtime, meta);
  }

  async exists(key: string): Promise<boolean> {
    return (await this.head(key)) !== null;
  }

  async getStream(key: string, opts: GetStreamOptions = {}): Promise<Readable> {
    const { range } = opts;
    const problem = range ? rangeProblem(range) : null;
    if (range && problem) throw new RangeError(`cannot read ${rangeHeader(range)} of ${this.describe(key)}: ${problem}`);
    const { fh, info } = await this.openObject(key);
    // As S3 answers 416: a range must start within the object (createReadStream would just end).
    if (range && range.start >= info.size) {
      await fh.close();
      throw new RangeError(`cannot read ${rangeHeader(range)} of ${this.describe(key)}: it starts at or past the end of the object (${info.size} bytes)`);
    }
    return fh.createReadStream({ ...(opts.signal ? { signal: opts.signal } : {}), ...(range ? { start: range.start, end: range.end ?? Infinity } : {}) });
  }

  async download(key: string, file: string, opts: DownloadOptions = {}): Promise<ObjectInfo> {
    opts.signal?.throwIfAborted();
    const { fh, info } = await this.openObject(key);
    const part = `${file}.part`;
    try {
      await mkdir(dirname(file), { recursive: true });
      const out = await open(part, 'w');
      // Chunk by chunk, each write awaited, so the progress hook counts bytes really on disk.
      let written = 0;
      try {
        for await (const chunk of fh.createReadStream(opts.signal ? { signal: opts.signal } : {}) as AsyncIterable<Buffer>) {
          await writeFully(out, chunk);
          written += chunk.length;
          opts.onProgress?.(written);
        }
      } finally {
        await out.close();
      }
      if (written !== info.size) throw new Error(`download of ${this.describe(key)} copied ${written} of ${info.size} bytes (changed while reading?)`);
      await rename(part, file);
    } catch (err) {
      await fh.close().catch(() => { /* already closed by the stream */ });
      await removeQuietly(part);
      throw abortReason(opts.signal) ?? err;
    }
    return info;
  }

  async upload(source: string | NodeJS.ReadableStream, key: string, contentType: string, opts: { signal?: AbortSignal } = {}): Promise<ObjectInfo> {
    const target = this.pathFor(key);
    opts.signal?.throwIfAborted();
    const dir = dirname(target);
    const tmp = join(dir, `${basename(target)}\\${randomUUID()}.tmp`);
    const md5 = createHash('md5');
    let size = 0;
    const meter = new Transform({ transform(chunk: Buffer, _enc, done) { md5.update(chunk); size += chunk.length; done(null, chunk); } });
    try {
      const out = await this.createTemp(key, dir, tmp);
      const input = typeof source === 'string' ? createReadStream(source) : source;
      // flush: fsync before close, so a power cut cannot leave a renamed but empty object.
      await pipeline(input, meter, out.createWriteStream({ flush: true }), opts.signal ? { signal: opts.signal } : {});
    } catch (err) {
      await removeQuietly(tmp);
      throw abortReason(opts.signal) ?? err;
    }
    return this.commit(tmp, target, key, contentType, `"${md5.digest('hex')}"`, size);
  }

  async copyFrom(source: ObjectStore, sourceKey: string, key: string, contentType: string, opts: { signal?: AbortSignal } = {}): Promise<ObjectInfo> {
    if (!(source instanceof FsObjectStore)) return streamCopy(this, source, sourceKey, key, contentType, opts);
    const target = this.pathFor(key);
    opts.signal?.throwIfAborted();
    const { fh, info } = await source.openObject(sourceKey);
    const st = await fh.stat().finally(() => fh.close());
    // A file put there by hand has no ETag to carry over: the streamed copy computes one.
    if (!info.etag) return streamCopy(this, source, sourceKey, key, contentType, opts);
    const dir = dirname(target);
    const tmp = join(dir, `${basename(target)}\\${randomUUID()}.tmp`);
    try {
      await (await this.createTemp(key, dir, tmp)).close();
      // In the kernel (a reflink where the filesystem has them): no byte passes through here.
      await copyFile(source.pathFor(sourceKey), tmp, fsConstants.COPYFILE_FICLONE);
      const copied = await open(tmp, 'r');
      try {
        const got = await copied.stat();
        // openObject refused a symlink; the path must still be that file, whole.
        const now = await lstat(source.pathFor(sourceKey));
        if (!now.isFile() || now.ino !== st.ino || now.dev !== st.dev || got.size !== st.size) {
          throw new Error(`copy of ${source.describe(sourceKey)} to ${this.describe(key)} changed while copying`);
        }
        await copied.sync(); // as upload's flush: a power cut cannot leave a renamed but empty object
      } finally {
        await copied.close();
      }
      opts.signal?.throwIfAborted();
    } catch (err) {
      await removeQuietly(tmp);
      throw abortReason(opts.signal) ?? err;
    }
    return this.commit(tmp, target, key, contentType, info.etag, st.size);
  }

  /** The complete temp file becomes the object: renamed over it, its sidecar, its event. */
  private async commit(tmp: string, target: string, key: string, contentType: string, etag: string, size: number): Promise<ObjectInfo> {
    try {
      await rename(tmp, target).catch((err: NodeJS.ErrnoException) => {
        throw err.code === 'EISDIR' || err.code === 'ENOTEMPTY'
          ? new Error(`cannot store ${this.describe(key)}: other objects live under "${key}/"`, { cause: err })
          : err;
      });
    } catch (err) {
      await removeQuietly(tmp);
      throw err;
    }
    const st = await lstat(target);
    const meta: Meta = { contentType, etag, size: st.size, mtimeMs: st.mtimeMs };
    await writeMeta(target, meta);
    const info = objectInfo(key, size, st.mtime, meta);
    if (this.onObjectCreated) await this.onObjectCreated(this.createdEvent(info, meta.etag));
    return info;
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    assertSafePrefix(prefix);
    // Start in the deepest directory the prefix names whole: "a/ab/" → a/ab, "a/ab" → a.
    const dirKey = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    const start = resolve(this.root, ...dirKey.split('/').filter(Boolean));
    if (!(await this.insideRoot(start))) return;
    yield* this.walk(start, dirKey, prefix);
  }

  async deleteMany(keys: readonly string[]): Promise<{ deleted: string[]; errors: Array<{ key: string; message: string }> }> {
    const deleted: string[] = [];
    const errors: Array<{ key: string; message: string }> = [];
    for (const key of new Set(keys)) {
      const problem = safeKeyProblem(key);
      if (problem) {
        errors.push({ key, message: `unsafe key: ${problem}` });
        continue;
      }
      try {
        const removed = await this.deleteOne(key);
        if (removed === true) deleted.push(key);
        else errors.push({ key, message: removed });
      } catch (err) {
        errors.push({ key, message: err instanceof Error ? err.message : String(err) });
      }
    }
    return { deleted, errors };
  }

  /** true when gone (or never there, as S3 counts it), else why not. */
  private async deleteOne(key: string): Promise<true | string> {
    const file = this.pathFor(key);
    const st = await lstat(file).catch(ignoreMissing);
    if (!st) return true;
    if (st.isDirectory()) return 'is a directory (a prefix of other objects), not an object';
    if (!st.isFile()) return 'is not a regular file';
    if (!(await this.insideRoot(dirname(file)))) return 'resolves outside the bucket root';
    await rm(file, { force: true });
    await rm(file + META_SUFFIX, { force: true });
    // S3 has no directories: drop the ones this delete emptied, up to (not including) root.
    for (let dir = dirname(file); dir.startsWith(this.root + sep); dir = dirname(dir)) {
      try {
        await rmdir(dir);
      } catch {
        break; // not empty (or already gone): its parents are not empty either
      }
    }
    return true;
  }

  private async *walk(dir: string, dirKey: string, prefix: string): AsyncGenerator<ObjectInfo> {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (isMissing(err)) return;
      throw err;
    }
    // S3 lists in UTF-8 byte order of whole keys: a directory sorts as "name/", so "a.txt"
    // comes before everything under "a/" ('.' < '/'), as it does in S3.
    const items = entries
      .filter((e) => (e.isFile() || e.isDirectory()) && !e.name.includes('\\'))
      .map((e) => ({ e, key: dirKey + e.name + (e.isDirectory() ? '/' : ''), bytes: Buffer.from(dirKey + e.name + (e.isDirectory() ? '/' : '')) }))
      .sort((a, b) => Buffer.compare(a.bytes, b.bytes));
    for (const { e, key } of items) {
      if (e.isDirectory()) {
        if (key.startsWith(prefix) || prefix.startsWith(key)) yield* this.walk(join(dir, e.name), key, prefix);
      } else if (key.startsWith(prefix) && safeKeyProblem(key) === null) {
        const file = join(dir, e.name);
        const st = await lstat(file).catch(ignoreMissing);
        if (!st?.isFile()) continue; // deleted while listing
        const meta = await readMeta(file, st.size, st.mtimeMs);
        yield { key, size: st.size, lastModified: st.mtime, ...(meta ? { etag: meta.etag } : {}) };
      }
    }
  }

  /** The object's file, opened without following symlinks, and what head would say. */
  private async openObject(key: string): Promise<{ fh: FileHandle; info: ObjectInfo }> {
    const file = this.pathFor(key);
    let fh: FileHandle;
    try {
      if (!(await this.insideRoot(dirname(file)))) throw new ObjectNotFoundError(this.bucket, key);
      fh = await open(file, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
    } catch (err) {
      if (err instanceof ObjectNotFoundError || isMissing(err) || (err as NodeJS.ErrnoException).code === 'ELOOP') throw new ObjectNotFoundError(this.bucket, key);
      throw err;
    }
    const st = await fh.stat();
    if (!st.isFile()) {
      await fh.close();
      throw new ObjectNotFoundError(this.bucket, key); // a directory: a prefix, not an object
    }
    return { fh, info: objectInfo(key, st.size, st.mtime, await readMeta(file, st.size, st.mtimeMs)) };
  }

  /** Opens the temp file, creating its directory; retries when a concurrent delete pruned it. */
  private async createTemp(key: string, dir: string, tmp: string): Promise<FileHandle> {
    for (let attempt = 1; ; attempt++) {
      try {
        await mkdir(dir, { recursive: true });
        if (!(await this.insideRoot(dir))) throw new UnsafeKeyError(key, `resolves outside the bucket root ${this.root} (through a symlink)`);
        return await open(tmp, 'wx');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' && attempt < 3) continue;
        if (code === 'ENOTDIR' || code === 'EEXIST') throw new Error(`cannot store ${this.describe(key)}: a parent of it is an object, not a prefix`, { cause: err });
        throw err;
      }
    }
  }

  /** False when `dir` is missing or, through a symlink, really lies outside root. */
  private async insideRoot(dir: string): Promise<boolean> {
    try {
      this.realRoot ??= await realpath(this.root);
      const real = await realpath(dir);
      return real === this.realRoot || real.startsWith(this.realRoot + sep);
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }

  private createdEvent(info: ObjectInfo, etag: string): S3EventNotification {
    sequence = (sequence + 1) % 0x10000;
    return buildObjectCreatedEvent({
      bucket: this.bucket,
      key: info.key,
      size: info.size,
      eTag: etag,
      region: this.region,
      time: info.lastModified ?? new Date(),
      sequencer: Date.now().toString(16).toUpperCase().padStart(12, '0') + sequence.toString(16).toUpperCase().padStart(4, '0'),
    });
  }

  private describe(key: string): string {
    return `${JSON.stringify(key)} in fs bucket ${JSON.stringify(this.bucket)}`;
  }
}

function objectInfo(key: string, size: number, mtime: Date, meta: Meta | null): ObjectInfo {
  return { key, size, lastModified: mtime, ...(meta ? { etag: meta.etag, contentType: meta.contentType } : {}) };
}

async function readMeta(file: string, size: number, mtimeMs: number): Promise<Meta | null> {
  try {
    const meta = JSON.parse(await readFile(file + META_SUFFIX, 'utf8')) as Meta;
    return meta.size === size && meta.mtimeMs === mtimeMs ? meta : null;
  } catch {
    return null; // no sidecar (a file put there by hand) or a torn one: no ETag, no type
  }
}

/** Temp file + rename, like the object itself. */
async function writeMeta(file: string, meta: Meta): Promise<void> {
  const tmp = `${file}\\${randomUUID()}.tmp`;
  try {
    await writeFile(tmp, JSON.stringify(meta), { flag: 'wx' });
    await rename(tmp, file + META_SUFFIX);
  } catch (err) {
    await removeQuietly(tmp);
    throw err;
  }
}

/** The caller's reason once its signal fired: pipeline() only says "The operation was aborted". */
function abortReason(signal: AbortSignal | undefined): unknown {
  return signal?.aborted ? signal.reason : undefined;
}

/** Clean-up after a failure must not hide the failure (rm force still throws ENOTDIR). */
async function removeQuietly(file: string): Promise<void> {
  await rm(file, { force: true }).catch(() => { /* nothing there, or nothing we can do */ });
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function ignoreMissing(err: unknown): null {
  if (isMissing(err)) return null;
  throw err;
}
