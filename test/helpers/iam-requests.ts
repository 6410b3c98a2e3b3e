// What IAM authorises for one HTTP request to SQS, S3, DynamoDB or SageMaker runtime: the
// service (from the SigV4 credential scope, as AWS routes it), and each action on each
// resource the request needs, as the services' authorisation reference lists them. And how
// each service answers a refusal, byte for byte as far as the SDK reads it.
import type { IncomingHttpHeaders } from 'node:http';
import { arn, type ArnScope } from './iam-policy.js';

export type AwsServiceName = 'sqs' | 's3' | 'dynamodb' | 'sagemaker';

/** One action on one resource that must be allowed for the request to go through. */
export interface AuthCheck {
  readonly action: string;
  readonly resource: string;
}

export interface AuthRequest {
  readonly method: string;
  /** Path and query, as received. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** The service a request is signed for: its SigV4 credential scope (header or presigned query). */
export function serviceOf(req: AuthRequest): AwsServiceName | null {
  const auth = String(req.headers.authorization ?? '');
  const query = new URL(req.url, 'http://x').searchParams.get('X-Amz-Credential') ?? '';
  const scope = /Credential=[^/]+\/\d{8}\/[^/]+\/([a-z0-9-]+)\/aws4_request/.exec(auth)?.[1] ?? /^[^/]+\/\d{8}\/[^/]+\/([a-z0-9-]+)\/aws4_request$/.exec(query)?.[1];
  if (scope === 'sqs' || scope === 's3' || scope === 'dynamodb' || scope === 'sagemaker') return scope;
  // Unsigned requests: by the protocol's own marks.
  const target = String(req.headers['x-amz-target'] ?? '');
  if (target.startsWith('AmazonSQS.')) return 'sqs';
  if (target.startsWith('DynamoDB_')) return 'dynamodb';
  return null;
}

function json(body: Buffer): Record<string, unknown> {
  try {
    const v = JSON.parse(body.toString('utf8') || '{}') as unknown;
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

// ----- SQS (JSON protocol: X-Amz-Target AmazonSQS.<Op>) -----------------------------------

// IAM authorises the batch calls under the single call's action.
const SQS_BATCH_OF: Readonly<Record<string, string>> = {
  DeleteMessageBatch: 'DeleteMessage', ChangeMessageVisibilityBatch: 'ChangeMessageVisibility', SendMessageBatch: 'SendMessage',
};

/** The IAM action (without `sqs:`) of an `X-Amz-Target` header (`AmazonSQS.DeleteMessageBatch` → DeleteMessage); '' when none. */
export function sqsAction(target: string): string {
  const op = target.startsWith('AmazonSQS.') ? target.slice('AmazonSQS.'.length) : '';
  return SQS_BATCH_OF[op] ?? op;
}

/** The queue a request body names: its QueueUrl's last segment, QueueName, or a move task's SourceArn. */
export function sqsQueueOf(body: Record<string, unknown>): string {
  const url = typeof body.QueueUrl === 'string' ? body.QueueUrl : '';
  if (url) return url.replace(/[?#].*$/, '').replace(/\/+$/, '').split('/').pop() ?? '';
  if (typeof body.QueueName === 'string') return body.QueueName;
  const source = [body.SourceArn, body.TaskHandle].find((v): v is string => typeof v === 'string' && v.startsWith('arn:'));
  return source?.split(':')[5] ?? '';
}

function sqsChecks(req: AuthRequest, scope: ArnScope): AuthCheck[] {
  const action = sqsAction(String(req.headers['x-amz-target'] ?? ''));
  // Not the JSON protocol (or no operation): nothing is allowed unchecked.
  if (action === '') return [{ action: 'sqs:?', resource: '*' }];
  const queue = sqsQueueOf(json(req.body));
  return [{ action: `sqs:${action}`, resource: queue ? arn.queue(scope, queue) : `arn:aws:sqs:${scope.region}:${scope.account}:*` }];
}

// ----- DynamoDB (X-Amz-Target DynamoDB_20120810.<Op>) ------------------------------------

const TRANSACT_ACTION: Readonly<Record<string, string>> = { ConditionCheck: 'ConditionCheckItem', Put: 'PutItem', Update: 'UpdateItem', Delete: 'DeleteItem', Get: 'GetItem' };

function dynamodbChecks(req: AuthRequest, scope: ArnScope): AuthCheck[] {
  const op = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
  if (op === '') return [{ action: 'dynamodb:?', resource: '*' }];
  const body = json(req.body);
  const table = (name: unknown): string => arn.table(scope, String(name ?? ''));
  if (op === 'BatchGetItem' || op === 'BatchWriteItem') {
    const items = (body.RequestItems ?? {}) as Record<string, unknown>;
    return Object.keys(items).map((t) => ({ action: `dynamodb:${op}`, resource: table(t) }));
  }
  if (op === 'TransactWriteItems' || op === 'TransactGetItems') {
    const items = Array.isArray(body.TransactItems) ? (body.TransactItems as Array<Record<string, { TableName?: unknown }>>) : [];
    return items.flatMap((item) => Object.entries(item).map(([kind, v]) => ({ action: `dynamodb:${TRANSACT_ACTION[kind] ?? kind}`, resource: table(v?.TableName) })));
  }
  if (op === 'ListTables') return [{ action: 'dynamodb:ListTables', resource: '*' }];
  // A Query or Scan of an index is authorised on the index's ARN.
  const index = (op === 'Query' || op === 'Scan') && typeof body.IndexName === 'string' ? body.IndexName : undefined;
  const name = String(body.TableName ?? '');
  return [{ action: `dynamodb:${op}`, resource: index === undefined ? table(name) : arn.index(scope, name, index) }];
}

// ----- S3 (path-style: /bucket/key) -------------------------------------------------------

/** Bucket and key of a path-style request path ('' when absent); the key decoded. */
export function s3Target(url: string): { bucket: string; key: string } {
  const path = new URL(url, 'http://x').pathname;
  const [, bucket = '', ...rest] = path.split('/');
  return { bucket: decodeURIComponent(bucket), key: rest.map((s) => decodeURIComponent(s)).join('/') };
}

function copySource(header: string): { bucket: string; key: string } {
  const raw = decodeURIComponent(header.replace(/\?.*$/, '')).replace(/^\/+/, '');
  const slash = raw.indexOf('/');
  return { bucket: raw.slice(0, slash), key: raw.slice(slash + 1) };
}

/** The keys of a DeleteObjects body (`<Delete><Object><Key>…</Key>`). */
function deleteKeys(body: Buffer): string[] {
  const unescape = (s: string): string => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
  return [...body.toString('utf8').matchAll(/<Key>([\s\S]*?)<\/Key>/g)].map((m) => unescape(m[1]!));
}

// Sub-resources that name their own action (the query parameter without a value).
const BUCKET_GET: Readonly<Record<string, string>> = {
  uploads: 's3:ListBucketMultipartUploads', location: 's3:GetBucketLocation', versions: 's3:ListBucketVersions',
  notification: 's3:GetBucketNotification', policy: 's3:GetBucketPolicy', lifecycle: 's3:GetLifecycleConfiguration', cors: 's3:GetBucketCORS',
};
const BUCKET_PUT: Readonly<Record<string, string>> = {
  notification: 's3:PutBucketNotification', policy: 's3:PutBucketPolicy', lifecycle: 's3:PutLifecycleConfiguration', cors: 's3:PutBucketCORS',
};

function s3Checks(req: AuthRequest): AuthCheck[] {
  const method = req.method.toUpperCase();
  const q = new URL(req.url, 'http://x').searchParams;
  const { bucket, key } = s3Target(req.url);
  const sub = (map: Readonly<Record<string, string>>): string | undefined => Object.keys(map).find((k) => q.has(k));
  if (bucket === '') return [{ action: 's3:ListAllMyBuckets', resource: '*' }];
  const b = arn.bucket(bucket);
  if (key === '') {
    if (method === 'POST' && q.has('delete')) return deleteKeys(req.body).map((k) => ({ action: 's3:DeleteObject', resource: arn.object(bucket, k) }));
    if (method === 'GET') return [{ action: BUCKET_GET[sub(BUCKET_GET) ?? ''] ?? 's3:ListBucket', resource: b }];
    if (method === 'HEAD') return [{ action: 's3:ListBucket', resource: b }];
    if (method === 'PUT') return [{ action: BUCKET_PUT[sub(BUCKET_PUT) ?? ''] ?? 's3:CreateBucket', resource: b }];
    if (method === 'DELETE') return [{ action: 's3:DeleteBucket', resource: b }];
    return [{ action: `s3:?${method}`, resource: b }];
  }
  const o = arn.object(bucket, key);
  if (method === 'GET') {
    if (q.has('uploadId')) return [{ action: 's3:ListMultipartUploadParts', resource: o }];
    if (q.has('tagging')) return [{ action: 's3:GetObjectTagging', resource: o }];
    if (q.has('acl')) return [{ action: 's3:GetObjectAcl', resource: o }];
    return [{ action: 's3:GetObject', resource: o }];
  }
  if (method === 'HEAD') return [{ action: 's3:GetObject', resource: o }];
  if (method === 'PUT') {
    if (q.has('tagging')) return [{ action: 's3:PutObjectTagging', resource: o }];
    if (q.has('acl')) return [{ action: 's3:PutObjectAcl', resource: o }];
    const checks: AuthCheck[] = [{ action: 's3:PutObject', resource: o }];
    // CopyObject and UploadPartCopy read their source too.
    const source = req.headers['x-amz-copy-source'];
    if (typeof source === 'string') {
      const s = copySource(source);
      checks.push({ action: 's3:GetObject', resource: arn.object(s.bucket, s.key) });
    }
    if (req.headers['x-amz-tagging'] !== undefined) checks.push({ action: 's3:PutObjectTagging', resource: o });
    if (req.headers['x-amz-acl'] !== undefined) checks.push({ action: 's3:PutObjectAcl', resource: o });
    return checks;
  }
  // CreateMultipartUpload (?uploads) and CompleteMultipartUpload (?uploadId) are PutObject.
  if (method === 'POST') {
    if (q.has('uploads') || q.has('uploadId')) {
      const checks: AuthCheck[] = [{ action: 's3:PutObject', resource: o }];
      if (q.has('uploads') && req.headers['x-amz-tagging'] !== undefined) checks.push({ action: 's3:PutObjectTagging', resource: o });
      return checks;
    }
    if (q.has('restore')) return [{ action: 's3:RestoreObject', resource: o }];
    return [{ action: `s3:?POST`, resource: o }];
  }
  if (method === 'DELETE') {
    if (q.has('uploadId')) return [{ action: 's3:AbortMultipartUpload', resource: o }];
    if (q.has('tagging')) return [{ action: 's3:DeleteObjectTagging', resource: o }];
    return [{ action: 's3:DeleteObject', resource: o }];
  }
  return [{ action: `s3:?${method}`, resource: o }];
}

/** A multi-object delete (POST /bucket?delete). */
export function isDeleteObjects(req: AuthRequest): boolean {
  const { bucket, key } = s3Target(req.url);
  return req.method.toUpperCase() === 'POST' && bucket !== '' && key === '' && new URL(req.url, 'http://x').searchParams.has('delete');
}

/** DeleteObjects with every key refused: 200, each key an <Error> AccessDenied (S3 authorises per key). */
export function deleteObjectsRefusal(checks: readonly AuthCheck[], principal: string): string {
  const errors = checks.map((c) => `<Error><Key>${xml(c.resource.replace(/^arn:aws:s3:::[^/]+\//, ''))}</Key><Code>AccessDenied</Code><Message>${xml(deniedMessage(principal, c, true))}</Message></Error>`);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${errors.join('')}</DeleteResult>`;
}

/** For an object read (GET or HEAD of a key): the bucket, so a 404 can become S3's 403 without s3:ListBucket. */
export function s3ObjectRead(req: AuthRequest): string | null {
  const method = req.method.toUpperCase();
  const { bucket, key } = s3Target(req.url);
  const q = new URL(req.url, 'http://x').searchParams;
  return (method === 'GET' || method === 'HEAD') && bucket !== '' && key !== '' && !q.has('uploadId') && !q.has('tagging') && !q.has('acl') ? bucket : null;
}

// ----- SageMaker runtime (POST /endpoints/{name}/invocations | async-invocations) ---------

function sagemakerChecks(req: AuthRequest, scope: ArnScope): AuthCheck[] {
  const m = /^\/endpoints\/([^/]+)\/(invocations|async-invocations)$/.exec(new URL(req.url, 'http://x').pathname);
  if (!m || req.method.toUpperCase() !== 'POST') return [{ action: 'sagemaker:?', resource: '*' }];
  return [{ action: m[2] === 'invocations' ? 'sagemaker:InvokeEndpoint' : 'sagemaker:InvokeEndpointAsync', resource: arn.endpoint(scope, decodeURIComponent(m[1]!)) }];
}

/** Every action on every resource the request needs. */
export function authChecks(service: AwsServiceName, req: AuthRequest, scope: ArnScope): AuthCheck[] {
  switch (service) {
    case 'sqs': return sqsChecks(req, scope);
    case 'dynamodb': return dynamodbChecks(req, scope);
    case 's3': return s3Checks(req);
    case 'sagemaker': return sagemakerChecks(req, scope);
  }
}

// ----- Refusals, as each service sends them -----------------------------------------------

export interface Refusal {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** IAM's message: "User: … is not authorized to perform: X on resource: Y because no identity-based policy allows the X action". */
export function deniedMessage(principal: string, check: AuthCheck, quote = false): string {
  const resource = quote ? `"${check.resource}"` : check.resource;
  return `User: ${principal} is not authorized to perform: ${check.action} on resource: ${resource} because no identity-based policy allows the ${check.action} action`;
}

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** How `service` answers a request refused for `check`. */
export function refusal(service: AwsServiceName, method: string, check: AuthCheck, principal: string, requestId: string): Refusal {
  switch (service) {
    case 'sqs':
      // JSON protocol: 400, the code in x-amzn-query-error too (the SDK reads either).
      return {
        status: 400,
        headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-query-error': 'AccessDenied;Sender', 'x-amzn-requestid': requestId },
        body: JSON.stringify({ __type: 'com.amazonaws.sqs#AccessDenied', message: deniedMessage(principal, check) }),
      };
    case 'dynamodb':
      return {
        status: 400,
        headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': requestId },
        body: JSON.stringify({ __type: 'com.amazon.coral.service#AccessDeniedException', Message: deniedMessage(principal, check) }),
      };
    case 's3': {
      // 403 with the XML error document; a HEAD response has no body (the SDK then names it by status).
      const body = method.toUpperCase() === 'HEAD' ? '' : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>${xml(deniedMessage(principal, check, true))}</Message><RequestId>${requestId}</RequestId><HostId>${Buffer.from(requestId).toString('base64')}</HostId></Error>`;
      return { status: 403, headers: { 'content-type': 'application/xml', 'x-amz-request-id': requestId, 'x-amz-id-2': Buffer.from(requestId).toString('base64') }, body };
    }
    case 'sagemaker':
      // restJson: the type in x-amzn-errortype, the text in `message`.
      return {
        status: 403,
        headers: { 'content-type': 'application/json', 'x-amzn-errortype': 'AccessDeniedException:http://internal.amazon.com/coral/com.amazon.coral.service/', 'x-amzn-requestid': requestId },
        body: JSON.stringify({ message: deniedMessage(principal, check) }),
      };
  }
}
