// The reassembly-trigger Lambda zip of `npm run build`, unzipped and run as Lambda runs it
// (test/helpers/lambda-zip.ts: a child node per container, the handler invoked again and
// again in it) against dynalite and fauxqs, fed DynamoDB Streams batches as the
// SegmentCompletions stream delivers them. dynalite has no streams, so the test builds the
// batches. Upstream's handler tests (stereo-spot ecba15e,
// packages/reassembly-trigger/tests/test_handler.py) are ported as cases on real tables.
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { unzipSync } from 'fflate';
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { distDir } from '../helpers/binary.js';
import { lambdaZipPath, runContainer, unpackLambda, type ContainerRun, type Invocation, type UnpackedLambda } from '../helpers/lambda-zip.js';
import { awsTestClientConfig, startDynalite, startFauxqs, type LocalServer } from '../helpers/servers.js';
import { createStereoTables, type CreatedStereoTables } from '../helpers/stereo-tables.js';
import { startIamProxy, taskPrincipal, type IamProxy } from '../helpers/iam-proxy.js';
import { ECBA15E_REASSEMBLY_TRIGGER_LAMBDA, roleName, taskPolicy } from '../fixtures/stereo/task-policies.js';

const NINETY_DAYS = 90 * 24 * 3600;
// Lambda's documented deployment package quotas (direct upload, zipped; unzipped).
const LAMBDA_ZIP_QUOTA = 50 * 1024 * 1024;
const LAMBDA_UNZIPPED_QUOTA = 250 * 1024 * 1024;
const REGION = 'us-east-1';

let fauxqs: LocalServer;
let dynalite: LocalServer;
let sqs: SQSClient;
let ddbClient: DynamoDBClient;
let ddb: DynamoDBDocumentClient;
let tables: CreatedStereoTables;
let fn: UnpackedLambda;
// The function reaches DynamoDB through upstream's IAM policy (lambda.tf at ecba15e, the
// fixture test/fixtures/stereo/task-policies.ts): a drop-in must work with the role as it is.
let iam: IamProxy;

beforeAll(async () => {
  [fauxqs, dynalite, fn] = await Promise.all([startFauxqs(), startDynalite(), unpackLambda()]);
  sqs = new SQSClient(awsTestClientConfig(fauxqs.endpoint));
  ddbClient = new DynamoDBClient(awsTestClientConfig(dynalite.endpoint));
  ddb = DynamoDBDocumentClient.from(ddbClient);
  tables = await createStereoTables(ddbClient);
  const world = {
    'aws_dynamodb_table.jobs': tables.jobs, 'aws_dynamodb_table.segment_completions': tables.segmentCompletions,
    'aws_dynamodb_table.reassembly_triggered': tables.reassemblyTriggered, 'aws_sqs_queue.reassembly': 'reassembly-*',
  };
  iam = await startIamProxy({
    targets: { dynamodb: dynalite.endpoint }, policy: taskPolicy(ECBA15E_REASSEMBLY_TRIGGER_LAMBDA, world),
    principal: taskPrincipal(roleName(ECBA15E_REASSEMBLY_TRIGGER_LAMBDA)),
  });
}, 30_000);

afterAll(async () => {
  sqs?.destroy();
  ddbClient?.destroy();
  await Promise.all([fauxqs?.stop(), dynalite?.stop(), fn?.remove(), iam?.stop()]);
});

/** The function's environment as upstream's Terraform sets it, pointed at the local servers. */
function lambdaEnv(queueUrl: string, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    JOBS_TABLE_NAME: tables.jobs,
    SEGMENT_COMPLETIONS_TABLE_NAME: tables.segmentCompletions,
    REASSEMBLY_TRIGGERED_TABLE_NAME: tables.reassemblyTriggered,
    REASSEMBLY_QUEUE_URL: queueUrl,
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_DYNAMODB: iam.endpoint,
    AWS_ENDPOINT_URL_SQS: fauxqs.endpoint,
    ...extra,
  };
}

async function newQueue(): Promise<string> {
  return (await sqs.send(new CreateQueueCommand({ QueueName: `reassembly-${randomUUID()}` }))).QueueUrl!;
}

/** Every body on the queue (each received once, hidden for the rest of the test). */
async function bodies(queueUrl: string): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 600 }));
    if (!r.Messages?.length) return out;
    out.push(...r.Messages.map((m) => m.Body!));
  }
}

const now = (): number => Math.floor(Date.now() / 1000);

async function putJob(jobId: string, item: Record<string, unknown>): Promise<void> {
  await ddb.send(new PutCommand({ TableName: tables.jobs, Item: { job_id: jobId, mode: 'sbs', created_at: now() - 600, ...item } }));
}

