// The IAM proxy of the stereo tests (test/helpers/iam-proxy.ts) in front of fauxqs (SQS, S3),
// dynalite and the SageMaker stand-in, called by the AWS SDK as the worker calls them: what
// the policy allows passes through unchanged, what it does not is refused before it reaches
// the service, in that service's own error shape, which the SDK and isAccessDenied read as
// AWS's. S3's multipart calls are PutObject (AbortMultipartUpload its own), CopyObject needs
// GetObject on the source, DeleteObjects answers per key, and a missing key is 403 to a caller
// without ListBucket.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  AbortMultipartUploadCommand, CopyObjectCommand, CreateBucketCommand, CreateMultipartUploadCommand, DeleteObjectCommand, DeleteObjectsCommand,
  GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ChangeMessageVisibilityCommand, CreateQueueCommand, DeleteMessageBatchCommand, GetQueueUrlCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBClient, GetItemCommand, PutItemCommand, QueryCommand, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { isAccessDenied } from '../../src/domain/aws-error-codes.js';
import { awsTestClientConfig, startDynalite, startFauxqs, type LocalServer } from '../helpers/servers.js';
import { createStereoTables, type CreatedStereoTables } from '../helpers/stereo-tables.js';
import { startIamProxy, taskPrincipal, type IamProxy } from '../helpers/iam-proxy.js';
import { arn, TEST_SCOPE, type Policy } from '../helpers/iam-policy.js';
import { startSageMakerStandIn, type SageMakerStandIn } from '../helpers/inference-standin.js';

const BUCKET = 'iam-proxy-bucket';
const OTHER = 'iam-proxy-other';
const ENDPOINT = 'stereo-endpoint';

let fauxqs: LocalServer;
let dynalite: LocalServer;
let sagemaker: SageMakerStandIn;
let tables: CreatedStereoTables;
let direct: { s3: S3Client; sqs: SQSClient; ddb: DynamoDBClient };
let queueUrl: string;
let proxy: IamProxy;
// Through the proxy.
let s3: S3Client;
let sqs: SQSClient;
let ddb: DynamoDBClient;
let runtime: SageMakerRuntimeClient;

const queue = 'iam-proxy-queue';
const policy = (): Policy => [
  { actions: ['s3:GetObject', 's3:PutObject', 's3:ListBucket'], resources: [arn.bucket(BUCKET), `${arn.bucket(BUCKET)}/*`] },
  { actions: ['s3:GetObject'], resources: [`${arn.bucket(OTHER)}/readable/*`] },
  { actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'], resources: [arn.queue(TEST_SCOPE, queue)] },
  { actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], resources: [arn.table(TEST_SCOPE, tables.jobs)] },
  { actions: ['dynamodb:Query'], resources: [`${arn.table(TEST_SCOPE, tables.jobs)}/index/status-created_at`] },
  { actions: ['sagemaker:InvokeEndpoint'], resources: [arn.endpoint(TEST_SCOPE, ENDPOINT)] },
];

/** The rejection of `p`, or a failure when it resolves. */
async function refusal(p: Promise<unknown>): Promise<Record<string, unknown> & { name: string; $metadata: { httpStatusCode?: number } }> {
  try {
    await p;
  } catch (err) {
    return err as never;
  }
  throw new Error('expected a refusal, the call succeeded');
}

beforeAll(async () => {
  [fauxqs, dynalite] = await Promise.all([startFauxqs(), startDynalite()]);
  direct = { s3: new S3Client(awsTestClientConfig(fauxqs.endpoint)), sqs: new SQSClient(awsTestClientConfig(fauxqs.endpoint)), ddb: new DynamoDBClient(awsTestClientConfig(dynalite.endpoint)) };
  await Promise.all([BUCKET, OTHER].map((Bucket) => direct.s3.send(new CreateBucketCommand({ Bucket }))));
  tables = await createStereoTables(direct.ddb, `iam-${randomUUID().slice(0, 8)}`);
  queueUrl = (await direct.sqs.send(new CreateQueueCommand({ QueueName: queue }))).QueueUrl!;
  sagemaker = await startSageMakerStandIn({ s3: direct.s3, endpointName: ENDPOINT, resultBucket: BUCKET });
  proxy = await startIamProxy({
    targets: { s3: fauxqs.endpoint, sqs: fauxqs.endpoint, dynamodb: dynalite.endpoint, sagemaker: sagemaker.url },
    policy: policy(), principal: taskPrincipal('stereo-spot-test-task'),
  });
  s3 = new S3Client(awsTestClientConfig(proxy.endpoint));
  sqs = new SQSClient(awsTestClientConfig(proxy.endpoint));
  ddb = new DynamoDBClient(awsTestClientConfig(proxy.endpoint));
  runtime = new SageMakerRuntimeClient({ ...awsTestClientConfig(proxy.endpoint), maxAttempts: 1 });
}, 30_000);

