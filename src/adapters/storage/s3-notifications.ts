// S3 bucket notifications for a local chain: the ObjectCreated events a store emits
// (FsObjectStore's onObjectCreated, built by buildObjectCreatedEvent) sent to queues by
// prefix and suffix filters, as an S3 → SQS notification configuration does. The body is
// the event JSON itself, so roles parse one format whichever produced it.
import { decodeEventKey, type S3EventNotification } from '../../domain/s3-event.js';
import type { Queue } from '../../ports/index.js';

export interface KeyFilter {
  /** S3's filter rules match the object key itself (not its URL-encoded form in the event). */
  readonly prefix: string;
  readonly suffix: string;
}

export interface NotificationRule extends KeyFilter {
  readonly queue: Pick<Queue, 'send'>;
}

export function matchesFilter(filter: KeyFilter, key: string): boolean {
  return key.startsWith(filter.prefix) && key.endsWith(filter.suffix);
}

/** The onObjectCreated hook: each record goes, as its own message, to every rule it matches. */
export function notifyQueues(rules: readonly NotificationRule[]): (event: S3EventNotification) => Promise<void> {
  return async (event) => {
    for (const record of event.Records) {
      const key = decodeEventKey(record.s3.object.key);
      const body = JSON.stringify({ Records: [record] });
      for (const rule of rules) if (matchesFilter(rule, key)) await rule.queue.send(body);
    }
  };
}
