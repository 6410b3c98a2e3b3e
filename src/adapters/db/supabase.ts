// MediaDb on Supabase through PostgREST (@supabase/supabase-js), against the live tables
// of RUGBYCODEX.md (`jobs`, `media_assets`, `media_cleanup_jobs`). Every write is one
// conditional request: its filter carries the state rule (src/domain/transcode-state.ts),
// so a redelivered message or a second worker changes nothing that is already settled.
import { createClient } from '@supabase/supabase-js';
import type { PostgrestError, SupabaseClient, SupabaseClientOptions } from '@supabase/supabase-js';
import type { CleanupJob, JobRef, MediaDb, StoryboardRecord, TranscodeErrorCode, TranscodeJob, TranscodeOutcome } from '../../ports.js';
import { jobStatesBefore, stagesBefore } from '../../domain/transcode-state.js';
import { SUPABASE_REQUEST_TIMEOUT_MS } from '../../domain/request-timeouts.js';
import { DbError } from './db-error.js';
import { encodePercentValue, jobFractionValue, oneLine } from './schema.js';
import type { CleanupJobRow, JobRow, MediaAssetRow } from './schema.js';
import type { CoachAudioDeletion, CoachAudioSettlement, ComputeDeviceRow } from '../../ports.js';

export interface SupabaseMediaDbOptions {
  /** SUPABASE_URL, e.g. https://xyz.supabase.co (requests go to <url>/rest/v1/<table>). */
  url: string;
  /** SUPABASE_SERVICE_ROLE_KEY: sent as `apikey` and `Authorization: Bearer`; bypasses RLS. */
  serviceRoleKey: string;
  /** The clock for started_at, finished_at, updated_at and processed_at. */
  now?: () => Date;
  /** Per-request timeout; a hung request fails as a transient DbError. Default SUPABASE_REQUEST_TIMEOUT_MS. */
  timeoutMs?: number;
}

interface Response<T> {
  data: T | null;
  error: PostgrestError | null;
  status: number;
}

type AssetColumns = Pick<MediaAssetRow, 'id' | 'org_id' | 'bucket' | 'storage_path' | 'base_org_storage_path' | 'processing_stage' | 'streaming_ready'>;
type JobWithAsset = Pick<JobRow, 'id' | 'org_id' | 'media_asset_id' | 'type' | 'state' | 'attempt'> & { media_assets: AssetColumns | null };

// The embedding the Python worker uses on the live project: the asset through jobs.media_asset_id.
const JOB_WITH_ASSET = 'id,org_id,media_asset_id,type,state,attempt,media_assets:media_asset_id(id,org_id,bucket,storage_path,base_org_storage_path,processing_stage,streaming_ready)';

/** Rows per cleanup read, below Supabase's default max-rows (1000) so a full page is never cut. */
const CLEANUP_PAGE = 500;

type RealtimeTransport = NonNullable<NonNullable<SupabaseClientOptions<'public'>['realtime']>['transport']>;

/**
 * The worker never subscribes to realtime, but createClient insists on a WebSocket class
 * and throws on Node 20, which has none. This one is never constructed.
 */
class NoRealtime {
  constructor() {
    throw new Error('rugbyworker does not use Supabase realtime');
  }
}

export class SupabaseMediaDb implements MediaDb {
  private readonly client: SupabaseClient;
  private readonly now: () => Date;

  constructor(options: SupabaseMediaDbOptions) {
    // A worker has no user session: the service role key is the credential for every request.
    this.client = createClient(options.url, options.serviceRoleKey, {
      auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
      db: { timeout: options.timeoutMs ?? SUPABASE_REQUEST_TIMEOUT_MS },
      realtime: { transport: NoRealtime as unknown as RealtimeTransport },
    });
    this.now = options.now ?? (() => new Date());
  }

  async ping(): Promise<void> {
    rows('jobs', 'select', await this.client.from('jobs').select('id').limit(1));
  }

