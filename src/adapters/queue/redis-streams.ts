// Queue port on Redis Streams with one consumer group.
//
// A delivery is an entry in the group's pending list (PEL) owned by this consumer, plus a
// lease deadline in `<stream>:leases` (sorted set, server time). receive() first takes over
// entries whose deadline passed (a crashed or slow worker's, or released ones), then reads
// new entries with XREADGROUP on a dedicated blocking connection. The delivery count is the
// PEL's times_delivered, so receiveCount survives takeovers and releases; past
// maxReceiveCount an entry is copied to `<stream>:dlq` and acked instead of delivered.
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { LeaseLostError } from '../../ports/index.js';
import type { DeadLetter, Queue, QueueDepth, QueueMessage, RedriveOptions } from '../../ports/index.js';
import { backoffDelayMs } from '../../domain/backoff.js';
import { sleep } from '../../runtime/retry.js';
import {
  BLOCKING_OPTIONS,
  SHARED_OPTIONS,
  RedisUnavailableError,
  isNoGroupError,
  isTransientRedisError,
  watchConnection,
  whenReady,
} from './redis-connection.js';
import {
  RELEASED_CONSUMER,
  decodeReceipt,
  defaultConsumerName,
  encodeDelayed,
  encodeReceipt,
  fieldsToRecord,
  streamKeys,
} from './redis-streams-keys.js';
import type { StreamKeys } from './redis-streams-keys.js';
import { ACK, CLAIM, DEAD_LETTER, DEPTH, EXTEND, FORGET_CONSUMER, LEASE, PURGE, REDRIVE, RELEASE, SEND_DELAYED, runScript } from './redis-streams-scripts.js';
import type { LuaScript } from './redis-streams-scripts.js';

export interface RedisStreamQueueOptions {
  /** A connection to share; the caller keeps it (close() leaves it open). Either this or `url`. */
  redis?: Redis;
  /** redis://… — the queue opens (and closes) its own connection. */
  url?: string;
  stream: string;
  group?: string;
  /** Unique per worker; default hostname-pid-random. */
  consumer?: string;
  /** Lease of a delivery, unless receive() asks for another (default 300). */
  visibilitySeconds?: number;
  /** Deliveries before the DLQ (default 5); null: never dead-letter by count. */
  maxReceiveCount?: number | null;
  /** Longest single blocking read: bounds how late a due delayed send or an expired lease is noticed (default 1000). */
  pollIntervalMs?: number;
  logger?: Logger;
}

/** Backoff of receive() while Redis is unreachable. */
const OUTAGE_BACKOFF = { baseMs: 100, maxMs: 5000, jitter: 'equal' } as const;
/** How long receive() waits for a connection to come up before counting an outage. */
const READY_WAIT_MS = 1000;

/** What /health counts as Redis being down (the adapter's own outage test, minus our aborts). */
export const isRedisOutage = (err: unknown): boolean => isTransientRedisError(err) && (err as Error).name !== 'AbortError';
const REDRIVE_BATCH = 100;

type ClaimReply = [Array<[string, string, number]>, number, Array<[string, number]>];
type RawEntry = [string, unknown[]];

export class RedisStreamQueue implements Queue {
  readonly name: string;
  readonly maxReceiveCount: number | null;
  readonly group: string;
  readonly consumer: string;
  private readonly keys: StreamKeys;
  private readonly visibilityMs: number;
  private readonly pollIntervalMs: number;
  private readonly logger: Logger | undefined;
  private readonly redis: Redis;
  private readonly ownsRedis: boolean;
  private readonly unwatch: Array<() => void> = [];
  private readonly closing = new AbortController();
  private blocking: Redis | undefined;
  private blockingId: number | undefined;
  private groupReady: Promise<void> | undefined;
  private receiveTail: Promise<void> = Promise.resolve();

