// PipelineDb over in-memory items, for local mode and tests, with the DynamoDB adapter's
// semantics (src/adapters/db/dynamodb-pipeline.ts): items are kept as DynamoDB keeps them
// (the attribute names of STEREO-SPOT.md, any other attribute left alone), every write
// has the same condition, and an update of a missing item creates nothing.
import type { Logger } from 'pino';
import type { JobUpdateOutcome, PipelineDb } from '../../ports/index.js';
import { LOCK_TTL_SECONDS } from '../../domain/stereo/records.js';
import type { ReassemblyLock, SegmentCompletion, StereoJob, WritableStatus } from '../../domain/stereo/records.js';
import {
  ATTR, checkCompletion, checkJobChange, checkJobId, checkSeconds, completionFromItem, jobFromItem, lockFromItem, noteMalformed,
} from './stereo-items.js';
import type { Decoded, JobChange, PipelineTable, StoredItem } from './stereo-items.js';
export type { PipelineTable, StoredItem } from './stereo-items.js';


export interface MemoryPipelineDbOptions {
  /** Warned about items that do not match the contract (seeded by a test), as the DynamoDB adapter does. */
  logger?: Logger;
}

/** Copies of every item, as the tables would hold them. */
export interface MemoryPipelineRows {
  /** In insertion order. */
  jobs: StoredItem[];
  /** By job (in order of its first completion), then segment index. */
  segmentCompletions: StoredItem[];
  /** In insertion order. */
  reassemblyTriggered: StoredItem[];
}

const has = (item: StoredItem, attr: string): boolean => Object.hasOwn(item, attr) && item[attr] !== undefined;

/**
 * Refuses what DynamoDB refuses for these tables: a missing or empty key, a key or index
 * key attribute of the wrong type (the Jobs GSIs make `status` S and `created_at`,
 * `completed_at` N on every item that has them).
 */
function checkStoredItem(table: PipelineTable, item: StoredItem): void {
  const fail = (why: string): never => {
    throw new RangeError(`${table}: ${why} (DynamoDB would refuse this item)`);
  };
  const jobId = item[ATTR.jobId];
  if (typeof jobId !== 'string' || jobId === '') fail('job_id must be a non-empty string');
  if (table === 'segmentCompletions' && (typeof item[ATTR.segmentIndex] !== 'number' || !Number.isFinite(item[ATTR.segmentIndex]))) {
    fail('segment_index is the sort key: it must be a number');
  }
  if (table === 'jobs') {
    if (has(item, ATTR.status) && typeof item[ATTR.status] !== 'string') fail('status is an index key: it must be a string');
    for (const attr of [ATTR.createdAt, ATTR.completedAt]) {
      if (has(item, attr) && (typeof item[attr] !== 'number' || !Number.isFinite(item[attr]))) fail(`${attr} is an index key: it must be a number`);
    }
  }
}

export class MemoryPipelineDb implements PipelineDb {
  private readonly jobs = new Map<string, StoredItem>();
  private readonly completionItems = new Map<string, Map<number, StoredItem>>();
  private readonly locks = new Map<string, StoredItem>();
  private readonly logger: Logger | undefined;

  constructor(options: MemoryPipelineDbOptions = {}) {
    this.logger = options.logger;
  }

  // ----- test and local-mode helpers ---------------------------------------------------

  /**
   * Writes an item as another writer would (the web UI's PutItem, a hand repair):
   * replaces the item with the same key, no defaults, no contract checks beyond what
   * DynamoDB itself refuses (RangeError). Returns a copy of what is stored.
   */
  putItem(table: PipelineTable, item: StoredItem): StoredItem {
    // An undefined attribute is no attribute (the document client's removeUndefinedValues).
    const copy = structuredClone(Object.fromEntries(Object.entries(item).filter(([, v]) => v !== undefined)));
    checkStoredItem(table, copy);
    const jobId = copy[ATTR.jobId] as string;
    if (table === 'jobs') this.jobs.set(jobId, copy);
    else if (table === 'reassemblyTriggered') this.locks.set(jobId, copy);
    else {
      let byIndex = this.completionItems.get(jobId);
      if (!byIndex) this.completionItems.set(jobId, (byIndex = new Map()));
      byIndex.set(copy[ATTR.segmentIndex] as number, copy);
    }
    return structuredClone(copy);
  }

