// Quantiles estimated from cumulative histogram buckets, the way PromQL's
// histogram_quantile() does it, so /metrics JSON agrees with a Grafana panel.

/** One cumulative bucket: `count` observations were ≤ `le` (the last one is `le: Infinity`). */
export interface HistogramBucket {
  le: number;
  count: number;
}

/**
 * The q-quantile (0 ≤ q ≤ 1) of the observations summarised by cumulative `buckets`,
 * by linear interpolation inside the bucket holding the rank.
 * Follows PromQL: NaN without a +Inf bucket or without observations; q < 0 → -Infinity,
 * q > 1 → +Infinity; a rank in the +Inf bucket gives the highest finite bound; the first
 * bucket starts at 0 (or is returned as-is when its bound is ≤ 0).
 */
export function histogramQuantile(q: number, buckets: readonly HistogramBucket[]): number {
  if (Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const last = sorted[sorted.length - 1];
  if (sorted.length < 2 || last === undefined || last.le !== Infinity) return NaN;
  // Counts are cumulative; a scrape mid-update can make them dip, so force them monotonic.
  const counts: number[] = [];
  let running = 0;
  for (const b of sorted) {
    running = Math.max(running, b.count);
    counts.push(running);
  }
  const total = counts[counts.length - 1] ?? 0;
  if (total === 0) return NaN;

  const rank = q * total;
  let i = counts.findIndex((c) => c >= rank);
  if (i < 0) i = sorted.length - 1;
  const bucket = sorted[i] as HistogramBucket;
  if (bucket.le === Infinity) return (sorted[sorted.length - 2] as HistogramBucket).le;
  if (i === 0 && bucket.le <= 0) return bucket.le;

  const start = i === 0 ? 0 : (sorted[i - 1] as HistogramBucket).le;
  const before = i === 0 ? 0 : (counts[i - 1] as number);
  const inBucket = (counts[i] as number) - before;
  if (inBucket === 0) return bucket.le;
  return start + (bucket.le - start) * ((rank - before) / inBucket);
}
