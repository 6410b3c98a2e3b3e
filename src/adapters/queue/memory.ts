// In-process queue with SQS semantics (visibility timeout, per-delivery receipts,
// receive count, DLQ after maxReceiveCount), for `--role all`, the local commands
// and tests. Long polls wait on timers and wake-ups, never by polling.
import { randomUUID } from 'node:crypto';
import { LeaseLostError } from '../../ports/index.js';
import type { DeadLetter, Queue, QueueDepth, QueueMessage, RedriveOptions } from '../../ports/index.js';

export interface MemoryQueueOptions {
  name: string;
  /** Default visibility timeout of a receive, in seconds (SQS's queue attribute). */
  visibilitySeconds?: number;
  /** Deliveries before a message goes to the DLQ; null = no DLQ (redelivered forever). */
  maxReceiveCount?: number | null;
  /** Clock in ms; tests may pass a fake one (timers still run on real time). */
  now?: () => number;
}

interface Entry {
  readonly id: string;
  readonly body: string;
  receiveCount: number;
  /** Wall-clock ms of the send (QueueMessage.sentAt), not `now()`'s clock, which tests may fake. */
  readonly sentAt: number;
  /** ms on `now()`'s clock when it may be delivered (again). */
  visibleAt: number;
  /** Receipt of the current delivery; null before the first one. */
  receipt: string | null;
}

type Wake = () => void;

export class MemoryQueue implements Queue {
  readonly name: string;
  readonly maxReceiveCount: number | null;
  private readonly visibilitySeconds: number;
  private readonly now: () => number;
  // Map keeps insertion order: roughly FIFO, like a standard SQS queue at low volume.
  private readonly entries = new Map<string, Entry>();
  private readonly dlq: DeadLetter[] = [];
  private readonly waiters = new Set<Wake>();
  private closed = false;

  constructor(opts: MemoryQueueOptions) {
    this.name = opts.name;
    this.visibilitySeconds = opts.visibilitySeconds ?? 30;
    this.maxReceiveCount = opts.maxReceiveCount === undefined ? 5 : opts.maxReceiveCount;
    this.now = opts.now ?? Date.now;
    if (this.maxReceiveCount !== null && (!Number.isInteger(this.maxReceiveCount) || this.maxReceiveCount < 1)) {
      throw new RangeError(`MemoryQueue ${this.name}: maxReceiveCount must be an integer ≥ 1 or null`);
    }
  }

  async receive(opts: { max: number; waitSeconds: number; visibilitySeconds?: number; signal?: AbortSignal }): Promise<QueueMessage[]> {
    const { signal } = opts;
    const max = Math.max(1, Math.floor(opts.max));
    const visibilityMs = (opts.visibilitySeconds ?? this.visibilitySeconds) * 1000;
    // The wait deadline is real time, so a frozen test clock cannot make a poll hang.
    const deadline = Date.now() + Math.max(0, opts.waitSeconds) * 1000;
    for (;;) {
      if (this.closed || signal?.aborted) return [];
      const got = this.take(max, visibilityMs);
      if (got.length > 0) return got;
      const left = deadline - Date.now();
      if (left <= 0) return [];
      await this.waitForChange(left, signal);
    }
  }

  async extend(msg: QueueMessage, seconds: number): Promise<void> {
    const entry = this.inFlight(msg, 'extend');
    entry.visibleAt = this.now() + Math.max(0, seconds) * 1000;
    this.wake(); // a shorter timeout may make it visible sooner than a waiter's timer
  }

  async release(msg: QueueMessage, delaySeconds = 0): Promise<void> {
    const entry = this.inFlight(msg, 'release');
    entry.visibleAt = this.now() + Math.max(0, delaySeconds) * 1000;
    this.wake();
  }

  async ack(msg: QueueMessage): Promise<void> {
    // As SQS: deleting with the latest receipt works even after the timeout expired,
    // as long as nobody received the message again.
    const entry = this.current(msg, 'ack');
    this.entries.delete(entry.id);
  }

  async deadLetter(msg: QueueMessage, reason: string): Promise<void> {
    if (this.maxReceiveCount === null) throw new Error(`queue ${this.name} has no dead-letter queue`);
    const entry = this.current(msg, 'dead-letter');
    this.entries.delete(entry.id);
    this.dlq.push({ id: entry.id, body: entry.body, reason });
  }

