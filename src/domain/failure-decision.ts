// What becomes of a failed try (issue 21): one pure decision from the failure's class
// (failure.ts) and the facts of its delivery, as BullMQ keeps its whole retry policy in one
// shouldRetryJob. The consumer gathers the facts, asks, and does what the answer says; a
// role only says what "record this job failed" means for it.
import type { FailureClass } from './failure.js';

/**
 * - ack: done with the message (a recorded bad input; a job another delivery has now).
 * - retry: give it back after the backoff delay; it comes back on its next receive.
 * - dead_letter: to the DLQ with the reason (or, on a queue without one, deleted with it logged).
 * - give_back: give it back at once, not the job's failure (the worker is stopping).
 * - wait: keep it (its lease extended as usual) and run the job again on this receive.
 * - leave: touch nothing: the lease is lost, the message is someone else's.
 */
export type MessageAction = 'ack' | 'retry' | 'dead_letter' | 'give_back' | 'wait' | 'leave';

/**
 * Which jobs a role records failed: `bad_input` only (chunk, reassemble: a job whose
 * receives ran out is left where it stood, for the runbooks and the reconciler to pick up),
 * or also `last_receive`, a job whose last allowed receive failed (transcode, segment-infer:
 * the row says failed instead of waiting for ever). `none`: the role has no job to record;
 * a bad input then goes to the DLQ, so it is not lost unseen.
 */
export type RecordsFailed = 'none' | 'bad_input' | 'last_receive';

export interface FailureFacts {
  failure: FailureClass;
  /** This delivery's receive count (1 = first). */
  receiveCount: number;
  /** The queue's; null: no DLQ, the message comes back for ever. */
  maxReceiveCount: number | null;
  /** Shutdown has begun: no new waits. */
  stopping: boolean;
  /** An outage may still be waited out on this receive (false: the wait's budget is spent, or waits are off). */
  outageBudgetLeft: boolean;
  records: RecordsFailed;
}

export interface FailureDecision {
  message: MessageAction;
  /** Call the role's "record this job failed" (before the message action). */
  recordFailed: boolean;
}

export function decideFailure(f: FailureFacts): FailureDecision {
  switch (f.failure) {
    case 'lease_lost': return { message: 'leave', recordFailed: false };
    case 'aborted': return { message: 'give_back', recordFailed: false };
    case 'superseded': return { message: 'ack', recordFailed: false };
    case 'bad_message': return { message: 'dead_letter', recordFailed: false };
    case 'bad_input': return f.records === 'none' ? { message: 'dead_letter', recordFailed: false } : { message: 'ack', recordFailed: true };
    case 'outage':
      // Not the job's fault: a stopping worker gives it back for the next one at once.
      if (f.stopping) return { message: 'give_back', recordFailed: false };
      if (f.outageBudgetLeft) return { message: 'wait', recordFailed: false };
      break; // waited long enough: a transient failure like any other
    case 'transient':
      break;
  }
  const last = f.maxReceiveCount !== null && f.receiveCount >= f.maxReceiveCount;
  if (!last) return { message: 'retry', recordFailed: false };
  return { message: 'dead_letter', recordFailed: f.records === 'last_receive' };
}
