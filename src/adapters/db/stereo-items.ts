// The stereo tables' item codec both PipelineDb adapters share: the attribute names of
// STEREO-SPOT.md, how a stored item maps to a record (whatever another writer left in the
// table), and the checks on what we write. It imports nothing with I/O, so local mode
// (the memory adapter) never loads the AWS SDK.
import type { Logger } from 'pino';
import { STEREO_MODES, WRITABLE_STATUSES } from '../../domain/stereo/records.js';
import type { ReassemblyLock, SegmentCompletion, StereoJob, StereoMode, WritableStatus } from '../../domain/stereo/records.js';
import type { TableKey } from '../../domain/requirements.js';
import type { InferenceInvocation } from '../../domain/stereo/inference-invocations.js';

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
  /** InferenceInvocations' key (b622b25): the OutputLocation (or FailureLocation) URI. */
  outputLocation: 'output_location',
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

/**
 * An InferenceInvocations row as it is put (STEREO-SPOT-MAIN.md §1.2, dynamodb_stores.py@b622b25:
 * 318-330): exactly `output_location, job_id, segment_index, total_segments, output_s3_uri,
 * created_at, ttl`, numbers as numbers, so a Python job-worker reads our rows as its own.
 */
export function invocationItem(row: InferenceInvocation): StoredItem {
  return {
    [ATTR.outputLocation]: row.outputLocation,
    [ATTR.jobId]: row.jobId,
    [ATTR.segmentIndex]: row.segmentIndex,
    [ATTR.totalSegments]: row.totalSegments,
    [ATTR.outputS3Uri]: row.outputS3Uri,
    [ATTR.createdAt]: row.createdAt,
    [ATTR.ttl]: row.ttl,
  };
}

/**
 * An InferenceInvocations row, ours or upstream's video-worker's. Null when it cannot say
 * which segment it is (no job id, segment index or total): such a row correlates nothing,
 * as upstream's job-worker would fail on it (KeyError) and retry until the DLQ. A missing
 * output_s3_uri is '' (job-status then uses the segment's usual output key).
 */
export function invocationFromItem(item: StoredItem): Decoded<InferenceInvocation> | null {
  const r = new Reader(item);
  const outputLocation = r.string(ATTR.outputLocation, { required: true });
  const jobId = r.string(ATTR.jobId, { required: true });
  const segmentIndex = r.number(ATTR.segmentIndex, { required: true, count: true });
  const totalSegments = r.number(ATTR.totalSegments, { required: true, count: true });
  if (outputLocation === null || jobId === null || jobId === '' || segmentIndex === null || totalSegments === null || totalSegments < 1) return null;
  const value: InferenceInvocation = {
    outputLocation, jobId, segmentIndex, totalSegments,
    outputS3Uri: r.string(ATTR.outputS3Uri, { required: true }) ?? '',
    createdAt: r.number(ATTR.createdAt, { required: true }) ?? 0,
    ttl: r.number(ATTR.ttl, { required: true }) ?? 0,
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

