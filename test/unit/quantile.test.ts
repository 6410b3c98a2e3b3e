import { describe, expect, it } from '@jest/globals';
import { histogramQuantile } from '../../src/domain/quantile.js';

const inf = Infinity;

describe('histogramQuantile', () => {
  // 100 observations spread evenly: 10 in (0,1], 40 in (1,2], 50 in (2,4].
  const buckets = [
    { le: 1, count: 10 },
    { le: 2, count: 50 },
    { le: 4, count: 100 },
    { le: inf, count: 100 },
  ];

  it('interpolates linearly inside the bucket holding the rank', () => {
    expect(histogramQuantile(0.5, buckets)).toBeCloseTo(2, 10); // rank 50 = top of (1,2]
    expect(histogramQuantile(0.3, buckets)).toBeCloseTo(1.5, 10); // rank 30: halfway through (1,2]
    expect(histogramQuantile(0.95, buckets)).toBeCloseTo(3.8, 10); // 2 + 2 * 45/50
    expect(histogramQuantile(0.99, buckets)).toBeCloseTo(3.96, 10);
  });

  it('starts the first bucket at zero', () => {
    expect(histogramQuantile(0.05, buckets)).toBeCloseTo(0.5, 10);
    expect(histogramQuantile(0, buckets)).toBe(0);
  });

  it('returns the highest finite bound when the rank lands in +Inf', () => {
    const tail = [{ le: 1, count: 1 }, { le: 2, count: 2 }, { le: inf, count: 10 }];
    expect(histogramQuantile(0.99, tail)).toBe(2);
  });

  it('does not care about bucket order', () => {
    expect(histogramQuantile(0.95, [...buckets].reverse())).toBeCloseTo(3.8, 10);
  });

  it('follows PromQL for degenerate input', () => {
    expect(histogramQuantile(0.5, [{ le: 1, count: 0 }, { le: inf, count: 0 }])).toBeNaN();
    expect(histogramQuantile(0.5, [{ le: 1, count: 3 }, { le: 2, count: 5 }])).toBeNaN(); // no +Inf
    expect(histogramQuantile(0.5, [{ le: inf, count: 5 }])).toBeNaN();
    expect(histogramQuantile(0.5, [])).toBeNaN();
    expect(histogramQuantile(-0.1, buckets)).toBe(-inf);
    expect(histogramQuantile(1.1, buckets)).toBe(inf);
    expect(histogramQuantile(NaN, buckets)).toBeNaN();
  });

  it('returns a non-positive first bound as-is', () => {
    expect(histogramQuantile(0.2, [{ le: -1, count: 5 }, { le: 1, count: 10 }, { le: inf, count: 10 }])).toBe(-1);
  });

  it('tolerates non-monotonic counts from a racing scrape', () => {
    const racy = [{ le: 1, count: 10 }, { le: 2, count: 8 }, { le: 4, count: 20 }, { le: inf, count: 20 }];
    // Treated as 10, 10, 20, 20: rank 10 is the top of the first bucket; rank 15 is inside (2,4].
    expect(histogramQuantile(0.5, racy)).toBeCloseTo(1, 10);
    expect(histogramQuantile(0.75, racy)).toBeCloseTo(3, 10);
  });

  it('skips empty buckets before the rank', () => {
    const gappy = [{ le: 1, count: 0 }, { le: 2, count: 0 }, { le: 10, count: 4 }, { le: inf, count: 4 }];
    expect(histogramQuantile(0.5, gappy)).toBeCloseTo(6, 10);
  });
});
