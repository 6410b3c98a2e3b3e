// When the next cleanup pass starts. Jitter keeps several workers (or a restart loop)
// from hitting Supabase and the bucket in lockstep; ±5 % of 6 h is ±18 min.

/** Fraction of the interval the delay may move either way. */
export const CLEANUP_JITTER = 0.05;
/** A pass that met an outage (it could not list its jobs, or left rows pending on one) is retried sooner than the full interval. */
export const CLEANUP_RETRY_SECONDS = 300;

/**
 * Milliseconds to wait before the next pass: the interval (shortened to
 * CLEANUP_RETRY_SECONDS when this pass met an outage of Supabase or the bucket: the rows it
 * could not finish should not wait 6 h for the service that is back), ±CLEANUP_JITTER.
 * `random` returns a number in [0, 1).
 */
export function nextPassDelayMs(intervalSeconds: number, opts: { outage?: boolean; random?: () => number } = {}): number {
  const base = opts.outage ? Math.min(intervalSeconds, CLEANUP_RETRY_SECONDS) : intervalSeconds;
  const r = Math.min(1, Math.max(0, (opts.random ?? Math.random)()));
  return Math.round(base * 1000 * (1 - CLEANUP_JITTER + 2 * CLEANUP_JITTER * r));
}
