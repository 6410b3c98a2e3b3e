// The operators' side of a queue (`dlq inspect|replay|purge`): its dead letters. Roles
// never see it; src/ports/queue.ts is theirs.
import type { Queue } from './queue.js';

export interface DeadLetter {
  readonly id: string;
  readonly body: string;
  /** Why it was dead-lettered, when the adapter knows (invalid body, too many receives, …). */
  readonly reason: string | null;
  /** Deliveries so far as the service counts them (SQS ApproximateReceiveCount, peeks included); absent when unknown. */
  readonly receiveCount?: number;
}

/**
 * How a redrive moves the letters, which says what an interruption can leave behind:
 * - move-task: SQS moves them itself (StartMessageMoveTask); stopping the caller does not stop it.
 * - copy: one at a time, receive → send → delete; a crash can leave the one message in hand in both queues, never in neither.
 * - atomic: in server-side steps that cannot be cut in half (a Redis script, the in-process queue).
 */
export type RedriveMethod = 'move-task' | 'copy' | 'atomic';

export type RedriveProgress =
  | { readonly kind: 'started'; readonly method: RedriveMethod; readonly waiting: number; readonly taskHandle?: string }
  | { readonly kind: 'moved'; readonly moved: number };

export interface RedriveOptions {
  /** Stop after the message in hand (copy, atomic), or stop waiting for the move task (it goes on). */
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: RedriveProgress) => void;
}

/** A main queue's dead-letter queue, as the operator commands see it (`name` and `depth` as the queue's). */
export interface DeadLetterQueue extends Pick<Queue, 'name' | 'depth'> {
  peekDeadLetters(max: number): Promise<DeadLetter[]>;
  /** Moves every dead letter back to the main queue (until `signal` aborts); resolves how many moved. */
  redrive(opts?: RedriveOptions): Promise<number>;
  purgeDeadLetters(): Promise<number>;
}