async function putCompletions(jobId: string, count: number, total: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await ddb.send(new PutCommand({
      TableName: tables.segmentCompletions,
      Item: { job_id: jobId, segment_index: i, output_s3_uri: `s3://stereo-output/jobs/${jobId}/segments/${i}.mp4`, completed_at: now(), total_segments: total },
    }));
  }
}

async function lockOf(jobId: string): Promise<Record<string, unknown> | undefined> {
  return (await ddb.send(new GetCommand({ TableName: tables.reassemblyTriggered, Key: { job_id: jobId }, ConsistentRead: true }))).Item;
}

let sequence = 100;

/** One SegmentCompletions stream record, as DynamoDB Streams delivers it to Lambda. */
function streamRecord(jobId: string, segmentIndex: number, total: number, eventName: 'INSERT' | 'MODIFY' | 'REMOVE' = 'INSERT'): Record<string, unknown> {
  const keys = { job_id: { S: jobId }, segment_index: { N: String(segmentIndex) } };
  const image = { ...keys, output_s3_uri: { S: `s3://stereo-output/jobs/${jobId}/segments/${segmentIndex}.mp4` }, completed_at: { N: String(now()) }, total_segments: { N: String(total) } };
  sequence++;
  return {
    eventID: randomUUID().replaceAll('-', ''),
    eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: REGION,
    dynamodb: {
      ApproximateCreationDateTime: now(),
      Keys: keys,
      ...(eventName === 'REMOVE' ? { OldImage: image } : { NewImage: image }),
      ...(eventName === 'MODIFY' ? { OldImage: image } : {}),
      SequenceNumber: `${sequence}000000000000000000000`,
      SizeBytes: 120,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
    eventSourceARN: `arn:aws:dynamodb:${REGION}:123456789012:table/${tables.segmentCompletions}/stream/2026-02-17T00:00:00.000`,
  };
}

/** What upstream's handler returns for these ids (json.dumps: ", " and ": " separators). */
function upstreamResult(ids: string[]): unknown {
  return { statusCode: 200, body: `{"processed_job_ids": [${ids.map((id) => JSON.stringify(id)).join(', ')}]}` };
}

function logLines(run: ContainerRun): Array<Record<string, unknown>> {
  return run.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
}

const resolved = (value: unknown): Invocation => ({ ok: true, value });

/** A job ready for reassembly: chunking_complete, `total` segments, all complete. */
async function readyJob(total = 2): Promise<string> {
  const jobId = `job-${randomUUID()}`;
  await putJob(jobId, { status: 'chunking_complete', total_segments: total });
  await putCompletions(jobId, total, total);
  return jobId;
}

describe('dist/lambda/reassembly-trigger.zip', () => {
  const sizes = existsSync(lambdaZipPath)
    ? `${(statSync(lambdaZipPath).size / 1024).toFixed(0)} kB zipped, index.js ${((unzipSync(readFileSync(lambdaZipPath))['index.js']?.length ?? 0) / 1024).toFixed(0)} kB`
    : 'missing: run `npm run build`';

  test(`holds exactly index.js, which exports handler and loads outside the repository (${sizes})`, async () => {
    expect(fn.entries).toEqual(['index.js']);
    // Lambda's quotas, and less than the executable's bundle: not the whole CLI.
    expect(fn.zipBytes).toBeLessThan(LAMBDA_ZIP_QUOTA);
    expect(fn.indexBytes).toBeLessThan(LAMBDA_UNZIPPED_QUOTA);
    expect(fn.indexBytes).toBeLessThan(statSync(join(distDir, 'bundle.cjs')).size);
    // Reproducible: the local header's DOS time and date are 00:00, 1980-01-01.
    const zip = readFileSync(lambdaZipPath);
    expect([zip.readUInt16LE(10), zip.readUInt16LE(12)]).toEqual([0, (1 << 5) | 1]);
    // No AWS setting at all: requiring it must not throw (everything is made on first use).
    const run = await runContainer(fn.dir, {}, []);
    expect(run.exports).toEqual(['handler']);
    expect(run.stderr).toBe('');
  });

  test('a batch fed at once to two containers twice each, then again: one {"job_id"} message, one lock with its ttl, upstream\'s return value', async () => {
    const queueUrl = await newQueue();
    const ready = await readyJob(2);
    const waiting = `job-${randomUUID()}`;
    await putJob(waiting, { status: 'chunking_complete', total_segments: 3 });
    await putCompletions(waiting, 1, 3);
    const batch = { Records: [streamRecord(ready, 0, 2), streamRecord(ready, 1, 2), streamRecord(waiting, 0, 3)] };
    const expected = resolved(upstreamResult([ready, waiting]));

    // Four invocations race for the lock (two per container, two containers); then the
    // first container, warm, gets the batch once more (a retried batch).
    const before = now();
    const runs = await Promise.all([
      runContainer(fn.dir, lambdaEnv(queueUrl), [[batch, batch], [batch]]),
      runContainer(fn.dir, lambdaEnv(queueUrl), [[batch, batch]]),
    ]);
    const after = now();
    expect(runs.map((r) => r.rounds)).toEqual([[[expected, expected], [expected]], [[expected, expected]]]);

    expect(await bodies(queueUrl)).toEqual([`{"job_id":"${ready}"}`]);
    const lock = await lockOf(ready);
    expect(lock).toEqual({ job_id: ready, triggered_at: expect.any(Number), ttl: expect.any(Number) });
    expect(lock!.triggered_at).toBeGreaterThanOrEqual(before);
    expect(lock!.triggered_at).toBeLessThanOrEqual(after);
    expect(lock!.ttl).toBe((lock!.triggered_at as number) + NINETY_DAYS);
    expect(await lockOf(waiting)).toBeUndefined();

    // One JSON event per line on stdout, nothing on stderr; one trigger among the five invocations.
    for (const run of runs) expect(run.stderr).toBe('');
    const events = runs.flatMap(logLines);
    for (const e of events) expect(e).toEqual(expect.objectContaining({ timestamp: expect.any(String), severity: expect.any(String), event_type: expect.any(String) }));
    expect(events.filter((e) => e.event_type === 'trigger_batch_received')).toHaveLength(5);
    expect(events.filter((e) => e.event_type === 'trigger_batch_completed')).toHaveLength(5);
    expect(events.filter((e) => e.event_type === 'reassembly_triggered')).toEqual([expect.objectContaining({ job_id: ready, severity: 'info' })]);
    // The racing ones lost the conditional put (upstream's "conditional create fails: no
    // send"), or came after it and saw the lock.
    const outcomes = events.filter((e) => e.event_type === 'trigger_batch_completed').map((e) => (e.outcomes as Record<string, string>)[ready]);
    expect(outcomes.filter((o) => o === 'sent')).toHaveLength(1);
    expect(outcomes.filter((o) => o !== 'sent' && o !== 'lost_race' && o !== 'none')).toEqual([]);
    expect(events.find((e) => e.event_type === 'trigger_batch_received')).toEqual(expect.objectContaining({ records: 3, job_ids: [ready, waiting], aws_request_id: expect.stringMatching(/^request-/) }));
  }, 20_000);

  test('upstream\'s cases where nothing is triggered: no message, no lock written', async () => {
    const queueUrl = await newQueue();
    const id = (name: string): string => `${name}-${randomUUID()}`;
    const cases = {
      missing: id('missing'),
      inProgress: id('in-progress'),
      countShort: id('count-short'),
      zeroSegments: id('zero-segments'),
      noTotal: id('no-total'),
      locked: id('locked'),
      taken: id('taken'),
      completed: id('completed'),
    };
    await putJob(cases.inProgress, { status: 'chunking_in_progress', total_segments: 2 });
    await putCompletions(cases.inProgress, 2, 2);
    await putJob(cases.countShort, { status: 'chunking_complete', total_segments: 3 });
    await putCompletions(cases.countShort, 2, 3);
    await putJob(cases.zeroSegments, { status: 'chunking_complete', total_segments: 0 });
    await putJob(cases.noTotal, { status: 'chunking_complete' });
    await putCompletions(cases.noTotal, 1, 1);
    await putJob(cases.completed, { status: 'completed', total_segments: 1, completed_at: now() });
    await putCompletions(cases.completed, 1, 1);
    // ReassemblyTriggered already there (upstream: the conditional create fails, nothing sent).
    const locks = {
      [cases.locked]: { job_id: cases.locked, triggered_at: now(), ttl: now() + NINETY_DAYS },
      [cases.taken]: { job_id: cases.taken, triggered_at: now() - 3600, ttl: now() - 3600 + NINETY_DAYS, reassembly_started_at: now() - 60 },
    };
    for (const jobId of [cases.locked, cases.taken]) {
      await putJob(jobId, { status: 'chunking_complete', total_segments: 1 });
      await putCompletions(jobId, 1, 1);
      await ddb.send(new PutCommand({ TableName: tables.reassemblyTriggered, Item: locks[jobId] }));
    }
    const ids = Object.values(cases);
    // Any event name counts, as upstream reads Keys of every record.
    const batch = { Records: ids.map((jobId, i) => streamRecord(jobId, 0, 2, i % 3 === 0 ? 'MODIFY' : i % 3 === 1 ? 'REMOVE' : 'INSERT')) };
    const withoutKeys = {
      Records: [
        { eventName: 'INSERT', eventSource: 'aws:dynamodb' },
        { eventName: 'INSERT', eventSource: 'aws:dynamodb', dynamodb: {} },
        { eventName: 'INSERT', eventSource: 'aws:dynamodb', dynamodb: { Keys: { segment_index: { N: '0' } } } },
        { eventName: 'INSERT', eventSource: 'aws:dynamodb', dynamodb: { Keys: { job_id: { N: '7' } } } },
      ],
    };

    const run = await runContainer(fn.dir, lambdaEnv(queueUrl), [[batch], [{ Records: [] }], [withoutKeys], [{}]]);
    expect(run.rounds).toEqual([[resolved(upstreamResult(ids))], [resolved(upstreamResult([]))], [resolved(upstreamResult([]))], [resolved(upstreamResult([]))]]);
    expect(await bodies(queueUrl)).toEqual([]);
    const after: Record<string, unknown> = {};
    for (const [name, jobId] of Object.entries(cases)) after[name] = (await lockOf(jobId)) ?? null;
    expect(after).toEqual({
      missing: null, inProgress: null, countShort: null, zeroSegments: null, noTotal: null, completed: null,
      locked: locks[cases.locked], taken: locks[cases.taken],
    });
    // The missing job made no Jobs item.
    expect((await ddb.send(new GetCommand({ TableName: tables.jobs, Key: { job_id: cases.missing }, ConsistentRead: true }))).Item).toBeUndefined();
  }, 20_000);

  test('the reassembly queue does not exist: rejects (Lambda retries the batch), the lock stands untaken for the reconciler', async () => {
    const jobId = await readyJob(1);
    const missingQueue = `${fauxqs.endpoint}/000000000000/no-such-queue-${randomUUID()}`;
    const run = await runContainer(fn.dir, lambdaEnv(missingQueue), [[{ Records: [streamRecord(jobId, 0, 1)] }], [{ Records: [streamRecord(jobId, 0, 1)] }]]);
    const [first, retry] = run.rounds.flat();
    expect(first).toEqual({ ok: false, error: { name: 'QueueDoesNotExist', message: expect.any(String) } });
    expect(await lockOf(jobId)).toEqual({ job_id: jobId, triggered_at: expect.any(Number), ttl: expect.any(Number) });
    // The retry sees a lock within the resend grace and sends nothing: the message is lost
    // until the trigger reconciler resends it (lost-job 2).
    expect(retry).toEqual(resolved(upstreamResult([jobId])));
    expect(logLines(run).filter((e) => e.event_type === 'trigger_failed')).toEqual([expect.objectContaining({ job_id: jobId, severity: 'error' })]);
  }, 20_000);

  test('one job failing does not keep the batch\'s other jobs from being triggered; the invocation still rejects', async () => {
    const queueUrl = await newQueue();
    const good = await readyJob(1);
    // A key DynamoDB refuses (a partition key is at most 2048 bytes): GetItem fails.
    const bad = 'x'.repeat(2049);
    const run = await runContainer(fn.dir, lambdaEnv(queueUrl), [[{ Records: [streamRecord(bad, 0, 1), streamRecord(good, 0, 1)] }]]);
    expect(run.rounds).toEqual([[{ ok: false, error: { name: 'ValidationException', message: expect.any(String) } }]]);
    expect(await bodies(queueUrl)).toEqual([`{"job_id":"${good}"}`]);
    const failed = logLines(run).find((e) => e.event_type === 'trigger_batch_failed');
    expect(failed).toEqual(expect.objectContaining({ failed: [bad], outcomes: { [good]: 'sent' } }));
  }, 20_000);

  test('a missing environment variable: every invocation rejects naming it, an empty batch too', async () => {
    const run = await runContainer(fn.dir, lambdaEnv(await newQueue(), { REASSEMBLY_QUEUE_URL: undefined }), [[{ Records: [] }]]);
    expect(run.rounds).toEqual([[{ ok: false, error: { name: 'Error', message: 'REASSEMBLY_QUEUE_URL is not set: the reassembly-trigger Lambda needs it' } }]]);
  });

  test('every call stayed within upstream\'s IAM policy for the function (GetItem Jobs, Query SegmentCompletions, PutItem ReassemblyTriggered)', () => {
    // The failing-job case sends a key DynamoDB refuses; the refusal must come from DynamoDB, not the policy.
    expect(iam.denied()).toEqual([]);
  });
});
