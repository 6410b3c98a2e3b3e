// Events to Axiom from inside the process (a pino transport runs in a worker thread loaded by
// file path, which a single executable cannot do). Batched, bounded, never fatal: when Axiom
// fails, stdout still has every event and stderr says so once per failure burst.

export interface WritableText {
  write(s: string): unknown;
}

export interface AxiomStreamOptions {
  token: string;
  dataset: string;
  /** API base; default `https://api.axiom.co`. */
  url?: string;
  flushIntervalMs?: number;
  /** Events per request. */
  maxBatch?: number;
  /** Events held at most; the oldest are dropped beyond it. */
  maxBuffered?: number;
  /** Gives up on a request after this long, so a hung Axiom cannot hold the queue. */
  requestTimeoutMs?: number;
  stderr?: WritableText;
  fetch?: typeof globalThis.fetch;
}

type AxiomEvent = Record<string, unknown>;

export class AxiomStream {
  private readonly endpoint: string;
  private readonly token: string;
  private readonly flushIntervalMs: number;
  private readonly maxBatch: number;
  private readonly maxBuffered: number;
  private readonly requestTimeoutMs: number;
  private readonly stderr: WritableText;
  private readonly fetch: typeof globalThis.fetch;

  private buffer: AxiomEvent[] = [];
  private timer: NodeJS.Timeout | null = null;
  private pumping: Promise<void> | null = null;
  private failing = false;
  private unreportedDrops = 0;
  private closed = false;

  constructor(opts: AxiomStreamOptions) {
    const base = (opts.url ?? 'https://api.axiom.co').replace(/\/+$/, '');
    this.endpoint = `${base}/v1/datasets/${encodeURIComponent(opts.dataset)}/ingest`;
    this.token = opts.token;
    this.flushIntervalMs = opts.flushIntervalMs ?? 1000;
    this.maxBuffered = Math.max(1, opts.maxBuffered ?? 10_000);
    this.maxBatch = Math.min(this.maxBuffered, Math.max(1, opts.maxBatch ?? 1000));
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
    this.stderr = opts.stderr ?? process.stderr;
    this.fetch = opts.fetch ?? globalThis.fetch;
  }

  /** Buffers the JSON event(s) of a log line; sending happens on the timer or a full batch. */
  write(line: string): void {
    if (this.closed) return;
    for (const part of line.split('\n')) {
      if (part.trim() === '') continue;
      this.buffer.push(toEvent(part));
    }
    const excess = this.buffer.length - this.maxBuffered;
    if (excess > 0) {
      this.buffer.splice(0, excess);
      this.unreportedDrops += excess;
    }
    if (this.buffer.length >= this.maxBatch && !this.pumping) void this.pump();
    else this.arm();
  }

  /** Sends everything buffered (one request at a time); resolves when done or Axiom failed. */
  flush(): Promise<void> {
    return this.pump();
  }

  /** Final flush; later writes are ignored. */
  async close(): Promise<void> {
    this.closed = true;
    this.disarm();
    await this.pump();
    // Whatever a failing Axiom left behind is lost; say how much, once.
    this.unreportedDrops += this.buffer.length;
    this.buffer = [];
    if (this.unreportedDrops > 0) this.report('closing the Axiom stream');
  }

  private arm(): void {
    if (this.timer || this.closed || this.buffer.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.pump();
    }, this.flushIntervalMs);
    this.timer.unref(); // logging never keeps the process alive
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  // At most one drain runs; every caller waits on the same one.
  private pump(): Promise<void> {
    this.pumping ??= this.drain().finally(() => {
      this.pumping = null;
      this.arm();
    });
    return this.pumping;
  }

  private async drain(): Promise<void> {
    this.disarm();
    while (this.buffer.length > 0) {
      const batch = this.buffer.splice(0, this.maxBatch);
      // On failure stop here: the rest waits for the next tick instead of hammering Axiom.
      if (!(await this.send(batch))) return;
    }
  }

  private async send(batch: AxiomEvent[]): Promise<boolean> {
    let failure: string | null = null;
    try {
      const res = await this.fetch(this.endpoint, {
        method: 'POST',
        headers: { Authorization: `Bearer ${this.token}`, 'Content-Type': 'application/x-ndjson' },
        body: batch.map((e) => JSON.stringify(e)).join('\n') + '\n',
        signal: AbortSignal.timeout(this.requestTimeoutMs),
      });
      const text = await res.text().catch(() => '');
      if (!res.ok) failure = `HTTP ${res.status}: ${oneLine(text) || res.statusText}`;
    } catch (err) {
      failure = describeNetworkError(err);
    }

    if (failure === null) {
      if (this.failing) {
        this.failing = false;
        this.report('Axiom ingest recovered');
      }
      return true;
    }
    if (!this.failing) {
      this.failing = true;
      this.report(`Axiom ingest failed (${failure}); events still go to stdout, will retry quietly`);
    }
    this.unreportedDrops += batch.length; // memory stays bounded: a failed batch is not kept
    return false;
  }

  private report(what: string): void {
    const drops = this.unreportedDrops > 0 ? ` (${this.unreportedDrops} events not sent to Axiom)` : '';
    this.unreportedDrops = 0;
    try {
      this.stderr.write(`rugbyworker: ${what}${drops}\n`);
    } catch {
      // stderr gone: nothing better to do
    }
  }
}

function toEvent(line: string): AxiomEvent {
  let event: AxiomEvent;
  try {
    const parsed: unknown = JSON.parse(line);
    event = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? parsed as AxiomEvent
      : { message: line };
  } catch {
    event = { message: line };
  }
  // Axiom orders by `_time`; without it, it would use the arrival time.
  if (typeof event.timestamp === 'string') event._time = event.timestamp;
  return event;
}

function oneLine(s: string): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}

function describeNetworkError(err: unknown): string {
  const e = err as { name?: unknown; message?: unknown; cause?: { message?: unknown } } | null;
  if (typeof e?.message !== 'string') return String(err);
  if (e.name === 'TimeoutError') return 'request timed out';
  // fetch says only "fetch failed"; the cause has ECONNREFUSED, ENOTFOUND, …
  return typeof e.cause?.message === 'string' ? `${e.message}: ${e.cause.message}` : e.message;
}
