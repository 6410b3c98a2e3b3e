// PipelineDb on DynamoDB: the stereo pipeline's Jobs, SegmentCompletions and
// ReassemblyTriggered tables of the live deployment (STEREO-SPOT.md "Resources",
// packages/aws-infra/dynamodb.tf upstream). Writes go through the document client, reads
// through the low-level commands (below).
//
// - Reads a decision depends on (getJob, completions, countCompletions, getLock) are
//   strongly consistent. jobsInStatus reads a global secondary index, which DynamoDB can
//   only read eventually consistently: a job that changed status a moment ago may still
//   be listed under its old status (or not yet under its new one). Its callers (the trigger
//   reconciler) re-read each job with getJob before acting.
// - Every Query reads every page (LastEvaluatedKey), count included: a partition over 1 MB
//   is several pages (upstream's lost-job case 4 read one).
// - A Jobs item is never written whole (the web UI's title, uploaded_at,
//   source_file_size_bytes stay), and every Jobs update is conditioned on
//   attribute_exists(job_id): an UpdateItem on a missing key would create a skeleton item
//   without mode or status, which breaks the web UI. No lock update creates an item either.
// - A failed condition is told apart by one strongly consistent read of the item
//   ('missing' or 'conflict'). ReturnValuesOnConditionCheckFailure would save that read on
//   DynamoDB, but dynalite 4.0.0 (the test server) ignores it, and then an untested branch
//   would decide; the read is correct on both.
// - Items other writers left malformed (a skeleton without mode, a number stored as a
//   string) are mapped as far as they go (memory-pipeline.ts, the shared codec) and logged.
//   Reads go through the low-level commands and decode the attribute values here, so no
//   stored value can make a read throw (the document client's unmarshalling throws on a
//   number beyond a double that is not an integer). Writes go through the document client
//   with its default options. lib-dynamodb keeps a DocumentClient's options in the
//   DynamoDBClient's shared config (the last DocumentClient.from on a client sets them for
//   all), so this adapter depends on none: any other DocumentClient on the same client
//   cannot change how it reads, and it sets nothing beyond the defaults for the others.
// - Throttling, network and credential errors propagate unchanged (the engine retries); a
//   missing table or index is a DbError naming the table and its setting.
import { DynamoDBClient, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue, QueryCommandInput, QueryCommandOutput } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Logger } from 'pino';
import type { JobUpdateOutcome, PipelineDb } from '../../ports/index.js';
import { LOCK_TTL_SECONDS } from '../../domain/stereo/records.js';
import type { ReassemblyLock, SegmentCompletion, StereoJob, WritableStatus } from '../../domain/stereo/records.js';
import type { AwsClientOptions } from '../aws/client-config.js';
import { DbError } from '../../ports/index.js';
import {
  ATTR, JOBS_BY_STATUS_CREATED, TABLE_SETTINGS, checkCompletion, checkJobChange, checkJobId, checkSeconds, completionFromItem, jobFromItem,
  lockFromItem, noteMalformed,
} from './stereo-items.js';
import type { Decoded, JobChange, PipelineTable, StoredItem } from './stereo-items.js';

export interface PipelineTableNames {
  /** JOBS_TABLE_NAME */
  jobs: string;
  /** SEGMENT_COMPLETIONS_TABLE_NAME */
  segmentCompletions: string;
  /** REASSEMBLY_TRIGGERED_TABLE_NAME */
  reassemblyTriggered: string;
}

export interface DynamoDbPipelineDbOptions {
  client: DynamoDBClient;
  tables: PipelineTableNames;
  /** Warned about items that do not match the contract. */
  logger?: Logger;
  /**
   * Items per Query page (DynamoDB's Limit). Unset in production: a page is what DynamoDB
   * returns (up to 1 MB). Tests set it small to read many pages from a few items.
   */
  pageSize?: number;
}

