// MediaDb over in-memory rows, for local mode and tests. Same rules as the Supabase
// adapter (src/adapters/db/supabase.ts): conditional writes, completed jobs untouched,
// progress never backwards, the asset written before the job.
import { randomUUID } from 'node:crypto';
import type { ClaimResult, CleanupJob, MediaDb, TranscodeErrorCode, TranscodeResult } from '../../ports.js';
import { DbError } from './db-error.js';
import { oneLine, progressValue, statusesThatMayBecome } from './schema.js';
import type { CleanupJobRow, MediaAssetRow, TranscodeJobRow } from './schema.js';

export interface MemoryMediaDbOptions {
  /** The clock for started_at, completed_at, processed_at and updated_at. */
  now?: () => Date;
}

export interface MemoryMediaDbRows {
  assets: MediaAssetRow[];
  jobs: TranscodeJobRow[];
  cleanupJobs: CleanupJobRow[];
}

export class MemoryMediaDb implements MediaDb {
  private readonly assets = new Map<string, MediaAssetRow>();
  private readonly jobs = new Map<string, TranscodeJobRow>();
  private readonly cleanupJobs = new Map<string, CleanupJobRow>();
  private readonly now: () => Date;

  constructor(options: MemoryMediaDbOptions = {}) {
    this.now = options.now ?? (() => new Date());
  }

  /** Inserts or replaces an asset; unspecified columns take the migration's defaults. */
  seedAsset(row: Partial<MediaAssetRow> = {}): MediaAssetRow {
    const at = this.timestamp();
    const full: MediaAssetRow = {
      id: randomUUID(), org_id: null, storage_path: null, streaming_path: null, thumbnail_path: null, status: 'uploaded',
      duration_seconds: null, width: null, height: null, renditions: null, error_code: null, error_message: null,
      created_at: at, updated_at: at, ...row,
    };
    this.assets.set(full.id, full);
    return structuredClone(full);
  }

  /** Inserts or replaces a job; as the foreign key does, it needs its asset to exist. */
  seedJob(row: Partial<TranscodeJobRow> & Pick<TranscodeJobRow, 'media_asset_id'>): TranscodeJobRow {
    if (!this.assets.has(row.media_asset_id)) throw new DbError('transcode_jobs', `media_asset_id ${row.media_asset_id} is not in media_assets`, { transient: false });
    const at = this.timestamp();
    const full: TranscodeJobRow = {
      id: randomUUID(), status: 'pending', progress: 0, attempts: 0, worker_id: null, error_code: null, error_message: null,
      started_at: null, completed_at: null, created_at: at, updated_at: at, ...row,
    };
    this.jobs.set(full.id, full);
    return structuredClone(full);
  }

  seedCleanupJob(row: Partial<CleanupJobRow> & Pick<CleanupJobRow, 'storage_path'>): CleanupJobRow {
    const full: CleanupJobRow = {
      id: randomUUID(), media_asset_id: null, processed_at: null, objects_deleted: null, error: null, created_at: this.timestamp(), ...row,
    };
    this.cleanupJobs.set(full.id, full);
    return structuredClone(full);
  }

  /** Copies of every row, in insertion order. */
  rows(): MemoryMediaDbRows {
    return structuredClone({ assets: [...this.assets.values()], jobs: [...this.jobs.values()], cleanupJobs: [...this.cleanupJobs.values()] });
  }

  async claimTranscodeJob(jobId: string, assetId: string, workerId: string): Promise<ClaimResult> {
    const job = this.jobs.get(jobId);
    if (!job) throw new DbError('transcode_jobs', `no job ${jobId}`, { transient: false });
    if (job.media_asset_id !== assetId) throw new DbError('transcode_jobs', `job ${jobId} belongs to asset ${job.media_asset_id}, not ${assetId}`, { transient: false });
    // A redelivered completed job: nothing is written, orgId is not needed.
    if (!statusesThatMayBecome('processing').includes(job.status)) return { outcome: 'completed', attempts: job.attempts, orgId: null };
    const at = this.timestamp();
    Object.assign(job, { status: 'processing', worker_id: workerId, started_at: at, attempts: job.attempts + 1, error_code: null, error_message: null, updated_at: at });
    const asset = this.assets.get(assetId);
    if (!asset) throw new DbError('media_assets', `no asset ${assetId}`, { transient: false });
    Object.assign(asset, { status: 'processing', error_code: null, error_message: null, updated_at: at });
    return { outcome: 'claimed', attempts: job.attempts, orgId: asset.org_id };
  }

  async updateProgress(jobId: string, percent: number): Promise<void> {
    const progress = progressValue(percent);
    const job = this.jobs.get(jobId);
    if (progress === null || !job || !(job.progress < progress)) return;
    Object.assign(job, { progress, updated_at: this.timestamp() });
  }

  async completeTranscode(result: TranscodeResult): Promise<void> {
    const at = this.timestamp();
    // Asset first: a crash in between leaves the job processing, and a redelivery redoes it.
    const asset = this.assets.get(result.assetId);
    if (!asset) throw new DbError('media_assets', `no asset ${result.assetId}`, { transient: false });
    Object.assign(asset, {
      status: 'ready', streaming_path: result.streamingPath, thumbnail_path: result.thumbnailPath, duration_seconds: result.durationSeconds,
      width: result.width, height: result.height, renditions: structuredClone(result.renditions), error_code: null, error_message: null, updated_at: at,
    });
    const job = this.jobs.get(result.jobId);
    if (!job) throw new DbError('transcode_jobs', `no job ${result.jobId}`, { transient: false });
    if (job.status === 'completed') return; // completed by an earlier delivery: harmless
    if (!statusesThatMayBecome('completed').includes(job.status)) {
      throw new DbError('transcode_jobs', `job ${result.jobId} is ${job.status} and cannot become completed`, { transient: false });
    }
    Object.assign(job, { status: 'completed', progress: 100, completed_at: at, error_code: null, error_message: null, updated_at: at });
  }

  async failTranscode(jobId: string, assetId: string, code: TranscodeErrorCode, message: string): Promise<void> {
    const at = this.timestamp();
    const error = { error_code: code, error_message: oneLine(message) };
    // A ready asset keeps its playable output whatever a late attempt reports.
    const asset = this.assets.get(assetId);
    if (asset && asset.status !== 'ready') Object.assign(asset, { status: 'failed', ...error, updated_at: at });
    const job = this.jobs.get(jobId);
    if (job && statusesThatMayBecome('failed').includes(job.status)) Object.assign(job, { status: 'failed', ...error, updated_at: at });
  }

  async pendingCleanupJobs(): Promise<CleanupJob[]> {
    return [...this.cleanupJobs.values()]
      .filter((row) => row.processed_at === null)
      .sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((row) => ({ id: row.id, storagePath: row.storage_path }));
  }

  async markCleanupProcessed(id: string, objectsDeleted: number): Promise<void> {
    const row = this.cleanupJobs.get(id);
    if (row && row.processed_at === null) Object.assign(row, { processed_at: this.timestamp(), objects_deleted: objectsDeleted, error: null });
  }

  async markCleanupFailed(id: string, error: string): Promise<void> {
    const row = this.cleanupJobs.get(id);
    if (row && row.processed_at === null) row.error = oneLine(error);
  }

  private timestamp(): string {
    return this.now().toISOString();
  }
}
