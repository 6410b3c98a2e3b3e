// The stereo pipeline's DynamoDB items (STEREO-SPOT.md "Resources"), as the roles see them.
// Attribute names belong to the DynamoDB adapter; these are the shapes both PipelineDb
// adapters hand out.

export const STEREO_MODES = ['anaglyph', 'sbs'] as const;
export type StereoMode = (typeof STEREO_MODES)[number];

/**
 * The statuses this pipeline writes, lifecycle order: created → chunking_in_progress →
 * chunking_complete → completed | failed at both versions; ingesting (and created after it)
 * and reassembling only in the b622b25 topology (job-state.ts STATUS_WRITES says who and over what).
 */
export const WRITABLE_STATUSES = ['created', 'ingesting', 'chunking_in_progress', 'chunking_complete', 'reassembling', 'completed', 'failed'] as const;
export type WritableStatus = (typeof WRITABLE_STATUSES)[number];
/** The web UI's soft delete (b622b25): read, never written by a worker. */
export const FOREIGN_STATUSES = ['deleted'] as const;

export interface StereoJob {
  readonly jobId: string;
  /** Always present on an item the web UI made; null only on a malformed item. */
  readonly mode: StereoMode | null;
  /** Any string the table holds: one of WRITABLE_STATUSES, a newer deployment's status, or something else. */
  readonly status: string;
  /** Unix seconds. */
  readonly createdAt: number | null;
  readonly totalSegments: number | null;
  /** Unix seconds. */
  readonly completedAt: number | null;
}

export interface SegmentCompletion {
  readonly jobId: string;
  readonly segmentIndex: number;
  /** s3://{output_bucket}/jobs/{job_id}/segments/{i}.mp4 */
  readonly outputS3Uri: string;
  /** Unix seconds. */
  readonly completedAt: number;
  readonly totalSegments: number | null;
}

/** The ReassemblyTriggered item: one per job, ever; its conditional put is the "exactly once". */
export interface ReassemblyLock {
  readonly jobId: string;
  /** Unix seconds. */
  readonly triggeredAt: number;
  /** triggeredAt + 90 days (the table's TTL attribute). */
  readonly ttl: number;
  /** Unix seconds; set when a reassembly has taken the job. */
  readonly reassemblyStartedAt: number | null;
}

/** How long a lock item lives before DynamoDB's TTL removes it. */
export const LOCK_TTL_SECONDS = 90 * 24 * 3600;