/** A DynamoDB client for awsOptions(config, 'dynamodb') (AWS_ENDPOINT_URL_DYNAMODB, then AWS_ENDPOINT_URL). */
export function createDynamoDbClient(options: AwsClientOptions): DynamoDBClient {
  const { region, endpoint, credentials, maxAttempts, requestHandler } = options;
  return new DynamoDBClient({
    region,
    ...(requestHandler ? { requestHandler } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(credentials ? { credentials } : {}),
    ...(maxAttempts !== undefined ? { maxAttempts } : {}),
  });
}

// Expression attribute names for every attribute we name (`status` and `ttl` are reserved words).
const N = {
  '#job_id': ATTR.jobId,
  '#status': ATTR.status,
  '#total_segments': ATTR.totalSegments,
  '#completed_at': ATTR.completedAt,
  '#output_s3_uri': ATTR.outputS3Uri,
  '#triggered_at': ATTR.triggeredAt,
  '#ttl': ATTR.ttl,
  '#reassembly_started_at': ATTR.reassemblyStartedAt,
} as const;
type NameRef = keyof typeof N;

/** The ExpressionAttributeNames an expression uses (DynamoDB refuses unused ones). */
function names(...refs: NameRef[]): Record<string, string> {
  return Object.fromEntries(refs.map((r) => [r, N[r]]));
}

function errorName(err: unknown): string {
  return typeof err === 'object' && err !== null && typeof (err as { name?: unknown }).name === 'string' ? (err as { name: string }).name : '';
}

const isConditionFailed = (err: unknown): boolean => errorName(err) === 'ConditionalCheckFailedException';

/**
 * A stored item as the codec reads it: S as a string, N as a number (beyond a double's
 * precision it is rounded, never thrown; a count that large is then no count), anything
 * else (lists, maps, sets, binary, BOOL, NULL) as its raw attribute value, which the codec
 * takes for neither a string nor a number. Nothing here throws.
 */
function plain(item: Record<string, AttributeValue>): StoredItem {
  const out: StoredItem = {};
  for (const [name, v] of Object.entries(item)) {
    if (typeof v.S === 'string') out[name] = v.S;
    else if (typeof v.N === 'string') out[name] = Number(v.N);
    else out[name] = v;
  }
  return out;
}

const S = (value: string): AttributeValue => ({ S: value });

export class DynamoDbPipelineDb implements PipelineDb {
  private readonly client: DynamoDBClient;
  private readonly doc: DynamoDBDocumentClient;
  private readonly tables: PipelineTableNames;
  private readonly logger: Logger | undefined;
  private readonly pageSize: number | undefined;

  constructor(options: DynamoDbPipelineDbOptions) {
    for (const table of Object.keys(TABLE_SETTINGS) as PipelineTable[]) {
      const name = options.tables[table];
      // ReassemblyTriggered only where used: upstream's video-worker task has no such setting.
      if (typeof name !== 'string' || (name === '' && table !== 'reassemblyTriggered')) throw new RangeError(`${TABLE_SETTINGS[table]} is not set: the ${table} table needs a name`);
    }
    if (options.pageSize !== undefined && (!Number.isSafeInteger(options.pageSize) || options.pageSize < 1)) {
      throw new RangeError(`pageSize must be a positive integer, got ${options.pageSize}`);
    }
    this.client = options.client;
    this.doc = DynamoDBDocumentClient.from(options.client);
    this.tables = { ...options.tables };
    this.logger = options.logger;
    this.pageSize = options.pageSize;
  }

  async getJob(jobId: string): Promise<StereoJob | null> {
    checkJobId(jobId);
    const item = await this.getItem('jobs', { [ATTR.jobId]: S(jobId) });
    return item ? this.decode('jobs', item, jobFromItem) : null;
  }

  async updateJob(jobId: string, change: JobChange, from?: readonly string[]): Promise<JobUpdateOutcome> {
    checkJobId(jobId);
    const allowed = checkJobChange(change, from);
    // Nothing can match an empty `from` (and IN () is not an expression): only tell which.
    if (allowed !== undefined && allowed.length === 0) return (await this.getItem('jobs', { [ATTR.jobId]: S(jobId) })) ? 'conflict' : 'missing';

    const refs: NameRef[] = ['#job_id', '#status'];
    const sets = ['#status = :status'];
    const values: Record<string, unknown> = { ':status': change.status };
    if (change.totalSegments !== undefined) {
      refs.push('#total_segments');
      sets.push('#total_segments = :total_segments');
      values[':total_segments'] = change.totalSegments;
    }
    if (change.completedAt !== undefined) {
      refs.push('#completed_at');
      sets.push('#completed_at = :completed_at');
      values[':completed_at'] = change.completedAt;
    }
    let condition = 'attribute_exists(#job_id)';
    if (allowed !== undefined) {
      const placeholders = allowed.map((status, i) => {
        values[`:from${i}`] = status;
        return `:from${i}`;
      });
      condition += ` AND #status IN (${placeholders.join(', ')})`;
    }
    try {
      await this.run('jobs', () => this.doc.send(new UpdateCommand({
        TableName: this.tables.jobs,
        Key: { [ATTR.jobId]: jobId },
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression: condition,
        ExpressionAttributeNames: names(...refs),
        ExpressionAttributeValues: values,
      })));
      return 'updated';
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
      return (await this.getItem('jobs', { [ATTR.jobId]: S(jobId) })) ? 'conflict' : 'missing';
    }
  }

  /** The status-created_at index, ascending, page by page as the caller iterates; eventually consistent (see the top of this file). */
  async *jobsInStatus(status: WritableStatus): AsyncGenerator<StereoJob> {
    const pages = this.queryPages('jobs', {
      IndexName: JOBS_BY_STATUS_CREATED,
      KeyConditionExpression: '#status = :status',
      ExpressionAttributeNames: names('#status'),
      ExpressionAttributeValues: { ':status': S(status) },
      ScanIndexForward: true,
    });
    for await (const page of pages) {
      for (const item of page.Items ?? []) yield this.decode('jobs', plain(item), jobFromItem);
    }
  }

  /**
   * PutItem of upstream's whole item, as upstream's workers write it: the one call every task
   * role that records completions is granted (ecba15e's video-worker and b622b25's job-worker
   * have PutItem on the table, not UpdateItem). The same segment recorded twice is one item,
   * the later write replacing it (last write wins: the output object is the one the latest
   * run wrote). A null totalSegments writes no total_segments, and does not replace an item
   * that has one (the conditional put fails, the item stays).
   */
  async putCompletion(c: SegmentCompletion): Promise<void> {
    checkCompletion(c);
    const item: Record<string, unknown> = {
      [ATTR.jobId]: c.jobId, [ATTR.segmentIndex]: c.segmentIndex, [ATTR.outputS3Uri]: c.outputS3Uri, [ATTR.completedAt]: c.completedAt,
      ...(c.totalSegments !== null ? { [ATTR.totalSegments]: c.totalSegments } : {}),
    };
    await this.conditional(this.run('segmentCompletions', () => this.doc.send(new PutCommand({
      TableName: this.tables.segmentCompletions,
      Item: item,
      ...(c.totalSegments === null ? { ConditionExpression: 'attribute_not_exists(#total_segments)', ExpressionAttributeNames: names('#total_segments') } : {}),
    }))));
  }

  async completions(jobId: string): Promise<SegmentCompletion[]> {
    checkJobId(jobId);
    const out: SegmentCompletion[] = [];
    for await (const page of this.queryPages('segmentCompletions', { ...this.completionsOf(jobId), ScanIndexForward: true })) {
      for (const item of page.Items ?? []) out.push(this.decode('segmentCompletions', plain(item), completionFromItem));
    }
    return out;
  }

  async countCompletions(jobId: string): Promise<number> {
    checkJobId(jobId);
    let count = 0;
    for await (const page of this.queryPages('segmentCompletions', { ...this.completionsOf(jobId), Select: 'COUNT' })) count += page.Count ?? 0;
    return count;
  }

  async getLock(jobId: string): Promise<ReassemblyLock | null> {
    checkJobId(jobId);
    const item = await this.getItem('reassemblyTriggered', { [ATTR.jobId]: S(jobId) });
    return item ? this.decode('reassemblyTriggered', item, lockFromItem) : null;
  }

  async putLock(jobId: string, triggeredAt: number): Promise<boolean> {
    checkJobId(jobId);
    checkSeconds('triggered_at', triggeredAt);
    return this.conditional(this.run('reassemblyTriggered', () => this.doc.send(new PutCommand({
      TableName: this.tables.reassemblyTriggered,
      Item: { [ATTR.jobId]: jobId, [ATTR.triggeredAt]: triggeredAt, [ATTR.ttl]: triggeredAt + LOCK_TTL_SECONDS },
      ConditionExpression: 'attribute_not_exists(#job_id)',
      ExpressionAttributeNames: names('#job_id'),
    }))));
  }

  async takeLock(jobId: string, startedAt: number, opts?: { staleBefore?: number }): Promise<boolean> {
    checkJobId(jobId);
    checkSeconds('reassembly_started_at', startedAt);
    const stale = opts?.staleBefore;
    if (stale !== undefined && !Number.isFinite(stale)) throw new RangeError(`staleBefore must be a number, got ${stale}`);
    // `<` compares an N with an N only: a hand-written string never counts as stale.
    return this.conditional(this.run('reassemblyTriggered', () => this.doc.send(new UpdateCommand({
      TableName: this.tables.reassemblyTriggered,
      Key: { [ATTR.jobId]: jobId },
      UpdateExpression: 'SET #reassembly_started_at = :started_at',
      ConditionExpression: stale === undefined
        ? 'attribute_exists(#job_id) AND attribute_not_exists(#reassembly_started_at)'
        : 'attribute_exists(#job_id) AND (attribute_not_exists(#reassembly_started_at) OR #reassembly_started_at < :stale)',
      ExpressionAttributeNames: names('#job_id', '#reassembly_started_at'),
      ExpressionAttributeValues: { ':started_at': startedAt, ...(stale === undefined ? {} : { ':stale': stale }) },
    }))));
  }

  async refreshLock(jobId: string, seenStartedAt: number, startedAt: number): Promise<boolean> {
    checkJobId(jobId);
    if (!Number.isFinite(seenStartedAt)) throw new RangeError(`reassembly_started_at must be a number, got ${seenStartedAt}`);
    checkSeconds('reassembly_started_at', startedAt);
    return this.conditional(this.run('reassemblyTriggered', () => this.doc.send(new UpdateCommand({
      TableName: this.tables.reassemblyTriggered,
      Key: { [ATTR.jobId]: jobId },
      UpdateExpression: 'SET #reassembly_started_at = :started_at',
      ConditionExpression: 'attribute_exists(#job_id) AND #reassembly_started_at = :seen',
      ExpressionAttributeNames: names('#job_id', '#reassembly_started_at'),
      ExpressionAttributeValues: { ':started_at': startedAt, ':seen': seenStartedAt },
    }))));
  }

  /** No lock, nothing to release: the condition keeps the REMOVE from creating an item. */
  async releaseLock(jobId: string, startedAt?: number): Promise<void> {
    checkJobId(jobId);
    if (startedAt !== undefined && !Number.isFinite(startedAt)) throw new RangeError(`reassembly_started_at must be a number, got ${startedAt}`);
    await this.conditional(this.run('reassemblyTriggered', () => this.doc.send(new UpdateCommand({
      TableName: this.tables.reassemblyTriggered,
      Key: { [ATTR.jobId]: jobId },
      UpdateExpression: 'REMOVE #reassembly_started_at',
      ConditionExpression: startedAt === undefined ? 'attribute_exists(#job_id)' : 'attribute_exists(#job_id) AND #reassembly_started_at = :mine',
      ExpressionAttributeNames: names('#job_id', '#reassembly_started_at'),
      ...(startedAt === undefined ? {} : { ExpressionAttributeValues: { ':mine': startedAt } }),
    }))));
  }

  async deleteLock(jobId: string, triggeredAt?: number): Promise<boolean> {
    checkJobId(jobId);
    if (triggeredAt !== undefined && !Number.isFinite(triggeredAt)) throw new RangeError(`triggered_at must be a number, got ${triggeredAt}`);
    return this.conditional(this.run('reassemblyTriggered', () => this.doc.send(new DeleteCommand({
      TableName: this.tables.reassemblyTriggered,
      Key: { [ATTR.jobId]: jobId },
      ...(triggeredAt === undefined
        ? { ConditionExpression: 'attribute_exists(#job_id)', ExpressionAttributeNames: names('#job_id') }
        : {
          ConditionExpression: 'attribute_exists(#job_id) AND #triggered_at = :triggered_at',
          ExpressionAttributeNames: names('#job_id', '#triggered_at'),
          ExpressionAttributeValues: { ':triggered_at': triggeredAt },
        }),
    }))));
  }

  async renewLock(jobId: string, seenTriggeredAt: number, triggeredAt: number): Promise<boolean> {
    checkJobId(jobId);
    if (!Number.isFinite(seenTriggeredAt)) throw new RangeError(`triggered_at must be a number, got ${seenTriggeredAt}`);
    checkSeconds('triggered_at', triggeredAt);
    return this.conditional(this.run('reassemblyTriggered', () => this.doc.send(new UpdateCommand({
      TableName: this.tables.reassemblyTriggered,
      Key: { [ATTR.jobId]: jobId },
      UpdateExpression: 'SET #triggered_at = :triggered_at, #ttl = :ttl',
      ConditionExpression: 'attribute_exists(#job_id) AND #triggered_at = :seen AND attribute_not_exists(#reassembly_started_at)',
      ExpressionAttributeNames: names('#job_id', '#triggered_at', '#ttl', '#reassembly_started_at'),
      ExpressionAttributeValues: { ':triggered_at': triggeredAt, ':ttl': triggeredAt + LOCK_TTL_SECONDS, ':seen': seenTriggeredAt },
    }))));
  }

  // ----- internals --------------------------------------------------------------------

  private completionsOf(jobId: string): Pick<QueryCommandInput, 'KeyConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues' | 'ConsistentRead'> {
    return {
      KeyConditionExpression: '#job_id = :job_id',
      ExpressionAttributeNames: names('#job_id'),
      ExpressionAttributeValues: { ':job_id': S(jobId) },
      ConsistentRead: true,
    };
  }

  /** Every page of a Query, in order. */
  private async *queryPages(table: PipelineTable, input: Omit<QueryCommandInput, 'TableName' | 'Limit' | 'ExclusiveStartKey'>): AsyncGenerator<QueryCommandOutput> {
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.run(table, () => this.client.send(new QueryCommand({
        ...input,
        TableName: this.tables[table],
        ...(this.pageSize !== undefined ? { Limit: this.pageSize } : {}),
        ...(start !== undefined ? { ExclusiveStartKey: start } : {}),
      })));
      yield page;
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
  }

  private async getItem(table: PipelineTable, key: Record<string, AttributeValue>): Promise<StoredItem | null> {
    const out = await this.run(table, () => this.client.send(new GetItemCommand({ TableName: this.tables[table], Key: key, ConsistentRead: true })));
    return out.Item ? plain(out.Item) : null;
  }

  /** true when the write happened, false when its condition failed. */
  private async conditional(write: Promise<unknown>): Promise<boolean> {
    try {
      await write;
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }

  /** One request; a missing table or index becomes a DbError that names the table and its setting. */
  private async run<T>(table: PipelineTable, request: () => Promise<T>): Promise<T> {
    if (this.tables[table] === '') throw new RangeError(`${TABLE_SETTINGS[table]} is not set: the ${table} table needs a name`);
    try {
      return await request();
    } catch (err) {
      throw this.explain(table, err);
    }
  }

  private explain(table: PipelineTable, err: unknown): unknown {
    const name = this.tables[table];
    const setting = TABLE_SETTINGS[table];
    const code = errorName(err);
    const status = (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode ?? null;
    if (code === 'ResourceNotFoundException') {
      return new DbError(name, `no such DynamoDB table (${setting}=${name}; check it, AWS_REGION and the DynamoDB endpoint)`, { transient: false, code, status, cause: err });
    }
    const message = err instanceof Error ? err.message : '';
    if (code === 'ValidationException' && /specified index/i.test(message)) {
      return new DbError(name, `the table has no index ${JOBS_BY_STATUS_CREATED} (${setting}=${name}; the table must be as packages/aws-infra/dynamodb.tf defines it)`, {
        transient: false, code, status, cause: err,
      });
    }
    return err;
  }

  private decode<T>(table: PipelineTable, item: StoredItem, decoder: (item: StoredItem) => Decoded<T>): T {
    const { value, malformed } = decoder(item);
    noteMalformed(this.logger, this.tables[table], item, malformed);
    return value;
  }
}
