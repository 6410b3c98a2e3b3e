// MediaDb over in-memory rows, for local mode and tests. Same rules as the Supabase
// adapter (src/adapters/db/supabase.ts): the same conditional writes, in the same order.
import { randomUUID } from 'node:crypto';
import type { CleanupJob, JobRef, MediaDb, StoryboardRecord, TranscodeErrorCode, TranscodeJob, TranscodeOutcome } from '../../ports.js';
import { jobStatesBefore, stagesBefore, type JobState, type ProcessingStage } from '../../domain/transcode-state.js';
import { DbError } from './db-error.js';
import { encodePercentValue, jobFractionValue, oneLine } from './schema.js';
import type { CleanupJobRow, JobRow, MediaAssetRow } from './schema.js';
import type { CoachAudioDeletion, CoachAudioSettlement, ComputeDeviceRow } from '../../ports.js';

export interface MemoryMediaDbOptions {
  /** The clock for started_at, finished_at, updated_at and processed_at. */
  now?: () => Date;
}

export interface MemoryMediaDbRows {
  assets: MediaAssetRow[];
  jobs: JobRow[];
  cleanupJobs: CleanupJobRow[];
}

export class MemoryMediaDb implements MediaDb {
  private readonly assets = new Map<string, MediaAssetRow>();
  private readonly jobs = new Map<string, JobRow>();
  private readonly cleanupJobs = new Map<string, CleanupJobRow>();
  private readonly now: () => Date;

  constructor(options: MemoryMediaDbOptions = {}) {
    this.now = options.now ?? (() => new Date());
  }

  async ping(): Promise<void> {
    // Always reachable.
  }

  /** Inserts or replaces an asset as complete-upload leaves it (uploaded); unspecified columns take the table's defaults. */
  seedAsset(row: Partial<MediaAssetRow> & Pick<MediaAssetRow, 'org_id' | 'storage_path'>): MediaAssetRow {
    const full: MediaAssetRow = {
      id: randomUUID(), bucket: 'rugbycodex', file_name: row.storage_path.slice(row.storage_path.lastIndexOf('/') + 1), base_org_storage_path: '',
      status: 'uploaded', processing_stage: 'uploaded', transcode_progress: 0, streaming_ready: false, duration_seconds: 0,
      thumbnail_path: null, thumbnail_sprite_path: null, thumbnail_vtt_path: null, thumbnail_frame_count: null, thumbnail_interval_seconds: null,
      thumbnail_width: null, thumbnail_height: null, created_at: this.timestamp(), ...row,
    };
    this.assets.set(full.id, full);
    return structuredClone(full);
  }

  /** Inserts or replaces a transcode job (queued); as the foreign key does, it needs its asset to exist. */
  seedJob(row: Partial<JobRow> & Pick<JobRow, 'media_asset_id' | 'org_id'>): JobRow {
    if (row.media_asset_id !== null && !this.assets.has(row.media_asset_id)) {
      throw new DbError('jobs', `media_asset_id ${row.media_asset_id} is not in media_assets`, { transient: false });
    }
    const at = this.timestamp();
    const full: JobRow = {
      id: randomUUID(), type: 'transcode', state: 'queued', progress: 0, error_code: null, error_message: null, attempt: 1,
      payload: null, result: null, created_at: at, updated_at: at, started_at: null, finished_at: null, ...row,
    };
    this.jobs.set(full.id, full);
    return structuredClone(full);
  }

  seedCleanupJob(row: Partial<CleanupJobRow> & Pick<CleanupJobRow, 'storage_path' | 'bucket'>): CleanupJobRow {
    const full: CleanupJobRow = { id: randomUUID(), media_asset_id: randomUUID(), processed_at: null, error: null, created_at: this.timestamp(), ...row };
    this.cleanupJobs.set(full.id, full);
    return structuredClone(full);
  }

  /** Copies of every row, in insertion order. */
  rows(): MemoryMediaDbRows {
    return structuredClone({ assets: [...this.assets.values()], jobs: [...this.jobs.values()], cleanupJobs: [...this.cleanupJobs.values()] });
  }

