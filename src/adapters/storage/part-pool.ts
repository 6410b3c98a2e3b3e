// Part buffers shared by every multipart upload of a process (src/wiring/production-ports.ts makes one). Each
// upload having its own buffers let memory grow with the number of uploads in parallel
// (chunk sends 4 segments at once: 4 × 4 × 16 MiB); with one pool it stays at
// `buffers` × `partSize` whatever runs. A worker holds one buffer per part and never waits
// for a second while holding one, so there is no deadlock; waiters are served first come,
// first served, so no upload starves the others.

export interface PartPoolOptions {
  /** Bytes of each buffer (default 5 MiB, lib-storage's own default and S3's minimum part). */
  partSize?: number;
  /** Buffers at most, in use or idle (default 4). */
  buffers?: number;
}

interface Waiter {
  bytes: number;
  resolve: (buffer: Buffer) => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

const MiB = 1024 * 1024;

export class PartPool {
  readonly partSize: number;
  readonly buffers: number;
  private readonly idle: Buffer[] = [];
  private readonly waiters: Waiter[] = [];
  private out = 0;

  constructor(options: PartPoolOptions = {}) {
    this.partSize = options.partSize ?? 5 * MiB;
    this.buffers = options.buffers ?? 4;
    if (!Number.isInteger(this.partSize) || this.partSize < 1) throw new RangeError(`part pool buffer size must be a positive integer, got ${this.partSize}`);
    if (!Number.isInteger(this.buffers) || this.buffers < 1) throw new RangeError(`part pool buffer count must be a positive integer, got ${this.buffers}`);
  }

  /** Buffers handed out and not yet released. */
  get inUse(): number {
    return this.out;
  }

  /** Buffers that exist (in use or kept for reuse); 0 until the first acquire. */
  get allocated(): number {
    return this.out + this.idle.length;
  }

  /**
   * A buffer of at least `bytes` (default partSize), once one is free; rejects with the
   * signal's reason if it fires first. Larger than partSize (a file of more than 10 000
   * parts) takes a slot like any other but is not kept after release.
   */
  acquire(bytes = this.partSize, signal?: AbortSignal): Promise<Buffer> {
    if (signal?.aborted) return Promise.reject(signal.reason as unknown);
    if (this.out < this.buffers && this.waiters.length === 0) {
      this.out++;
      return Promise.resolve(this.take(bytes));
    }
    return new Promise<Buffer>((resolve, reject) => {
      const waiter: Waiter = {
        bytes, resolve, reject, signal,
        onAbort: () => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(signal?.reason);
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Gives back a buffer from acquire; the caller must not touch it afterwards. */
  release(buffer: Buffer): void {
    if (this.out === 0) throw new Error('part pool: release without a matching acquire');
    this.out--;
    if (buffer.length === this.partSize) this.idle.push(buffer);
    while (this.out < this.buffers && this.waiters.length > 0) {
      const next = this.waiters.shift() as Waiter;
      next.signal?.removeEventListener('abort', next.onAbort);
      this.out++;
      next.resolve(this.take(next.bytes));
    }
  }

  private take(bytes: number): Buffer {
    const reused = this.idle.pop();
    if (bytes <= this.partSize) return reused ?? Buffer.allocUnsafe(this.partSize);
    // The idle buffer `reused` is dropped, so no more than `buffers` exist even now.
    return Buffer.allocUnsafe(bytes);
  }
}
