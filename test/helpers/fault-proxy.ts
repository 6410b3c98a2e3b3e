// A fault-injecting TCP proxy for tests: put it between a client and a real server
// (HTTP, Redis, anything over TCP) and switch it to latency, a slow link, refused or
// reset connections, or a black hole, at any moment. Only node:net; nothing is left
// listening or ticking after close().
import { connect, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export type FaultMode =
  | { kind: 'pass' }
  /** Added one-way delay per chunk, both directions. */
  | { kind: 'latency'; ms: number }
  /**
   * Each direction throttled to this rate (plus optional one-way latency). By default
   * every connection gets the rate; `shared` makes it the link's, shared by all open
   * connections (a real uplink: parallel requests do not multiply it). `upBytesPerSecond`
   * gives client→target its own rate (an asymmetric link: `bytesPerSecond` is then the
   * target→client, download, rate).
   */
  | { kind: 'bandwidth'; bytesPerSecond: number; latencyMs?: number; upBytesPerSecond?: number; shared?: boolean }
  /** New connections are reset at once; open ones keep working. */
  | { kind: 'refuse' }
  /** Every open connection is reset now, and new ones on accept. */
  | { kind: 'reset' }
  /**
   * New connections are accepted, read and discarded, never answered nor forwarded;
   * open ones stop forwarding too. Leaving the black hole (any other mode) resets every
   * connection that was black-holed: a real black-holed TCP connection would only time
   * out, so it never comes back to life.
   */
  | { kind: 'blackhole' };

export interface FaultProxy {
  readonly port: number;
  /** `http://127.0.0.1:${port}` */
  readonly url: string;
  readonly host: string;
  mode(): FaultMode['kind'];
  /** Takes effect at once (for 'reset': resets open connections immediately). */
  set(mode: FaultMode): void;
  /** Sets `mode` for `ms`, then back to pass; resolves when back. */
  outage(mode: FaultMode, ms: number): Promise<void>;
  /**
   * Resets all open connections once `afterBytes` more bytes have been forwarded in
   * `direction` ('up' = client→target, the default) in total, across connections. Once.
   */
  resetAfter(afterBytes: number, direction?: 'up' | 'down'): void;
  /** bytesUp/bytesDown count forwarded bytes; resets counts connections the proxy reset as a fault. */
  stats(): { accepted: number; open: number; bytesUp: number; bytesDown: number; resets: number };
  /** Closes the listener and destroys all sockets; idempotent. */
  close(): Promise<void>;
}

type Direction = 'up' | 'down';

// Above this many queued bytes in one direction the source socket is paused.
const HIGH_WATER = 64 * 1024;

/** A token bucket: one per pipe, or one per direction for the whole proxy (shared). */
interface Bucket {
  tokens: number;
  lastRefill: number;
  rate: number | undefined;
}

interface Chunk {
  buf: Buffer;
  readyAt: number; // performance.now() at which it may leave (latency)
}

class Pipe {
  private queue: Chunk[] = [];
  private queued = 0;
  private timer: NodeJS.Timeout | undefined;
  private waitingDrain = false;
  private pausedSrc = false;
  private ended = false; // src sent FIN
  private finished = false; // FIN passed on to dst
  private readonly own: Bucket = { tokens: 0, lastRefill: 0, rate: undefined };

  constructor(
    private readonly conn: Conn,
    readonly dir: Direction,
    readonly src: Socket,
    readonly dst: Socket,
  ) {}

  get srcEnded(): boolean {
    return this.ended;
  }

  push(buf: Buffer): void {
    this.queue.push({ buf, readyAt: performance.now() + this.conn.proxy.latencyMs() });
    this.queued += buf.length;
    if (this.queued > HIGH_WATER && !this.pausedSrc) {
      this.pausedSrc = true;
      this.src.pause();
    }
    this.pump();
  }

  end(): void {
    this.ended = true;
    this.pump();
  }

  onDrain(): void {
    this.waitingDrain = false;
    this.pump();
  }

  /** Re-evaluates a pending wait after a mode change (e.g. bandwidth lifted). */
  kick(): void {
    if (!this.timer) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pump();
  }

  /** Drops queued data and timers; the source goes on flowing (into the void). */
  abort(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue = [];
    this.queued = 0;
    if (this.pausedSrc) {
      this.pausedSrc = false;
      this.src.resume();
    }
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, Math.max(1, Math.ceil(ms)));
  }

  private pump(): void {
    const proxy = this.conn.proxy;
    if (this.timer || this.waitingDrain || !this.conn.forwarding()) return;
    for (;;) {
      const head = this.queue[0];
      if (!head) break;
      const now = performance.now();
      // Timers may fire a hair early against the clock; never let a chunk out early.
      if (now < head.readyAt) return this.schedule(head.readyAt - now);
      let n = head.buf.length;
      const rate = proxy.bytesPerSecond(this.dir);
      const bucket = proxy.sharedBucket(this.dir) ?? this.own;
      if (rate !== bucket.rate) {
        bucket.rate = rate;
        bucket.tokens = 0;
        bucket.lastRefill = now;
      }
      if (rate !== undefined) {
        // Token bucket holding at most 20 ms worth, so there is no initial burst.
        const quantum = Math.max(1, Math.floor(rate / 50));
        bucket.tokens = Math.min(quantum, bucket.tokens + ((now - bucket.lastRefill) * rate) / 1000);
        bucket.lastRefill = now;
        // A shared bucket: take what a quarter quantum (5 ms) allows, so connections
        // waiting on the same bucket take turns instead of one draining it each time.
        const want = Math.min(n, proxy.sharedBucket(this.dir) ? Math.max(1, Math.floor(quantum / 4)) : quantum);
        if (bucket.tokens < want) return this.schedule(((want - bucket.tokens) * 1000) / rate);
        n = Math.min(n, Math.floor(bucket.tokens));
        bucket.tokens -= n;
      }
      n = proxy.limitForTrigger(this.dir, n);
      const slice = n === head.buf.length ? head.buf : head.buf.subarray(0, n);
      if (n === head.buf.length) this.queue.shift();
      else head.buf = head.buf.subarray(n);
      this.queued -= n;
      const ok = this.dst.write(slice);
      proxy.count(this.dir, n); // may reset everything, this connection included
      if (!this.conn.forwarding()) return;
      if (this.pausedSrc && this.queued <= HIGH_WATER) {
        this.pausedSrc = false;
        this.src.resume();
      }
      if (!ok) {
        this.waitingDrain = true;
        return;
      }
    }
    if (this.ended && !this.finished) {
      this.finished = true;
      // If the source is fully gone there is nothing more to read from dst either.
      if (this.src.destroyed) this.dst.destroySoon();
      else this.dst.end();
    }
  }
}