  async transcodeJob(jobId: string): Promise<TranscodeJob | null> {
    const job = this.jobs.get(jobId);
    if (!job) return null;
    const a = job.media_asset_id === null ? undefined : this.assets.get(job.media_asset_id);
    return {
      id: job.id, orgId: job.org_id, mediaAssetId: job.media_asset_id, type: job.type, state: job.state, attempt: job.attempt,
      asset: a ? {
        id: a.id, orgId: a.org_id, bucket: a.bucket, storagePath: a.storage_path, baseOrgStoragePath: a.base_org_storage_path,
        processingStage: a.processing_stage, streamingReady: a.streaming_ready,
      } : null,
    };
  }

  async startTranscode(ref: JobRef, attempt: number): Promise<boolean> {
    const at = this.timestamp();
    if (!this.updateJob(ref, jobStatesBefore('running'), { state: 'running', started_at: at, attempt: Math.max(1, attempt), updated_at: at })) return false;
    this.updateAsset(ref, stagesBefore('transcoding'), { processing_stage: 'transcoding', transcode_progress: 0 }, 'start transcoding');
    return true;
  }

  async reportProgress(ref: JobRef, progress: { encodePercent: number; jobFraction: number }): Promise<void> {
    const percent = encodePercentValue(progress.encodePercent);
    const fraction = jobFractionValue(progress.jobFraction);
    const asset = this.asset(ref, ['transcoding']);
    if (asset && percent !== null) asset.transcode_progress = percent;
    const job = this.jobs.get(ref.jobId);
    if (job && fraction !== null && job.state === 'running' && job.progress < fraction) Object.assign(job, { progress: fraction, updated_at: this.timestamp() });
  }

  async markTranscoded(ref: JobRef): Promise<void> {
    this.updateAsset(ref, stagesBefore('transcoded'), { processing_stage: 'transcoded', transcode_progress: 100 }, 'mark transcoded');
  }

  async publishStreaming(ref: JobRef, storyboard: StoryboardRecord | null): Promise<void> {
    this.updateAsset(ref, ['transcoded'], {
      streaming_ready: true,
      ...(storyboard && {
        thumbnail_path: storyboard.spriteKey, thumbnail_sprite_path: storyboard.spriteKey, thumbnail_vtt_path: storyboard.vttKey,
        thumbnail_frame_count: storyboard.frameCount, thumbnail_interval_seconds: storyboard.intervalSeconds,
        thumbnail_width: storyboard.width, thumbnail_height: storyboard.height,
      }),
    }, 'publish the stream');
  }

  async succeedJob(ref: JobRef, outcome: TranscodeOutcome): Promise<void> {
    const at = this.timestamp();
    const result = structuredClone({ playlist: outcome.playlistKey, renditions: outcome.renditions, duration_seconds: outcome.durationSeconds });
    if (this.updateJob(ref, jobStatesBefore('succeeded'), { state: 'succeeded', finished_at: at, progress: 1, result, updated_at: at })) return;
    const state = this.jobs.get(ref.jobId)?.state;
    if (state === 'succeeded') return;
    throw new DbError('jobs', `job ${ref.jobId} is ${state ?? 'gone'} and cannot become succeeded`, { transient: false });
  }

  async completeAsset(ref: JobRef): Promise<void> {
    this.updateAsset(ref, [...stagesBefore('complete'), 'complete'], { processing_stage: 'complete', status: 'ready' }, 'complete');
  }

  async failTranscode(ref: JobRef, code: TranscodeErrorCode, message: string): Promise<void> {
    const at = this.timestamp();
    this.updateJob(ref, jobStatesBefore('failed'), { state: 'failed', finished_at: at, error_code: code, error_message: oneLine(message), updated_at: at });
    const asset = this.asset(ref, stagesBefore('failed'));
    if (asset) asset.processing_stage = 'failed';
  }

  async pendingCleanupJobs(): Promise<CleanupJob[]> {
    return [...this.cleanupJobs.values()]
      .filter((row) => row.processed_at === null)
      .sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((row) => ({ id: row.id, bucket: row.bucket, storagePath: row.storage_path }));
  }

  async markCleanupProcessed(id: string): Promise<void> {
    const row = this.cleanupJobs.get(id);
    if (row && row.processed_at === null) Object.assign(row, { processed_at: this.timestamp(), error: null });
  }