  async send(body: string, opts?: { delaySeconds?: number }): Promise<void> {
    if (this.closed) throw new Error(`queue ${this.name} is closed`);
    const id = randomUUID();
    this.entries.set(id, { id, body, receiveCount: 0, sentAt: Date.now(), visibleAt: this.now() + Math.max(0, opts?.delaySeconds ?? 0) * 1000, receipt: null });
    this.wake();
  }

  async peekDeadLetters(max: number): Promise<DeadLetter[]> {
    return this.dlq.slice(0, Math.max(0, max)).map((d) => ({ ...d }));
  }

  async redrive(opts: RedriveOptions = {}): Promise<number> {
    opts.onProgress?.({ kind: 'started', method: 'atomic', waiting: this.dlq.length });
    if (opts.signal?.aborted) return 0;
    const moved = this.dlq.splice(0);
    const at = this.now();
    // Back in the main queue as new messages: the receive count starts again.
    for (const d of moved) this.entries.set(d.id, { id: d.id, body: d.body, receiveCount: 0, sentAt: Date.now(), visibleAt: at, receipt: null });
    if (moved.length > 0) this.wake();
    opts.onProgress?.({ kind: 'moved', moved: moved.length });
    return moved.length;
  }

  async depth(): Promise<QueueDepth> {
    const at = this.now();
    let visible = 0;
    for (const e of this.entries.values()) if (e.visibleAt <= at) visible++;
    return { visible, inflight: this.entries.size - visible, dlq: this.maxReceiveCount === null ? null : this.dlq.length };
  }

  async purgeDeadLetters(): Promise<number> {
    return this.dlq.splice(0).length;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake(); // pending long polls resolve []
  }

  /** Messages in the main queue, visible or not (for tests and `dlq` commands). */
  get size(): number {
    return this.entries.size;
  }

  private take(max: number, visibilityMs: number): QueueMessage[] {
    const at = this.now();
    const out: QueueMessage[] = [];
    for (const entry of this.entries.values()) {
      if (out.length >= max) break;
      if (entry.visibleAt > at) continue;
      // As SQS's redrive policy: the delivery that would exceed the limit moves it instead.
      if (this.maxReceiveCount !== null && entry.receiveCount >= this.maxReceiveCount) {
        this.entries.delete(entry.id);
        this.dlq.push({ id: entry.id, body: entry.body, reason: `exceeded maxReceiveCount ${this.maxReceiveCount}` });
        continue;
      }
      entry.receiveCount += 1;
      entry.receipt = `${entry.id}:${entry.receiveCount}:${randomUUID()}`;
      entry.visibleAt = at + visibilityMs;
      out.push({ id: entry.id, body: entry.body, receiveCount: entry.receiveCount, receipt: entry.receipt, sentAt: entry.sentAt });
    }
    return out;
  }

  /** The entry whose latest delivery `msg` is; LeaseLostError otherwise (acked, or redelivered since). */
  private current(msg: QueueMessage, what: string): Entry {
    const entry = this.entries.get(msg.id);
    if (!entry || entry.receipt !== msg.receipt) {
      throw new LeaseLostError(`cannot ${what} message ${msg.id} on ${this.name}: ${entry ? 'it was delivered again since' : 'it is gone'}`);
    }
    return entry;
  }

  /** As `current`, and still hidden: a visibility change needs a live lease (SQS: "not in flight"). */
  private inFlight(msg: QueueMessage, what: string): Entry {
    const entry = this.current(msg, what);
    if (entry.visibleAt <= this.now()) {
      throw new LeaseLostError(`cannot ${what} message ${msg.id} on ${this.name}: its visibility timeout expired`);
    }
    return entry;
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Resolves on a send/release/redrive/close, when the next hidden message becomes visible, after `maxMs`, or on abort. */
  private waitForChange(maxMs: number, signal?: AbortSignal): Promise<void> {
    const at = this.now();
    let nextVisible = Infinity;
    for (const e of this.entries.values()) if (e.visibleAt > at && e.visibleAt < nextVisible) nextVisible = e.visibleAt;
    // +1 ms so the timer fires at or after the moment, not a hair before it.
    const ms = Math.min(maxMs, nextVisible - at + 1);
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
