// DynamoDbPipelineDb on dynalite with the tables of upstream's Terraform: the shared
// behaviour (three fresh tables per test), then what only DynamoDB has: the exact
// requests (consistent reads, conditions), attribute types on the wire, 1 MB pages without
// a Limit (lost-job case 4 as upstream meets it), numbers beyond a double, and how
// failures come out.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  CreateTableCommand, DescribeTableCommand, DescribeTimeToLiveCommand, GetItemCommand, ProvisionedThroughputExceededException, PutItemCommand, QueryCommand, waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { DbError } from '../../src/ports/index.js';
import { DynamoDbPipelineDb, createDynamoDbClient } from '../../src/adapters/db/dynamodb-pipeline.js';
import type { StoredItem } from '../../src/adapters/db/stereo-items.js';
import { awsOptions } from '../../src/adapters/aws/client-config.js';
import type { Config } from '../../src/runtime/config/schema.js';
import { awsTestClientConfig, freePort, startDynalite } from '../helpers/servers.js';
import type { LocalServer } from '../helpers/servers.js';
import { createStereoTables, stereoTableNames } from '../helpers/stereo-tables.js';
import type { CreatedStereoTables } from '../helpers/stereo-tables.js';
import { JOB, PAGE, T0, completion, describePipelineDbConformance, sortItems, webUiJob } from './pipelinedb.conformance.js';

let dynalite: LocalServer;
let client: DynamoDBClient;
let doc: DynamoDBDocumentClient;
let tableSets = 0;

/** Every request the adapter sends, in order: command name and input. */
interface Sent {
  command: string;
  input: Record<string, unknown>;
}
let sent: Sent[] = [];

beforeAll(async () => {
  dynalite = await startDynalite();
  client = createDynamoDbClient(awsTestClientConfig(dynalite.endpoint));
  client.middlewareStack.add((next, context) => async (args) => {
    sent.push({ command: String(context.commandName), input: structuredClone(args.input as Record<string, unknown>) });
    return next(args);
  }, { step: 'initialize', name: 'pipelineDbSpy' });
  doc = DynamoDBDocumentClient.from(client);
});
afterAll(async () => {
  client?.destroy();
  await dynalite?.stop();
});

async function freshTables(): Promise<CreatedStereoTables> {
  return createStereoTables(client, `t${++tableSets}-stereo-spot`);
}

