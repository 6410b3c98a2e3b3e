// The interfaces roles are written against (DESIGN §3). Roles import only these;
// src/wiring/ picks the adapters behind them from the configuration.
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Config } from './runtime/config/schema.js';
import type { Metrics } from './runtime/metrics.js';
import type { Service } from './runtime/lifecycle.js';
import type { BucketKey, QueueUrlKey, RoleNeeds } from './domain/requirements.js';
import type { PermissionCheck } from './domain/stereo/task-permissions.js';
import type { ProbeVerdict } from './domain/sqs-permissions.js';

export type { Service } from './runtime/lifecycle.js';

export interface QueueMessage {
  readonly id: string;
  readonly body: string;
  /** How many times this message has been delivered, this delivery included (1 = first). */
  readonly receiveCount: number;
  /** Adapter-specific handle of this delivery (SQS receipt handle, Redis entry id). */
  readonly receipt: string;
  /** When the message was sent, ms since the epoch (SQS SentTimestamp); absent when unknown. */
  readonly sentAt?: number;
}

export interface DeadLetter {
  readonly id: string;
  readonly body: string;
  /** Why it was dead-lettered, when the adapter knows (invalid body, too many receives, …). */
  readonly reason: string | null;
  /** Deliveries so far as the service counts them (SQS ApproximateReceiveCount, peeks included); absent when unknown. */
  readonly receiveCount?: number;
}

/** How many messages a queue holds, for operators (`jobs diagnose`). */
export interface QueueDepth {
  /** Waiting to be received (delayed sends included). */
  readonly visible: number;
  /** Received and not yet acked, or released with a delay: hidden for now. */
  readonly inflight: number;
  /** In the dead-letter queue, hidden ones included; null without one. */
  readonly dlq: number | null;
}

/**
 * How a redrive moves the letters, which says what an interruption can leave behind:
 * - move-task: SQS moves them itself (StartMessageMoveTask); stopping the caller does not stop it.
 * - copy: one at a time, receive → send → delete; a crash can leave the one message in hand in both queues, never in neither.
 * - atomic: in server-side steps that cannot be cut in half (a Redis script, the in-process queue).
 */
export type RedriveMethod = 'move-task' | 'copy' | 'atomic';

export type RedriveProgress =
  | { readonly kind: 'started'; readonly method: RedriveMethod; readonly waiting: number; readonly taskHandle?: string }
  | { readonly kind: 'moved'; readonly moved: number };

export interface RedriveOptions {
  /** Stop after the message in hand (copy, atomic), or stop waiting for the move task (it goes on). */
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: RedriveProgress) => void;
}

/** The lease on a message is gone (expired and taken by another worker, or acked). */
export class LeaseLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LeaseLostError';
  }
}

export interface Queue {
  /** For logs and metrics, e.g. the queue name from its URL or the stream key. */
  readonly name: string;
  /** Deliveries after which a message goes to the dead-letter queue (assumed where it cannot be read); null without a DLQ. */
  readonly maxReceiveCount: number | null;
  /** Long-polls for up to `max` messages (any number; adapters batch as their service allows). Resolves [] when `signal` aborts. */
  receive(opts: { max: number; waitSeconds: number; visibilitySeconds?: number; signal?: AbortSignal }): Promise<QueueMessage[]>;
  /** Keeps the message hidden for `seconds` from now; LeaseLostError when it no longer can. */
  extend(msg: QueueMessage, seconds: number): Promise<void>;
  /** Gives the message back: visible again after `delaySeconds` (0 = at once). */
  release(msg: QueueMessage, delaySeconds?: number): Promise<void>;
  /** The work is done: delete the message. */
  ack(msg: QueueMessage): Promise<void>;
  /** Moves the message to the dead-letter queue now, with the reason (invalid body, permanent failure); where not allowed to, leaves it to the queue's own redrive. */
  deadLetter(msg: QueueMessage, reason: string): Promise<void>;
  send(body: string, opts?: { delaySeconds?: number }): Promise<void>;
  peekDeadLetters(max: number): Promise<DeadLetter[]>;
  /** Moves every dead letter back to the main queue (until `signal` aborts); resolves how many moved. */
  redrive(opts?: RedriveOptions): Promise<number>;
  purgeDeadLetters(): Promise<number>;
  /** Messages waiting, in flight and dead-lettered (approximate on SQS). */
  depth(): Promise<QueueDepth>;
  close(): Promise<void>;
}