afterAll(async () => {
  for (const c of [s3, sqs, ddb, runtime, direct?.s3, direct?.sqs, direct?.ddb]) c?.destroy();
  await Promise.all([proxy?.stop(), sagemaker?.stop(), fauxqs?.stop(), dynalite?.stop()]);
});

describe('the IAM proxy', () => {
  it('S3: allowed calls pass; a refused one is 403 AccessDenied naming the action and object, and never reaches the bucket', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'a.txt', Body: 'a' }));
    expect(await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'a.txt' }))).Body!.transformToString()).toBe('a');
    expect((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }))).Contents?.map((o) => o.Key)).toEqual(['a.txt']);

    const put = await refusal(s3.send(new PutObjectCommand({ Bucket: OTHER, Key: 'readable/x', Body: 'x' })));
    expect([put.name, put.$metadata.httpStatusCode, isAccessDenied(put)]).toEqual(['AccessDenied', 403, true]);
    expect(String(put.message)).toBe(`User: ${taskPrincipal('stereo-spot-test-task')} is not authorized to perform: s3:PutObject on resource: "arn:aws:s3:::${OTHER}/readable/x" because no identity-based policy allows the s3:PutObject action`);
    expect((await direct.s3.send(new ListObjectsV2Command({ Bucket: OTHER }))).KeyCount ?? 0).toBe(0);

    // A HEAD refusal has no body: the SDK names it by its status.
    const head = await refusal(s3.send(new HeadObjectCommand({ Bucket: OTHER, Key: 'secret/x' })));
    expect(head.$metadata.httpStatusCode).toBe(403);
    const del = await refusal(s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'a.txt' })));
    expect([del.name, isAccessDenied(del)]).toEqual(['AccessDenied', true]);
    expect(proxy.denied()).toEqual(expect.arrayContaining([`s3:PutObject on arn:aws:s3:::${OTHER}/readable/x`, `s3:DeleteObject on arn:aws:s3:::${BUCKET}/a.txt`]));
  });

  it('S3: a missing key is 404 with ListBucket, 403 without; a copy needs GetObject on its source', async () => {
    expect((await refusal(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'missing' })))).name).toBe('NoSuchKey');
    const hidden = await refusal(s3.send(new GetObjectCommand({ Bucket: OTHER, Key: 'readable/missing' })));
    expect([hidden.name, hidden.$metadata.httpStatusCode]).toEqual(['AccessDenied', 403]);

    await direct.s3.send(new PutObjectCommand({ Bucket: OTHER, Key: 'readable/src', Body: 'src' }));
    await direct.s3.send(new PutObjectCommand({ Bucket: OTHER, Key: 'secret/src', Body: 'secret' }));
    await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'copied', CopySource: `${OTHER}/readable/src` }));
    expect(await (await direct.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'copied' }))).Body!.transformToString()).toBe('src');
    const copy = await refusal(s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'copied2', CopySource: `${OTHER}/secret/src` })));
    expect(copy.name).toBe('AccessDenied');
    expect(String(copy.message)).toContain(`s3:GetObject on resource: "arn:aws:s3:::${OTHER}/secret/src"`);
  });

  it('S3: a multipart upload is PutObject throughout; AbortMultipartUpload is its own permission; DeleteObjects refuses per key', async () => {
    const body = Buffer.alloc(6 * 1024 * 1024, 7);
    await new Upload({ client: s3, params: { Bucket: BUCKET, Key: 'big.bin', Body: body }, partSize: 5 * 1024 * 1024 }).done();
    expect((await direct.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'big.bin' }))).ContentLength).toBe(body.length);
    const calls = proxy.calls.filter((c) => c.resource === `arn:aws:s3:::${BUCKET}/big.bin`).map((c) => `${c.action} ${c.allowed}`);
    expect(new Set(calls)).toEqual(new Set(['s3:PutObject true']));
    expect(calls.length).toBeGreaterThanOrEqual(4); // create, two parts, complete

    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'aborted.bin' }));
    const abort = await refusal(s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'aborted.bin', UploadId })));
    expect([abort.name, String(abort.message)]).toEqual(['AccessDenied', expect.stringContaining('s3:AbortMultipartUpload')]);

    const r = await s3.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: [{ Key: 'a.txt' }, { Key: 'copied' }] } }));
    expect(r.Deleted ?? []).toEqual([]);
    expect(r.Errors?.map((e) => [e.Key, e.Code])).toEqual([['a.txt', 'AccessDenied'], ['copied', 'AccessDenied']]);
    expect((await direct.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'a.txt' }))).ContentLength).toBe(1);
  });

  it('SQS: by X-Amz-Target and queue, batches as the single call, 400 AccessDenied as SQS answers', async () => {
    await direct.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'm' }));
    const [m] = (await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 }))).Messages ?? [];
    expect(m?.Body).toBe('m');
    const hb = await refusal(sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: m!.ReceiptHandle!, VisibilityTimeout: 60 })));
    expect([hb.name, hb.$metadata.httpStatusCode, isAccessDenied(hb)]).toEqual(['AccessDenied', 400, true]);
    const url = await refusal(sqs.send(new GetQueueUrlCommand({ QueueName: `${queue}-dlq` })));
    expect(String(url.message)).toContain(`sqs:GetQueueUrl on resource: arn:aws:sqs:us-east-1:123456789012:${queue}-dlq`);
    const send = await refusal(sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '\u0000' })));
    expect(send.name).toBe('AccessDenied'); // refused before SQS could say the body is invalid
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: [{ Id: '0', ReceiptHandle: m!.ReceiptHandle! }] }));
  });

  it('DynamoDB: by target and table, an index by its own ARN, a transaction per item', async () => {
    const Key = { job_id: { S: 'j1' } };
    await direct.ddb.send(new PutItemCommand({ TableName: tables.jobs, Item: { ...Key, status: { S: 'created' }, mode: { S: 'sbs' }, created_at: { N: '1' } } }));
    expect((await ddb.send(new GetItemCommand({ TableName: tables.jobs, Key }))).Item?.status?.S).toBe('created');
    const put = await refusal(ddb.send(new PutItemCommand({ TableName: tables.jobs, Item: Key })));
    expect([put.name, isAccessDenied(put)]).toEqual(['AccessDeniedException', true]);
    expect(String(put.message)).toContain(`dynamodb:PutItem on resource: arn:aws:dynamodb:us-east-1:123456789012:table/${tables.jobs}`);
    const byIndex = { TableName: tables.jobs, KeyConditionExpression: '#s = :s', ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':s': { S: 'created' } } };
    expect((await ddb.send(new QueryCommand({ ...byIndex, IndexName: 'status-created_at' }))).Count).toBe(1);
    expect((await refusal(ddb.send(new QueryCommand({ ...byIndex, IndexName: 'status-completed_at' })))).name).toBe('AccessDeniedException');
    const tx = await refusal(ddb.send(new TransactWriteItemsCommand({ TransactItems: [
      { Update: { TableName: tables.jobs, Key, UpdateExpression: 'SET #s = :s', ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':s': { S: 'failed' } } } },
      { ConditionCheck: { TableName: tables.jobs, Key, ConditionExpression: 'attribute_exists(job_id)' } },
    ] })));
    expect(String(tx.message)).toContain('dynamodb:ConditionCheckItem');
    expect((await ddb.send(new GetItemCommand({ TableName: tables.jobs, Key }))).Item?.status?.S).toBe('created');
  });

  it('SageMaker runtime: InvokeEndpoint on the endpoint\'s ARN, refused (once the policy drops it) as AccessDeniedException', async () => {
    await direct.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'in.mp4', Body: 'v' }));
    const body = JSON.stringify({ s3_input_uri: `s3://${BUCKET}/in.mp4`, s3_output_uri: `s3://${BUCKET}/out.mp4`, mode: 'sbs' });
    await runtime.send(new InvokeEndpointCommand({ EndpointName: ENDPOINT, ContentType: 'application/json', Body: body }));
    expect(await (await direct.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'out.mp4' }))).Body!.transformToString()).toBe('v');
    proxy.setPolicy(policy().filter((s) => !s.actions.includes('sagemaker:InvokeEndpoint')));
    try {
      const denied = await refusal(runtime.send(new InvokeEndpointCommand({ EndpointName: ENDPOINT, ContentType: 'application/json', Body: body })));
      expect([denied.name, denied.$metadata.httpStatusCode, isAccessDenied(denied)]).toEqual(['AccessDeniedException', 403, true]);
    } finally {
      proxy.setPolicy(policy());
    }
    expect(sagemaker.requests).toHaveLength(1);
  });
});