class Conn {
  dead = false;
  blackholed = false;
  private readonly up: Pipe | undefined;
  private readonly down: Pipe | undefined;
  private closedSockets = 0;

  constructor(
    readonly proxy: ProxyImpl,
    private readonly client: Socket,
    private readonly upstream: Socket | undefined,
  ) {
    const sockets = upstream ? [client, upstream] : [client];
    for (const s of sockets) s.on('error', () => { /* handled on 'close' */ });
    if (!upstream) {
      // Accepted inside the black hole: read and discard, never answer.
      this.blackholed = true;
      client.on('data', () => {});
      client.on('close', () => this.onClose(client, false));
      return;
    }
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const up = new Pipe(this, 'up', client, upstream);
    const down = new Pipe(this, 'down', upstream, client);
    this.up = up;
    this.down = down;
    client.on('data', (c: Buffer) => { if (this.forwarding()) up.push(c); });
    upstream.on('data', (c: Buffer) => { if (this.forwarding()) down.push(c); });
    client.on('end', () => { if (this.forwarding()) up.end(); });
    upstream.on('end', () => { if (this.forwarding()) down.end(); });
    upstream.on('drain', () => up.onDrain());
    client.on('drain', () => down.onDrain());
    client.on('close', (hadError) => this.onClose(client, hadError));
    upstream.on('close', (hadError) => this.onClose(upstream, hadError));
  }

  forwarding(): boolean {
    return !this.dead && !this.blackholed;
  }

  blackhole(): void {
    if (this.dead) return;
    this.blackholed = true;
    this.up?.abort();
    this.down?.abort();
  }

  kick(): void {
    this.up?.kick();
    this.down?.kick();
  }