  constructor(opts: RedisStreamQueueOptions) {
    const { visibilitySeconds = 300, maxReceiveCount = 5, pollIntervalMs = 1000 } = opts;
    if (!(visibilitySeconds > 0)) throw new RangeError(`visibilitySeconds must be > 0, got ${visibilitySeconds}`);
    if (maxReceiveCount !== null && !(Number.isInteger(maxReceiveCount) && maxReceiveCount >= 1)) {
      throw new RangeError(`maxReceiveCount must be an integer ≥ 1 or null, got ${maxReceiveCount}`);
    }
    if (!(pollIntervalMs >= 1)) throw new RangeError(`pollIntervalMs must be ≥ 1, got ${pollIntervalMs}`);
    this.keys = streamKeys(opts.stream);
    this.name = opts.stream;
    this.group = opts.group ?? 'rugbyworker';
    this.consumer = opts.consumer ?? defaultConsumerName();
    if (this.consumer === RELEASED_CONSUMER) throw new RangeError(`consumer name ${RELEASED_CONSUMER} is reserved`);
    this.visibilityMs = Math.round(visibilitySeconds * 1000);
    this.maxReceiveCount = maxReceiveCount;
    this.pollIntervalMs = pollIntervalMs;
    this.logger = opts.logger;
    if (opts.redis !== undefined) {
      this.redis = opts.redis;
      this.ownsRedis = false;
    } else if (opts.url !== undefined) {
      this.redis = new Redis(opts.url, SHARED_OPTIONS);
      this.ownsRedis = true;
    } else {
      throw new TypeError('RedisStreamQueue needs either `redis` or `url`');
    }
    this.unwatch.push(watchConnection(this.redis, 'shared', this.logger));
  }

  async receive(opts: { max: number; waitSeconds: number; visibilitySeconds?: number; signal?: AbortSignal }): Promise<QueueMessage[]> {
    const stop = opts.signal ? AbortSignal.any([opts.signal, this.closing.signal]) : this.closing.signal;
    if (stop.aborted || !(opts.max >= 1)) return [];
    const leaseMs = opts.visibilitySeconds === undefined ? this.visibilityMs : Math.round(opts.visibilitySeconds * 1000);
    // One receive at a time: they share the blocking connection.
    const prev = this.receiveTail;
    let unlock!: () => void;
    const mine = new Promise<void>((resolve) => { unlock = resolve; });
    this.receiveTail = prev.then(() => mine);
    try {
      if (!(await settledUnlessAborted(prev, stop))) return [];
      return await this.receiveLoop(Math.floor(opts.max), Math.max(0, opts.waitSeconds) * 1000, leaseMs, stop);
    } finally {
      unlock();
    }
  }

  /** Retries through outages until something arrives, the wait is over, or `stop` aborts. */
  private async receiveLoop(max: number, waitMs: number, leaseMs: number, stop: AbortSignal): Promise<QueueMessage[]> {
    const until = Date.now() + waitMs;
    let failures = 0;
    for (;;) {
      if (stop.aborted) return [];
      try {
        const got = await this.receiveOnce(max, leaseMs, until, stop);
        failures = 0;
        if (got.length > 0 || Date.now() >= until) return got;
        continue;
      } catch (err) {
        if (stop.aborted) return [];
        const noGroup = isNoGroupError(err);
        if (noGroup) this.groupReady = undefined; // the server came back empty: create the group again
        else if (!isTransientRedisError(err)) throw err;
        failures++;
        if (noGroup && failures === 1) continue;
        const delayMs = Math.round(backoffDelayMs(failures, OUTAGE_BACKOFF));
        const log = { event: 'redis_unavailable', queue: this.name, attempt: failures, delayMs, err: String(err) };
        if (failures === 1) this.logger?.warn(log, 'redis unavailable; receive retries');
        else this.logger?.debug(log, 'redis still unavailable');
        try {
          await sleep(delayMs, stop);
        } catch {
          return [];
        }
        if (Date.now() >= until) return [];
      }
    }
  }

