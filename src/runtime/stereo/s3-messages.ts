// The consumer's parse for queues fed by S3 notifications: a test event or objects, else invalid (DLQ with the reason).
import { parseS3Notification, type S3NotificationObject } from '../../domain/stereo/s3-notification.js';
import type { ParseResult } from '../validation.js';

export type S3Message = { kind: 'test' } | { kind: 'objects'; objects: S3NotificationObject[] };

export function s3Messages(body: string): ParseResult<S3Message> {
  const n = parseS3Notification(body);
  return n.kind === 'invalid' ? { ok: false, reason: n.reason } : { ok: true, value: n };
}
