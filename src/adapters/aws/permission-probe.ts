// Whether the credentials hold an IAM permission, asked with a call that changes nothing: AWS
// authorises a request before it validates or carries it out, so a call made to fail after
// authorisation answers AccessDenied when the permission is missing and anything else when
// it is there. For `doctor` and the stereo roles' start-up (roles/stereo/task-permissions.ts).
// - DynamoDB: GetItem / Query of a key no job has; PutItem / UpdateItem / DeleteItem with a
//   condition that cannot hold (attribute_exists(k) AND attribute_not_exists(k)): nothing is written.
// - SQS: the queue probes of src/adapters/queue/sqs-probes.ts (SendMessage with a body SQS refuses).
// - S3: ListObjectsV2 of a probe prefix; GetObject / DeleteObject of a key nobody wrote (without
//   ListBucket a missing key is 403 either way: GetObject is then unknown); AbortMultipartUpload
//   of an upload id nobody has; PutObject with a Content-MD5 its body cannot have (S3 refuses it
//   with BadDigest before storing; a stand-in that ignores Content-MD5 stores an empty object
//   under rugbyworker-permission-probe/).
import { randomUUID } from 'node:crypto';
import { DeleteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { AbortMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { PermissionProbe } from '../../ports/index.js';
import type { Config } from '../../runtime/config/schema.js';
import { errorCode, isAccessDenied } from '../../domain/aws-error-codes.js';
import { probeVerdict, type ProbeVerdict } from '../../domain/sqs-permissions.js';
import type { PermissionCheck } from '../../domain/stereo/task-permissions.js';
import type { TableKey } from '../../domain/requirements.js';
import { awsOptions } from './client-config.js';
import { SQS_PROBES, type ProbedSqsAction } from '../queue/sqs-probes.js';

const PROBE_PREFIX = 'rugbyworker-permission-probe/';
// Answers about the resource, not the permission.
const NO_RESOURCE = new Set(['ResourceNotFoundException', 'NoSuchBucket']);
// Base64 MD5 of "rugbyworker": never the MD5 of an empty body.
const WRONG_MD5 = 'pfnV8b2BzyBTWPhy3vSJyA==';

/** The verdict of a probe's outcome (undefined: it succeeded). */
function verdictOf(err: unknown): ProbeVerdict {
  if (err !== undefined && NO_RESOURCE.has(errorCode(err))) return 'unknown';
  return probeVerdict(err);
}

const outcome = (call: Promise<unknown>): Promise<unknown> => call.then(() => undefined, (err: unknown) => err);

export class AwsPermissionProbe implements PermissionProbe {
  readonly #config: Config;

  constructor(config: Config) {
    this.#config = config;
  }

  async probe(checks: readonly PermissionCheck[]): Promise<ProbeVerdict[]> {
    const opts = (service: 'sqs' | 's3' | 'dynamodb') => ({ ...awsOptions(this.#config, service), maxAttempts: 1 });
    const clients = { sqs: new SQSClient(opts('sqs')), s3: new S3Client(opts('s3')), ddb: new DynamoDBClient(opts('dynamodb')) };
    try {
      // ListBucket first: without it a missing key is 403, so GetObject cannot be told.
      const listing = new Map<string, ProbeVerdict>();
      return await Promise.all(checks.map((c) => this.#one(c, clients, listing)));
    } finally {
      clients.sqs.destroy();
      clients.s3.destroy();
      clients.ddb.destroy();
    }
  }

  async #one(check: PermissionCheck, c: { sqs: SQSClient; s3: S3Client; ddb: DynamoDBClient }, listing: Map<string, ProbeVerdict>): Promise<ProbeVerdict> {
    const [service, action] = check.action.split(':') as [string, string];
    const on = check.on;
    if (service === 'sqs' && 'queue' in on) {
      const url = this.#config[on.queue];
      const probe = SQS_PROBES[action as ProbedSqsAction];
      if (!url || !probe) return 'unknown';
      return verdictOf(await outcome(probe(c.sqs, url)));
    }
    if (service === 'dynamodb' && 'table' in on) {
      const table = this.#config[on.table];
      if (!table) return 'unknown';
      return verdictOf(await outcome(this.#dynamodb(c.ddb, action, table, on.table, on.index)));
    }
    if (service === 's3' && 'bucket' in on) {
      const bucket = this.#config[on.bucket];
      if (!bucket) return 'unknown';
      const key = `${PROBE_PREFIX}${randomUUID()}`;
      const list = (): Promise<ProbeVerdict> => outcome(c.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: PROBE_PREFIX, MaxKeys: 1 }))).then(verdictOf);
      switch (action) {
        case 'ListBucket': return list();
        case 'GetObject': {
          const err = await outcome(c.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })));
          if (!isAccessDenied(err)) return verdictOf(err);
          let listed = listing.get(bucket);
          if (!listed) listing.set(bucket, (listed = await list()));
          return listed === 'present' ? 'missing' : 'unknown';
        }
        case 'PutObject': return verdictOf(await outcome(c.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: '', ContentMD5: WRONG_MD5 }))));
        case 'DeleteObject': return verdictOf(await outcome(c.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }))));
        case 'AbortMultipartUpload': return verdictOf(await outcome(c.s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: randomUUID() }))));
        default: return 'unknown';
      }
    }
    return 'unknown';
  }

  #dynamodb(client: DynamoDBClient, action: string, table: string, setting: TableKey, index: string | undefined): Promise<unknown> {
    const id = `${PROBE_PREFIX}${randomUUID()}`;
    // SegmentCompletions has a range key.
    const Key: Record<string, AttributeValue> = setting === 'SEGMENT_COMPLETIONS_TABLE_NAME' ? { job_id: { S: id }, segment_index: { N: '-1' } } : { job_id: { S: id } };
    const never = { ConditionExpression: 'attribute_exists(#k) AND attribute_not_exists(#k)', ExpressionAttributeNames: { '#k': 'job_id' } };
    switch (action) {
      case 'GetItem': return client.send(new GetItemCommand({ TableName: table, Key }));
      case 'PutItem': return client.send(new PutItemCommand({ TableName: table, Item: Key, ...never }));
      case 'UpdateItem': return client.send(new UpdateItemCommand({
        TableName: table, Key, UpdateExpression: 'SET #p = :p', ...never,
        ExpressionAttributeNames: { ...never.ExpressionAttributeNames, '#p': 'rugbyworker_probe' }, ExpressionAttributeValues: { ':p': { S: 'x' } },
      }));
      case 'DeleteItem': return client.send(new DeleteItemCommand({ TableName: table, Key, ...never }));
      case 'Query': return client.send(new QueryCommand({
        TableName: table, Limit: 1,
        ...(index
          ? { IndexName: index, KeyConditionExpression: '#s = :s', ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':s': { S: id } } }
          : { KeyConditionExpression: '#k = :k', ExpressionAttributeNames: { '#k': 'job_id' }, ExpressionAttributeValues: { ':k': { S: id } } }),
      }));
      default: return Promise.reject(Object.assign(new Error(`no probe for dynamodb:${action}`), { name: 'NoProbe' }));
    }
  }
}
