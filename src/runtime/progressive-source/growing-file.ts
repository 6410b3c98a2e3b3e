// The work file while a download fills it from the start: how much of it is there, a wait
// for more, and reads of what is there. The download writes `part` and renames it to
// `whole` when done (ObjectStore.download); a handle opened on `part` keeps reading the
// same file after the rename.
import { open, type FileHandle } from 'node:fs/promises';

interface Waiter {
  position: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class GrowingFile {
  private onDisk = 0;
  private failure: unknown = undefined;
  private readonly waiters = new Set<Waiter>();
  private handle: Promise<FileHandle> | undefined;
  private closed = false;

  constructor(private readonly paths: { part: string; whole: string }, readonly size: number) {}

  /** Bytes 0 … bytesOnDisk − 1 can be read. */
  get bytesOnDisk(): number {
    return this.onDisk;
  }

  /** Why the download failed for good, once it has. */
  get failed(): unknown {
    return this.failure;
  }

  /** The download's progress hook. */
  advance(bytesOnDisk: number): void {
    if (bytesOnDisk <= this.onDisk) return;
    this.onDisk = Math.min(bytesOnDisk, this.size);
    for (const w of this.waiters) {
      if (w.position < this.onDisk) {
        this.waiters.delete(w);
        w.resolve();
      }
    }
  }

  complete(): void {
    this.advance(this.size);
  }

  /** Every wait, now and later, rejects with `err`. */
  fail(err: unknown): void {
    this.failure ??= err;
    for (const w of this.waiters) w.reject(this.failure);
    this.waiters.clear();
  }

  /** Resolves once byte `position` is on disk; rejects when the download fails or `signal` aborts. */
  waitFor(position: number, signal: AbortSignal): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (position < this.onDisk) return Promise.resolve();
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.waiters.delete(waiter);
        reject(signal.reason);
      };
      const waiter: Waiter = {
        position,
        resolve: () => { signal.removeEventListener('abort', onAbort); resolve(); },
        reject: (err) => { signal.removeEventListener('abort', onAbort); reject(err); },
      };
      this.waiters.add(waiter);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Up to `length` bytes from `position`, all of them on disk. */
  async read(position: number, length: number): Promise<Buffer> {
    if (position + length > this.onDisk) throw new RangeError(`bytes ${position}-${position + length - 1} are not on disk yet (${this.onDisk})`);
    const fh = await this.open();
    const buf = Buffer.allocUnsafe(length);
    const { bytesRead } = await fh.read(buf, 0, length, position);
    // The download said these bytes were written: a short read means the file is not what it said.
    if (bytesRead !== length) throw new Error(`the work file ended at ${position + bytesRead} bytes, the download had reported ${this.onDisk}`);
    return buf;
  }

  /** Closes the file; reads from now on reject. */
  async close(): Promise<void> {
    this.closed = true;
    const fh = await this.handle?.catch(() => undefined);
    await fh?.close();
  }

  private open(): Promise<FileHandle> {
    if (this.closed) return Promise.reject(new Error('the work file is closed'));
    this.handle ??= open(this.paths.part, 'r').catch((err: NodeJS.ErrnoException) => {
      // No part file any more: the download is done and renamed it.
      if (err.code === 'ENOENT') return open(this.paths.whole, 'r');
      throw err;
    });
    // A failed open is tried again on the next read rather than remembered.
    this.handle.catch(() => { this.handle = undefined; });
    return this.handle;
  }
}
