// The MediaDb port: the RugbyCodex database (RUGBYCODEX.md), Supabase or memory.
import type { JobRef } from '../domain/rugbycodex/transcode-message.js';
import type { TranscodeJob } from '../domain/rugbycodex/transcode-job.js';
import type { TranscodeErrorCode } from '../domain/rugbycodex/transcode-state.js';
import type { ClaimFrom } from '../domain/rugbycodex/transcode-delivery.js';
import type { JobHolder } from '../domain/rugbycodex/transcode-hold.js';
import type { RequeueCandidate } from '../domain/rugbycodex/transcode-requeue.js';
import type { ComputeDeviceRow } from '../domain/compute-device.js';
import type { CoachAudioDeletion, CoachAudioSettlement } from '../domain/rugbycodex/coach-audio.js';

export type { JobRef } from '../domain/rugbycodex/transcode-message.js';
export type { TranscodeAsset, TranscodeJob } from '../domain/rugbycodex/transcode-job.js';
export type { JobState, ProcessingStage, TranscodeErrorCode } from '../domain/rugbycodex/transcode-state.js';
export type { RequeueCandidate } from '../domain/rugbycodex/transcode-requeue.js';
export type { ComputeDeviceRow, ComputeDeviceStatus } from '../domain/compute-device.js';
export type { CoachAudioDeletion, CoachAudioSettlement } from '../domain/rugbycodex/coach-audio.js';

/** What the asset row records about the storyboard (RUGBYCODEX.md step 9). */
export interface StoryboardRecord {
  /** Key of the first sprite sheet (thumbnail_path and thumbnail_sprite_path). */
  readonly spriteKey: string;
  readonly vttKey: string;
  readonly frameCount: number;
  readonly intervalSeconds: number;
  readonly width: number;
  readonly height: number;
}

/** What the job row records about the output (jobs.result). */
export interface TranscodeOutcome {
  readonly playlistKey: string;
  readonly renditions: ReadonlyArray<{ readonly name: string; readonly width: number; readonly height: number; readonly bandwidth: number }>;
  readonly durationSeconds: number | null;
}

export interface CleanupJob {
  readonly id: string;
  /** The deleted asset (media_asset_id): the only one whose folder the row may delete. */
  readonly mediaAssetId: string;
  /** That asset's org while its media_assets row still exists; null once it is gone (the usual case). */
  readonly assetOrgId: string | null;
  readonly bucket: string;
  readonly storagePath: string;
}

/** A delivery's hold on its job (src/domain/rugbycodex/transcode-hold.ts): the token its claim wrote. */
export interface JobHold {
  readonly ref: JobRef;
  /** jobs.started_at as the claim wrote it; every write of the holder is conditional on it. */
  readonly token: string;
}

export interface TranscodeClaim {
  readonly from: ClaimFrom;
  /** The message's receive count (jobs.attempt). */
  readonly attempt: number;
  readonly holder: JobHolder;
}

/**
 * The RugbyCodex database (Supabase in production, memory in local mode), written in the
 * order of RUGBYCODEX.md. Every write is conditional: on the states it may come from
 * (src/domain/rugbycodex/transcode-state.ts) and, for a holder, on its token, so a redelivery, a second
 * worker or a stale holder never undoes a settled row. Writes of a holder that was taken
 * over reject with HoldLostError (src/ports/errors.ts).
 */
export interface MediaDb {
  /** One cheap read: rejects as a real query would (credentials refused, unreachable). */
  ping(): Promise<void>;
  /** The job with its asset, in one read; null when there is no such job. */
  transcodeJob(jobId: string): Promise<TranscodeJob | null>;
  /**
   * Job → running with a new token (started_at, attempt, updated_at, payload naming the holder),
   * only if it is still where `claim.from` says; asset → transcoding. Null when another delivery moved first.
   */
  claimTranscode(ref: JobRef, claim: TranscodeClaim): Promise<JobHold | null>;
  /** The holder's heartbeat (jobs.updated_at); false when the job is no longer held with this token. */
  refreshHold(hold: JobHold): Promise<boolean>;
  /** media_assets.transcode_progress (integer %, and processing_stage transcoding again), jobs.progress (0–1). */
  reportProgress(hold: JobHold, progress: { encodePercent: number; jobFraction: number }): Promise<void>;
  /** Asset → transcoded (the encode is done). */
  markTranscoded(hold: JobHold): Promise<void>;
  /** Asset: streaming_ready and the storyboard columns. */
  publishStreaming(hold: JobHold, storyboard: StoryboardRecord | null): Promise<void>;
  /** Job → succeeded (finished_at, progress 1, result); done again by the same holder is harmless. */
  succeedJob(hold: JobHold, outcome: TranscodeOutcome): Promise<void>;
  /** Asset → complete, status ready: the player shows it. */
  completeAsset(hold: JobHold): Promise<void>;
  /**
   * Job → failed (finished_at, error_code, error_message): the held job, or without a hold a
   * queued one; then its asset → failed (processing_stage and status), never over complete.
   * Nothing when the job is someone else's.
   */
  failTranscode(ref: JobRef, hold: JobHold | null, code: TranscodeErrorCode, message: string): Promise<void>;
  /** A succeeded job's asset, moved back by another actor, complete and ready again (its output exists). */
  restoreAsset(ref: JobRef): Promise<void>;
  /** A failed job's asset, moved back to uploaded by another actor, failed again. */
  refailAsset(ref: JobRef): Promise<void>;
  /** Transcode jobs queued, or running, not updated since the given times; oldest first, at most `limit` of each. */
  requeueCandidates(query: { queuedBefore: string; runningBefore: string; limit: number }): Promise<RequeueCandidate[]>;
  /** Takes a resend: the job → queued, updated_at `at`, only if updated_at is still the one read (one reconciler wins). */
  markRequeued(job: RequeueCandidate, at: string): Promise<boolean>;
  /** Rows with processed_at null, oldest first, each with its asset's org when the asset still exists. */
  pendingCleanupJobs(): Promise<CleanupJob[]>;
  markCleanupProcessed(id: string): Promise<void>;
  /** Records the error; `final` (an invalid path) also sets processed_at, so no pass retries it. */
  markCleanupFailed(id: string, error: string, opts: { final: boolean }): Promise<void>;
  /**
   * The device heartbeat: inserts or updates this worker's compute_devices row (by name),
   * setting only the fields `row` carries. Rejects, writing nothing more, once `signal` aborts.
   */
  upsertComputeDevice(row: ComputeDeviceRow, opts?: { signal?: AbortSignal }): Promise<void>;
  /** segment_insight_audio_deletions rows whose status is pending, oldest first, every page. */
  pendingCoachAudioDeletions(): Promise<CoachAudioDeletion[]>;
  /**
   * Writes the outcome of a row's deletion, only if the row is still pending with the
   * `seenAttempts` it was read with: false (nothing written) when another worker or the edge
   * function got there first, so no attempt is counted twice and no settled row comes back.
   */
  settleCoachAudioDeletion(id: string, seenAttempts: number, settlement: CoachAudioSettlement): Promise<boolean>;
}