  /** A Jobs item as the web UI creates it: `mode` sbs, `status` created, `created_at` now unless given. */
  seedJob(item: StoredItem & { job_id: string }): StoredItem {
    return this.putItem('jobs', { mode: 'sbs', status: 'created', created_at: Math.floor(Date.now() / 1000), ...item });
  }

  /** A SegmentCompletions item; `output_s3_uri` (bucket `output`) and `completed_at` (now) unless given. */
  seedCompletion(item: StoredItem & { job_id: string; segment_index: number }): StoredItem {
    return this.putItem('segmentCompletions', {
      output_s3_uri: `s3://output/jobs/${item.job_id}/segments/${item.segment_index}.mp4`,
      completed_at: Math.floor(Date.now() / 1000),
      ...item,
    });
  }

  /** A ReassemblyTriggered item; `triggered_at` now and `ttl` 90 days later unless given. */
  seedLock(item: StoredItem & { job_id: string }): StoredItem {
    const triggeredAt = typeof item.triggered_at === 'number' ? item.triggered_at : Math.floor(Date.now() / 1000);
    return this.putItem('reassemblyTriggered', { triggered_at: triggeredAt, ttl: triggeredAt + LOCK_TTL_SECONDS, ...item });
  }

  /** Copies of every item of the three tables. */
  rows(): MemoryPipelineRows {
    const segmentCompletions: StoredItem[] = [];
    for (const byIndex of this.completionItems.values()) {
      segmentCompletions.push(...[...byIndex.entries()].sort(([a], [b]) => a - b).map(([, item]) => item));
    }
    return structuredClone({ jobs: [...this.jobs.values()], segmentCompletions, reassemblyTriggered: [...this.locks.values()] });
  }

  // ----- PipelineDb -------------------------------------------------------------------
  // Each method checks its condition and writes with no await in between, so calls that
  // race are serialised as DynamoDB serialises conditional writes on one item.

  async getJob(jobId: string): Promise<StereoJob | null> {
    checkJobId(jobId);
    const item = this.jobs.get(jobId);
    return item ? this.decode('jobs', item, jobFromItem) : null;
  }

  async updateJob(jobId: string, change: JobChange, from?: readonly string[]): Promise<JobUpdateOutcome> {
    checkJobId(jobId);
    const allowed = checkJobChange(change, from);
    const item = this.jobs.get(jobId);
    if (!item) return 'missing';
    if (allowed !== undefined) {
      const status = item[ATTR.status];
      if (typeof status !== 'string' || !allowed.includes(status)) return 'conflict';
    }
    item[ATTR.status] = change.status;
    if (change.totalSegments !== undefined) item[ATTR.totalSegments] = change.totalSegments;
    if (change.completedAt !== undefined) item[ATTR.completedAt] = change.completedAt;
    return 'updated';
  }

  /** Like the index, leaves out a job without a number `created_at`; ties in job id order. */
  async *jobsInStatus(status: WritableStatus): AsyncGenerator<StereoJob> {
    const inIndex = [...this.jobs.values()]
      .filter((item) => item[ATTR.status] === status && typeof item[ATTR.createdAt] === 'number')
      .sort((a, b) => (a[ATTR.createdAt] as number) - (b[ATTR.createdAt] as number) || String(a[ATTR.jobId]).localeCompare(String(b[ATTR.jobId])))
      .map((item) => structuredClone(item));
    for (const item of inIndex) yield this.decode('jobs', item, jobFromItem);
  }

  /** Upserts: a second put of the same segment replaces its output URI and completed_at (last write wins), other attributes stay. */
  async putCompletion(c: SegmentCompletion): Promise<void> {
    checkCompletion(c);
    let byIndex = this.completionItems.get(c.jobId);
    if (!byIndex) this.completionItems.set(c.jobId, (byIndex = new Map()));
    // The whole item replaced, as DynamoDB's PutItem; without a total, not over one that has it.
    if (c.totalSegments === null && byIndex.get(c.segmentIndex)?.[ATTR.totalSegments] !== undefined) return;
    const item: StoredItem = { [ATTR.jobId]: c.jobId, [ATTR.segmentIndex]: c.segmentIndex, [ATTR.outputS3Uri]: c.outputS3Uri, [ATTR.completedAt]: c.completedAt };
    if (c.totalSegments !== null) item[ATTR.totalSegments] = c.totalSegments;
    byIndex.set(c.segmentIndex, item);
  }

