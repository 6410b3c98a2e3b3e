import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { pino } from 'pino';
import { LeaseLostError } from '../../src/ports/index.js';
import type { QueueMessage } from '../../src/ports/index.js';
import { startHeartbeat } from '../../src/runtime/heartbeat.js';
import type { HeartbeatOptions } from '../../src/runtime/heartbeat.js';

type Line = Record<string, unknown> & { event_type?: string };

const message: QueueMessage = { id: 'm-1', body: '{}', receiveCount: 1, receipt: 'r-1' };

/** A queue whose extend calls are recorded with the fake clock's time; each may be held or failed. */
function fakeQueue() {
  const calls: Array<{ at: number; seconds: number }> = [];
  let hold = false;
  let failWith: unknown;
  const pending: Array<() => void> = [];
  const queue = {
    name: 'q',
    extend: jest.fn(async (_msg: QueueMessage, seconds: number) => {
      calls.push({ at: Date.now(), seconds });
      if (hold) await new Promise<void>((resolve) => pending.push(resolve));
      if (failWith !== undefined) throw failWith;
    }),
  };
  return {
    queue,
    calls,
    holdNext: () => { hold = true; },
    releaseHeld: () => { hold = false; for (const r of pending.splice(0)) r(); },
    failWith: (err: unknown) => { failWith = err; },
  };
}

function harness(opts: Partial<HeartbeatOptions> = {}) {
  const lines: Line[] = [];
  const logger = pino({}, { write(s: string) { lines.push(JSON.parse(s) as Line); } });
  const q = fakeQueue();
  const start = Date.now();
  const hb = startHeartbeat({ queue: q.queue, message, jobId: 'job-1', intervalSeconds: 240, extensionSeconds: 300, logger, ...opts });
  const events = (type: string): Line[] => lines.filter((l) => l.event_type === type);
  const offsets = (): number[] => q.calls.map((c) => (c.at - start) / 1000);
  return { hb, q, lines, events, offsets };
}

beforeEach(() => {
  jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
});
afterEach(() => {
  jest.useRealTimers();
});