  /** Tears both sides down: 'reset' sends RST, 'destroy' a plain close. */
  kill(how: 'reset' | 'destroy', fault: boolean): void {
    if (this.dead) return;
    this.dead = true;
    if (fault) this.proxy.resets++;
    this.up?.abort();
    this.down?.abort();
    for (const s of [this.client, this.upstream]) {
      if (!s || s.destroyed) continue;
      if (how === 'destroy' || s.connecting) s.destroy();
      else resetSocket(s);
    }
    this.proxy.conns.delete(this);
  }

  private onClose(side: Socket, hadError: boolean): void {
    this.closedSockets++;
    if (this.closedSockets === (this.upstream ? 2 : 1)) this.proxy.conns.delete(this);
    if (this.dead) return;
    if (this.blackholed) return this.kill('destroy', false);
    const from = side === this.client ? this.up : this.down;
    const toward = side === this.client ? this.down : this.up;
    toward?.abort();
    // A side that went away without a FIN (error, RST, failed connect): pass the reset on.
    if (hadError || !from?.srcEnded) this.kill(hadError ? 'reset' : 'destroy', false);
    else from.end(); // flushes what is queued, then closes the other side
  }
}

function resetSocket(s: Socket): void {
  try {
    s.resetAndDestroy();
  } catch {
    s.destroy();
  }
}

class ProxyImpl {
  readonly conns = new Set<Conn>();
  current: FaultMode;
  accepted = 0;
  bytesUp = 0;
  bytesDown = 0;
  resets = 0;
  closing = false;
  private trigger: { dir: Direction; remaining: number } | undefined;
  private readonly outages = new Set<{ timer: NodeJS.Timeout | undefined; resolve: () => void }>();
  private closed: Promise<void> | undefined;

  constructor(
    private readonly server: Server,
    private readonly target: { host: string; port: number },
    mode: FaultMode,
  ) {
    this.current = mode;
    server.on('connection', (s) => this.accept(s));
    server.on('error', () => { /* listen errors surface from start */ });
  }

  latencyMs(): number {
    const m = this.current;
    if (m.kind === 'latency') return m.ms;
    if (m.kind === 'bandwidth') return m.latencyMs ?? 0;
    return 0;
  }

  bytesPerSecond(dir: Direction): number | undefined {
    const m = this.current;
    if (m.kind !== 'bandwidth') return undefined;
    return dir === 'up' ? m.upBytesPerSecond ?? m.bytesPerSecond : m.bytesPerSecond;
  }

  private readonly buckets: Record<Direction, Bucket> = {
    up: { tokens: 0, lastRefill: 0, rate: undefined },
    down: { tokens: 0, lastRefill: 0, rate: undefined },
  };

  /** The direction's link-wide bucket in a shared bandwidth mode; undefined: each pipe has its own. */
  sharedBucket(dir: Direction): Bucket | undefined {
    return this.current.kind === 'bandwidth' && this.current.shared === true ? this.buckets[dir] : undefined;
  }

  limitForTrigger(dir: Direction, n: number): number {
    const t = this.trigger;
    return t && t.dir === dir ? Math.min(n, t.remaining) : n;
  }

  count(dir: Direction, n: number): void {
    if (dir === 'up') this.bytesUp += n;
    else this.bytesDown += n;
    const t = this.trigger;
    if (t && t.dir === dir) {
      t.remaining -= n;
      if (t.remaining <= 0) {
        this.trigger = undefined;
        this.resetAll();
      }
    }
  }

  resetAll(): void {
    for (const c of [...this.conns]) c.kill('reset', true);
  }

  set(mode: FaultMode): void {
    validate(mode);
    if (this.closing) return;
    const prev = this.current;
    this.current = mode;
    if (prev.kind === 'blackhole' && mode.kind !== 'blackhole') {
      for (const c of [...this.conns]) if (c.blackholed) c.kill('reset', true);
    }
    if (mode.kind === 'reset') this.resetAll();
    else if (mode.kind === 'blackhole') for (const c of this.conns) c.blackhole();
    else for (const c of this.conns) c.kick();
  }

  outage(mode: FaultMode, ms: number): Promise<void> {
    this.set(mode);
    const deadline = performance.now() + ms;
    return new Promise<void>((resolve) => {
      const entry = { timer: undefined as NodeJS.Timeout | undefined, resolve };
      const done = (): void => {
        this.outages.delete(entry);
        resolve();
      };
      const wait = (): void => {
        const left = deadline - performance.now();
        if (left > 0) {
          entry.timer = setTimeout(wait, Math.max(1, Math.ceil(left)));
          return;
        }
        this.set({ kind: 'pass' });
        done();
      };
      entry.resolve = done;
      this.outages.add(entry);
      wait();
    });
  }

