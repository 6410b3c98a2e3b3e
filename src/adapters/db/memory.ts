// MediaDb over in-memory rows, for local mode and tests. Same rules as the Supabase
// adapter (src/adapters/db/supabase.ts): the same conditional writes, in the same order.
import { randomUUID } from 'node:crypto';
import { DbError, HoldLostError } from '../../ports/index.js';
import type {
  CleanupJob, JobHold, JobRef, MediaDb, RequeueCandidate, StoryboardRecord, TranscodeClaim, TranscodeErrorCode, TranscodeJob, TranscodeOutcome,
} from '../../ports/index.js';
import { ASSET_WRITES, type AssetWrite } from '../../domain/rugbycodex/transcode-state.js';
import { nextToken } from '../../domain/rugbycodex/transcode-hold.js';
import { assetPatch, claimPatch, failedPatch, storyboardColumns, succeededPatch } from './transcode-patches.js';
import { encodePercentValue, jobFractionValue, oneLine } from './schema.js';
import type { CleanupJobRow, JobRow, MediaAssetRow } from './schema.js';
import type { CoachAudioDeletion, CoachAudioSettlement, ComputeDeviceRow } from '../../ports/index.js';

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
    return structuredClone({
      id: job.id, orgId: job.org_id, mediaAssetId: job.media_asset_id, type: job.type, state: job.state, attempt: job.attempt,
      startedAt: job.started_at, updatedAt: job.updated_at, payload: job.payload,
      asset: a ? {
        id: a.id, orgId: a.org_id, bucket: a.bucket, storagePath: a.storage_path, baseOrgStoragePath: a.base_org_storage_path,
        processingStage: a.processing_stage, status: a.status, streamingReady: a.streaming_ready,
      } : null,
    });
  }

  async claimTranscode(ref: JobRef, claim: TranscodeClaim): Promise<JobHold | null> {
    const { from } = claim;
    const job = this.jobs.get(ref.jobId);
    if (!job || job.state !== from.state) return null;
    if (from.state !== 'queued' && job.started_at !== from.startedAt) return null;
    const token = nextToken(this.now().getTime(), from.state === 'queued' ? null : from.startedAt);
    Object.assign(job, claimPatch(token, claim));
    this.updateAsset(ref, 'start', { transcode_progress: 0 });
    return { ref, token };
  }

  async refreshHold(hold: JobHold): Promise<boolean> {
    return this.touchHeld(hold, 'running', {});
  }

  async reportProgress(hold: JobHold, progress: { encodePercent: number; jobFraction: number }): Promise<void> {
    const percent = encodePercentValue(progress.encodePercent);
    const fraction = jobFractionValue(progress.jobFraction);
    this.fence(hold, 'running', fraction === null ? {} : { progress: fraction });
    if (percent !== null) this.updateAsset(hold.ref, 'progress', { transcode_progress: percent }, { required: false });
  }

  async markTranscoded(hold: JobHold): Promise<void> {
    this.fence(hold, 'running', {});
    this.updateAsset(hold.ref, 'transcoded', { transcode_progress: 100 });
  }

  async publishStreaming(hold: JobHold, storyboard: StoryboardRecord | null): Promise<void> {
    this.fence(hold, 'running', {});
    this.updateAsset(hold.ref, 'publish', { streaming_ready: true, ...storyboardColumns(storyboard) });
  }

  async succeedJob(hold: JobHold, outcome: TranscodeOutcome): Promise<void> {
    if (this.touchHeld(hold, 'running', structuredClone(succeededPatch(this.timestamp(), outcome)))) return;
    const job = this.jobs.get(hold.ref.jobId);
    if (job?.state === 'succeeded' && job.started_at === hold.token) return;
    throw new HoldLostError(`job ${hold.ref.jobId} is ${job?.state ?? 'gone'} and no longer held by this delivery`);
  }

  async completeAsset(hold: JobHold): Promise<void> {
    this.fence(hold, 'succeeded', {});
    this.updateAsset(hold.ref, 'complete', { streaming_ready: true });
  }

  async failTranscode(ref: JobRef, hold: JobHold | null, code: TranscodeErrorCode, message: string): Promise<void> {
    const patch = failedPatch(this.timestamp(), code, message);
    const job = this.jobs.get(ref.jobId);
    const failed = hold ? this.touchHeld(hold, 'running', patch) : job?.state === 'queued' && Boolean(Object.assign(job, patch));
    if (failed) this.updateAsset(ref, 'fail', {}, { required: false });
  }

  async restoreAsset(ref: JobRef): Promise<void> {
    this.updateAsset(ref, 'restore', { streaming_ready: true });
  }

  async refailAsset(ref: JobRef): Promise<void> {
    this.updateAsset(ref, 'refail', {}, { required: false });
  }

  async requeueCandidates(query: { queuedBefore: string; runningBefore: string; limit: number }): Promise<RequeueCandidate[]> {
    const pick = (state: 'queued' | 'running', before: string): RequeueCandidate[] => [...this.jobs.values()]
      .filter((j) => j.type === 'transcode' && j.state === state && j.media_asset_id !== null && Date.parse(j.updated_at) < Date.parse(before))
      .sort((a, b) => Date.parse(a.updated_at) - Date.parse(b.updated_at))
      .slice(0, query.limit)
      .map((j) => ({ jobId: j.id, mediaId: j.media_asset_id!, orgId: j.org_id, state, updatedAt: j.updated_at, startedAt: j.started_at }));
    return [...pick('queued', query.queuedBefore), ...pick('running', query.runningBefore)];
  }

  async markRequeued(job: RequeueCandidate, at: string): Promise<boolean> {
    const row = this.jobs.get(job.jobId);
    if (!row || row.state !== job.state || row.updated_at !== job.updatedAt) return false;
    Object.assign(row, { state: 'queued', updated_at: at });
    return true;
  }

  async pendingCleanupJobs(): Promise<CleanupJob[]> {
    return [...this.cleanupJobs.values()]
      .filter((row) => row.processed_at === null)
      .sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((row) => ({
        id: row.id, mediaAssetId: row.media_asset_id, assetOrgId: this.assets.get(row.media_asset_id)?.org_id ?? null, bucket: row.bucket, storagePath: row.storage_path,
      }));
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

  private touchHeld(hold: JobHold, state: 'running' | 'succeeded', patch: Partial<JobRow>): boolean {
    const job = this.jobs.get(hold.ref.jobId);
    if (!job || job.state !== state || job.started_at !== hold.token) return false;
    Object.assign(job, { updated_at: this.timestamp(), ...patch });
    return true;
  }

  private fence(hold: JobHold, state: 'running' | 'succeeded', patch: Partial<JobRow>): void {
    if (!this.touchHeld(hold, state, patch)) throw new HoldLostError(`job ${hold.ref.jobId} is no longer ${state} with this delivery's token`);
  }

  private updateAsset(ref: JobRef, write: AssetWrite, patch: Partial<MediaAssetRow>, opts: { required?: boolean } = {}): void {
    const rule = ASSET_WRITES[write];
    const asset = this.assets.get(ref.mediaId);
    if (asset && asset.org_id === ref.orgId && rule.from.includes(asset.processing_stage)) {
      Object.assign(asset, assetPatch(write, patch));
    } else if (opts.required !== false) {
      throw new DbError('media_assets', `cannot ${write}: asset ${ref.mediaId} of org ${ref.orgId} is gone or not ${rule.from.join('/')}`, { transient: false });
    }
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
