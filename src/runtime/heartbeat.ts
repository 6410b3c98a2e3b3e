// Lease heartbeat (DESIGN §3, seed visibility_heartbeat.py): keeps a message hidden while
// its job runs by extending its visibility every `interval` by `extension`. Queue-agnostic.
// Never extends after stop (sqs-consumer #280/#303 extended after delete): the timer is
// cleared, every extension re-checks the state right before calling the queue, and stop()
// awaits an extension already in flight, so the caller can ack or release safely after it.
// A failed extension means the lease may be gone: `signal` aborts so the job stops instead
// of finishing as a duplicate of whoever takes the message next.
import type { Logger } from 'pino';
import type { Queue, QueueMessage } from '../ports.js';

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
  logger: Logger;
  onFailure?: (err: unknown) => void;
  /** Tests inject fake timers; defaults resolve the globals at call time (jest fake timers work). */
  timers?: HeartbeatTimers;
}

export interface HeartbeatStats {
  extensions: number;
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

  const end = (): void => {
    state = 'ended';
    logger.info({ event_type: 'heartbeat_stats', ...fields, extensions, errors }, `heartbeat: ${extensions} extension(s), ${errors} error(s)`);
  };

  const fail = (err: unknown, seconds: number): void => {
    errors++;
    if (timer !== undefined) timers.clearTimeout(timer);
    timer = undefined;
    logger.error(
      { event_type: 'heartbeat_failed', ...fields, err, extension_seconds: seconds, extensions },
      `heartbeat: extending the lease failed: ${err instanceof Error ? err.message : String(err)}`,
    );
    lost.abort(err);
    try {
      onFailure?.(err);
    } catch (cbErr) {
      logger.warn({ event_type: 'heartbeat_on_failure_threw', ...fields, err: cbErr }, 'heartbeat onFailure callback threw');
    }
    // While stopping, stop() ends it once the chain settles; otherwise nobody else will.
    if (state === 'running') end();
  };

  const extendNow = (seconds: number): Promise<void> => {
    const run = chain.then(async () => {
      // The guard against the timer/stop race: checked when the call is about to happen.
      if (state !== 'running') return;
      try {
        await queue.extend(message, seconds);
      } catch (err) {
        fail(err, seconds);
        return;
      }
      extensions++;
      logger.info(
        { event_type: 'heartbeat_extended', ...fields, extension_count: extensions, new_timeout_seconds: seconds },
        `heartbeat: lease extended to ${seconds} s (extension ${extensions})`,
      );
    });
    chain = run;
    return run;
  };

  const beat = (): void => {
    timer = undefined;
    void extendNow(extensionSeconds).then(schedule);
  };

  function schedule(): void {
    if (state === 'running' && timer === undefined) timer = timers.setTimeout(beat, intervalSeconds * 1000);
  }

  logger.info(
    { event_type: 'heartbeat_started', ...fields, interval_seconds: intervalSeconds, extension_seconds: extensionSeconds, initial_timeout_seconds: initialTimeoutSeconds },
    `heartbeat started: every ${intervalSeconds} s by ${extensionSeconds} s`,
  );
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
      stopped = chain.then(() => {
        logger.info({ event_type: 'heartbeat_stopped', ...fields, reason, extensions, lease_lost: lost.signal.aborted },
          `heartbeat stopped (${reason})`);
        end();
      });
      return stopped;
    },
    stats: () => ({ extensions, errors }),
  };
}
