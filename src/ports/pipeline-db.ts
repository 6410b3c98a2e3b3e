// The PipelineDb port: the stereo pipeline's tables (STEREO-SPOT.md), DynamoDB or memory.
import type { ReassemblyLock, SegmentCompletion, StereoJob, WritableStatus } from '../domain/stereo/records.js';

export type { ReassemblyLock, SegmentCompletion, StereoJob, StereoMode, WritableStatus } from '../domain/stereo/records.js';

/** What a conditional Jobs update found. `missing`: no such job (and none was created). */
export type JobUpdateOutcome = 'updated' | 'missing' | 'conflict';

/**
 * The stereo pipeline's tables (DynamoDB in production, memory in local mode). Reads that a
 * decision depends on are strongly consistent; every query reads all its pages; a Jobs
 * update never creates an item.
 */
export interface PipelineDb {
  getJob(jobId: string): Promise<StereoJob | null>;
  /**
   * Sets `status` (and the given fields) on an existing job whose status is one of `from`
   * (any status when absent). `conflict`: the job is in another status.
   */
  updateJob(jobId: string, change: { status: WritableStatus; totalSegments?: number; completedAt?: number }, from?: readonly string[]): Promise<JobUpdateOutcome>;
  /** Jobs in `status`, oldest created first, every page (the status-created_at index). */
  jobsInStatus(status: WritableStatus): AsyncIterable<StereoJob>;
  /** Idempotent: the same segment recorded twice is one completion. */
  putCompletion(completion: SegmentCompletion): Promise<void>;
  /** Every completion of the job, by segment index. */
  completions(jobId: string): Promise<SegmentCompletion[]>;
  countCompletions(jobId: string): Promise<number>;
  getLock(jobId: string): Promise<ReassemblyLock | null>;
  /** The conditional put: true when this call created the lock, false when one stands. */
  putLock(jobId: string, triggeredAt: number): Promise<boolean>;
  /**
   * Sets reassembly_started_at on a lock that has none, or (with `staleBefore`) whose
   * reassembly_started_at is older than that (its holder stopped refreshing it: dead).
   * True when this call took the job.
   */
  takeLock(jobId: string, startedAt: number, opts?: { staleBefore?: number }): Promise<boolean>;
  /**
   * The holder's heartbeat: moves reassembly_started_at from `seenStartedAt` to `startedAt`.
   * False when the lock is gone or another reassembly took it over (the holder must stop).
   */
  refreshLock(jobId: string, seenStartedAt: number, startedAt: number): Promise<boolean>;
  /** Removes reassembly_started_at (a failed reassembly gives the job back); with `startedAt`, only its own. */
  releaseLock(jobId: string, startedAt?: number): Promise<void>;
  /** Deletes the lock (a stale lock's repair); with `triggeredAt`, only that lock. */
  deleteLock(jobId: string, triggeredAt?: number): Promise<boolean>;
  /**
   * Moves an untaken lock's triggered_at (and ttl) from `seenTriggeredAt` to `triggeredAt`:
   * true when this call did, false when the lock is gone, taken or renewed by someone else.
   * The resend of a lost reassembly message (lost-job 2) renews first, so one resend is made
   * per grace period, not one per reconciler pass while the message waits in the queue.
   */
  renewLock(jobId: string, seenTriggeredAt: number, triggeredAt: number): Promise<boolean>;
}