export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
  readonly etag?: string;
  readonly lastModified?: Date;
  /** From head, download and upload; list leaves it out, as ListObjectsV2 does. */
  readonly contentType?: string;
}

/** Bytes `start` … `end` of an object (`end` inclusive, as in HTTP; absent or past the object: to its last byte). */
export interface ReadRange {
  readonly start: number;
  readonly end?: number;
}

export interface GetStreamOptions {
  signal?: AbortSignal;
  /** A range starting at or past the end of the object rejects with a RangeError; end before start too. */
  range?: ReadRange;
}

export interface DownloadOptions {
  signal?: AbortSignal;
  /**
   * After each write: how many leading bytes of the object `file.part` holds so far, readable
   * there while the download goes on (a resumed download goes on from them). Must not throw.
   */
  onProgress?: (bytesOnDisk: number) => void;
}

/**
 * Keys are checked by assertSafeKey (src/domain/object-keys.ts): an unsafe key rejects
 * with UnsafeKeyError before anything is read or written; a missing object rejects
 * download/getStream with ObjectNotFoundError.
 */
export interface ObjectStore {
  readonly bucket: string;
  /** null when there is no such object. */
  head(key: string): Promise<ObjectInfo | null>;
  exists(key: string): Promise<boolean>;
  /** The object's bytes, or with `range` those bytes of it; the caller must consume or destroy the stream. */
  getStream(key: string, opts?: GetStreamOptions): Promise<Readable>;
  /** Streams to `file` (via `file.part`, renamed when complete; no partial file is left on failure). */
  download(key: string, file: string, opts?: DownloadOptions): Promise<ObjectInfo>;
  /** A file path or a stream; large bodies go up in parallel parts. Resolves when the object is visible. */
  upload(source: string | NodeJS.ReadableStream, key: string, contentType: string, opts?: { signal?: AbortSignal }): Promise<ObjectInfo>;
  /**
   * `sourceKey` of `source` (this store or another) copied to `key` with `contentType`:
   * server-side where the backend reaches both (S3 CopyObject, a file copy), else streamed
   * through this process. ObjectNotFoundError when the source is missing.
   */
  copyFrom(source: ObjectStore, sourceKey: string, key: string, contentType: string, opts?: { signal?: AbortSignal }): Promise<ObjectInfo>;
  /** Every object whose key starts with `prefix`, in key order, across all pages. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** Missing keys count as deleted (as in S3); per-key failures land in `errors`, the call does not throw for them. */
  deleteMany(keys: readonly string[]): Promise<{ deleted: string[]; errors: Array<{ key: string; message: string }> }>;
}

/** A started role; with --once, `done` resolves when its unit of work is finished. */
export interface RoleService extends Service {
  readonly done?: Promise<void>;
  /** With --once, read after `done`: non-zero when the unit of work failed (the process exits with the highest). */
  readonly exitCode?: () => number;
}

/** Everything a role may use; which parts are present follows from its declared needs. */
export interface RoleContext {
  readonly config: Config;
  /** This worker's name in job rows, logs and metrics. */
  readonly instanceId: string;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Aborted when shutdown starts: stop taking new work. */
  readonly stopping: AbortSignal;
  readonly concurrency: number;
  readonly once: boolean;
  /** --dry-run: report what would be done, change nothing (only roles whose definition says `dryRun`). */
  readonly dryRun?: boolean;
  readonly ports: RolePorts;
}