  private async receiveOnce(max: number, leaseMs: number, until: number, stop: AbortSignal): Promise<QueueMessage[]> {
    if (!(await whenReady(this.redis, stop, Math.max(until - Date.now(), READY_WAIT_MS)))) {
      if (stop.aborted) return [];
      throw new RedisUnavailableError('shared', this.redis.status);
    }
    await this.ensureGroup();
    const { messages, wakeInMs } = await this.claim(max, leaseMs);
    let fresh: QueueMessage[] = [];
    if (messages.length < max) {
      const remaining = until - Date.now();
      const wake = wakeInMs >= 0 ? wakeInMs + 5 : Infinity; // +5: wake just after the deadline, not just before
      const blockMs = messages.length > 0 || remaining <= 0 ? 0 : Math.max(1, Math.min(remaining, this.pollIntervalMs, wake));
      const entries = blockMs === 0
        ? parseRead(await this.redis.call('XREADGROUP', 'GROUP', this.group, this.consumer, 'COUNT', max - messages.length, 'STREAMS', this.keys.stream, '>'))
        : await this.readBlocking(max - messages.length, blockMs, until, stop);
      if (entries.length > 0) {
        // XREADGROUP '>' is always a first delivery. Should this fail, the entries have no
        // deadline and are taken over once idle for the visibility timeout.
        await runScript(this.redis, LEASE, [this.keys.leases], [leaseMs, ...entries.map(([id]) => id)]);
        fresh = entries.map(([id, fields]) => toMessage(id, bodyOf(fields), 1));
      }
    }
    const all = [...messages, ...fresh];
    if (stop.aborted && all.length > 0) {
      await this.handBack(all); // resolves [] on abort, so nobody will work on these
      return [];
    }
    return all;
  }

  private async claim(max: number, leaseMs: number): Promise<{ messages: QueueMessage[]; wakeInMs: number }> {
    const reply = (await this.script(CLAIM, [this.keys.stream, this.keys.leases, this.keys.delayed, this.keys.dlq], [
      this.group, this.consumer, max, leaseMs, this.visibilityMs, this.maxReceiveCount ?? 0,
    ])) as ClaimReply;
    const [claimed, wakeInMs, dead] = reply;
    for (const [id, count] of dead) {
      this.logger?.warn({ event: 'queue_dead_lettered', queue: this.name, id, receiveCount: Number(count), reason: 'max_receive_count' }, 'message dead-lettered after too many deliveries');
    }
    const messages = claimed.map(([id, body, count]) => toMessage(String(id), String(body), Number(count)));
    return { messages, wakeInMs: Number(wakeInMs) };
  }

  /** XREADGROUP BLOCK on the dedicated connection, cut short (CLIENT UNBLOCK) when `stop` aborts. */
  private async readBlocking(count: number, blockMs: number, until: number, stop: AbortSignal): Promise<RawEntry[]> {
    const conn = this.blockingConnection();
    if (!(await whenReady(conn, stop, Math.max(until - Date.now(), READY_WAIT_MS)))) {
      if (stop.aborted) return [];
      throw new RedisUnavailableError('blocking', conn.status);
    }
    this.blockingId ??= Number(await conn.call('CLIENT', 'ID'));
    const clientId = this.blockingId;
    if (stop.aborted) return [];
    let settled = false;
    const onAbort = (): void => { void this.unblock(clientId, () => settled); };
    // ioredis neither resends (autoResendUnfulfilledCommands: false) nor rejects a command cut
    // off by a disconnect: it would hang. Its connection closing is our answer instead.
    let onClose = (): void => undefined;
    const closed = new Promise<never>((_, reject) => {
      onClose = () => reject(new RedisUnavailableError('blocking', 'closed during a read'));
      conn.once('close', onClose);
    });
    stop.addEventListener('abort', onAbort, { once: true });
    try {
      const read = conn.call('XREADGROUP', 'GROUP', this.group, this.consumer, 'COUNT', count, 'BLOCK', blockMs, 'STREAMS', this.keys.stream, '>');
      return parseRead(await Promise.race([read, closed]));
    } finally {
      settled = true;
      conn.off('close', onClose);
      stop.removeEventListener('abort', onAbort);
    }
  }

  /** Repeats CLIENT UNBLOCK until the read returns: the first may arrive before the read blocks. */
  private async unblock(clientId: number, settled: () => boolean): Promise<void> {
    while (!settled()) {
      try {
        await this.redis.call('CLIENT', 'UNBLOCK', clientId);
      } catch {
        return; // shared connection gone too (close, outage): the read ends with its own connection
      }
      if (!settled()) await sleep(20);
    }
  }

  private blockingConnection(): Redis {
    if (this.blocking === undefined) {
      const conn = this.redis.duplicate({ ...BLOCKING_OPTIONS, connectionName: `${this.consumer}:block` });
      conn.on('close', () => { this.blockingId = undefined; }); // a new connection has a new CLIENT ID
      this.unwatch.push(watchConnection(conn, 'blocking', this.logger));
      this.blocking = conn;
    }
    return this.blocking;
  }

