// PipelineDb over in-memory items, for local mode and tests, with the DynamoDB adapter's
// semantics (src/adapters/db/dynamodb-pipeline.ts): items are kept as DynamoDB keeps them
// (the attribute names of STEREO-SPOT.md, any other attribute left alone), every write
// has the same condition, and an update of a missing item creates nothing.
//
// The first half of this file is the item codec both adapters share: attribute names,
// how a stored item maps to a record (whatever another writer left in the table), and the
// checks on what we write. It lives here because this module imports nothing; the
// DynamoDB module loads the AWS SDK, which local mode should not pay for.
import type { Logger } from 'pino';
import type { JobUpdateOutcome, PipelineDb } from '../../ports.js';
import { LOCK_TTL_SECONDS, STEREO_MODES, WRITABLE_STATUSES } from '../../domain/stereo/records.js';
import type { ReassemblyLock, SegmentCompletion, StereoJob, StereoMode, WritableStatus } from '../../domain/stereo/records.js';
import type { TableKey } from '../../domain/requirements.js';

// ---------------------------------------------------------------------------------------
// The item codec (shared with the DynamoDB adapter)
// ---------------------------------------------------------------------------------------

/** The three tables, by the name the adapters' options use. */
export type PipelineTable = 'jobs' | 'segmentCompletions' | 'reassemblyTriggered';

/** The setting that names each table, for error messages. */
export const TABLE_SETTINGS: Readonly<Record<PipelineTable, TableKey>> = {
  jobs: 'JOBS_TABLE_NAME',
  segmentCompletions: 'SEGMENT_COMPLETIONS_TABLE_NAME',
  reassemblyTriggered: 'REASSEMBLY_TRIGGERED_TABLE_NAME',
};

/** Attribute names (STEREO-SPOT.md "Resources"); `status` and `ttl` are DynamoDB reserved words. */
export const ATTR = {
  jobId: 'job_id',
  mode: 'mode',
  status: 'status',
  createdAt: 'created_at',
  totalSegments: 'total_segments',
  completedAt: 'completed_at',
  segmentIndex: 'segment_index',
  outputS3Uri: 'output_s3_uri',
  triggeredAt: 'triggered_at',
  ttl: 'ttl',
  reassemblyStartedAt: 'reassembly_started_at',
} as const;

/** The Jobs table's global secondary indexes (packages/aws-infra/dynamodb.tf), projection ALL. */
export const JOBS_BY_STATUS_CREATED = 'status-created_at';
export const JOBS_BY_STATUS_COMPLETED = 'status-completed_at';

/** At most this many statuses in an updateJob `from` (DynamoDB's IN takes up to 100 operands). */
export const MAX_FROM_STATUSES = 99;

/** An item as stored: attribute name → value (numbers as numbers, strings as strings, …). */
export type StoredItem = Record<string, unknown>;

export interface Decoded<T> {
  readonly value: T;
  /** Attributes that are absent though the contract requires them, or not of the contract's type. */
  readonly malformed: readonly string[];
}

const DECIMAL = /^\s*-?\d+(\.\d+)?\s*$/;

/**
 * A stored number: a number (DynamoDB N) as it is; a string holding a decimal number (an
 * S written by hand or by a careless writer) as that number, the way upstream's and the
 * web UI's pydantic models read it; anything else null.
 */
