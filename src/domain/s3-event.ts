// The S3 bucket-notification JSON (event structure 2.1): the fs store emits it so local
// chains see exactly what an S3 → SQS notification delivers, and roles parse SQS bodies
// with one parser whichever produced them.

export interface S3EventRecord {
  eventVersion: string;
  eventSource: 'aws:s3';
  awsRegion: string;
  eventTime: string;
  eventName: string;
  userIdentity: { principalId: string };
  requestParameters: { sourceIPAddress: string };
  responseElements: { 'x-amz-request-id': string; 'x-amz-id-2': string };
  s3: {
    s3SchemaVersion: '1.0';
    configurationId: string;
    bucket: { name: string; ownerIdentity: { principalId: string }; arn: string };
    object: { key: string; size: number; eTag: string; sequencer: string; versionId?: string };
  };
}

export interface S3EventNotification {
  Records: S3EventRecord[];
}

export interface ObjectCreatedInput {
  bucket: string;
  /** The raw key; it is URL-encoded in the event, as S3 does. */
  key: string;
  size: number;
  /** Without the quotes S3 puts around ETag headers (events carry it bare). */
  eTag: string;
  region: string;
  time: Date;
  /** Hex, increasing per key: S3 uses it to order events for the same key. */
  sequencer: string;
  /** Shows up as s3.configurationId, the notification's name in S3. */
  configurationId?: string;
}

/** One ObjectCreated:Put notification, shaped exactly like S3 sends it. */
export function buildObjectCreatedEvent(input: ObjectCreatedInput): S3EventNotification {
  const principalId = 'rugbyworker-local';
  return {
    Records: [{
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: input.region,
      eventTime: input.time.toISOString(),
      eventName: 'ObjectCreated:Put',
      userIdentity: { principalId },
      requestParameters: { sourceIPAddress: '127.0.0.1' },
      responseElements: { 'x-amz-request-id': input.sequencer, 'x-amz-id-2': input.sequencer },
      s3: {
        s3SchemaVersion: '1.0',
        configurationId: input.configurationId ?? 'rugbyworker-fs',
        bucket: { name: input.bucket, ownerIdentity: { principalId }, arn: `arn:aws:s3:::${input.bucket}` },
        object: { key: encodeEventKey(input.key), size: input.size, eTag: input.eTag.replace(/^"|"$/g, ''), sequencer: input.sequencer },
      },
    }],
  };
}

/**
 * Keys in S3 events are form-urlencoded ("red flower.jpg" → "red+flower.jpg"), with the
 * "/" separators left as they are. Only `*-._` and alphanumerics stay unescaped.
 */
export function encodeEventKey(key: string): string {
  return key.split('/').map((segment) => encodeURIComponent(segment)
    .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+')).join('/');
}

/** The raw key from an event key: '+' is a space, %XX are UTF-8 bytes. */
export function decodeEventKey(encoded: string): string {
  return decodeURIComponent(encoded.replace(/\+/g, ' '));
}

export interface S3EventObject {
  bucket: string;
  /** Decoded: the key to use with the ObjectStore. */
  key: string;
  size: number;
  eventName: string;
}

/** The body is not an S3 event notification; the message says what is wrong. */
export class S3EventParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'S3EventParseError';
  }
}

/**
 * The objects named by an S3 event notification (an SQS body, as a string or parsed).
 * Accepts the SNS envelope (S3 → SNS → SQS without raw delivery); the s3:TestEvent S3
 * sends when a notification is configured yields []. Anything else throws S3EventParseError.
 */
export function parseS3Event(body: unknown): S3EventObject[] {
  let value = typeof body === 'string' ? parseJson(body, 'body') : body;
  if (isObject(value) && value['Type'] === 'Notification' && typeof value['Message'] === 'string') {
    value = parseJson(value['Message'], 'SNS Message');
  }
  if (!isObject(value)) throw new S3EventParseError('S3 event: body is not a JSON object');
  if (value['Event'] === 's3:TestEvent') return [];
  const records = value['Records'];
  if (!Array.isArray(records)) throw new S3EventParseError('S3 event: no "Records" array');
  return records.map((record: unknown, i) => parseRecord(record, i));
}

function parseRecord(record: unknown, i: number): S3EventObject {
  const where = `S3 event: Records[${i}]`;
  if (!isObject(record)) throw new S3EventParseError(`${where} is not an object`);
  if (record['eventSource'] !== 'aws:s3') throw new S3EventParseError(`${where}.eventSource is not "aws:s3"`);
  const eventName = record['eventName'];
  if (typeof eventName !== 'string') throw new S3EventParseError(`${where}.eventName is missing`);
  const s3 = record['s3'];
  const bucket = isObject(s3) ? s3['bucket'] : undefined;
  const object = isObject(s3) ? s3['object'] : undefined;
  const name = isObject(bucket) ? bucket['name'] : undefined;
  if (typeof name !== 'string' || name === '') throw new S3EventParseError(`${where}.s3.bucket.name is missing`);
  const key = isObject(object) ? object['key'] : undefined;
  if (typeof key !== 'string' || key === '') throw new S3EventParseError(`${where}.s3.object.key is missing`);
  // Delete events carry no size; created ones always do.
  const size = isObject(object) && object['size'] !== undefined ? object['size'] : 0;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw new S3EventParseError(`${where}.s3.object.size is not a byte count`);
  let decoded: string;
  try {
    decoded = decodeEventKey(key);
  } catch {
    throw new S3EventParseError(`${where}.s3.object.key ${JSON.stringify(key)} is not valid URL encoding`);
  }
  return { bucket: name, key: decoded, size, eventName };
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new S3EventParseError(`S3 event: ${what} is not JSON (${(err as Error).message})`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