describe('startHeartbeat', () => {
  it('extends by extensionSeconds every intervalSeconds', async () => {
    const h = harness();
    expect(h.events('heartbeat_started')).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(239_999);
    expect(h.q.calls).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(h.offsets()).toEqual([240]);
    await jest.advanceTimersByTimeAsync(240_000 * 2);
    expect(h.offsets()).toEqual([240, 480, 720]);
    expect(h.q.calls.every((c) => c.seconds === 300)).toBe(true);
    expect(h.hb.stats()).toEqual({ extensions: 3, errors: 0 });
    expect(h.events('heartbeat_extended').map((l) => [l.extension_count, l.new_timeout_seconds, l.job_id]))
      .toEqual([[1, 300, 'job-1'], [2, 300, 'job-1'], [3, 300, 'job-1']]);
    await h.hb.stop('acked');
  });

  it('tells onExtended of each granted extension only (the metrics count them)', async () => {
    const granted: number[] = [];
    const h = harness({ initialTimeoutSeconds: 900, onExtended: () => granted.push(Date.now()) });
    await jest.advanceTimersByTimeAsync(240_000);
    expect(granted).toHaveLength(2);
    h.q.failWith(new LeaseLostError('gone'));
    await jest.advanceTimersByTimeAsync(240_000);
    expect(h.q.calls).toHaveLength(3);
    expect(granted).toHaveLength(2);
    await h.hb.stop('aborted');
  });

  it('sets the initial timeout first, then extends on schedule', async () => {
    const h = harness({ initialTimeoutSeconds: 900 });
    await jest.advanceTimersByTimeAsync(0);
    expect(h.q.calls.map((c) => c.seconds)).toEqual([900]);
    await jest.advanceTimersByTimeAsync(240_000);
    expect(h.q.calls.map((c) => c.seconds)).toEqual([900, 300]);
    expect(h.hb.stats().extensions).toBe(2);
    await h.hb.stop('acked');
  });

  it('never extends after stop, and logs heartbeat_stopped then heartbeat_stats', async () => {
    const h = harness();
    await jest.advanceTimersByTimeAsync(240_000);
    await h.hb.stop('acked');
    await jest.advanceTimersByTimeAsync(240_000 * 10);
    expect(h.q.calls).toHaveLength(1);
    expect(jest.getTimerCount()).toBe(0);
    expect(h.events('heartbeat_stopped')).toMatchObject([{ reason: 'acked', extensions: 1 }]);
    expect(h.events('heartbeat_stats')).toMatchObject([{ extensions: 1, errors: 0, job_id: 'job-1' }]);
    const types = h.lines.map((l) => l.event_type);
    expect(types.indexOf('heartbeat_stats')).toBeGreaterThan(types.indexOf('heartbeat_stopped'));
  });

  it('stop during an extension in flight waits for it, and nothing follows', async () => {
    const h = harness();
    h.q.holdNext();
    await jest.advanceTimersByTimeAsync(240_000); // the beat's extend is now pending
    expect(h.q.calls).toHaveLength(1);

    let stopped = false;
    const stopping = h.hb.stop('acked').then(() => { stopped = true; });
    await jest.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false); // the ack must not race the extension in flight

    h.q.releaseHeld();
    await stopping;
    expect(stopped).toBe(true);
    await jest.advanceTimersByTimeAsync(240_000 * 5);
    expect(h.q.calls).toHaveLength(1); // no rescheduled beat after the in-flight one settled
    expect(h.hb.stats()).toEqual({ extensions: 1, errors: 0 });
  });

  it('a timer that fires in the same tick as stop does not extend', async () => {
    const h = harness();
    // Advance to just before the beat, then stop synchronously right as the timer would fire.
    await jest.advanceTimersByTimeAsync(239_999);
    const stopping = h.hb.stop('released');
    jest.advanceTimersByTime(1);
    await stopping;
    await jest.advanceTimersByTimeAsync(240_000 * 3);
    expect(h.q.calls).toHaveLength(0);
  });

  it('stop right after the timer fired, before its extension started, does not extend', async () => {
    const h = harness();
    await jest.advanceTimersByTimeAsync(239_999);
    jest.advanceTimersByTime(1); // the beat ran synchronously; its extension is only queued
    expect(jest.getTimerCount()).toBe(1); // only the lease-expiry timer
    await h.hb.stop('acked');
    await jest.advanceTimersByTimeAsync(240_000 * 3);
    expect(h.q.calls).toHaveLength(0);
    expect(h.events('heartbeat_extended')).toHaveLength(0);
  });

  it('an extra extend() queued behind a pending one is skipped once stopped', async () => {
    const h = harness();
    h.q.holdNext();
    await jest.advanceTimersByTimeAsync(240_000);
    const extra = h.hb.extend(1200); // queued behind the held beat
    const stopping = h.hb.stop('acked');
    h.q.releaseHeld();
    await Promise.all([extra, stopping]);
    expect(h.q.calls.map((c) => c.seconds)).toEqual([300]);
    await expect(h.hb.extend(60)).resolves.toBeUndefined();
    expect(h.q.calls).toHaveLength(1);
  });

  it('extend() extends at once, outside the schedule', async () => {
    const h = harness();
    await h.hb.extend(1500);
    expect(h.q.calls.map((c) => c.seconds)).toEqual([1500]);
    await jest.advanceTimersByTimeAsync(240_000);
    expect(h.q.calls.map((c) => c.seconds)).toEqual([1500, 300]);
    await h.hb.stop('acked');
  });

  it('a failed extension aborts the signal with the error, calls onFailure, and stops extending', async () => {
    const onFailure = jest.fn();
    const h = harness({ onFailure });
    await jest.advanceTimersByTimeAsync(240_000);
    expect(h.hb.signal.aborted).toBe(false);

    const lost = new LeaseLostError('receipt handle expired');
    h.q.failWith(lost);
    await jest.advanceTimersByTimeAsync(240_000);
    expect(h.hb.signal.aborted).toBe(true);
    expect(h.hb.signal.reason).toBe(lost);
    expect(onFailure).toHaveBeenCalledWith(lost);
    expect(h.events('heartbeat_failed')).toMatchObject([{ job_id: 'job-1', err: { message: 'receipt handle expired' } }]);
    expect(h.events('heartbeat_stats')).toMatchObject([{ extensions: 1, errors: 1 }]);

    await jest.advanceTimersByTimeAsync(240_000 * 5);
    expect(h.q.calls).toHaveLength(2);
    expect(jest.getTimerCount()).toBe(0);

    // Stopping afterwards is harmless and logs no second summary.
    await h.hb.stop('aborted');
    expect(h.events('heartbeat_stats')).toHaveLength(1);
    expect(h.events('heartbeat_stopped')).toHaveLength(0);
  });

  it('a transient failure is retried with backoff and the lease kept; no abort', async () => {
    const h = harness({ random: () => 0 });
    let failures = 2;
    h.q.queue.extend.mockImplementation(async (_msg: QueueMessage, seconds: number) => {
      h.q.calls.push({ at: Date.now(), seconds });
      if (failures-- > 0) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4566'), { code: 'ECONNREFUSED' });
    });
    await jest.advanceTimersByTimeAsync(240_000);
    expect(h.hb.signal.aborted).toBe(false);
    // equal jitter with random 0: half the ceiling, 0.25 s then 0.5 s
    await jest.advanceTimersByTimeAsync(250);
    await jest.advanceTimersByTimeAsync(500);
    expect(h.offsets()).toEqual([240, 240.25, 240.75]);
    expect(h.hb.signal.aborted).toBe(false);
    expect(h.hb.stats()).toEqual({ extensions: 1, errors: 2 });
    expect(h.events('heartbeat_retry').map((l) => l.attempt)).toEqual([1, 2]);
    expect(h.events('heartbeat_extended')).toMatchObject([{ attempts: 3 }]);
    // The next beat keeps the schedule.
    await jest.advanceTimersByTimeAsync(240_000);
    expect(h.q.calls).toHaveLength(4);
    await h.hb.stop('acked');
    expect(jest.getTimerCount()).toBe(0);
  });

  it('transient failures abort only when the lease granted last has really run out', async () => {
    const onFailure = jest.fn();
    const h = harness({ onFailure, leaseSeconds: 300 });
    await jest.advanceTimersByTimeAsync(240_000); // extended at 240 s: lease until 540 s
    h.q.failWith(new Error('network down'));
    await jest.advanceTimersByTimeAsync(240_000); // 480 s: failing, retried
    expect(h.hb.signal.aborted).toBe(false);
    await jest.advanceTimersByTimeAsync(59_000); // 539 s
    expect(h.hb.signal.aborted).toBe(false);
    await jest.advanceTimersByTimeAsync(1_000); // 540 s
    expect(h.hb.signal.aborted).toBe(true);
    expect(h.hb.signal.reason).toBeInstanceOf(Error);
    expect(onFailure).toHaveBeenCalledTimes(1);
    expect(h.events('heartbeat_retry').length).toBeGreaterThan(5);
    expect(h.events('heartbeat_failed')).toHaveLength(1);
    expect(String((h.hb.signal.reason as Error).message)).toMatch(/network down/);
    await h.hb.stop('aborted');
    expect(jest.getTimerCount()).toBe(0);
  });

  it('extensionOptional: an extension the IAM policy refuses ends the extending; the job is not aborted, even past the lease', async () => {
    const onFailure = jest.fn();
    const denied = Object.assign(new Error('User: x is not authorized to perform: sqs:ChangeMessageVisibility'), { name: 'AccessDenied', $metadata: { httpStatusCode: 400 } });
    const h = harness({ onFailure, leaseSeconds: 300, extensionOptional: true });
    h.q.failWith(denied);
    await jest.advanceTimersByTimeAsync(240_000);
    expect(h.q.calls).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(3_600_000); // far past the queue's visibility: not aborted, nothing asked again
    expect(h.q.calls).toHaveLength(1);
    await h.hb.extend(900);
    expect(h.q.calls).toHaveLength(1);
    expect(h.hb.signal.aborted).toBe(false);
    expect(onFailure).not.toHaveBeenCalled();
    expect(h.events('heartbeat_unavailable')).toHaveLength(1);
    expect(h.events('heartbeat_retry')).toEqual([]);
    expect(jest.getTimerCount()).toBe(0);
    await h.hb.stop('acked');
    expect(h.events('heartbeat_stopped')).toMatchObject([{ lease_lost: false }]);
  });

  it('without extensionOptional a refused extension is retried until the lease runs out, then aborts (the transcode queue)', async () => {
    const h = harness({ leaseSeconds: 300 });
    h.q.failWith(Object.assign(new Error('denied'), { name: 'AccessDenied' }));
    await jest.advanceTimersByTimeAsync(300_000);
    expect(h.hb.signal.aborted).toBe(true);
    await h.hb.stop('aborted');
  });

  it('an extension replaces the lease, shorter or longer: the expiry follows the last one granted, not the receive', async () => {
    const h = harness({ leaseSeconds: 600, intervalSeconds: 1, extensionSeconds: 3 });
    await jest.advanceTimersByTimeAsync(1_000); // extended at 1 s for 3 s: the lease is now until 4 s, not 600 s
    h.q.failWith(new Error('network down'));
    await jest.advanceTimersByTimeAsync(2_900);
    expect(h.hb.signal.aborted).toBe(false);
    await jest.advanceTimersByTimeAsync(100);
    expect(h.hb.signal.aborted).toBe(true);
    await h.hb.stop('aborted');
  });

  it('an extension that never answers (a black-holed connection) aborts when the lease expires', async () => {
    const h = harness({ leaseSeconds: 300 });
    h.q.holdNext();
    await jest.advanceTimersByTimeAsync(299_000);
    expect(h.hb.signal.aborted).toBe(false);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(h.hb.signal.aborted).toBe(true);
    expect(h.hb.signal.reason).toBeInstanceOf(LeaseLostError);
    expect(String((h.hb.signal.reason as Error).message)).toMatch(/expired \(no extension answered in time\)/);
    // The late answer changes nothing.
    h.q.releaseHeld();
    await jest.advanceTimersByTimeAsync(0);
    expect(h.events('heartbeat_extended')).toHaveLength(0);
    await h.hb.stop('aborted');
  });

  it('stop during a retry backoff resolves at once, with no further call', async () => {
    const h = harness({ retry: { baseMs: 60_000, maxMs: 60_000 }, random: () => 0.99 });
    h.q.failWith(new Error('network down'));
    await jest.advanceTimersByTimeAsync(240_000);
    expect(h.q.calls).toHaveLength(1);
    let done = false;
    void h.hb.stop('released').then(() => { done = true; });
    await jest.advanceTimersByTimeAsync(0);
    expect(done).toBe(true);
    await jest.advanceTimersByTimeAsync(120_000);
    expect(h.q.calls).toHaveLength(1);
    expect(h.hb.signal.aborted).toBe(false);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('an extension in flight that fails during stop still aborts the signal', async () => {
    const h = harness();
    h.q.holdNext();
    await jest.advanceTimersByTimeAsync(240_000);
    const stopping = h.hb.stop('acked');
    h.q.failWith(new LeaseLostError('gone'));
    h.q.releaseHeld();
    await stopping;
    expect(h.hb.signal.aborted).toBe(true);
    expect(h.events('heartbeat_stats')).toMatchObject([{ extensions: 0, errors: 1 }]);
  });

  it('a throwing onFailure does not break anything', async () => {
    const h = harness({ onFailure: () => { throw new Error('boom'); } });
    h.q.failWith(new LeaseLostError('gone'));
    await jest.advanceTimersByTimeAsync(240_000);
    expect(h.hb.signal.aborted).toBe(true);
    expect(h.events('heartbeat_on_failure_threw')).toHaveLength(1);
  });

  it('stop is idempotent', async () => {
    const h = harness();
    await Promise.all([h.hb.stop('acked'), h.hb.stop('released')]);
    await h.hb.stop('aborted');
    expect(h.events('heartbeat_stopped')).toMatchObject([{ reason: 'acked' }]);
    expect(h.events('heartbeat_stats')).toHaveLength(1);
  });

  it('uses injected timers when given', async () => {
    const scheduled: Array<{ fn: () => void; ms: number }> = [];
    const timers = { setTimeout: (fn: () => void, ms: number) => scheduled.push({ fn, ms }), clearTimeout: jest.fn() };
    const h = harness({ timers, intervalSeconds: 0.3, extensionSeconds: 1 });
    // The lease-expiry timer (the whole lease), then the first beat.
    expect(scheduled.map((s) => s.ms)).toEqual([1000, 300]);
    scheduled[1]?.fn();
    await jest.advanceTimersByTimeAsync(0);
    expect(h.q.calls.map((c) => c.seconds)).toEqual([1]);
    // The expiry re-armed for the new lease, and the next beat.
    expect(scheduled.slice(2).map((s) => s.ms)).toEqual([1000, 300]);
    await h.hb.stop('acked');
    expect(timers.clearTimeout).toHaveBeenCalled();
  });

  it('rejects a non-positive interval or extension', () => {
    expect(() => harness({ intervalSeconds: 0 })).toThrow(RangeError);
    expect(() => harness({ extensionSeconds: -1 })).toThrow(RangeError);
  });
});
