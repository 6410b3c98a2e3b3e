// The Queue port as roles and the engine use it: receive, hold, settle, send, and the depth
// /metrics reports (DESIGN §3). The operators' side (the dead letters) is src/ports/dead-letters.ts.
export interface QueueMessage {
  readonly id: string;
  readonly body: string;
  /** How many times this message has been delivered, this delivery included (1 = first). */
  readonly receiveCount: number;
  /** Adapter-specific handle of this delivery (SQS receipt handle, Redis entry id). */
  readonly receipt: string;
  /** When the message was sent, ms since the epoch (SQS SentTimestamp); absent when unknown. */
  readonly sentAt?: number;
}

/** How many messages a queue holds (/metrics, `jobs diagnose`, the `dlq` commands). */
export interface QueueDepth {
  /** Waiting to be received (delayed sends included). */
  readonly visible: number;
  /** Received and not yet acked, or released with a delay: hidden for now. */
  readonly inflight: number;
  /** In the dead-letter queue, hidden ones included; null without one. */
  readonly dlq: number | null;
}

export interface Queue {
  /** For logs and metrics, e.g. the queue name from its URL or the stream key. */
  readonly name: string;
  /** Deliveries after which a message goes to the dead-letter queue (assumed where it cannot be read); null without a DLQ. */
  readonly maxReceiveCount: number | null;
  /** Long-polls for up to `max` messages (any number; adapters batch as their service allows). Resolves [] when `signal` aborts. */
  receive(opts: { max: number; waitSeconds: number; visibilitySeconds?: number; signal?: AbortSignal }): Promise<QueueMessage[]>;
  /** Keeps the message hidden for `seconds` from now; LeaseLostError when it no longer can. */
  extend(msg: QueueMessage, seconds: number): Promise<void>;
  /** Gives the message back: visible again after `delaySeconds` (0 = at once). */
  release(msg: QueueMessage, delaySeconds?: number): Promise<void>;
  /** The work is done: delete the message. */
  ack(msg: QueueMessage): Promise<void>;
  /** Moves the message to the dead-letter queue now, with the reason (invalid body, permanent failure); where not allowed to, leaves it to the queue's own redrive. */
  deadLetter(msg: QueueMessage, reason: string): Promise<void>;
  send(body: string, opts?: { delaySeconds?: number }): Promise<void>;
  /** Messages waiting, in flight and dead-lettered (approximate on SQS). */
  depth(): Promise<QueueDepth>;
  close(): Promise<void>;
}
