import { describe, expect, it, jest } from '@jest/globals';
import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { Lifecycle } from '../../src/runtime/lifecycle.js';
import type { LifecycleOptions, Service } from '../../src/runtime/lifecycle.js';

type Line = Record<string, unknown> & { event_type?: string };

interface Harness {
  lifecycle: Lifecycle;
  lines: Line[];
  events: (type: string) => Line[];
  proc: EventEmitter;
  exit: jest.Mock<(code: number) => void>;
  flush: jest.Mock<() => Promise<void>>;
  calls: string[];
}

function harness(opts: Partial<LifecycleOptions> = {}): Harness {
  const lines: Line[] = [];
  const logger = pino({}, { write(s: string) { lines.push(JSON.parse(s) as Line); } });
  const proc = new EventEmitter();
  const calls: string[] = [];
  const exit = jest.fn((code: number) => { calls.push(`exit ${code}`); });
  const flush = jest.fn(async () => { calls.push('flush'); });
  const lifecycle = new Lifecycle({
    logger,
    graceSeconds: 0.2,
    overrunMs: 100,
    exit,
    flush,
    processLike: proc as unknown as Pick<NodeJS.Process, 'on' | 'off'>,
    ...opts,
  });
  return { lifecycle, lines, events: (type) => lines.filter((l) => l.event_type === type), proc, exit, flush, calls };
}

/** A service whose stop records its call and resolves when `release()` is called (or at once). */
function service(name: string, calls: string[], behaviour: (deadline: AbortSignal) => Promise<void> = async () => undefined): Service & { deadline?: AbortSignal } {
  const s: Service & { deadline?: AbortSignal } = {
    name,
    async stop(deadline) {
      s.deadline = deadline;
      calls.push(`stop ${name}${deadline.aborted ? ' (deadline already aborted)' : ''}`);
      await behaviour(deadline);
      calls.push(`stopped ${name}`);
    },
  };
  return s;
}

const never = (): Promise<void> => new Promise(() => undefined);
const untilAborted = (deadline: AbortSignal): Promise<void> =>
  new Promise((resolve) => deadline.addEventListener('abort', () => resolve(), { once: true }));
