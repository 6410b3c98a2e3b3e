// The interfaces roles are written against (DESIGN §3). Roles import only these;
// src/cli.ts picks the adapters behind them from the configuration.
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Config } from './runtime/config/schema.js';
import type { Metrics } from './runtime/metrics.js';
import type { Service } from './runtime/lifecycle.js';
import type { BucketKey, QueueUrlKey, RoleNeeds } from './domain/requirements.js';

export type { Service } from './runtime/lifecycle.js';

export interface QueueMessage {
  readonly id: string;
  readonly body: string;
  /** How many times this message has been delivered, this delivery included (1 = first). */
  readonly receiveCount: number;
  /** Adapter-specific handle of this delivery (SQS receipt handle, Redis entry id). */
  readonly receipt: string;
}

export interface DeadLetter {
  readonly id: string;
  readonly body: string;
  /** Why it was dead-lettered, when the adapter knows (invalid body, too many receives, …). */
  readonly reason: string | null;
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
  /** Deliveries after which a message goes to the dead-letter queue; null without a DLQ. */
  readonly maxReceiveCount: number | null;
  /** Long-polls for up to `max` messages (any number; adapters batch as their service allows). Resolves [] when `signal` aborts. */
  receive(opts: { max: number; waitSeconds: number; visibilitySeconds?: number; signal?: AbortSignal }): Promise<QueueMessage[]>;
  /** Keeps the message hidden for `seconds` from now; LeaseLostError when it no longer can. */
  extend(msg: QueueMessage, seconds: number): Promise<void>;
  /** Gives the message back: visible again after `delaySeconds` (0 = at once). */
  release(msg: QueueMessage, delaySeconds?: number): Promise<void>;
  /** The work is done: delete the message. */
  ack(msg: QueueMessage): Promise<void>;
  /** Moves the message to the dead-letter queue now, with the reason (invalid body, permanent failure). */
  deadLetter(msg: QueueMessage, reason: string): Promise<void>;
  send(body: string, opts?: { delaySeconds?: number }): Promise<void>;
  peekDeadLetters(max: number): Promise<DeadLetter[]>;
  /** Moves every dead letter back to the main queue; resolves how many moved. */
  redrive(): Promise<number>;
  purgeDeadLetters(): Promise<number>;
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
  /** The object's bytes; the caller must consume or destroy the stream. */
  getStream(key: string, opts?: { signal?: AbortSignal }): Promise<Readable>;
  /** Streams to `file` (via `file.part`, renamed when complete; no partial file is left on failure). */
  download(key: string, file: string, opts?: { signal?: AbortSignal }): Promise<ObjectInfo>;
  /** A file path or a stream; large bodies go up in parallel parts. Resolves when the object is visible. */
  upload(source: string | NodeJS.ReadableStream, key: string, contentType: string, opts?: { signal?: AbortSignal }): Promise<ObjectInfo>;
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

/** Adapters chosen by src/cli.ts from the configuration; each is created once and shared. */
export interface RolePorts {
  /** The queue behind a queue setting (SQS URL, a Redis stream, or an in-process queue). */
  queue(key: QueueUrlKey): Promise<Queue>;
  /** The bucket named by a bucket setting, or by name (a message may name its own bucket). */
  storage(bucket: BucketKey | { name: string }): ObjectStore;
  mediaDb(): MediaDb;
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

/** RugbyCodex job states (transcode_jobs.status); transitions are decided in src/domain. */
export type TranscodeJobStatus = 'pending' | 'processing' | 'completed' | 'failed';

export type TranscodeErrorCode = 'INVALID_INPUT' | 'FFMPEG_ERROR' | 'DOWNLOAD_ERROR' | 'UPLOAD_ERROR' | 'DB_ERROR' | 'ABORTED';

export interface Rendition {
  readonly name: string; // e.g. "720p"
  readonly width: number;
  readonly height: number;
  readonly bandwidth: number; // bits/s as in the master playlist
  readonly playlist: string; // key relative to the streaming folder, e.g. "720p/index.m3u8"
}

export interface ClaimResult {
  /** `completed`: already done, ack and do nothing. `claimed`: this worker owns it now. */
  readonly outcome: 'claimed' | 'completed';
  readonly attempts: number;
  readonly orgId: string | null;
}

export interface TranscodeResult {
  readonly jobId: string;
  readonly assetId: string;
  readonly streamingPath: string; // key of master.m3u8
  readonly thumbnailPath: string; // key of poster.jpg
  readonly durationSeconds: number;
  readonly width: number;
  readonly height: number;
  readonly renditions: readonly Rendition[];
}

export interface CleanupJob {
  readonly id: string;
  readonly storagePath: string;
}

/** The RugbyCodex database (Supabase in production, memory in local mode). */
export interface MediaDb {
  /** Marks the job processing (attempts+1, worker_id, started_at) unless it is already completed. */
  claimTranscodeJob(jobId: string, assetId: string, workerId: string): Promise<ClaimResult>;
  updateProgress(jobId: string, percent: number): Promise<void>;
  /** Asset ready with its streaming data, then job completed with progress 100. */
  completeTranscode(result: TranscodeResult): Promise<void>;
  /** Job and asset failed with the code and a one-line message. */
  failTranscode(jobId: string, assetId: string, code: TranscodeErrorCode, message: string): Promise<void>;
  pendingCleanupJobs(): Promise<CleanupJob[]>;
  markCleanupProcessed(id: string, objectsDeleted: number): Promise<void>;
  markCleanupFailed(id: string, error: string): Promise<void>;
}
