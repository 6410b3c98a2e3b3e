import { describe, expect, it, jest } from '@jest/globals';
import { retry, sleep } from '../../src/runtime/retry.js';

class Transient extends Error {}
class Fatal extends Error {}

const instantSleep = (): Promise<void> => Promise.resolve();
const base = { baseMs: 100, maxMs: 1000, random: () => 0.5, sleep: instantSleep };

/** fn that fails `failures` times with Transient, then resolves 'ok'. */
function flaky(failures: number) {
  return jest.fn(async (attempt: number): Promise<string> => {
    if (attempt <= failures) throw new Transient(`fail ${attempt}`);
    return 'ok';
  });
}

describe('retry', () => {
  it('resolves on the first success, passing 1-based attempt numbers', async () => {
    const fn = flaky(2);
    await expect(retry(fn, { ...base, attempts: 5 })).resolves.toBe('ok');
    expect(fn).toHaveBeenCalledTimes(3);
    expect(fn.mock.calls.map((c) => c[0])).toEqual([1, 2, 3]);
  });

  it('does not retry after a success', async () => {
    const fn = flaky(0);
    await expect(retry(fn, { ...base, attempts: 5 })).resolves.toBe('ok');
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('rethrows a non-retryable error at once', async () => {
    const fatal = new Fatal('bad request');
    const fn = jest.fn(async (): Promise<string> => { throw fatal; });
    const onRetry = jest.fn();
    const isRetryable = jest.fn((err: unknown) => err instanceof Transient);
    await expect(retry(fn, { ...base, attempts: 5, isRetryable, onRetry })).rejects.toBe(fatal);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(isRetryable).toHaveBeenCalledWith(fatal);
    expect(onRetry).not.toHaveBeenCalled();
  });

  it('rethrows the last error once attempts are exhausted', async () => {
    const fn = flaky(10);
    const err = await retry(fn, { ...base, attempts: 3 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Transient);
    expect((err as Error).message).toBe('fail 3');
    expect(fn).toHaveBeenCalledTimes(3);
  });

  it('turns a synchronous throw into a retried failure', async () => {
    let calls = 0;
    const fn = ((): Promise<string> => {
      calls++;
      if (calls === 1) throw new Transient('sync');
      return Promise.resolve('ok');
    });
    await expect(retry(fn, { ...base, attempts: 2 })).resolves.toBe('ok');
    expect(calls).toBe(2);
  });

  it('calls onRetry with the error, the failed attempt and the backoff delay it sleeps', async () => {
    const fn = flaky(3);
    const onRetry = jest.fn();
    const sleeps: number[] = [];
    const recordSleep = async (ms: number): Promise<void> => { sleeps.push(ms); };
    await retry(fn, { ...base, attempts: 5, onRetry, sleep: recordSleep });
    // full jitter with random 0.5: 0.5 · min(1000, 100 · 2^(n-1))
    expect(onRetry.mock.calls.map(([err, attempt, delay]) => [(err as Error).message, attempt, delay])).toEqual([
      ['fail 1', 1, 50],
      ['fail 2', 2, 100],
      ['fail 3', 3, 200],
    ]);
    expect(sleeps).toEqual([50, 100, 200]);
  });

  it('does not call onRetry after the last attempt', async () => {
    const onRetry = jest.fn();
    await expect(retry(flaky(10), { ...base, attempts: 2, onRetry })).rejects.toBeInstanceOf(Transient);
    expect(onRetry).toHaveBeenCalledTimes(1);
  });

  it('rejects quickly with the abort reason when aborted mid-sleep', async () => {
    const controller = new AbortController();
    const reason = new Error('shutting down');
    const fn = flaky(10);
    const started = performance.now();
    // Real sleep of 10 s (random 1 → full ceiling), aborted after 50 ms.
    const pending = retry(fn, { attempts: 5, baseMs: 10_000, maxMs: 10_000, random: () => 0.999, signal: controller.signal });
    setTimeout(() => controller.abort(reason), 50);
    await expect(pending).rejects.toBe(reason);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('rejects at once when aborted during an attempt that ignores the signal', async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    const fn = jest.fn((): Promise<string> => new Promise(() => undefined)); // never settles
    const pending = retry(fn, { ...base, attempts: 3, signal: controller.signal });
    setTimeout(() => controller.abort(reason), 20);
    await expect(pending).rejects.toBe(reason);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('does not retry a failure caused by the abort', async () => {
    const controller = new AbortController();
    const fn = jest.fn(async (_attempt: number, signal?: AbortSignal): Promise<string> => {
      controller.abort(new Error('aborted'));
      throw signal?.reason;
    });
    await expect(retry(fn, { ...base, attempts: 3, signal: controller.signal })).rejects.toThrow('aborted');
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('never calls fn with an already-aborted signal', async () => {
    const fn = flaky(0);
    const reason = new Error('already');
    await expect(retry(fn, { ...base, attempts: 3, signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(fn).not.toHaveBeenCalled();
  });

  it('rejects a non-positive attempt count', async () => {
    await expect(retry(flaky(0), { ...base, attempts: 0 })).rejects.toBeInstanceOf(RangeError);
  });
});

describe('sleep', () => {
  it('resolves after the delay', async () => {
    const started = performance.now();
    await sleep(30);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
  });

  it('rejects with the reason on abort and clears its timer', async () => {
    jest.useFakeTimers();
    try {
      const controller = new AbortController();
      const pending = sleep(60_000, controller.signal);
      expect(jest.getTimerCount()).toBe(1);
      const reason = new Error('bye');
      controller.abort(reason);
      await expect(pending).rejects.toBe(reason);
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });

  it('rejects at once when the signal is already aborted', async () => {
    const reason = new Error('early');
    await expect(sleep(60_000, AbortSignal.abort(reason))).rejects.toBe(reason);
  });
});