async function scanTable(name: string): Promise<StoredItem[]> {
  const items: StoredItem[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await doc.send(new ScanCommand({ TableName: name, ConsistentRead: true, ExclusiveStartKey: start }));
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return sortItems(items);
}

describePipelineDbConformance('DynamoDB (dynalite)', async (logger) => {
  const tables = await freshTables();
  sent = [];
  return {
    db: new DynamoDbPipelineDb({ client, tables, logger, pageSize: PAGE }),
    put: async (table, item) => void (await doc.send(new PutCommand({ TableName: tables[table], Item: item }))),
    scan: (table) => scanTable(tables[table]),
    queryPages: () => sent.filter((s) => s.command === 'QueryCommand').length,
  };
});

describe('DynamoDbPipelineDb on DynamoDB', () => {
  let tables: CreatedStereoTables;
  let db: DynamoDbPipelineDb;

  beforeEach(async () => {
    tables = await freshTables();
    db = new DynamoDbPipelineDb({ client, tables });
    sent = [];
  });

  it('the test tables are those of packages/aws-infra/dynamodb.tf (TTL and streams: dynalite has neither)', async () => {
    expect(stereoTableNames()).toEqual({ jobs: 'stereo-spot-jobs', segmentCompletions: 'stereo-spot-segment-completions', reassemblyTriggered: 'stereo-spot-reassembly-triggered' });
    const jobs = (await client.send(new DescribeTableCommand({ TableName: tables.jobs }))).Table;
    expect(jobs?.KeySchema).toEqual([{ AttributeName: 'job_id', KeyType: 'HASH' }]);
    expect(jobs?.AttributeDefinitions).toEqual(expect.arrayContaining([
      { AttributeName: 'job_id', AttributeType: 'S' }, { AttributeName: 'status', AttributeType: 'S' },
      { AttributeName: 'created_at', AttributeType: 'N' }, { AttributeName: 'completed_at', AttributeType: 'N' },
    ]));
    expect(jobs?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    const gsis = (jobs?.GlobalSecondaryIndexes ?? []).map((g) => [g.IndexName, g.KeySchema, g.Projection?.ProjectionType]);
    expect(gsis.sort()).toEqual([
      ['status-completed_at', [{ AttributeName: 'status', KeyType: 'HASH' }, { AttributeName: 'completed_at', KeyType: 'RANGE' }], 'ALL'],
      ['status-created_at', [{ AttributeName: 'status', KeyType: 'HASH' }, { AttributeName: 'created_at', KeyType: 'RANGE' }], 'ALL'],
    ]);
    const completions = (await client.send(new DescribeTableCommand({ TableName: tables.segmentCompletions }))).Table;
    expect(completions?.KeySchema).toEqual([{ AttributeName: 'job_id', KeyType: 'HASH' }, { AttributeName: 'segment_index', KeyType: 'RANGE' }]);
    expect(completions?.AttributeDefinitions).toEqual([{ AttributeName: 'job_id', AttributeType: 'S' }, { AttributeName: 'segment_index', AttributeType: 'N' }]);
    expect(completions?.StreamSpecification).toBeUndefined(); // asked for; dynalite drops it
    const locks = (await client.send(new DescribeTableCommand({ TableName: tables.reassemblyTriggered }))).Table;
    expect(locks?.KeySchema).toEqual([{ AttributeName: 'job_id', KeyType: 'HASH' }]);
    expect(tables.ttlEnabled).toBe(false); // dynalite has no UpdateTimeToLive
    const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: tables.reassemblyTriggered }));
    expect(ttl.TimeToLiveDescription?.TimeToLiveStatus).toBe('DISABLED');
  });

  it("writes the contract's attribute types (N for every number, S for the rest)", async () => {
    await doc.send(new PutCommand({ TableName: tables.jobs, Item: webUiJob() }));
    await db.updateJob(JOB, { status: 'completed', totalSegments: 2, completedAt: T0 + 60 });
    await db.putCompletion(completion(1, { totalSegments: 2 }));
    await db.putLock(JOB, T0);
    await db.takeLock(JOB, T0 + 1);
    const raw = async (table: string, key: Record<string, { S: string } | { N: string }>) => (await client.send(new GetItemCommand({ TableName: table, Key: key }))).Item;
    expect(await raw(tables.jobs, { job_id: { S: JOB } })).toEqual({
      job_id: { S: JOB }, mode: { S: 'sbs' }, status: { S: 'completed' }, created_at: { N: String(T0) }, total_segments: { N: '2' }, completed_at: { N: String(T0 + 60) },
      title: { S: 'Match highlights' }, uploaded_at: { N: String(T0 + 7) }, source_file_size_bytes: { N: '734003200' },
    });
    expect(await raw(tables.segmentCompletions, { job_id: { S: JOB }, segment_index: { N: '1' } })).toEqual({
      job_id: { S: JOB }, segment_index: { N: '1' }, output_s3_uri: { S: completion(1).outputS3Uri }, completed_at: { N: String(T0 + 101) }, total_segments: { N: '2' },
    });
    expect(await raw(tables.reassemblyTriggered, { job_id: { S: JOB } })).toEqual({
      job_id: { S: JOB }, triggered_at: { N: String(T0) }, ttl: { N: String(T0 + 7_776_000) }, reassembly_started_at: { N: String(T0 + 1) },
    });
  });

  it('the requests: consistent reads where a decision depends on them, every write conditioned', async () => {
    await doc.send(new PutCommand({ TableName: tables.jobs, Item: webUiJob() }));
    sent = [];
    await db.getJob(JOB);
    await db.updateJob(JOB, { status: 'chunking_complete', totalSegments: 2 }, ['created', 'chunking_in_progress', 'created']);
    for await (const _ of db.jobsInStatus('chunking_complete')) { /* drain */ }
    await db.putCompletion(completion(0));
    await db.completions(JOB);
    await db.countCompletions(JOB);
    await db.putLock(JOB, T0);
    await db.getLock(JOB);
    await db.takeLock(JOB, T0);
    await db.releaseLock(JOB);
    await db.deleteLock(JOB, T0);
    const brief = sent.map(({ command, input }) => [command.replace(/Command$/, ''), input.TableName, {
      ...(input.ConsistentRead !== undefined ? { ConsistentRead: input.ConsistentRead } : {}),
      ...(input.IndexName ? { IndexName: input.IndexName } : {}),
      ...(input.Select ? { Select: input.Select } : {}),
      ...(input.ScanIndexForward !== undefined ? { ScanIndexForward: input.ScanIndexForward } : {}),
      ...(input.UpdateExpression ? { UpdateExpression: input.UpdateExpression } : {}),
      ...(input.ConditionExpression ? { ConditionExpression: input.ConditionExpression } : {}),
    }]);
    expect(brief).toEqual([
      ['GetItem', tables.jobs, { ConsistentRead: true }],
      ['UpdateItem', tables.jobs, {
        UpdateExpression: 'SET #status = :status, #total_segments = :total_segments',
        ConditionExpression: 'attribute_exists(#job_id) AND #status IN (:from0, :from1)',
      }],
      ['Query', tables.jobs, { IndexName: 'status-created_at', ScanIndexForward: true }], // a GSI: never consistent
      ['PutItem', tables.segmentCompletions, {}], // the call ecba15e's video-worker and b622b25's job-worker are granted
      ['Query', tables.segmentCompletions, { ConsistentRead: true, ScanIndexForward: true }],
      ['Query', tables.segmentCompletions, { ConsistentRead: true, Select: 'COUNT' }],
      ['PutItem', tables.reassemblyTriggered, { ConditionExpression: 'attribute_not_exists(#job_id)' }],
      ['GetItem', tables.reassemblyTriggered, { ConsistentRead: true }],
      ['UpdateItem', tables.reassemblyTriggered, {
        UpdateExpression: 'SET #reassembly_started_at = :started_at', ConditionExpression: 'attribute_exists(#job_id) AND attribute_not_exists(#reassembly_started_at)',
      }],
      ['UpdateItem', tables.reassemblyTriggered, { UpdateExpression: 'REMOVE #reassembly_started_at', ConditionExpression: 'attribute_exists(#job_id)' }],
      ['DeleteItem', tables.reassemblyTriggered, { ConditionExpression: 'attribute_exists(#job_id) AND #triggered_at = :triggered_at' }],
    ]);
    // Never a PutItem on Jobs, and no page size without the test option.
    expect(sent.some((s) => s.input.Limit !== undefined)).toBe(false);
  });

  it("a failed condition is told apart by one consistent read ('missing' or 'conflict')", async () => {
    await doc.send(new PutCommand({ TableName: tables.jobs, Item: webUiJob({ status: 'completed', completed_at: T0 }) }));
    sent = [];
    await expect(db.updateJob(JOB, { status: 'failed' }, ['created'])).resolves.toBe('conflict');
    await expect(db.updateJob('absent', { status: 'failed' })).resolves.toBe('missing');
    expect(sent.map((s) => [s.command, s.input.ConsistentRead])).toEqual([
      ['UpdateItemCommand', undefined], ['GetItemCommand', true], ['UpdateItemCommand', undefined], ['GetItemCommand', true],
    ]);
  });

  it('a partition over 1 MB is read to the end with no Limit set (upstream read one page: lost-job case 4)', async () => {
    const padding = 'x'.repeat(300 * 1024); // six items of ~300 KB: DynamoDB (and dynalite) cut a page at 1 MB
    for (let i = 0; i < 6; i++) {
      await doc.send(new PutCommand({ TableName: tables.segmentCompletions, Item: { job_id: JOB, segment_index: i, output_s3_uri: `s3://o/${i}`, completed_at: T0, padding } }));
    }
    const onePage = await client.send(new QueryCommand({
      TableName: tables.segmentCompletions, KeyConditionExpression: 'job_id = :j', ExpressionAttributeValues: { ':j': { S: JOB } }, Select: 'COUNT',
    }));
    expect(onePage.Count).toBeLessThan(6); // what upstream's Lambda compared with total_segments
    expect(onePage.LastEvaluatedKey).toBeDefined();
    sent = [];
    await expect(db.countCompletions(JOB)).resolves.toBe(6);
    await expect(db.completions(JOB)).resolves.toHaveLength(6);
    expect(sent.filter((s) => s.command === 'QueryCommand').length).toBeGreaterThanOrEqual(4);
  });

  it('numbers beyond a double neither crash a read nor change through an update', async () => {
    const huge = '123456789012345678901234567890';
    await client.send(new PutItemCommand({
      TableName: tables.jobs,
      Item: { job_id: { S: JOB }, mode: { S: 'sbs' }, status: { S: 'created' }, created_at: { N: String(T0) }, total_segments: { N: huge }, source_file_size_bytes: { N: huge } },
    }));
    await expect(db.getJob(JOB)).resolves.toMatchObject({ status: 'created', totalSegments: null });
    await db.updateJob(JOB, { status: 'chunking_in_progress' }, ['created']);
    const item = (await client.send(new GetItemCommand({ TableName: tables.jobs, Key: { job_id: { S: JOB } } }))).Item;
    expect(item?.source_file_size_bytes).toEqual({ N: huge });
    expect(item?.total_segments).toEqual({ N: huge });
  });

  it('a missing table is an error naming the table and its setting', async () => {
    const gone = new DynamoDbPipelineDb({ client, tables: { jobs: 'nope-jobs', segmentCompletions: 'nope-completions', reassemblyTriggered: 'nope-locks' } });
    const failure = (p: Promise<unknown>) => p.then(() => null, (err: unknown) => err);
    const err = await failure(gone.getJob(JOB));
    expect(err).toBeInstanceOf(DbError);
    expect(err).toMatchObject({ table: 'nope-jobs', transient: false, code: 'ResourceNotFoundException', status: 400 });
    expect((err as Error).message).toMatch(/^nope-jobs: no such DynamoDB table \(JOBS_TABLE_NAME=nope-jobs;/);
    await expect(gone.updateJob(JOB, { status: 'failed' })).rejects.toThrow(/JOBS_TABLE_NAME=nope-jobs/);
    await expect(gone.countCompletions(JOB)).rejects.toThrow(/SEGMENT_COMPLETIONS_TABLE_NAME=nope-completions/);
    await expect(gone.putCompletion(completion(0))).rejects.toThrow(/SEGMENT_COMPLETIONS_TABLE_NAME=nope-completions/);
    await expect(gone.putLock(JOB, T0)).rejects.toThrow(/REASSEMBLY_TRIGGERED_TABLE_NAME=nope-locks/);
    await expect(gone.releaseLock(JOB)).rejects.toThrow(/REASSEMBLY_TRIGGERED_TABLE_NAME=nope-locks/);
  });

  it('a Jobs table without the status-created_at index is an error naming it', async () => {
    const bare = `t${++tableSets}-bare-jobs`;
    await client.send(new CreateTableCommand({
      TableName: bare, BillingMode: 'PAY_PER_REQUEST', KeySchema: [{ AttributeName: 'job_id', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'job_id', AttributeType: 'S' }],
    }));
    // dynalite answers "no such table" until the new table is ACTIVE, which a loaded machine can delay.
    await waitUntilTableExists({ client, maxWaitTime: 30, minDelay: 1, maxDelay: 1 }, { TableName: bare });
    const noIndex = new DynamoDbPipelineDb({ client, tables: { ...tables, jobs: bare } });
    await expect((async () => {
      for await (const _ of noIndex.jobsInStatus('chunking_complete')) { /* drain */ }
    })()).rejects.toThrow(new RegExp(`^${bare}: the table has no index status-created_at \\(JOBS_TABLE_NAME=${bare};`));
  });

  it('throttling propagates unchanged (the engine retries it)', async () => {
    const throttled = createDynamoDbClient({ ...awsTestClientConfig(dynalite.endpoint), maxAttempts: 1 });
    const thrown = new ProvisionedThroughputExceededException({ message: 'Rate of requests exceeds the allowed throughput.', $metadata: { httpStatusCode: 400 } });
    throttled.middlewareStack.add(() => async () => {
      throw thrown;
    }, { step: 'finalizeRequest', name: 'throttle' });
    const tdb = new DynamoDbPipelineDb({ client: throttled, tables });
    await expect(tdb.getJob(JOB)).rejects.toBe(thrown);
    await expect(tdb.putLock(JOB, T0)).rejects.toBe(thrown);
    await expect(tdb.updateJob(JOB, { status: 'failed' })).rejects.toBe(thrown);
    throttled.destroy();
  });

  it('a network error propagates unchanged', async () => {
    const port = await freePort();
    const offline = createDynamoDbClient({ ...awsTestClientConfig(`http://127.0.0.1:${port}`), maxAttempts: 1 });
    const odb = new DynamoDbPipelineDb({ client: offline, tables });
    const err = await odb.countCompletions(JOB).then(() => null, (e: unknown) => e);
    expect(err).not.toBeInstanceOf(DbError);
    // Under jest node:net's errors come from another realm, which the SDK wraps ("AWS SDK error wrapper for …").
    expect(String((err as Error).message)).toMatch(/ECONNREFUSED/);
    offline.destroy();
  });

  it('refuses an unnamed table (naming its setting) and a bad page size', () => {
    expect(() => new DynamoDbPipelineDb({ client, tables: { ...tables, segmentCompletions: '' } })).toThrow(/^SEGMENT_COMPLETIONS_TABLE_NAME is not set/);
    expect(() => new DynamoDbPipelineDb({ client, tables, pageSize: 0 })).toThrow(/pageSize/);
  });

  it('createDynamoDbClient takes the endpoint awsOptions gives (AWS_ENDPOINT_URL_DYNAMODB over AWS_ENDPOINT_URL)', async () => {
    const config = {
      AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL: 'http://127.0.0.1:1', AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
      AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', S3_FORCE_PATH_STYLE: false,
    } as unknown as Config;
    const c = createDynamoDbClient(awsOptions(config, 'dynamodb'));
    await expect(c.config.region()).resolves.toBe('eu-west-1');
    const viaConfig = new DynamoDbPipelineDb({ client: c, tables });
    await expect(viaConfig.getJob(JOB)).resolves.toBeNull(); // reached dynalite, not port 1
    c.destroy();
  });
});