const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('Lifecycle.shutdown', () => {
  it('stops services in reverse start order, one at a time, and resolves 0', async () => {
    const h = harness();
    let releaseC: () => void = () => undefined;
    h.lifecycle.add(service('a', h.calls));
    h.lifecycle.add(service('b', h.calls));
    h.lifecycle.add(service('c', h.calls, () => new Promise((r) => { releaseC = r; })));

    const pending = h.lifecycle.shutdown('test');
    await tick(20);
    expect(h.calls).toEqual(['stop c']); // b waits for c
    releaseC();
    await expect(pending).resolves.toBe(0);
    expect(h.calls).toEqual(['stop c', 'stopped c', 'stop b', 'stopped b', 'stop a', 'stopped a']);
    expect(h.events('service_stopped').map((l) => l.service)).toEqual(['c', 'b', 'a']);
    for (const l of h.events('service_stopped')) expect(typeof l.seconds).toBe('number');
    expect(h.events('shutdown_started')).toEqual([expect.objectContaining({ reason: 'test', grace_seconds: 0.2 })]);
    expect(h.events('shutdown_completed')).toEqual([expect.objectContaining({ exit_code: 0, seconds: expect.any(Number) })]);
    expect(h.events('shutdown_grace_expired')).toEqual([]);
    await expect(h.lifecycle.done).resolves.toBe(0);
    expect(h.exit).not.toHaveBeenCalled(); // a programmatic shutdown leaves exiting to the caller
  });

  it('aborts `stopping` at once, before any stop has finished', async () => {
    const h = harness();
    h.lifecycle.add(service('slow', h.calls, untilAborted));
    expect(h.lifecycle.stopping.aborted).toBe(false);
    const pending = h.lifecycle.shutdown('SIGTERM');
    expect(h.lifecycle.stopping.aborted).toBe(true);
    expect(h.calls).not.toContain('stopped slow');
    await pending;
  });

  it('on grace expiry aborts the shared deadline, still calls the remaining stops, and resolves 0 when they then stop', async () => {
    const h = harness({ graceSeconds: 0.15 });
    const first = service('first', h.calls);
    const slow = service('slow', h.calls, untilAborted); // honours the deadline
    h.lifecycle.add(first);
    h.lifecycle.add(slow);
    const started = performance.now();
    const code = await h.lifecycle.shutdown('test');
    const elapsed = performance.now() - started;

    expect(code).toBe(0);
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(1000);
    expect(slow.deadline).toBe(first.deadline); // one shared deadline
    expect(slow.deadline?.aborted).toBe(true);
    expect(h.calls).toEqual(['stop slow', 'stopped slow', 'stop first (deadline already aborted)', 'stopped first']);
    expect(h.events('shutdown_grace_expired')).toEqual([expect.objectContaining({ remaining: ['slow', 'first'] })]);
    expect(h.events('service_stopped').map((l) => l.service)).toEqual(['slow', 'first']);
    expect(h.events('shutdown_completed')).toEqual([expect.objectContaining({ exit_code: 0 })]);
    await expect(h.lifecycle.done).resolves.toBe(0);
  });

  it('uses one grace for all services, not one each', async () => {
    const h = harness({ graceSeconds: 0.2 });
    const slowish = (): Promise<void> => tick(120);
    h.lifecycle.add(service('a', h.calls, slowish));
    h.lifecycle.add(service('b', h.calls, slowish)); // 120 + 120 ms > 200 ms grace
    await expect(h.lifecycle.shutdown('test')).resolves.toBe(0);
    expect(h.events('shutdown_grace_expired')).toEqual([expect.objectContaining({ remaining: ['a'] })]);
    expect(h.calls).toContain('stopped a'); // finished within the overrun window
  });

  it('gives up on a stop that ignores the deadline after the overrun, and moves on', async () => {
    const h = harness({ graceSeconds: 0.1, overrunMs: 100 });
    h.lifecycle.add(service('after', h.calls));
    h.lifecycle.add(service('stuck', h.calls, never));
    const started = performance.now();
    await expect(h.lifecycle.shutdown('test')).resolves.toBe(1);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(1000);
    expect(h.calls).toEqual(['stop stuck', 'stop after (deadline already aborted)', 'stopped after']);
    expect(h.events('service_stop_abandoned').map((l) => l.service)).toEqual(['stuck']);
  });

  it('logs a stop that throws as service_stop_failed, carries on, and resolves 1', async () => {
    const h = harness();
    h.lifecycle.add(service('ok', h.calls));
    h.lifecycle.add(service('broken', h.calls, async () => { throw new Error('socket already closed'); }));
    h.lifecycle.add({ name: 'sync-broken', stop: () => { throw new Error('sync boom'); } });
    await expect(h.lifecycle.shutdown('test')).resolves.toBe(1);
    const failed = h.events('service_stop_failed');
    expect(failed.map((l) => l.service)).toEqual(['sync-broken', 'broken']);
    expect(failed[1]).toMatchObject({ err: { message: 'socket already closed' } });
    expect(h.calls).toContain('stopped ok');
    expect(h.events('service_stopped').map((l) => l.service)).toEqual(['ok']);
    expect(h.events('shutdown_grace_expired')).toEqual([]);
  });

  it('is idempotent: a second call returns the same promise and stops nothing twice', async () => {
    const h = harness();
    const a = service('a', h.calls);
    const stop = jest.spyOn(a, 'stop');
    h.lifecycle.add(a);
    const p1 = h.lifecycle.shutdown('one');
    const p2 = h.lifecycle.shutdown('two');
    expect(p2).toBe(p1);
    await expect(p1).resolves.toBe(0);
    await expect(h.lifecycle.shutdown('three')).resolves.toBe(0);
    expect(stop).toHaveBeenCalledTimes(1);
    expect(h.events('shutdown_started')).toHaveLength(1);
    expect(h.events('shutdown_completed')).toHaveLength(1);
  });

  it('stops a service added while shutdown is in progress', async () => {
    const h = harness();
    let release: () => void = () => undefined;
    h.lifecycle.add(service('a', h.calls, () => new Promise((r) => { release = r; })));
    const pending = h.lifecycle.shutdown('test');
    await tick(10);
    h.lifecycle.add(service('late', h.calls));
    release();
    await expect(pending).resolves.toBe(0);
    expect(h.calls).toEqual(['stop a', 'stopped a', 'stop late', 'stopped late']);
  });
});

