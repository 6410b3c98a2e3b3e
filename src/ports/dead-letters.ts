// The operators' side of a queue (`dlq inspect|replay|purge`, `jobs diagnose`): its dead
// letters and its depth. Roles never see it; src/ports/queue.ts is theirs.
export interface DeadLetter {
  readonly id: string;
  readonly body: string;
  /** Why it was dead-lettered, when the adapter knows (invalid body, too many receives, …). */
  readonly reason: string | null;
  /** Deliveries so far as the service counts them (SQS ApproximateReceiveCount, peeks included); absent when unknown. */
  readonly receiveCount?: number;
}

/** How many messages a queue holds, for operators (`jobs diagnose`). */
export interface QueueDepth {
  /** Waiting to be received (delayed sends included). */
  readonly visible: number;
  /** Received and not yet acked, or released with a delay: hidden for now. */
  readonly inflight: number;
  /** In the dead-letter queue, hidden ones included; null without one. */
  readonly dlq: number | null;
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

/** A main queue's dead-letter queue and depth, as the operator commands see them. */
export interface DeadLetterQueue {
  /** The main queue's name, as Queue.name. */
  readonly name: string;
  peekDeadLetters(max: number): Promise<DeadLetter[]>;
  /** Moves every dead letter back to the main queue (until `signal` aborts); resolves how many moved. */
  redrive(opts?: RedriveOptions): Promise<number>;
  purgeDeadLetters(): Promise<number>;
  /** Messages waiting, in flight and dead-lettered (approximate on SQS). */
  depth(): Promise<QueueDepth>;
}
