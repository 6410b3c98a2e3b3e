import { describe, expect, it } from '@jest/globals';
import { backoffDelayMs } from '../../src/domain/backoff.js';

const top = (): number => 0.999999; // just under 1, as Math.random can return
const half = (): number => 0.5;
const zero = (): number => 0;

describe('backoffDelayMs', () => {
  it('grows exponentially from baseMs (factor 2 by default)', () => {
    const none = { baseMs: 100, maxMs: 1e9, jitter: 'none' as const };
    expect([1, 2, 3, 4, 5].map((n) => backoffDelayMs(n, none))).toEqual([100, 200, 400, 800, 1600]);
  });

  it('uses a custom factor', () => {
    const opts = { baseMs: 10, maxMs: 1e9, factor: 3, jitter: 'none' as const };
    expect([1, 2, 3].map((n) => backoffDelayMs(n, opts))).toEqual([10, 30, 90]);
  });

  it('is capped at maxMs, even for huge attempt numbers', () => {
    const none = { baseMs: 100, maxMs: 1000, jitter: 'none' as const };
    expect(backoffDelayMs(4, none)).toBe(800);
    expect(backoffDelayMs(5, none)).toBe(1000);
    expect(backoffDelayMs(50, none)).toBe(1000);
    expect(backoffDelayMs(5000, none)).toBe(1000); // 2^4999 overflows to Infinity
    expect(backoffDelayMs(5000, { baseMs: 100, maxMs: 1000 }, top)).toBeLessThanOrEqual(1000);
  });

  it('defaults to full jitter: random · min(cap, base · 2^(n-1))', () => {
    const opts = { baseMs: 100, maxMs: 1000 };
    expect(backoffDelayMs(3, opts, half)).toBe(200);
    expect(backoffDelayMs(3, opts, zero)).toBe(0);
    expect(backoffDelayMs(3, opts, top)).toBeCloseTo(400, 3);
    expect(backoffDelayMs(3, opts, top)).toBeLessThan(400);
    expect(backoffDelayMs(10, opts, half)).toBe(500); // jitter applies to the capped value
  });

  it('keeps full jitter within [0, ceiling) with Math.random', () => {
    for (let n = 1; n <= 12; n++) {
      const ceiling = Math.min(2000, 50 * 2 ** (n - 1));
      for (let i = 0; i < 50; i++) {
        const d = backoffDelayMs(n, { baseMs: 50, maxMs: 2000, jitter: 'full' });
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(ceiling);
      }
    }
  });

  it('equal jitter stays within [ceiling/2, ceiling]', () => {
    const opts = { baseMs: 100, maxMs: 1000, jitter: 'equal' as const };
    expect(backoffDelayMs(3, opts, zero)).toBe(200);
    expect(backoffDelayMs(3, opts, half)).toBe(300);
    expect(backoffDelayMs(3, opts, top)).toBeCloseTo(400, 3);
    expect(backoffDelayMs(9, opts, zero)).toBe(500);
  });

  it('no jitter ignores the random source', () => {
    const opts = { baseMs: 100, maxMs: 1000, jitter: 'none' as const };
    expect(backoffDelayMs(2, opts, zero)).toBe(200);
    expect(backoffDelayMs(2, opts, top)).toBe(200);
  });

  it('treats attempts below 1 as the first and clamps a bad random source', () => {
    expect(backoffDelayMs(0, { baseMs: 100, maxMs: 1000, jitter: 'none' })).toBe(100);
    expect(backoffDelayMs(-3, { baseMs: 100, maxMs: 1000, jitter: 'none' })).toBe(100);
    expect(backoffDelayMs(2, { baseMs: 100, maxMs: 1000 }, () => 7)).toBe(200);
    expect(backoffDelayMs(2, { baseMs: 100, maxMs: 1000 }, () => -1)).toBe(0);
  });
});