  async transcodeJob(jobId: string): Promise<TranscodeJob | null> {
    const [row] = rows('jobs', 'select', await this.client.from('jobs').select(JOB_WITH_ASSET).eq('id', jobId)) as JobWithAsset[];
    if (!row) return null;
    const a = row.media_assets;
    return {
      id: row.id, orgId: row.org_id, mediaAssetId: row.media_asset_id, type: row.type, state: row.state, attempt: row.attempt,
      asset: a && {
        id: a.id, orgId: a.org_id, bucket: a.bucket, storagePath: a.storage_path, baseOrgStoragePath: a.base_org_storage_path,
        processingStage: a.processing_stage, streamingReady: a.streaming_ready,
      },
    };
  }

  async startTranscode(ref: JobRef, attempt: number): Promise<boolean> {
    const at = this.timestamp();
    const started = rows('jobs', 'update', await this.client.from('jobs')
      .update({ state: 'running', started_at: at, attempt: Math.max(1, attempt), updated_at: at })
      .eq('id', ref.jobId)
      .in('state', jobStatesBefore('running'))
      .select('id'));
    if (started.length === 0) return false;
    await this.updateAsset(ref, { processing_stage: 'transcoding', transcode_progress: 0 }, stagesBefore('transcoding'), 'start transcoding');
    return true;
  }

  async reportProgress(ref: JobRef, progress: { encodePercent: number; jobFraction: number }): Promise<void> {
    const percent = encodePercentValue(progress.encodePercent);
    const fraction = jobFractionValue(progress.jobFraction);
    await Promise.all([
      // Only while transcoding: a late write never touches a finished asset.
      percent === null ? null : this.client.from('media_assets').update({ transcode_progress: percent })
        .eq('id', ref.mediaId).eq('org_id', ref.orgId).eq('processing_stage', 'transcoding')
        .then((res) => rows('media_assets', 'update', res)),
      // lt: a late or out-of-order update never moves the bar back.
      fraction === null ? null : this.client.from('jobs').update({ progress: fraction, updated_at: this.timestamp() })
        .eq('id', ref.jobId).eq('state', 'running').lt('progress', fraction)
        .then((res) => rows('jobs', 'update', res)),
    ]);
  }

  async markTranscoded(ref: JobRef): Promise<void> {
    await this.updateAsset(ref, { processing_stage: 'transcoded', transcode_progress: 100 }, stagesBefore('transcoded'), 'mark transcoded');
  }

  async publishStreaming(ref: JobRef, storyboard: StoryboardRecord | null): Promise<void> {
    const thumbnails = storyboard && {
      thumbnail_path: storyboard.spriteKey, thumbnail_sprite_path: storyboard.spriteKey, thumbnail_vtt_path: storyboard.vttKey,
      thumbnail_frame_count: storyboard.frameCount, thumbnail_interval_seconds: storyboard.intervalSeconds,
      thumbnail_width: storyboard.width, thumbnail_height: storyboard.height,
    };
    await this.updateAsset(ref, { streaming_ready: true, ...thumbnails }, ['transcoded'], 'publish the stream');
  }

  async succeedJob(ref: JobRef, outcome: TranscodeOutcome): Promise<void> {
    const at = this.timestamp();
    const result = { playlist: outcome.playlistKey, renditions: outcome.renditions, duration_seconds: outcome.durationSeconds };
    const done = rows('jobs', 'update', await this.client.from('jobs')
      .update({ state: 'succeeded', finished_at: at, progress: 1, result, updated_at: at })
      .eq('id', ref.jobId)
      .in('state', jobStatesBefore('succeeded'))
      .select('id'));
    if (done.length > 0) return;
    const job = await this.transcodeJob(ref.jobId);
    if (job?.state === 'succeeded') return; // an earlier delivery finished it: harmless
    throw new DbError('jobs', `job ${ref.jobId} is ${job?.state ?? 'gone'} and cannot become succeeded`, { transient: false });
  }

