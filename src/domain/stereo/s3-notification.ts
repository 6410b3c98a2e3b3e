// The chunking and video-worker queues carry S3 bucket notifications (STEREO-SPOT.md
// §Messages): `{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put",
// "s3":{"bucket":{"name":…},"object":{"key":…,"size":…}}}]}`, the key URL-encoded, plus the
// `s3:TestEvent` S3 sends once when a notification is configured. This says which of the
// three a body is; whether a key is a source or a segment key is keys.ts's question.
//
// Upstream (stereo-spot ecba15e, media-worker and video-worker s3_event.py) reads only
// Records[0].s3.bucket.name and .s3.object.key (both non-empty strings) and unquote_plus'es
// the key; it looks at nothing else. Everything it accepts is accepted here, with these
// differences, none of which S3 ever sends:
// - eventSource and eventName may be absent (upstream's own test bodies have neither), but
//   when present they must be "aws:s3" and "ObjectCreated:…": a delete or another source's
//   record is not work for these queues.
// - Every record is checked and returned, not just the first (S3 sends one per message).
//   One bad record makes the body invalid.
// - object.size may be absent (null here) but, when present, must be a byte count.
// - A key that is not valid URL encoding (a stray "%", "%E0%A4" cut short) is invalid;
//   Python's unquote_plus leaves a stray "%" alone and turns bad UTF-8 into U+FFFD.
// - A body that is JSON but not an object ("[]", "null", "3") is invalid; upstream raises
//   AttributeError there, so the message is retried until it is dead-lettered.
// - The SNS envelope (S3 → SNS → SQS without raw delivery, `{"Type":"Notification",
//   "Message":"<S3 JSON>",…}`) is unwrapped. ecba15e's and b622b25's Terraform send S3 → SQS
//   directly, but b622b25's output-bucket rules overlap, which S3 refuses, and upstream's fix
//   (branch streaming, d78e435) fans out through SNS (raw delivery: the body is the S3 JSON
//   itself); STEREO-SPOT-MAIN.md §1.3 asks every S3-fed queue to take all three forms. An SNS
//   subscription or unsubscribe confirmation is not an S3 event: invalid, with what to do.
import { array, literal, looseObject, number, string } from 'zod';
import { decodeEventKey, type S3EventObject } from '../s3-event.js';

/** One object an ObjectCreated record names. */
export interface S3NotificationObject extends Omit<S3EventObject, 'size' | 'eventName'> {
  /** Decoded ('+' is a space, %2F a slash): the key to give the ObjectStore. */
  readonly key: string;
  /** Bytes; null when the record carries no size (S3's own records always do). */
  readonly size: number | null;
  /** "ObjectCreated:Put", "ObjectCreated:CompleteMultipartUpload", …; null when absent. */
  readonly eventName: string | null;
}

export type S3Notification =
  | { kind: 'test' }
  | { kind: 'objects'; objects: S3NotificationObject[] }
  | { kind: 'invalid'; reason: string };

const recordSchema = looseObject({
  eventSource: literal('aws:s3', { error: 'is not "aws:s3"' }).optional(),
  eventName: string({ error: 'is not a string' }).startsWith('ObjectCreated:', { error: 'is not an ObjectCreated event' }).optional(),
  s3: looseObject({
    bucket: looseObject({ name: string({ error: 'is missing or not a string' }).min(1, { error: 'is empty' }) }, { error: 'is missing or not an object' }),
    object: looseObject({
      key: string({ error: 'is missing or not a string' }).min(1, { error: 'is empty' }),
      size: number({ error: 'is not a number' }).int({ error: 'is not a byte count' }).min(0, { error: 'is not a byte count' }).optional(),
    }, { error: 'is missing or not an object' }),
  }, { error: 'is missing or not an object' }),
}, { error: 'is not an object' });

const notificationSchema = looseObject({
  Records: array(recordSchema, { error: 'is missing or not an array' }).min(1, { error: 'is empty' }),
});

/**
 * Parses an SQS message body. Never throws. With `bucket`, a record naming any other bucket
 * makes the body invalid: the role would otherwise read whatever bucket a message names.
 */
export function parseS3Notification(body: string, opts: { bucket?: { name: string; setting: string } } = {}): S3Notification {
  let value: unknown;
  try {
    value = JSON.parse(body) as unknown;
  } catch (err) {
    return invalid(`body is not JSON (${(err as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return invalid('body is not a JSON object');
  const sns = unwrapSns(value as Record<string, unknown>);
  if (sns !== null) {
    if (typeof sns === 'string') return invalid(sns);
    value = sns.value;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return invalid('the SNS Message is not a JSON object');
  }
  if ((value as Record<string, unknown>)['Event'] === 's3:TestEvent') return { kind: 'test' };
  const parsed = notificationSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? pathText(issue.path) : 'body';
    return invalid(`${where} ${issue?.message ?? 'is not an S3 event notification'}`);
  }
  const objects: S3NotificationObject[] = [];
  for (const [i, record] of parsed.data.Records.entries()) {
    let key: string;
    try {
      key = decodeEventKey(record.s3.object.key);
    } catch {
      return invalid(`Records[${i}].s3.object.key is not valid URL encoding`);
    }
    const expected = opts.bucket;
    if (expected && record.s3.bucket.name !== expected.name) {
      return { kind: 'invalid', reason: `Records[${i}].s3.bucket.name ${JSON.stringify(clip(record.s3.bucket.name))} is not ${expected.setting} (${JSON.stringify(expected.name)}): this queue takes events of that bucket only` };
    }
    objects.push({
      bucket: record.s3.bucket.name,
      key,
      size: record.s3.object.size ?? null,
      eventName: record.eventName ?? null,
    });
  }
  return { kind: 'objects', objects };
}

/**
 * The S3 JSON inside an SNS envelope; a string saying why it is not one; null when the body
 * is no SNS envelope (the S3 JSON itself, as S3 → SQS and SNS raw delivery send it).
 */
function unwrapSns(body: Record<string, unknown>): { value: unknown } | string | null {
  const type = body['Type'];
  if (typeof type !== 'string' || !('TopicArn' in body || 'Message' in body)) return null;
  if (type === 'SubscriptionConfirmation' || type === 'UnsubscribeConfirmation') {
    return `an SNS ${type}, not an S3 event: confirm the queue's subscription to ${clip(String(body['TopicArn']))} (or use raw message delivery)`;
  }
  if (type !== 'Notification') return `an SNS message of Type ${JSON.stringify(clip(type))}, not a Notification`;
  const message = body['Message'];
  if (typeof message !== 'string') return 'the SNS envelope has no Message string';
  try {
    return { value: JSON.parse(message) as unknown };
  } catch (err) {
    return `the SNS Message is not JSON (${(err as Error).message})`;
  }
}

/** A name is at most 63 characters in S3; a message may say anything. */
function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

function invalid(reason: string): S3Notification {
  return { kind: 'invalid', reason: `not an S3 event notification: ${reason}` };
}

function pathText(path: readonly PropertyKey[]): string {
  let text = '';
  for (const part of path) text += typeof part === 'number' ? `[${part}]` : `${text === '' ? '' : '.'}${String(part)}`;
  return text === '' ? 'body' : text;
}
