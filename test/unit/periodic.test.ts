import { describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { startPeriodic, type PassSignals } from '../../src/runtime/periodic.js';

const logger = pino({ level: 'silent' });

describe('startPeriodic', () => {
  it('once: one pass, then done, and onEnd runs', async () => {
    let passes = 0;
    let ended = 0;
    const s = startPeriodic({ name: 'p', once: true, stopping: new AbortController().signal, logger, pass: async () => { passes++; return true; }, nextDelayMs: () => 1, onEnd: () => { ended++; } });
    await s.done;
    expect({ passes, ended }).toEqual({ passes: 1, ended: 1 });
  });

  it('repeats after nextDelayMs, telling it whether the pass ran; stopping ends the sleep at once', async () => {
    const ranFlags: boolean[] = [];
    const stopping = new AbortController();
    let passes = 0;
    const s = startPeriodic({
      name: 'p', once: false, stopping: stopping.signal, logger,
      pass: async () => { passes++; return passes !== 2; },
      nextDelayMs: (ran) => { ranFlags.push(ran); return ranFlags.length < 3 ? 5 : 60_000; },
    });
    while (ranFlags.length < 3) await new Promise((r) => setTimeout(r, 5));
    const t0 = Date.now();
    stopping.abort(new Error('SIGTERM'));
    await s.done;
    expect(Date.now() - t0).toBeLessThan(1000); // not the 60 s sleep
    expect(passes).toBe(3);
    expect(ranFlags).toEqual([true, false, true]);
  });

  it('stop(): no new pass; the pass in progress sees halted at once and deadline when the grace expires', async () => {
    let seen: PassSignals | undefined;
    let release: () => void = () => undefined;
    const s = startPeriodic({
      name: 'p', once: false, stopping: new AbortController().signal, logger, nextDelayMs: () => 0,
      pass: async (signals) => { seen = signals; await new Promise<void>((r) => { release = r; }); return true; },
    });
    while (!seen) await new Promise((r) => setTimeout(r, 5));
    const grace = new AbortController();
    const stopped = s.stop(grace.signal);
    expect({ halted: seen.halted.aborted, deadline: seen.deadline.aborted }).toEqual({ halted: true, deadline: false });
    grace.abort(new Error('grace expired'));
    expect(seen.deadline.aborted).toBe(true);
    expect((seen.deadline.reason as Error).message).toBe('grace expired');
    release();
    await stopped;
  });
});
