// Connections for the Redis Streams queue: reconnect forever with jittered backoff,
// say so in the log, and tell an outage (wait and retry) from a real error (throw).
import type { Redis, RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { backoffDelayMs } from '../../domain/backoff.js';
import { errorText } from '../../domain/describe-error.js';

/** Reconnect delays: 100 ms doubling up to 5 s, equal jitter (never 0, so a dead server is not hammered). */
export const RECONNECT_BACKOFF = { baseMs: 100, maxMs: 5000, jitter: 'equal' } as const;

/** Never gives up: a worker outlives a Redis restart. */
export function reconnectDelay(attempt: number): number {
  return Math.round(backoffDelayMs(attempt, RECONNECT_BACKOFF));
}

export const RECONNECT_OPTIONS: Partial<RedisOptions> = { retryStrategy: reconnectDelay };

/**
 * Options of the shared connection (extend, ack, release, send, …): a command waits for a
 * reconnect at most 5 s, and one cut off by a disconnect fails instead of being resent.
 * Without them a heartbeat's extend sat in ioredis's offline queue for the whole outage,
 * neither failing (so no retry, no 503) nor succeeding, while the lease ran out.
 */
export const SHARED_OPTIONS: Partial<RedisOptions> = {
  ...RECONNECT_OPTIONS,
  commandTimeout: 5000,
  autoResendUnfulfilledCommands: false,
};

/**
 * Options of the connection that blocks in XREADGROUP: no offline queue (a read asked for
 * while disconnected fails at once, and receive() backs off on its own clock), and no
 * silent resend of a read cut off by a disconnect (receive() decides what to do next).
 */
export const BLOCKING_OPTIONS: Partial<RedisOptions> = {
  ...RECONNECT_OPTIONS,
  enableOfflineQueue: false,
  autoResendUnfulfilledCommands: false,
  lazyConnect: false,
};

/** Logs reconnects and connection errors of `redis`; returns a function that stops. */
export function watchConnection(redis: Redis, connection: string, logger: Logger | undefined): () => void {
  let down = false;
  const onError = (err: Error): void => {
    // ioredis repeats the same ECONNREFUSED on every attempt; the reconnect line says enough.
    if (!down) logger?.warn({ event: 'redis_error', connection, err: err.message }, 'redis connection error');
  };
  const onReconnecting = (delayMs: number): void => {
    down = true;
    logger?.warn({ event: 'redis_reconnecting', connection, delayMs }, 'redis reconnecting');
  };
  const onReady = (): void => {
    if (down) logger?.info({ event: 'redis_reconnected', connection }, 'redis reconnected');
    down = false;
  };
  redis.on('error', onError);
  redis.on('reconnecting', onReconnecting);
  redis.on('ready', onReady);
  return () => {
    redis.off('error', onError);
    redis.off('reconnecting', onReconnecting);
    redis.off('ready', onReady);
  };
}


/** The group (or the whole stream) is gone: the server came back empty. */
export function isNoGroupError(err: unknown): boolean {
  return errorText(err).includes('NOGROUP');
}

// Server replies that mean "not now" rather than "never".
const TRANSIENT_REPLIES = ['LOADING', 'BUSY', 'TRYAGAIN', 'MASTERDOWN', 'CLUSTERDOWN', 'READONLY'];

/** An outage or a server not ready yet, as opposed to a command the server refused. */
export function isTransientRedisError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'ReplyError') return TRANSIENT_REPLIES.some((code) => err.message.startsWith(code));
  if (['RedisUnavailableError', 'MaxRetriesPerRequestError', 'AbortError'].includes(err.name)) return true;
  if (typeof (err as NodeJS.ErrnoException).code === 'string') return true; // ECONNREFUSED, ECONNRESET, EPIPE…
  return CONNECTION_MESSAGES.test(err.message);
}

// What ioredis says when a command meets a closed or not-yet-ready connection.
const CONNECTION_MESSAGES = /Connection is closed|isn't writeable|Connection timeout|connect ETIMEDOUT|Command timed out/;

/** Redis did not become reachable in time; receive() treats it like any outage. */
export class RedisUnavailableError extends Error {
  constructor(connection: string, status: string) {
    super(`redis ${connection} connection is not ready (${status})`);
    this.name = 'RedisUnavailableError';
  }
}

/** Resolves true once `redis` is ready, false on abort or after `timeoutMs`. */
export function whenReady(redis: Redis, signal: AbortSignal, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  if (signal.aborted || timeoutMs <= 0) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const done = (ready: boolean): void => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      signal.removeEventListener('abort', onAbort);
      resolve(ready);
    };
    const onReady = (): void => done(true);
    const onAbort = (): void => done(false);
    const timer = setTimeout(() => done(false), timeoutMs);
    redis.once('ready', onReady);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
