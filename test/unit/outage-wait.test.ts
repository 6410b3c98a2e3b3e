// How long the engine keeps a job's message while a dependency is down (src/domain/outage-wait.ts).
import { describe, expect, it } from '@jest/globals';
import { OUTAGE_WAIT, outageDelayMs } from '../../src/domain/outage-wait.js';

describe('outageDelayMs', () => {
  it('grows 1 s, 2 s, 4 s … up to 15 s, with equal jitter', () => {
    const high = (n: number): number | null => outageDelayMs(n, 0, OUTAGE_WAIT, () => 0.999999);
    const low = (n: number): number | null => outageDelayMs(n, 0, OUTAGE_WAIT, () => 0);
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => Math.round(high(n)!))).toEqual([1000, 2000, 4000, 8000, 15000, 15000, 15000]);
    expect([1, 2, 6].map(low)).toEqual([500, 1000, 7500]);
  });

  it('stops waiting when the next try would start past 15 minutes of holding', () => {
    const mid = (): number => 0.5;
    expect(outageDelayMs(10, 800, OUTAGE_WAIT, mid)).toBe(11_250);
    expect(outageDelayMs(10, 890, OUTAGE_WAIT, mid)).toBeNull();
    expect(outageDelayMs(1, 900, OUTAGE_WAIT, mid)).toBeNull();
  });

  it('honours a custom wait', () => {
    expect(outageDelayMs(1, 0, { baseMs: 10, maxMs: 10, limitSeconds: 1 }, () => 0)).toBe(5);
    expect(outageDelayMs(1, 0.999, { baseMs: 10, maxMs: 10, limitSeconds: 1 }, () => 0)).toBeNull();
  });
});