/** Adapters chosen by src/wiring/ from the configuration; each is created once and shared. */
export interface RolePorts {
  /** The queue behind a queue setting (SQS URL, a Redis stream, or an in-process queue). */
  queue(key: QueueUrlKey): Promise<Queue>;
  /** The bucket named by a bucket setting, a RugbyCodex media bucket (Wasabi) named by a row, or an AWS bucket named by an s3:// URI. */
  storage(bucket: BucketKey | { media: string } | { aws: string }): ObjectStore;
  mediaDb(): MediaDb;
  /** The stereo tables (created, and its SDK loaded, on first use). */
  pipelineDb(): Promise<PipelineDb>;
  /** The INFERENCE_BACKEND of segment-infer. */
  inference(): Promise<Inference>;
  /** Asks whether the credentials hold IAM permissions, with calls that change nothing; absent (local mode): every one is there. */
  permissions?(): PermissionProbe;
}

/** One verdict per check, in order: present, missing (the IAM policy refuses it) or unknown (no answer). */
export interface PermissionProbe {
  probe(checks: readonly PermissionCheck[]): Promise<ProbeVerdict[]>;
}

export interface RoleDefinition {
  readonly name: string;
  readonly description: string;
  readonly needs: RoleNeeds;
  /** The role honours --dry-run; the command line refuses the flag for any other. */
  readonly dryRun?: boolean;
  /** Absent while the role's issue has not landed: starting it says so and exits 2. */
  readonly start?: (ctx: RoleContext) => Promise<RoleService>;
}

import type { JobRef } from './domain/transcode-message.js';
import type { TranscodeJob } from './domain/transcode-job.js';
import type { TranscodeErrorCode } from './domain/transcode-state.js';
import type { ClaimFrom } from './domain/transcode-delivery.js';
import type { JobHolder } from './domain/transcode-hold.js';
import type { RequeueCandidate } from './domain/transcode-requeue.js';

export type { JobRef } from './domain/transcode-message.js';
export type { TranscodeAsset, TranscodeJob } from './domain/transcode-job.js';
export type { JobState, ProcessingStage, TranscodeErrorCode } from './domain/transcode-state.js';
export type { RequeueCandidate } from './domain/transcode-requeue.js';

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

/** A delivery's hold on its job (src/domain/transcode-hold.ts): the token its claim wrote. */
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

/** The job is no longer held with this token: another delivery took it over. Stop, change nothing, ack. */
export class HoldLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HoldLostError';
  }
}

import type { ComputeDeviceRow } from './domain/compute-device.js';
import type { CoachAudioDeletion, CoachAudioSettlement } from './domain/coach-audio.js';

export type { ComputeDeviceRow, ComputeDeviceStatus } from './domain/compute-device.js';
export type { CoachAudioDeletion, CoachAudioSettlement } from './domain/coach-audio.js';

/**
 * The RugbyCodex database (Supabase in production, memory in local mode), written in the
 * order of RUGBYCODEX.md. Every write is conditional: on the states it may come from
 * (src/domain/transcode-state.ts) and, for a holder, on its token, so a redelivery, a second
 * worker or a stale holder never undoes a settled row. Writes of a holder that was taken
 * over reject with HoldLostError.
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

import type { ReassemblyLock, SegmentCompletion, StereoJob, StereoMode, WritableStatus } from './domain/stereo/records.js';

export type { ReassemblyLock, SegmentCompletion, StereoJob, StereoMode, WritableStatus } from './domain/stereo/records.js';

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

/** One segment to convert: the backend reads `inputUri` and writes `outputUri` itself (as SageMaker does). */
export interface InferenceRequest {
  readonly inputUri: string;
  readonly outputUri: string;
  readonly mode: StereoMode;
  readonly signal: AbortSignal;
  readonly logger: Logger;
}

/** A segment's stereo conversion: stub (a copy), ffmpeg (naive, local), http, sagemaker. */
export interface Inference {
  readonly name: string;
  /** Resolves once the output object is written; a PermanentError when retrying cannot help. */
  process(req: InferenceRequest): Promise<void>;
}
