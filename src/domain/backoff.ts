// Exponential backoff with jitter, as in the AWS Architecture Blog's
// "Exponential Backoff And Jitter": jitter spreads retries of many workers that
// failed together (an SQS or S3 blip) so they do not hammer the service in lockstep.

export type Jitter = 'full' | 'equal' | 'none';

export interface BackoffOptions {
  /** Delay ceiling of the first retry, in ms. */
  baseMs: number;
  /** No delay ever exceeds this, in ms. */
  maxMs: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /** `full` (default): uniform in [0, d); `equal`: uniform in [d/2, d); `none`: d. */
  jitter?: Jitter;
}

/**
 * Delay in ms before retrying after failed `attempt` (1-based):
 * d = min(maxMs, baseMs · factor^(attempt-1)), then jittered.
 * `random` must return a number in [0, 1) (Math.random by default); tests pass a fixed one.
 */
export function backoffDelayMs(
  attempt: number,
  opts: BackoffOptions,
  random: () => number = Math.random,
): number {
  const { baseMs, maxMs, factor = 2, jitter = 'full' } = opts;
  const n = Number.isFinite(attempt) ? Math.max(1, Math.floor(attempt)) : 1;
  const base = Math.max(0, baseMs);
  const cap = Math.max(0, maxMs);
  // factor^(n-1) overflows to Infinity for large n; min() with the cap keeps it finite.
  const ceiling = Math.min(cap, base * Math.pow(Math.max(1, factor), n - 1));
  // Clamp a misbehaving random source so the result stays within [0, ceiling].
  const r = Math.min(1, Math.max(0, random()));
  switch (jitter) {
    case 'none':
      return ceiling;
    case 'equal':
      return ceiling / 2 + r * (ceiling / 2);
    case 'full':
      return r * ceiling;
  }
}
