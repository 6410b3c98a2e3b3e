import { describe, expect, it } from '@jest/globals';
import { reassemblyLockTiming } from '../../src/domain/stereo/reassembly-lock.js';

describe('reassemblyLockTiming', () => {
  it.each([
    // interval, extension
    [240, 300], [3, 10], [1, 2], [60, 61], [30, 900],
  ])('interval %i s, extension %i s: a live lock is never taken over, a dead holder\'s redelivery always takes it', (interval, extension) => {
    const { refreshSeconds, takeoverSeconds } = reassemblyLockTiming(interval, extension);
    expect(refreshSeconds).toBeGreaterThanOrEqual(1);
    expect(refreshSeconds).toBeLessThanOrEqual(interval);
    // Live: the lock is at most refreshSeconds old, +1 for whole-second rounding.
    expect(takeoverSeconds).toBeGreaterThan(refreshSeconds + 1);
    // Dead: its message returns ≥ extension after the last beat; the lock is then at least that old,
    // unless the threshold had to be raised above the extension to stay clear of the live side.
    if (extension > refreshSeconds + 2) expect(takeoverSeconds).toBeLessThanOrEqual(extension);
  });

  it('defaults (240/300): refresh every 120 s, take over after 210 s', () => {
    expect(reassemblyLockTiming(240, 300)).toEqual({ refreshSeconds: 120, takeoverSeconds: 210 });
  });

  it('rejects an extension not above the interval', () => {
    expect(() => reassemblyLockTiming(300, 300)).toThrow(/must exceed/);
    expect(() => reassemblyLockTiming(0, 10)).toThrow(RangeError);
  });
});