export function storedNumber(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && DECIMAL.test(v)) {
    const n = Number(v);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

/** A stored count or index: a stored number that is a non-negative safe integer, else null. */
export function storedCount(v: unknown): number | null {
  const n = storedNumber(v);
  return n !== null && Number.isSafeInteger(n) && n >= 0 ? n : null;
}

class Reader {
  readonly malformed: string[] = [];
  constructor(private readonly item: StoredItem) {}

  has(attr: string): boolean {
    return Object.hasOwn(this.item, attr) && this.item[attr] !== undefined;
  }

  /** `required`: absence is malformed too. A numeric string is mapped but noted. */
  number(attr: string, opts: { required?: boolean; count?: boolean } = {}): number | null {
    if (!this.has(attr)) {
      if (opts.required) this.malformed.push(attr);
      return null;
    }
    const raw = this.item[attr];
    const n = opts.count ? storedCount(raw) : storedNumber(raw);
    if (n === null || typeof raw !== 'number') this.malformed.push(attr);
    return n;
  }

  string(attr: string, opts: { required?: boolean } = {}): string | null {
    if (!this.has(attr)) {
      if (opts.required) this.malformed.push(attr);
      return null;
    }
    const raw = this.item[attr];
    if (typeof raw === 'string') return raw;
    this.malformed.push(attr);
    return null;
  }
}

/**
 * A Jobs item as a StereoJob. Never throws: a `mode` that is not exactly `anaglyph` or
 * `sbs` is null, a missing `status` is '' (any stored string is kept as it is, newer
 * deployments' statuses included), a number attribute that is neither a number nor a
 * decimal string is null.
 */
export function jobFromItem(item: StoredItem): Decoded<StereoJob> {
  const r = new Reader(item);
  const modeRaw = r.string(ATTR.mode, { required: true });
  const mode = modeRaw !== null && (STEREO_MODES as readonly string[]).includes(modeRaw) ? (modeRaw as StereoMode) : null;
  if (modeRaw !== null && mode === null) r.malformed.push(ATTR.mode);
  const value: StereoJob = {
    jobId: String(item[ATTR.jobId]),
    mode,
    status: r.string(ATTR.status, { required: true }) ?? '',
    createdAt: r.number(ATTR.createdAt),
    totalSegments: r.number(ATTR.totalSegments, { count: true }),
    completedAt: r.number(ATTR.completedAt),
  };
  return { value, malformed: r.malformed };
}

/** A SegmentCompletions item. A missing or unreadable `output_s3_uri` is '', `completed_at` 0. */
export function completionFromItem(item: StoredItem): Decoded<SegmentCompletion> {
  const r = new Reader(item);
  const value: SegmentCompletion = {
    jobId: String(item[ATTR.jobId]),
    segmentIndex: storedCount(item[ATTR.segmentIndex]) ?? 0,
    outputS3Uri: r.string(ATTR.outputS3Uri, { required: true }) ?? '',
    completedAt: r.number(ATTR.completedAt, { required: true }) ?? 0,
    totalSegments: r.number(ATTR.totalSegments, { count: true }),
  };
  return { value, malformed: r.malformed };
}

/**
 * A ReassemblyTriggered item. A missing or unreadable `triggered_at` or `ttl` is 0 (a lock
 * put by hand without a ttl: DynamoDB's TTL never removes it).
 */
export function lockFromItem(item: StoredItem): Decoded<ReassemblyLock> {
  const r = new Reader(item);
  const value: ReassemblyLock = {
    jobId: String(item[ATTR.jobId]),
    triggeredAt: r.number(ATTR.triggeredAt, { required: true }) ?? 0,
    ttl: r.number(ATTR.ttl, { required: true }) ?? 0,
    reassemblyStartedAt: r.number(ATTR.reassemblyStartedAt),
  };
  return { value, malformed: r.malformed };
}

/** Logs once per read item that does not match the contract (it was still mapped). */
export function noteMalformed(logger: Logger | undefined, table: string, item: StoredItem, malformed: readonly string[]): void {
  if (malformed.length === 0 || !logger) return;
  const fields: Record<string, unknown> = { event_type: 'pipeline_item_malformed', table, job_id: item[ATTR.jobId], attributes: malformed };
  if (item[ATTR.segmentIndex] !== undefined) fields.segment_index = storedNumber(item[ATTR.segmentIndex]);
  logger.warn(fields, 'stored item does not match the stereo-spot contract; read what could be mapped');
}

export function checkJobId(jobId: string): void {
  if (typeof jobId !== 'string' || jobId === '') throw new RangeError(`job id must be a non-empty string, got ${JSON.stringify(jobId)}`);
}

/** Beyond this a "unix seconds" value is milliseconds passed by mistake (it is the year 5138). */
const MAX_UNIX_SECONDS = 100_000_000_000;

/** Unix seconds, whole: a non-negative integer below MAX_UNIX_SECONDS. */
export function checkSeconds(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0 || v >= MAX_UNIX_SECONDS) {
    throw new RangeError(`${name} must be whole unix seconds (a non-negative integer, not milliseconds), got ${v}`);
  }
}