  /** Deliveries taken on an aborted receive go back with their count undone, visible at once. */
  private async handBack(messages: readonly QueueMessage[]): Promise<void> {
    for (const msg of messages) {
      try {
        await this.script(RELEASE, [this.keys.stream, this.keys.leases], [
          this.group, this.consumer, msg.id, msg.receiveCount, 0, this.visibilityMs, RELEASED_CONSUMER, msg.receiveCount - 1,
        ]);
      } catch (err) {
        // Its lease still runs out, and then it is redelivered.
        this.logger?.warn({ event: 'queue_hand_back_failed', queue: this.name, id: msg.id, err: String(err) }, 'could not hand back message');
      }
    }
  }

  private ensureGroup(): Promise<void> {
    this.groupReady ??= (async () => {
      try {
        // '0', not '$': entries sent before the group existed are delivered too.
        await this.redis.call('XGROUP', 'CREATE', this.keys.stream, this.group, '0', 'MKSTREAM');
        this.logger?.info({ event: 'redis_group_created', queue: this.name, group: this.group }, 'consumer group created');
      } catch (err) {
        if (!(err instanceof Error && err.message.startsWith('BUSYGROUP'))) throw err;
      }
    })().catch((err: unknown) => {
      this.groupReady = undefined;
      throw err;
    });
    return this.groupReady;
  }

  async extend(msg: QueueMessage, seconds: number): Promise<void> {
    if (!(seconds >= 0)) throw new RangeError(`extend: seconds must be ≥ 0, got ${seconds}`);
    await this.onLease('extend', msg, EXTEND, [this.keys.stream, this.keys.leases], (id, count) => [
      this.group, this.consumer, id, count, Math.round(seconds * 1000), this.visibilityMs,
    ]);
  }

  async release(msg: QueueMessage, delaySeconds = 0): Promise<void> {
    if (!(delaySeconds >= 0)) throw new RangeError(`release: delaySeconds must be ≥ 0, got ${delaySeconds}`);
    await this.onLease('release', msg, RELEASE, [this.keys.stream, this.keys.leases], (id, count) => [
      this.group, this.consumer, id, count, Math.round(delaySeconds * 1000), this.visibilityMs, RELEASED_CONSUMER, -1,
    ]);
  }

  async ack(msg: QueueMessage): Promise<void> {
    await this.onLease('ack', msg, ACK, [this.keys.stream, this.keys.leases], (id, count) => [this.group, this.consumer, id, count]);
  }

  async deadLetter(msg: QueueMessage, reason: string): Promise<void> {
    await this.onLease('dead-letter', msg, DEAD_LETTER, [this.keys.stream, this.keys.leases, this.keys.dlq], (id, count) => [
      this.group, this.consumer, id, count, msg.body, reason,
    ]);
  }

  /**
   * Runs a script that acts on `msg`'s delivery and answers 1 (done), -1 (the lease ran out)
   * or 0 (not the current delivery: acked, released, taken over); LeaseLostError unless 1.
   * A missing group (the server came back empty) means the delivery is gone too.
   */
  private async onLease(
    what: string,
    msg: QueueMessage,
    script: LuaScript,
    keys: readonly string[],
    args: (entryId: string, deliveryCount: number) => Array<string | number>,
  ): Promise<void> {
    const { entryId, deliveryCount } = decodeReceipt(msg.receipt);
    let code: number;
    try {
      code = Number(await this.script(script, keys, args(entryId, deliveryCount)));
    } catch (err) {
      if (!isNoGroupError(err)) throw err;
      this.groupReady = undefined;
      code = 0;
    }
    if (code === 1) return;
    const why = code === -1 ? 'its lease expired' : 'it was acked, released or delivered again since';
    throw new LeaseLostError(`cannot ${what} message ${entryId} on ${this.name}: ${why}`);
  }

  async send(body: string, opts?: { delaySeconds?: number }): Promise<void> {
    const delaySeconds = opts?.delaySeconds ?? 0;
    if (!(delaySeconds >= 0)) throw new RangeError(`send: delaySeconds must be ≥ 0, got ${delaySeconds}`);
    if (delaySeconds > 0) {
      await this.script(SEND_DELAYED, [this.keys.delayed], [Math.round(delaySeconds * 1000), encodeDelayed(body)]);
    } else {
      await this.redis.call('XADD', this.keys.stream, '*', 'body', body);
    }
  }