  async completions(jobId: string): Promise<SegmentCompletion[]> {
    checkJobId(jobId);
    const byIndex = this.completionItems.get(jobId);
    if (!byIndex) return [];
    return [...byIndex.entries()].sort(([a], [b]) => a - b).map(([, item]) => this.decode('segmentCompletions', item, completionFromItem));
  }

  async countCompletions(jobId: string): Promise<number> {
    checkJobId(jobId);
    return this.completionItems.get(jobId)?.size ?? 0;
  }

  async getLock(jobId: string): Promise<ReassemblyLock | null> {
    checkJobId(jobId);
    const item = this.locks.get(jobId);
    return item ? this.decode('reassemblyTriggered', item, lockFromItem) : null;
  }

  async putLock(jobId: string, triggeredAt: number): Promise<boolean> {
    checkJobId(jobId);
    checkSeconds('triggered_at', triggeredAt);
    if (this.locks.has(jobId)) return false;
    this.locks.set(jobId, { [ATTR.jobId]: jobId, [ATTR.triggeredAt]: triggeredAt, [ATTR.ttl]: triggeredAt + LOCK_TTL_SECONDS });
    return true;
  }

  async takeLock(jobId: string, startedAt: number, opts?: { staleBefore?: number }): Promise<boolean> {
    checkJobId(jobId);
    checkSeconds('reassembly_started_at', startedAt);
    const stale = opts?.staleBefore;
    if (stale !== undefined && !Number.isFinite(stale)) throw new RangeError(`staleBefore must be a number, got ${stale}`);
    const item = this.locks.get(jobId);
    if (!item) return false;
    if (has(item, ATTR.reassemblyStartedAt)) {
      // As DynamoDB's `<`: only a number compares; a hand-written string is never stale.
      const held = item[ATTR.reassemblyStartedAt];
      if (stale === undefined || typeof held !== 'number' || !(held < stale)) return false;
    }
    item[ATTR.reassemblyStartedAt] = startedAt;
    return true;
  }

  async refreshLock(jobId: string, seenStartedAt: number, startedAt: number): Promise<boolean> {
    checkJobId(jobId);
    if (!Number.isFinite(seenStartedAt)) throw new RangeError(`reassembly_started_at must be a number, got ${seenStartedAt}`);
    checkSeconds('reassembly_started_at', startedAt);
    const item = this.locks.get(jobId);
    if (!item || item[ATTR.reassemblyStartedAt] !== seenStartedAt) return false;
    item[ATTR.reassemblyStartedAt] = startedAt;
    return true;
  }

  async releaseLock(jobId: string, startedAt?: number): Promise<void> {
    checkJobId(jobId);
    if (startedAt !== undefined && !Number.isFinite(startedAt)) throw new RangeError(`reassembly_started_at must be a number, got ${startedAt}`);
    const item = this.locks.get(jobId);
    if (item && (startedAt === undefined || item[ATTR.reassemblyStartedAt] === startedAt)) delete item[ATTR.reassemblyStartedAt];
  }

  async deleteLock(jobId: string, triggeredAt?: number): Promise<boolean> {
    checkJobId(jobId);
    if (triggeredAt !== undefined && !Number.isFinite(triggeredAt)) throw new RangeError(`triggered_at must be a number, got ${triggeredAt}`);
    const item = this.locks.get(jobId);
    if (!item) return false;
    // DynamoDB's `triggered_at = :t` compares an N with an N: a string never matches.
    if (triggeredAt !== undefined && item[ATTR.triggeredAt] !== triggeredAt) return false;
    this.locks.delete(jobId);
    return true;
  }

  async renewLock(jobId: string, seenTriggeredAt: number, triggeredAt: number): Promise<boolean> {
    checkJobId(jobId);
    if (!Number.isFinite(seenTriggeredAt)) throw new RangeError(`triggered_at must be a number, got ${seenTriggeredAt}`);
    checkSeconds('triggered_at', triggeredAt);
    const item = this.locks.get(jobId);
    if (!item || item[ATTR.triggeredAt] !== seenTriggeredAt || has(item, ATTR.reassemblyStartedAt)) return false;
    item[ATTR.triggeredAt] = triggeredAt;
    item[ATTR.ttl] = triggeredAt + LOCK_TTL_SECONDS;
    return true;
  }

  private decode<T>(table: PipelineTable, item: StoredItem, decoder: (item: StoredItem) => Decoded<T>): T {
    const { value, malformed } = decoder(item);
    noteMalformed(this.logger, table, item, malformed);
    return value;
  }
}