export interface JobChange {
  status: WritableStatus;
  totalSegments?: number;
  completedAt?: number;
}

/**
 * What updateJob may write: a status this pipeline writes (never a newer deployment's),
 * a whole `total_segments`, and `completed` only with its `completed_at` (the web UI lists
 * completed jobs through the status-completed_at index, which leaves out a job without one).
 * Returns the distinct `from` statuses.
 */
export function checkJobChange(change: JobChange, from: readonly string[] | undefined): string[] | undefined {
  if (!(WRITABLE_STATUSES as readonly string[]).includes(change.status)) {
    throw new RangeError(`job status ${JSON.stringify(change.status)} is not one this pipeline writes (${WRITABLE_STATUSES.join(', ')})`);
  }
  if (change.totalSegments !== undefined && (!Number.isSafeInteger(change.totalSegments) || change.totalSegments < 0)) {
    throw new RangeError(`total_segments must be a non-negative integer, got ${change.totalSegments}`);
  }
  if (change.completedAt !== undefined) checkSeconds('completed_at', change.completedAt);
  if (change.status === 'completed' && change.completedAt === undefined) throw new RangeError('status completed needs completed_at');
  if (from === undefined) return undefined;
  const distinct = [...new Set(from)];
  if (distinct.some((s) => typeof s !== 'string')) throw new RangeError('from must list statuses (strings)');
  if (distinct.length > MAX_FROM_STATUSES) throw new RangeError(`from lists ${distinct.length} statuses; at most ${MAX_FROM_STATUSES}`);
  return distinct;
}

export function checkCompletion(c: SegmentCompletion): void {
  checkJobId(c.jobId);
  if (!Number.isSafeInteger(c.segmentIndex) || c.segmentIndex < 0) throw new RangeError(`segment_index must be a non-negative integer, got ${c.segmentIndex}`);
  if (typeof c.outputS3Uri !== 'string' || c.outputS3Uri === '') throw new RangeError('output_s3_uri must be a non-empty string');
  checkSeconds('completed_at', c.completedAt);
  if (c.totalSegments !== null && (!Number.isSafeInteger(c.totalSegments) || c.totalSegments < 1)) {
    throw new RangeError(`total_segments must be a positive integer or null, got ${c.totalSegments}`);
  }
}

// ---------------------------------------------------------------------------------------
// The memory adapter
// ---------------------------------------------------------------------------------------

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
    const item = byIndex.get(c.segmentIndex) ?? { [ATTR.jobId]: c.jobId, [ATTR.segmentIndex]: c.segmentIndex };
    item[ATTR.outputS3Uri] = c.outputS3Uri;
    item[ATTR.completedAt] = c.completedAt;
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

  async takeLock(jobId: string, startedAt: number): Promise<boolean> {
    checkJobId(jobId);
    checkSeconds('reassembly_started_at', startedAt);
    const item = this.locks.get(jobId);
    if (!item || has(item, ATTR.reassemblyStartedAt)) return false;
    item[ATTR.reassemblyStartedAt] = startedAt;
    return true;
  }

  async releaseLock(jobId: string): Promise<void> {
    checkJobId(jobId);
    const item = this.locks.get(jobId);
    if (item) delete item[ATTR.reassemblyStartedAt];
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