  async completeAsset(ref: JobRef): Promise<void> {
    // `complete` too: completing twice (a redelivery that heals an unfinished asset) is harmless.
    await this.updateAsset(ref, { processing_stage: 'complete', status: 'ready' }, [...stagesBefore('complete'), 'complete'], 'complete');
  }

  async failTranscode(ref: JobRef, code: TranscodeErrorCode, message: string): Promise<void> {
    const at = this.timestamp();
    const error = { error_code: code, error_message: oneLine(message) };
    rows('jobs', 'update', await this.client.from('jobs')
      .update({ state: 'failed', finished_at: at, ...error, updated_at: at })
      .eq('id', ref.jobId)
      .in('state', jobStatesBefore('failed')));
    // A complete asset keeps its playable output whatever a late attempt reports.
    rows('media_assets', 'update', await this.client.from('media_assets')
      .update({ processing_stage: 'failed' })
      .eq('id', ref.mediaId).eq('org_id', ref.orgId)
      .in('processing_stage', stagesBefore('failed')));
  }

  async pendingCleanupJobs(): Promise<CleanupJob[]> {
    // Page by page: Supabase answers at most 1000 rows a request (max-rows), and rows that keep
    // failing stay pending at the front, so one page could hide every newer row for good.
    const out: CleanupJob[] = [];
    for (let from = 0; ; from += CLEANUP_PAGE) {
      const page = rows('media_cleanup_jobs', 'select', await this.client.from('media_cleanup_jobs')
        .select('id,bucket,storage_path')
        .is('processed_at', null)
        .order('created_at', { ascending: true })
        .order('id', { ascending: true })
        .range(from, from + CLEANUP_PAGE - 1)) as Array<Pick<CleanupJobRow, 'id' | 'bucket' | 'storage_path'>>;
      out.push(...page.map((row) => ({ id: row.id, bucket: row.bucket, storagePath: row.storage_path })));
      if (page.length < CLEANUP_PAGE) return out;
    }
  }

  async markCleanupProcessed(id: string): Promise<void> {
    // is.null: a second mark (a pass that overlapped) keeps the first processed_at.
    rows('media_cleanup_jobs', 'update', await this.client.from('media_cleanup_jobs')
      .update({ processed_at: this.timestamp(), error: null })
      .eq('id', id)
      .is('processed_at', null));
  }

  async markCleanupFailed(id: string, error: string, opts: { final: boolean }): Promise<void> {
    const patch = opts.final ? { processed_at: this.timestamp(), error: oneLine(error) } : { error: oneLine(error) };
    rows('media_cleanup_jobs', 'update', await this.client.from('media_cleanup_jobs').update(patch).eq('id', id).is('processed_at', null));
  }

  /** One asset write, filtered by id, org and the stages it may come from; a miss means the asset is gone or moved on. */
  private async updateAsset(ref: JobRef, patch: Partial<MediaAssetRow>, from: readonly string[], what: string): Promise<void> {
    const changed = rows('media_assets', 'update', await this.client.from('media_assets')
      .update(patch)
      .eq('id', ref.mediaId).eq('org_id', ref.orgId)
      .in('processing_stage', from)
      .select('id'));
    if (changed.length === 0) {
      throw new DbError('media_assets', `cannot ${what}: asset ${ref.mediaId} of org ${ref.orgId} is gone or not ${from.join('/')}`, { transient: false });
    }
  }

  private timestamp(): string {
    return this.now().toISOString();
  }

