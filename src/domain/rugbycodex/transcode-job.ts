// A `jobs` row with its `media_assets` row, as the transcode worker reads it (one request),
// and the check that a message really names it (RUGBYCODEX.md step 1).
import type { JobRef } from './transcode-message.js';
import type { JobState, MediaAssetStatus, ProcessingStage } from './transcode-state.js';

export interface TranscodeAsset {
  readonly id: string;
  readonly orgId: string;
  readonly bucket: string;
  /** The raw upload's key. */
  readonly storagePath: string;
  /** The player's base folder; blank means orgs/{org_id}/uploads/. */
  readonly baseOrgStoragePath: string | null;
  readonly processingStage: ProcessingStage;
  readonly status: MediaAssetStatus;
  readonly streamingReady: boolean;
}

export interface TranscodeJob {
  readonly id: string;
  readonly orgId: string;
  readonly mediaAssetId: string | null;
  readonly type: string;
  readonly state: JobState;
  readonly attempt: number;
  /** The holder's fencing token (src/domain/rugbycodex/transcode-hold.ts); null before the first start. */
  readonly startedAt: string | null;
  /** The holder's heartbeat while running. */
  readonly updatedAt: string;
  /** jobs.payload as stored: who holds the job (transcode-hold.ts), or whatever else was there. */
  readonly payload: unknown;
  /** Null when the job names no asset (or the asset row is gone). */
  readonly asset: TranscodeAsset | null;
}

export type CheckedJob = TranscodeJob & { readonly asset: TranscodeAsset };

/** The job `ref` names, or why the row is not it (then nothing may be written). */
export function checkJob(ref: JobRef, job: TranscodeJob | null): { ok: true; job: CheckedJob } | { ok: false; reason: string } {
  const refuse = (reason: string) => ({ ok: false as const, reason });
  if (job === null) return refuse(`no job ${ref.jobId} in jobs`);
  if (job.type !== 'transcode') return refuse(`job ${ref.jobId} is a ${JSON.stringify(job.type)} job, not a transcode`);
  if (job.mediaAssetId !== ref.mediaId) return refuse(`job ${ref.jobId} is for media ${job.mediaAssetId ?? 'none'}, not ${ref.mediaId}`);
  if (job.orgId !== ref.orgId) return refuse(`job ${ref.jobId} belongs to org ${job.orgId}, not ${ref.orgId}`);
  if (job.asset === null) return refuse(`media asset ${ref.mediaId} of job ${ref.jobId} does not exist`);
  if (job.asset.orgId !== ref.orgId) return refuse(`media asset ${ref.mediaId} belongs to org ${job.asset.orgId}, not ${ref.orgId}`);
  return { ok: true, job: job as CheckedJob };
}
