import { describe, expect, it } from '@jest/globals';
import { calculateInitialTimeout, estimateProcessingTime } from '../../src/domain/rugbycodex/lease-timeouts.js';

const MB = 1024 ** 2;
const GB = 1024 ** 3;

describe('calculateInitialTimeout', () => {
  it.each([
    [0, 300],
    [100 * MB - 1, 300],
    [100 * MB, 600],
    [500 * MB - 1, 600],
    [500 * MB, 900],
    [GB - 1, 900],
    [GB, 1500],
    [2 * GB - 1, 1500],
    [2 * GB, 2700],
    [4 * GB - 1, 2700],
    [4 * GB, 3600],
    [100 * GB, 3600],
  ])('%d bytes → %d s', (bytes, seconds) => {
    expect(calculateInitialTimeout(bytes)).toBe(seconds);
  });

  it('matches the seed README examples (100MB, 1GB, 4GB)', () => {
    expect(calculateInitialTimeout(100 * 1024 ** 2)).toBe(600);
    expect(calculateInitialTimeout(1 * 1024 ** 3)).toBe(1500);
    expect(calculateInitialTimeout(4 * 1024 ** 3)).toBe(3600);
  });

  it('uses 1024-based units: 100 000 000 bytes is still under 100 MB', () => {
    expect(calculateInitialTimeout(100_000_000)).toBe(300);
  });

  it('gives an unknown size the longest lease', () => {
    expect(calculateInitialTimeout(Number.NaN)).toBe(3600);
    expect(calculateInitialTimeout(-1)).toBe(3600);
    expect(calculateInitialTimeout(Number.POSITIVE_INFINITY)).toBe(3600);
  });
});

describe('estimateProcessingTime', () => {
  it('is 0.5 + 8 + 0.75 = 9.25 minutes per GB', () => {
    expect(estimateProcessingTime(1)).toBeCloseTo(9.25);
    expect(estimateProcessingTime(2)).toBeCloseTo(18.5);
    expect(estimateProcessingTime(0.5)).toBeCloseTo(4.625);
  });

  it('is 0 for an empty input', () => {
    expect(estimateProcessingTime(0)).toBe(0);
  });
});
