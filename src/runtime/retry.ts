// The one retry helper every adapter shares: exponential backoff with full jitter,
// and an AbortSignal that ends the whole thing at once (shutdown must not wait
// out a backoff sleep or a hung attempt).
import { backoffDelayMs } from '../domain/backoff.js';

export interface RetryOptions {
  /** Total attempts including the first (≥ 1). */
  attempts: number;
  baseMs: number;
  maxMs: number;
  signal?: AbortSignal;
  /** Whether a failure is worth another attempt (default: every error is). */
  isRetryable?: (err: unknown) => boolean;
  /** Called before each backoff sleep, with the failed attempt (1-based) and the delay chosen. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  random?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/** Resolves after `ms`; rejects with the signal's reason as soon as it aborts (and clears the timer). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * `promise`, or a rejection with the abort reason as soon as `signal` aborts, whichever
 * comes first. An attempt that ignores its signal is left to settle on its own.
 */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) {
    promise.catch(() => undefined); // the abandoned attempt must not become an unhandled rejection
    return Promise.reject(abortReason(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      promise.catch(() => undefined);
      reject(abortReason(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/**
 * Calls `fn(attempt, signal)` until it resolves, up to `opts.attempts` times, sleeping
 * `backoffDelayMs(attempt)` between attempts. A non-retryable error is rethrown at once;
 * after the last attempt the last error is rethrown; an aborted signal rejects at once
 * with its reason, whether during an attempt or a sleep.
 */
export async function retry<T>(
  fn: (attempt: number, signal?: AbortSignal) => Promise<T>,
  opts: RetryOptions,
): Promise<T> {
  const { attempts, baseMs, maxMs, signal, isRetryable = () => true, onRetry, random = Math.random } = opts;
  const pause = opts.sleep ?? sleep;
  if (!Number.isInteger(attempts) || attempts < 1) {
    throw new RangeError(`retry: attempts must be an integer ≥ 1, got ${attempts}`);
  }
  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted) throw abortReason(signal);
    try {
      // The thunk turns a synchronous throw from fn into a rejection like any other.
      return await raceAbort(Promise.resolve().then(() => fn(attempt, signal)), signal);
    } catch (err) {
      // An attempt that failed because we aborted is not a failure to retry.
      if (signal?.aborted) throw abortReason(signal);
      if (attempt >= attempts || !isRetryable(err)) throw err;
      const delayMs = backoffDelayMs(attempt, { baseMs, maxMs }, random);
      onRetry?.(err, attempt, delayMs);
      await raceAbort(pause(delayMs, signal), signal);
    }
  }
}
