// The permission probe of doctor and the stereo roles' start-up (src/adapters/aws/permission-probe.ts)
// against fauxqs and dynalite behind the IAM proxy: each kind of probe answers present with
// the permission and missing without it, and changes nothing (no item, no message; fauxqs,
// which ignores Content-MD5, is the one stand-in the PutObject probe writes to). S3 GetObject
// without ListBucket cannot be told (a missing key is 403 either way).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { AwsPermissionProbe } from '../../src/adapters/aws/permission-probe.js';
import { loadConfig } from '../../src/runtime/config/load.js';
import type { PermissionCheck } from '../../src/domain/stereo/task-permissions.js';
import { startIamProxy, type IamProxy } from '../helpers/iam-proxy.js';
import { arn, TEST_SCOPE, type PolicyStatement } from '../helpers/iam-policy.js';
import { OUTPUT, startStereoWorld, type QueuePair, type StereoWorld } from '../helpers/stereo-world.js';

let w: StereoWorld;
let reassembly: QueuePair;
let proxy: IamProxy;

const CHECKS: PermissionCheck[] = [
  { action: 'dynamodb:GetItem', on: { table: 'REASSEMBLY_TRIGGERED_TABLE_NAME' } },
  { action: 'dynamodb:PutItem', on: { table: 'REASSEMBLY_TRIGGERED_TABLE_NAME' } },
  { action: 'dynamodb:UpdateItem', on: { table: 'JOBS_TABLE_NAME' } },
  { action: 'dynamodb:DeleteItem', on: { table: 'REASSEMBLY_TRIGGERED_TABLE_NAME' } },
  { action: 'dynamodb:PutItem', on: { table: 'SEGMENT_COMPLETIONS_TABLE_NAME' } },
  { action: 'dynamodb:Query', on: { table: 'SEGMENT_COMPLETIONS_TABLE_NAME' } },
  { action: 'dynamodb:Query', on: { table: 'JOBS_TABLE_NAME', index: 'status-created_at' } },
  { action: 'sqs:SendMessage', on: { queue: 'REASSEMBLY_QUEUE_URL' } },
  { action: 's3:ListBucket', on: { bucket: 'OUTPUT_BUCKET_NAME' } },
  { action: 's3:GetObject', on: { bucket: 'OUTPUT_BUCKET_NAME' } },
  { action: 's3:PutObject', on: { bucket: 'OUTPUT_BUCKET_NAME' } },
  { action: 's3:DeleteObject', on: { bucket: 'OUTPUT_BUCKET_NAME' } },
  { action: 's3:AbortMultipartUpload', on: { bucket: 'OUTPUT_BUCKET_NAME' } },
];

function everything(): PolicyStatement[] {
  return [
    { actions: ['dynamodb:*'], resources: [`${arn.table(TEST_SCOPE, '*')}`, `${arn.table(TEST_SCOPE, '*')}/index/*`] },
    { actions: ['sqs:*'], resources: [arn.queue(TEST_SCOPE, '*')] },
    { actions: ['s3:*'], resources: [arn.bucket('*'), `${arn.bucket('*')}/*`] },
  ];
}

function probe(): Promise<string[]> {
  const config = loadConfig({ env: w.workerEnv({ chunking: reassembly.url, videoWorker: reassembly.url, reassembly: reassembly.url }, { AWS_ENDPOINT_URL: proxy.endpoint, AWS_ENDPOINT_URL_DYNAMODB: proxy.endpoint }) });
  return new AwsPermissionProbe(config).probe(CHECKS);
}

beforeAll(async () => {
  w = await startStereoWorld();
  reassembly = await w.createQueue('probe-reassembly', 30, 5);
  proxy = await startIamProxy({ targets: { sqs: w.fauxqs.endpoint, s3: w.fauxqs.endpoint, dynamodb: w.dynalite.endpoint }, policy: everything() });
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  await w?.stop();
});

describe('AwsPermissionProbe', () => {
  it('with every permission: each present, and nothing written (no item, no message)', async () => {
    expect(await probe()).toEqual(CHECKS.map(() => 'present'));
    for (const table of [w.tables.jobs, w.tables.segmentCompletions, w.tables.reassemblyTriggered]) {
      expect((await w.ddb.send(new ScanCommand({ TableName: table }))).Items).toEqual([]);
    }
    expect(await w.depth(reassembly.url)).toBe(0);
    // fauxqs ignores Content-MD5 and keeps the PutObject probe's empty object (S3 refuses it with BadDigest).
    expect((await w.listKeys(OUTPUT, '')).map((o) => [o.key.replace(/[0-9a-f-]{36}$/, 'ID'), o.size])).toEqual([['rugbyworker-permission-probe/ID', 0]]);
  });

  it('with none of them: each missing, refused by the policy before reaching the service; GetObject without ListBucket cannot be told', async () => {
    proxy.setPolicy([]);
    const verdicts = await probe();
    expect(Object.fromEntries(CHECKS.map((c, i) => [`${c.action} ${JSON.stringify(c.on)}`, verdicts[i]]))).toEqual(
      Object.fromEntries(CHECKS.map((c) => [`${c.action} ${JSON.stringify(c.on)}`, c.action === 's3:GetObject' ? 'unknown' : 'missing'])),
    );
    // With ListBucket alone, a refused GetObject is told.
    proxy.setPolicy([{ actions: ['s3:ListBucket'], resources: [arn.bucket(OUTPUT)] }]);
    expect((await probe())[CHECKS.findIndex((c) => c.action === 's3:GetObject')]).toBe('missing');
    proxy.setPolicy(everything());
  });
});