describe('Lifecycle.install', () => {
  it('turns SIGTERM into a shutdown, then flushes and exits with its code', async () => {
    const h = harness();
    h.lifecycle.add(service('a', h.calls));
    h.lifecycle.add(service('b', h.calls));
    h.lifecycle.install();
    h.proc.emit('SIGTERM', 'SIGTERM');
    expect(h.lifecycle.stopping.aborted).toBe(true);
    await expect(h.lifecycle.done).resolves.toBe(0);
    await tick(10);
    expect(h.calls).toEqual(['stop b', 'stopped b', 'stop a', 'stopped a', 'flush', 'exit 0']);
    expect(h.events('shutdown_started')).toEqual([expect.objectContaining({ reason: 'SIGTERM', signal: 'SIGTERM' })]);
  });

  it('exits 1 after a signal when the grace expires', async () => {
    const h = harness({ graceSeconds: 0.05, overrunMs: 50 });
    h.lifecycle.add(service('stuck', h.calls, never));
    h.lifecycle.install();
    h.proc.emit('SIGINT', 'SIGINT');
    await expect(h.lifecycle.done).resolves.toBe(1);
    await tick(10);
    expect(h.exit.mock.calls).toEqual([[1]]);
  });

  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)('a second %s while shutting down logs shutdown_forced and exits %i at once', async (signal, code) => {
    const h = harness({ graceSeconds: 30 });
    let release: () => void = () => undefined;
    h.lifecycle.add(service('slow', h.calls, () => new Promise((r) => { release = r; })));
    h.lifecycle.install();
    h.proc.emit('SIGTERM', 'SIGTERM');
    await tick(10);
    expect(h.exit).not.toHaveBeenCalled();
    h.proc.emit(signal, signal);
    expect(h.exit.mock.calls).toEqual([[code]]); // synchronously, no waiting for the grace
    expect(h.events('shutdown_forced')).toEqual([expect.objectContaining({ signal })]);
    release(); // let the shutdown finish so no 30 s grace timer outlives the test
    await h.lifecycle.done;
  });

  it('logs an uncaught exception as one fatal event, flushes, and exits 1', async () => {
    const h = harness();
    h.lifecycle.install();
    h.proc.emit('uncaughtException', new Error('kaboom'), 'uncaughtException');
    h.proc.emit('uncaughtException', new Error('second'), 'uncaughtException');
    await tick(10);
    const fatal = h.events('fatal');
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject({ level: 60, err: { message: 'kaboom', type: 'Error' } });
    expect(typeof (fatal[0]?.err as { stack?: unknown }).stack).toBe('string');
    expect(h.calls).toEqual(['flush', 'exit 1']);
  });

  it('logs an unhandled rejection as fatal and exits 1', async () => {
    const h = harness();
    h.lifecycle.install();
    h.proc.emit('unhandledRejection', new Error('nobody caught me'), Promise.resolve());
    await tick(10);
    expect(h.events('fatal')).toEqual([expect.objectContaining({ origin: 'unhandledRejection', err: expect.objectContaining({ message: 'nobody caught me' }) })]);
    expect(h.exit.mock.calls).toEqual([[1]]);
  });

  it('still exits when the flush fails', async () => {
    const h = harness({ flush: async () => { throw new Error('axiom down'); } });
    h.lifecycle.install();
    h.proc.emit('uncaughtException', new Error('kaboom'));
    await tick(10);
    expect(h.exit.mock.calls).toEqual([[1]]);
  });

  it('uninstall removes every listener it added', () => {
    const h = harness();
    h.lifecycle.install();
    h.lifecycle.install(); // idempotent
    for (const e of ['SIGTERM', 'SIGINT', 'uncaughtException', 'unhandledRejection']) expect(h.proc.listenerCount(e)).toBe(1);
    h.lifecycle.uninstall();
    for (const e of ['SIGTERM', 'SIGINT', 'uncaughtException', 'unhandledRejection']) expect(h.proc.listenerCount(e)).toBe(0);
  });
});