  async peekDeadLetters(max: number): Promise<DeadLetter[]> {
    if (!(max >= 1)) return [];
    const entries = (await this.redis.call('XRANGE', this.keys.dlq, '-', '+', 'COUNT', Math.floor(max))) as RawEntry[];
    return entries.map(([entryId, fields]) => {
      const f = fieldsToRecord(fields);
      return { id: f.id ?? entryId, body: f.body ?? '', reason: f.reason ?? null };
    });
  }

  /** Batches of REDRIVE_BATCH, each one script: an interruption falls between batches, so no entry is ever in both streams. */
  async redrive(opts: RedriveOptions = {}): Promise<number> {
    opts.onProgress?.({ kind: 'started', method: 'atomic', waiting: Number(await this.redis.call('XLEN', this.keys.dlq)) });
    let moved = 0;
    while (!opts.signal?.aborted) {
      const n = Number(await this.script(REDRIVE, [this.keys.dlq, this.keys.stream], [REDRIVE_BATCH]));
      moved += n;
      if (n > 0) opts.onProgress?.({ kind: 'moved', moved });
      if (n < REDRIVE_BATCH) break;
    }
    return moved;
  }

  async depth(): Promise<QueueDepth> {
    const [visible, inflight, dlq] = (await this.script(DEPTH, [this.keys.stream, this.keys.leases, this.keys.delayed, this.keys.dlq], [])) as [number, number, number];
    // `<stream>:dlq` is always there for deadLetter(), whatever maxReceiveCount says.
    return { visible: Number(visible), inflight: Number(inflight), dlq: Number(dlq) };
  }

  async purgeDeadLetters(): Promise<number> {
    return Number(await this.script(PURGE, [this.keys.dlq], []));
  }

  async close(): Promise<void> {
    if (this.closing.signal.aborted) return;
    this.closing.abort();
    const blocking = this.blocking;
    this.blocking = undefined;
    blocking?.disconnect(); // not quit(): a blocked XREADGROUP would hold it up
    if (this.redis.status === 'ready' && this.groupReady !== undefined) {
      try {
        await this.script(FORGET_CONSUMER, [this.keys.stream], [this.group, this.consumer]);
      } catch {
        // Only tidiness: an idle consumer left in the group costs nothing but a line in XINFO.
      }
    }
    if (this.ownsRedis) {
      if (this.redis.status === 'ready') {
        try {
          await this.redis.quit();
        } catch {
          this.redis.disconnect();
        }
      } else {
        this.redis.disconnect();
      }
    }
    for (const stop of this.unwatch.splice(0)) stop();
  }

  private script(script: LuaScript, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
    return runScript(this.redis, script, keys, args);
  }
}

function toMessage(id: string, body: string, count: number): QueueMessage {
  // An entry id is "<ms>-<seq>": the time it entered the stream (a delayed send: when it became due).
  const sentAt = Number.parseInt(id, 10);
  return { id, body, receiveCount: count, receipt: encodeReceipt(id, count), ...(sentAt > 0 ? { sentAt } : {}) };
}

function bodyOf(fields: unknown[]): string {
  const f = fieldsToRecord(fields);
  return f.body ?? JSON.stringify(f);
}

/**
 * XREADGROUP's reply: null on timeout, else per stream its entries — as [[stream, entries]…]
 * over RESP2, or as the flat map [stream, entries, …] that RESP3 gives to a raw call().
 */
function parseRead(reply: unknown): RawEntry[] {
  if (!Array.isArray(reply)) return [];
  const perStream: unknown[] = typeof reply[0] === 'string'
    ? reply.filter((_, i) => i % 2 === 1)
    : reply.map((pair) => (pair as [string, unknown])[1]);
  const out: RawEntry[] = [];
  for (const entries of perStream as Array<Array<[string, unknown[] | null]>>) {
    for (const [id, fields] of entries) {
      if (fields !== null) out.push([String(id), fields]);
    }
  }
  return out;
}

/** True once `p` settles; false as soon as `signal` aborts. */
function settledUnlessAborted(p: Promise<unknown>, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const onAbort = (): void => resolve(false);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      () => { signal.removeEventListener('abort', onAbort); resolve(true); },
      () => { signal.removeEventListener('abort', onAbort); resolve(true); },
    );
  });
}
