// A job whose dependency (S3, Supabase, DynamoDB, Redis) cannot be reached is not a bad job:
// giving its message back would spend one of the queue's few receives on the outage (three
// failed receives in ~15 s dead-lettered a transcode during a 30 s S3 outage). So the engine
// keeps the message, its lease extended as usual, and runs the job again after these delays
// until the service answers, for at most `limitSeconds` per receive; past that the failure
// takes the normal path (release with backoff, or the DLQ on the last receive), so a worker
// cut off on its own does not sit on work another worker could do.
import { backoffDelayMs } from './backoff.js';

export interface OutageWait {
  /** First delay ceiling, in ms. */
  baseMs: number;
  /** Delay ceiling, in ms. */
  maxMs: number;
  /** How long one receive may be held waiting out an outage, in seconds. */
  limitSeconds: number;
}

/** 1 s, 2 s, 4 s … 15 s between tries (equal jitter): back within 15 s of the service, for up to 15 minutes. */
export const OUTAGE_WAIT: OutageWait = { baseMs: 1_000, maxMs: 15_000, limitSeconds: 900 };

/**
 * The delay before try `attempt + 1` of a job held since `heldSeconds` ago, or null when it
 * must not wait any longer (the next try would start past the limit).
 */
export function outageDelayMs(attempt: number, heldSeconds: number, wait: OutageWait = OUTAGE_WAIT, random: () => number = Math.random): number | null {
  const delay = backoffDelayMs(attempt, { baseMs: wait.baseMs, maxMs: wait.maxMs, jitter: 'equal' }, random);
  return heldSeconds * 1000 + delay > wait.limitSeconds * 1000 ? null : delay;
}
