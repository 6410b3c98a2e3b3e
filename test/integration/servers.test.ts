import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect } from 'node:net';
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import { awsTestClientConfig, freePort, startDynalite, startFauxqs, startRedis } from '../helpers/servers.js';
import type { LocalRedis, LocalServer } from '../helpers/servers.js';

/** True when something accepts a TCP connection on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    sock.once('connect', () => { sock.destroy(); resolve(true); });
    sock.once('error', () => resolve(false));
  });
}

// No DynamoDB SDK is installed; dynalite checks the shape of SigV4 headers, not the signature.
async function dynamo(endpoint: string, op: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-amz-json-1.0',
      'X-Amz-Target': `DynamoDB_20120810.${op}`,
      'X-Amz-Date': amzDate,
      Authorization: `AWS4-HMAC-SHA256 Credential=test/${amzDate.slice(0, 8)}/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=00`,
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() as Record<string, unknown> };
}

describe('freePort', () => {
  it('returns a loopback port nobody listens on', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    expect(await accepts(port)).toBe(false);
  });
});

describe('startFauxqs', () => {
  let faux: LocalServer;
  let sqs: SQSClient;
  let s3: S3Client;
  beforeAll(async () => {
    faux = await startFauxqs();
    sqs = new SQSClient(awsTestClientConfig(faux.endpoint));
    s3 = new S3Client(awsTestClientConfig(faux.endpoint));
  });
  afterAll(async () => {
    sqs.destroy();
    s3.destroy();
    await faux.stop();
  });

  it('listens on 127.0.0.1', () => {
    expect(faux.endpoint).toBe(`http://127.0.0.1:${faux.port}`);
  });

  it('round-trips an SQS message', async () => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'helper-test' }));
    expect(QueueUrl).toContain('/helper-test');
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: '{"hello":"world"}' }));
    const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 1, MaxNumberOfMessages: 1 }));
    expect(got.Messages?.[0]?.Body).toBe('{"hello":"world"}');
  });

  it('round-trips an S3 object', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'helper-bucket' }));
    await s3.send(new PutObjectCommand({ Bucket: 'helper-bucket', Key: 'a/b.txt', Body: 'payload 123' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'helper-bucket', Key: 'a/b.txt' }));
    expect(await got.Body?.transformToString()).toBe('payload 123');
  });

  it('refuses connections after stop', async () => {
    const other = await startFauxqs();
    expect(await accepts(other.port)).toBe(true);
    await other.stop();
    expect(await accepts(other.port)).toBe(false);
  });
});

describe('startDynalite', () => {
  let dyn: LocalServer;
  beforeAll(async () => { dyn = await startDynalite(); });
  afterAll(() => dyn.stop());

  it('creates a table that is ACTIVE at once, puts and gets an item', async () => {
    const created = await dynamo(dyn.endpoint, 'CreateTable', {
      TableName: 'jobs',
      AttributeDefinitions: [{ AttributeName: 'job_id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'job_id', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    });
    expect(created.status).toBe(200);
    const described = await dynamo(dyn.endpoint, 'DescribeTable', { TableName: 'jobs' });
    expect((described.json.Table as { TableStatus: string }).TableStatus).toBe('ACTIVE');

    const put = await dynamo(dyn.endpoint, 'PutItem', { TableName: 'jobs', Item: { job_id: { S: 'j-1' }, status: { S: 'queued' } } });
    expect(put.status).toBe(200);
    const got = await dynamo(dyn.endpoint, 'GetItem', { TableName: 'jobs', Key: { job_id: { S: 'j-1' } } });
    expect(got.json.Item).toEqual({ job_id: { S: 'j-1' }, status: { S: 'queued' } });
  });

  it('refuses connections after stop, even with a keep-alive socket open', async () => {
    const other = await startDynalite();
    await dynamo(other.endpoint, 'ListTables', {}); // leaves an idle keep-alive connection in fetch's pool
    const t0 = Date.now();
    await other.stop();
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(await accepts(other.port)).toBe(false);
  });
});

describe('startRedis', () => {
  let redis: LocalRedis;
  let client: Redis;
  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redis.url, { maxRetriesPerRequest: null, retryStrategy: () => 100 });
  });
  afterAll(async () => {
    client.disconnect();
    await redis.stop();
  });

  it('answers PING, SET and GET', async () => {
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(await client.ping()).toBe('PONG');
    await client.set('k', 'v1');
    expect(await client.get('k')).toBe('v1');
  });

  it('answers again after restart() on the same port (data gone: no persistence)', async () => {
    await client.set('before', '1');
    await redis.restart();
    expect(await accepts(redis.port)).toBe(true);
    // ioredis reconnects on its own; the command waits in its offline queue.
    expect(await client.ping()).toBe('PONG');
    expect(await client.get('before')).toBeNull();
    await client.set('after', '2');
    expect(await client.get('after')).toBe('2');
  });

  it('refuses connections after stop, and stop is idempotent', async () => {
    const other = await startRedis();
    expect(await accepts(other.port)).toBe(true);
    await other.stop();
    await other.stop();
    expect(await accepts(other.port)).toBe(false);
  });
});
