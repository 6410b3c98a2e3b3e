// Lease heartbeat (DESIGN §3, seed visibility_heartbeat.py): keeps a message hidden while
// its job runs by extending its visibility every `interval` by `extension`. Queue-agnostic.
// Never extends after stop (sqs-consumer #280/#303 extended after delete): the timer is
// cleared, every extension re-checks the state right before calling the queue, and stop()
// awaits an extension already in flight, so the caller can ack or release safely after it.
// An extension the queue refuses (LeaseLostError: the message was taken or acked) means
// the lease is gone: `signal` aborts so the job stops instead of finishing as a duplicate
// of whoever takes the message next. Any other failure (the queue unreachable for a while)
// is retried with backoff for as long as the lease last granted still holds; the job is
// aborted as lease-lost only when that lease has really run out. With `extensionOptional`, an
// extension the IAM policy refuses (AccessDenied) ends the extending instead: the queue's own
// visibility timeout is the lease from then on, and the job goes on (as upstream's workers
// run under a role without ChangeMessageVisibility).
import type { Logger } from 'pino';
import { backoffDelayMs } from '../domain/backoff.js';
import { isAccessDenied } from '../domain/aws-error-codes.js';
import { LeaseLostError } from '../ports/index.js';
import type { Queue, QueueMessage } from '../ports/index.js';

export type HeartbeatStopReason = 'acked' | 'released' | 'dead_lettered' | 'aborted';

export interface HeartbeatTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface HeartbeatOptions {
  queue: Pick<Queue, 'extend' | 'name'>;
  message: QueueMessage;
  /** For logs; the message id when absent. */
  jobId?: string;
  intervalSeconds?: number;
  extensionSeconds?: number;
  /** When given, the lease is first set to this (one extension) before the periodic ones. */
  initialTimeoutSeconds?: number;
  /** The lease the message was received with (its visibility timeout); default extensionSeconds. */
  leaseSeconds?: number;
  /** An extension refused by the IAM policy stops the extending and does not abort the job. */
  extensionOptional?: boolean;
  /** Retry delays after a transient failure (default 0.5 s doubling to 5 s, jittered). */
  retry?: { baseMs: number; maxMs: number };
  /** Jitter source for the retry delays (tests fix it). */
  random?: () => number;
  logger: Logger;
  onFailure?: (err: unknown) => void;
  /** Called after each extension the queue granted (the metrics count them). Must not throw. */
  onExtended?: () => void;
  /** Tests inject fake timers; defaults resolve the globals at call time (jest fake timers work). */
  timers?: HeartbeatTimers;
}

export interface HeartbeatStats {
  extensions: number;
  /** Failed extension calls, retried ones included. */
  errors: number;
}

export interface Heartbeat {
  /** Aborts (reason: the error) when an extension fails: the lease may belong to someone else. */
  readonly signal: AbortSignal;
  /** Extends the lease to `seconds` from now, outside the schedule (e.g. once the input size is known). No-op once stopped. */
  extend(seconds: number): Promise<void>;
  /** Stops extending; resolves once any extension in flight has settled. Idempotent. */
  stop(reason: HeartbeatStopReason): Promise<void>;
  stats(): HeartbeatStats;
  /** Until when (ms since the epoch) the queue has granted the lease, as last known. */
  leaseUntil(): number;
}

