// Pure conversions between SQS wire shapes and the Queue port's types.
import type { Message } from '@aws-sdk/client-sqs';
import type { DeadLetter, QueueMessage } from '../../ports/index.js';

/** The message attribute that carries why the adapter dead-lettered a message. */
export const REASON_ATTRIBUTE = 'rugbyworker_reason';

export interface RedrivePolicy {
  deadLetterTargetArn: string;
  maxReceiveCount: number;
}

/** The queue name: the last path segment of its URL. */
export function queueNameFromUrl(queueUrl: string): string {
  const path = queueUrl.replace(/[?#].*$/, '').replace(/\/+$/, '');
  return path.slice(path.lastIndexOf('/') + 1) || queueUrl;
}

/** The URL of queue `name` beside `queueUrl` (same endpoint and account): its last path segment changed. */
export function siblingQueueUrl(queueUrl: string, name: string): string {
  const path = queueUrl.replace(/[?#].*$/, '').replace(/\/+$/, '');
  return `${path.slice(0, path.lastIndexOf('/') + 1)}${name}`;
}

/** `arn:aws:sqs:region:account:name` → its parts; null when it is not an SQS ARN. */
export function parseQueueArn(arn: string): { region: string; account: string; name: string } | null {
  const parts = arn.split(':');
  if (parts.length !== 6 || parts[0] !== 'arn' || parts[2] !== 'sqs') return null;
  const [, , , region, account, name] = parts as [string, string, string, string, string, string];
  return name ? { region, account, name } : null;
}

/** The RedrivePolicy attribute (JSON; maxReceiveCount may be a string); null when absent or unusable. */
export function parseRedrivePolicy(raw: string | undefined): RedrivePolicy | null {
  if (!raw) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const p = parsed as { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown };
  const max = Number(p.maxReceiveCount);
  if (typeof p.deadLetterTargetArn !== 'string' || !Number.isInteger(max) || max < 1) return null;
  return { deadLetterTargetArn: p.deadLetterTargetArn, maxReceiveCount: max };
}

/** A received SQS message as the port's QueueMessage; null when it lacks an id or receipt. */
export function toQueueMessage(m: Message): QueueMessage | null {
  if (!m.MessageId || !m.ReceiptHandle) return null;
  const count = Number.parseInt(m.Attributes?.ApproximateReceiveCount ?? '', 10);
  const sentAt = Number.parseInt(m.Attributes?.SentTimestamp ?? '', 10);
  return {
    id: m.MessageId, body: m.Body ?? '', receiveCount: Number.isFinite(count) && count > 0 ? count : 1, receipt: m.ReceiptHandle,
    ...(Number.isFinite(sentAt) && sentAt > 0 ? { sentAt } : {}),
  };
}

/** A message peeked from the DLQ; the reason is known only when this adapter put it there. */
export function toDeadLetter(m: Message): DeadLetter | null {
  if (!m.MessageId) return null;
  const count = Number.parseInt(m.Attributes?.ApproximateReceiveCount ?? '', 10);
  return {
    id: m.MessageId, body: m.Body ?? '', reason: m.MessageAttributes?.[REASON_ATTRIBUTE]?.StringValue ?? null,
    ...(Number.isFinite(count) && count > 0 ? { receiveCount: count } : {}),
  };
}

/** SQS takes whole seconds in [0, limit]; round partial seconds up so a lease is never shorter than asked. */
export function wholeSeconds(seconds: number, limit: number): number {
  if (!Number.isFinite(seconds) || seconds <= 0) return 0;
  return Math.min(limit, Math.ceil(seconds));
}

/** Splits `max` into ReceiveMessage batch sizes of at most 10. */
export function batchSizes(max: number): number[] {
  const n = Math.max(1, Math.floor(max));
  const sizes: number[] = [];
  for (let left = n; left > 0; left -= 10) sizes.push(Math.min(10, left));
  return sizes;
}