  resetAfter(afterBytes: number, direction: Direction = 'up'): void {
    if (afterBytes <= 0) {
      this.trigger = undefined;
      this.resetAll();
      return;
    }
    this.trigger = { dir: direction, remaining: afterBytes };
  }

  close(): Promise<void> {
    this.closed ??= new Promise<void>((resolve) => {
      this.closing = true;
      this.trigger = undefined;
      for (const o of [...this.outages]) {
        if (o.timer) clearTimeout(o.timer);
        o.resolve();
      }
      this.server.close(() => resolve());
      for (const c of [...this.conns]) c.kill('destroy', false);
    });
    return this.closed;
  }

  private accept(client: Socket): void {
    this.accepted++;
    client.on('error', () => {});
    const kind = this.current.kind;
    if (this.closing) {
      client.destroy();
    } else if (kind === 'refuse' || kind === 'reset') {
      this.resets++;
      resetSocket(client);
    } else if (kind === 'blackhole') {
      this.conns.add(new Conn(this, client, undefined));
    } else {
      const upstream = connect({ host: this.target.host, port: this.target.port, allowHalfOpen: true });
      this.conns.add(new Conn(this, client, upstream));
    }
  }
}

function validate(mode: FaultMode): void {
  if (mode.kind === 'latency' && !(mode.ms >= 0)) throw new Error(`latency ms must be >= 0, got ${mode.ms}`);
  if (mode.kind === 'bandwidth') {
    if (!(mode.bytesPerSecond > 0)) throw new Error(`bytesPerSecond must be > 0, got ${mode.bytesPerSecond}`);
    if (mode.latencyMs !== undefined && !(mode.latencyMs >= 0)) throw new Error(`latencyMs must be >= 0, got ${mode.latencyMs}`);
    if (mode.upBytesPerSecond !== undefined && !(mode.upBytesPerSecond > 0)) throw new Error(`upBytesPerSecond must be > 0, got ${mode.upBytesPerSecond}`);
  }
}

/** A proxy on 127.0.0.1 (free port) in front of `target` (host defaults to 127.0.0.1). */
export async function startFaultProxy(target: { host?: string; port: number }, opts: { mode?: FaultMode } = {}): Promise<FaultProxy> {
  const mode = opts.mode ?? { kind: 'pass' };
  validate(mode);
  const server = createServer({ allowHalfOpen: true });
  const impl = new ProxyImpl(server, { host: target.host ?? '127.0.0.1', port: target.port }, mode);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = '127.0.0.1';
  return {
    port,
    host,
    url: `http://${host}:${port}`,
    mode: () => impl.current.kind,
    set: (m) => impl.set(m),
    outage: (m, ms) => impl.outage(m, ms),
    resetAfter: (n, dir) => impl.resetAfter(n, dir),
    stats: () => ({ accepted: impl.accepted, open: impl.conns.size, bytesUp: impl.bytesUp, bytesDown: impl.bytesDown, resets: impl.resets }),
    close: () => impl.close(),
  };
}

/**
 * A proxy in front of an endpoint URL (http://host:port, or any scheme with an explicit
 * port); `endpoint` is the same URL pointing at the proxy, path and query kept.
 */
export async function proxyEndpoint(endpoint: string, opts: { mode?: FaultMode } = {}): Promise<FaultProxy & { endpoint: string }> {
  const u = new URL(endpoint);
  const defaultPort = u.protocol === 'https:' ? 443 : 80;
  const port = u.port === '' ? defaultPort : Number(u.port);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const proxy = await startFaultProxy({ host, port }, opts);
  // new URL() adds a '/' path to a bare origin; keep the caller's spelling.
  const path = u.pathname === '/' && !/^[a-z][a-z0-9+.-]*:\/\/[^/]*\//i.test(endpoint) ? '' : u.pathname;
  const auth = u.username || u.password ? `${u.username}${u.password ? `:${u.password}` : ''}@` : '';
  return Object.assign(proxy, { endpoint: `${u.protocol}//${auth}${proxy.host}:${proxy.port}${path}${u.search}` });
}