const defaultTimers: HeartbeatTimers = {
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    // A heartbeat alone must not keep a finished process alive.
    t.unref?.();
    return t;
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

type State = 'running' | 'stopping' | 'ended';

export function startHeartbeat(opts: HeartbeatOptions): Heartbeat {
  const { queue, message, logger, onFailure, initialTimeoutSeconds } = opts;
  const intervalSeconds = opts.intervalSeconds ?? 240;
  const extensionSeconds = opts.extensionSeconds ?? 300;
  const timers = opts.timers ?? defaultTimers;
  const fields = { job_id: opts.jobId ?? message.id, message_id: message.id, queue: queue.name };

  if (!(intervalSeconds > 0) || !(extensionSeconds > 0)) {
    throw new RangeError(`heartbeat: interval (${intervalSeconds}) and extension (${extensionSeconds}) must be > 0`);
  }
  if (intervalSeconds >= extensionSeconds) {
    // Not fatal (the queue's own timeout may cover it) but the lease can lapse between beats.
    logger.warn({ event_type: 'heartbeat_misconfigured', ...fields, interval_seconds: intervalSeconds, extension_seconds: extensionSeconds },
      'heartbeat interval is not shorter than the extension: the lease may lapse between beats');
  }

  const lost = new AbortController();
  let state: State = 'running';
  let extensions = 0;
  let errors = 0;
  let timer: unknown;
  // Extensions run one after another; stop() awaits the tail of this chain.
  let chain: Promise<void> = Promise.resolve();
  let stopped: Promise<void> | undefined;
  // Until when the queue has granted the lease (ms since the epoch); the expiry timer fires then.
  let leaseUntil = Date.now() + (opts.leaseSeconds ?? extensionSeconds) * 1000;
  let expiry: unknown;
  // A retry waiting out its backoff; stop() wakes it so stopping never waits for a delay.
  let wake: (() => void) | undefined;
  const retry = opts.retry ?? { baseMs: 500, maxMs: 5000 };
  // No extension is allowed (extensionOptional): nothing more is scheduled, nothing expires.
  let refused = false;

  const end = (): void => {
    state = 'ended';
    if (expiry !== undefined) timers.clearTimeout(expiry);
    expiry = undefined;
    logger.info({ event_type: 'heartbeat_stats', ...fields, extensions, errors }, `heartbeat: ${extensions} extension(s), ${errors} error(s)`);
  };

  const fail = (err: unknown, seconds: number): void => {
    if (lost.signal.aborted) return;
    if (timer !== undefined) timers.clearTimeout(timer);
    timer = undefined;
    logger.error(
      { event_type: 'heartbeat_failed', ...fields, err, extension_seconds: seconds, extensions },
      `heartbeat: extending the lease failed: ${err instanceof Error ? err.message : String(err)}`,
    );
    lost.abort(err);
    wake?.();
    try {
      onFailure?.(err);
    } catch (cbErr) {
      logger.warn({ event_type: 'heartbeat_on_failure_threw', ...fields, err: cbErr }, 'heartbeat onFailure callback threw');
    }
    // While stopping, stop() ends it once the chain settles; otherwise nobody else will.
    if (state === 'running') end();
  };

  const unextendable = (err: unknown): void => {
    refused = true;
    if (timer !== undefined) timers.clearTimeout(timer);
    timer = undefined;
    if (expiry !== undefined) timers.clearTimeout(expiry);
    expiry = undefined;
    logger.info(
      { event_type: 'heartbeat_unavailable', ...fields, reason: err instanceof Error ? err.message : String(err) },
      'heartbeat: the queue refuses to extend the lease; the queue\'s visibility timeout is this job\'s lease',
    );
  };

  let lastError: unknown;
  const armExpiry = (): void => {
    if (expiry !== undefined) timers.clearTimeout(expiry);
    expiry = timers.setTimeout(() => {
      expiry = undefined;
      if (state === 'ended' || lost.signal.aborted) return;
      const why = lastError === undefined ? 'no extension answered in time' : `extending kept failing: ${lastError instanceof Error ? lastError.message : String(lastError)}`;
      fail(new LeaseLostError(`the lease on message ${message.id} expired (${why})`), extensionSeconds);
    }, Math.max(0, leaseUntil - Date.now()));
  };

  const pause = (ms: number): Promise<void> => new Promise<void>((resolve) => {
    const t = timers.setTimeout(() => { wake = undefined; resolve(); }, ms);
    wake = () => { wake = undefined; timers.clearTimeout(t); resolve(); };
  });

  /** One extension, retried while the failure is transient and the current lease holds. */
  const attempt = async (seconds: number): Promise<void> => {
    for (let n = 1; ; n++) {
      // The guard against the timer/stop race: checked when the call is about to happen.
      if (state !== 'running' || lost.signal.aborted || refused) return;
      const calledAt = Date.now();
      try {
        await queue.extend(message, seconds);
      } catch (err) {
        errors++;
        lastError = err;
        if (err instanceof LeaseLostError) { fail(err, seconds); return; }
        if (opts.extensionOptional && isAccessDenied(err)) { unextendable(err); return; }
        // No giving up early: the expiry timer aborts (and wakes this) when the lease runs out.
        const delay = backoffDelayMs(n, { ...retry, jitter: 'equal' }, opts.random);
        logger.warn(
          { event_type: 'heartbeat_retry', ...fields, err, attempt: n, retry_in_ms: Math.round(delay), lease_left_ms: leaseUntil - Date.now() },
          `heartbeat: extending the lease failed (${err instanceof Error ? err.message : String(err)}); retrying while the lease holds`,
        );
        await pause(delay);
        continue;
      }
      if (lost.signal.aborted) return; // answered after the lease had run out: too late
      lastError = undefined;
      // "`seconds` from now" replaces the lease, shorter or longer (SQS ChangeMessageVisibility);
      // counted from the call, the earliest the queue can have applied it.
      leaseUntil = calledAt + seconds * 1000;
      if ((state as State) !== 'ended') armExpiry(); // state may change while extend() is awaited
      extensions++;
      opts.onExtended?.();
      logger.info(
        { event_type: 'heartbeat_extended', ...fields, extension_count: extensions, new_timeout_seconds: seconds, ...(n > 1 ? { attempts: n } : {}) },
        `heartbeat: lease extended to ${seconds} s (extension ${extensions})`,
      );
      return;
    }
  };

  const extendNow = (seconds: number): Promise<void> => {
    const run = chain.then(() => attempt(seconds));
    chain = run;
    return run;
  };

  const beat = (): void => {
    timer = undefined;
    void extendNow(extensionSeconds).then(schedule);
  };

  function schedule(): void {
    if (state === 'running' && timer === undefined && !lost.signal.aborted && !refused) timer = timers.setTimeout(beat, intervalSeconds * 1000);
  }

  logger.info(
    { event_type: 'heartbeat_started', ...fields, interval_seconds: intervalSeconds, extension_seconds: extensionSeconds, initial_timeout_seconds: initialTimeoutSeconds },
    `heartbeat started: every ${intervalSeconds} s by ${extensionSeconds} s`,
  );
  armExpiry();
  if (initialTimeoutSeconds !== undefined) void extendNow(initialTimeoutSeconds);
  schedule();

  return {
    signal: lost.signal,
    extend(seconds) {
      if (state !== 'running') return Promise.resolve();
      return extendNow(seconds);
    },
    stop(reason) {
      if (stopped) return stopped;
      if (state !== 'running') return (stopped = Promise.resolve());
      state = 'stopping';
      if (timer !== undefined) timers.clearTimeout(timer);
      timer = undefined;
      wake?.();
      stopped = chain.then(() => {
        logger.info({ event_type: 'heartbeat_stopped', ...fields, reason, extensions, lease_lost: lost.signal.aborted },
          `heartbeat stopped (${reason})`);
        end();
      });
      return stopped;
    },
    stats: () => ({ extensions, errors }),
    leaseUntil: () => leaseUntil,
  };
}