  // compute_devices (the device heartbeat) and its column names, here only.
  private static readonly DEVICE_COLUMNS: { readonly [K in keyof ComputeDeviceRow]-?: string } = {
    name: 'name', status: 'status', lastHeartbeatAt: 'last_heartbeat_at', updatedAt: 'updated_at', lastError: 'last_error',
    hostname: 'hostname', cpuCores: 'cpu_cores', memoryTotalMb: 'memory_total_mb', memoryUsedMb: 'memory_used_mb',
    cpuUtilization: 'cpu_utilization', gpuUtilization: 'gpu_utilization', temperatureC: 'temperature_c',
    gpuModel: 'gpu_model', cudaVersion: 'cuda_version', jetpackVersion: 'jetpack_version',
  };

  async upsertComputeDevice(row: ComputeDeviceRow, opts: { signal?: AbortSignal } = {}): Promise<void> {
    // PostgREST's upsert sets only the columns sent: device_type (the admin's) is never one.
    const body = Object.fromEntries(Object.entries(row).filter(([, v]) => v !== undefined)
      .map(([k, v]) => [SupabaseMediaDb.DEVICE_COLUMNS[k as keyof ComputeDeviceRow], v as unknown]));
    const upsert = this.client.from('compute_devices').upsert(body, { onConflict: 'name' });
    rows('compute_devices', 'upsert', await (opts.signal ? upsert.abortSignal(opts.signal) : upsert));
  }

  // segment_insight_audio_deletions (coach audio the cleanup role deletes).
  async pendingCoachAudioDeletions(): Promise<CoachAudioDeletion[]> {
    // Page by page, as pendingCleanupJobs: rows that keep failing must not hide the newer ones.
    const out: CoachAudioDeletion[] = [];
    for (let from = 0; ; from += CLEANUP_PAGE) {
      const page = rows('segment_insight_audio_deletions', 'select', await this.client.from('segment_insight_audio_deletions')
        .select('id,coach_audio_url,storage_bucket,storage_key,attempt_count')
        .eq('status', 'pending')
        .order('created_at', { ascending: true })
        .order('id', { ascending: true })
        .range(from, from + CLEANUP_PAGE - 1)) as Array<{ id: string; coach_audio_url: string; storage_bucket: string | null; storage_key: string | null; attempt_count: number }>;
      out.push(...page.map((r) => ({ id: r.id, coachAudioUrl: r.coach_audio_url, storageBucket: r.storage_bucket, storageKey: r.storage_key, attemptCount: r.attempt_count })));
      if (page.length < CLEANUP_PAGE) return out;
    }
  }

  async settleCoachAudioDeletion(id: string, seenAttempts: number, settlement: CoachAudioSettlement): Promise<boolean> {
    const patch = {
      status: settlement.status, attempt_count: settlement.attemptCount, last_error: settlement.lastError === null ? null : oneLine(settlement.lastError),
      ...(settlement.processed && { processed_at: this.timestamp() }),
    };
    // Still pending with the attempts read: a concurrent edge function run or worker wins, and nothing is counted twice.
    const changed = rows('segment_insight_audio_deletions', 'update', await this.client.from('segment_insight_audio_deletions')
      .update(patch)
      .eq('id', id).eq('status', 'pending').eq('attempt_count', seenAttempts)
      .select('id'));
    return changed.length > 0;
  }
}

/** The rows of a response (none for return=minimal), or a DbError naming the table and PostgREST's message. */
function rows(table: string, op: 'select' | 'update' | 'upsert', res: Response<unknown>): unknown[] {
  if (res.error) {
    const detail = res.status === 0 ? causeOf(res.error) : '';
    throw new DbError(table, `${op} failed (HTTP ${res.status}): ${oneLine(res.error.message + detail, 500)}`, {
      status: res.status,
      code: res.error.code || null,
    });
  }
  return Array.isArray(res.data) ? res.data : [];
}

/** supabase-js puts a network error's cause (ECONNREFUSED, a timeout) in `details`. */
function causeOf(error: PostgrestError): string {
  const line = /Caused by: [^\n]*/.exec(error.details ?? '')?.[0];
  return line ? ` (${line})` : error.hint ? ` (${error.hint})` : '';
}