  async markCleanupFailed(id: string, error: string, opts: { final: boolean }): Promise<void> {
    const row = this.cleanupJobs.get(id);
    if (!row || row.processed_at !== null) return;
    row.error = oneLine(error);
    if (opts.final) row.processed_at = this.timestamp();
  }

  private updateJob(ref: JobRef, from: readonly JobState[], patch: Partial<JobRow>): boolean {
    const job = this.jobs.get(ref.jobId);
    if (!job || !from.includes(job.state)) return false;
    Object.assign(job, patch);
    return true;
  }

  private asset(ref: JobRef, from: readonly ProcessingStage[]): MediaAssetRow | null {
    const asset = this.assets.get(ref.mediaId);
    return asset && asset.org_id === ref.orgId && from.includes(asset.processing_stage) ? asset : null;
  }

  private updateAsset(ref: JobRef, from: readonly ProcessingStage[], patch: Partial<MediaAssetRow>, what: string): void {
    const asset = this.asset(ref, from);
    if (!asset) throw new DbError('media_assets', `cannot ${what}: asset ${ref.mediaId} of org ${ref.orgId} is gone or not ${from.join('/')}`, { transient: false });
    Object.assign(asset, patch);
  }

  private timestamp(): string {
    return this.now().toISOString();
  }

  // compute_devices (the device heartbeat), by name.
  private readonly devices = new Map<string, ComputeDeviceRow>();

  async upsertComputeDevice(row: ComputeDeviceRow, opts: { signal?: AbortSignal } = {}): Promise<void> {
    opts.signal?.throwIfAborted();
    // As the upsert does: what the row carries replaces, the rest stays.
    const sent = Object.fromEntries(Object.entries(row).filter(([, v]) => v !== undefined)) as unknown as ComputeDeviceRow;
    this.devices.set(row.name, { ...this.devices.get(row.name), ...sent });
  }

  /** A copy of a device's row as the upserts left it; undefined before the first. */
  computeDevice(name: string): ComputeDeviceRow | undefined {
    const row = this.devices.get(name);
    return row && { ...row };
  }

  // segment_insight_audio_deletions (coach audio the cleanup role deletes), by id.
  private readonly coachAudio = new Map<string, MemoryCoachAudioRow>();

  async pendingCoachAudioDeletions(): Promise<CoachAudioDeletion[]> {
    return [...this.coachAudio.values()]
      .filter((r) => r.status === 'pending')
      .sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((r) => ({ id: r.id, coachAudioUrl: r.coachAudioUrl, storageBucket: r.storageBucket, storageKey: r.storageKey, attemptCount: r.attemptCount }));
  }

  async settleCoachAudioDeletion(id: string, seenAttempts: number, settlement: CoachAudioSettlement): Promise<boolean> {
    const row = this.coachAudio.get(id);
    if (!row || row.status !== 'pending' || row.attemptCount !== seenAttempts) return false;
    Object.assign(row, {
      status: settlement.status, attemptCount: settlement.attemptCount, lastError: settlement.lastError === null ? null : oneLine(settlement.lastError),
      ...(settlement.processed && { processedAt: this.timestamp() }),
    });
    return true;
  }

  /** Inserts a row as the app leaves one: pending, no attempt yet; unspecified fields take the table's defaults. */
  seedCoachAudioDeletion(row: Partial<MemoryCoachAudioRow> & Pick<MemoryCoachAudioRow, 'coachAudioUrl'>): MemoryCoachAudioRow {
    const full: MemoryCoachAudioRow = {
      id: randomUUID(), storageBucket: null, storageKey: null, status: 'pending', attemptCount: 0, lastError: null, createdAt: this.timestamp(), processedAt: null, ...row,
    };
    this.coachAudio.set(full.id, full);
    return { ...full };
  }

  coachAudioDeletion(id: string): MemoryCoachAudioRow | undefined {
    const row = this.coachAudio.get(id);
    return row && { ...row };
  }
}

/** A segment_insight_audio_deletions row as the memory adapter keeps it. */
export interface MemoryCoachAudioRow {
  id: string;
  coachAudioUrl: string;
  storageBucket: string | null;
  storageKey: string | null;
  status: 'pending' | 'processing' | 'completed' | 'failed';
  attemptCount: number;
  lastError: string | null;
  createdAt: string;
  processedAt: string | null;
}
