// MediaDb on Supabase through PostgREST (@supabase/supabase-js), against the live tables
// of RUGBYCODEX.md (`jobs`, `media_assets`, `media_cleanup_jobs`). Every write is one
// conditional request: its filter carries the state rule (src/domain/rugbycodex/transcode-state.ts),
// so a redelivered message or a second worker changes nothing that is already settled.
import { createClient } from '@supabase/supabase-js';
import type { PostgrestError, SupabaseClient, SupabaseClientOptions } from '@supabase/supabase-js';
import { DbError, HoldLostError } from '../../ports/index.js';
import type {
  CleanupJob, JobHold, JobRef, MediaDb, RequeueCandidate, StoryboardRecord, TranscodeClaim, TranscodeErrorCode, TranscodeJob, TranscodeOutcome,
} from '../../ports/index.js';
import { ASSET_WRITES, type AssetWrite } from '../../domain/rugbycodex/transcode-state.js';
import { nextToken } from '../../domain/rugbycodex/transcode-hold.js';
import { assetPatch, claimPatch, failedPatch, storyboardColumns, succeededPatch } from './transcode-patches.js';
import { SUPABASE_REQUEST_TIMEOUT_MS } from '../../domain/request-timeouts.js';
import { encodePercentValue, jobFractionValue, oneLine, sameInstant } from './schema.js';
import type { CleanupJobRow, JobRow, MediaAssetRow } from './schema.js';
import type { CoachAudioDeletion, CoachAudioSettlement, ComputeDeviceRow } from '../../ports/index.js';

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

type AssetColumns = Pick<MediaAssetRow, 'id' | 'org_id' | 'bucket' | 'storage_path' | 'base_org_storage_path' | 'processing_stage' | 'status' | 'streaming_ready'>;
type JobWithAsset = Pick<JobRow, 'id' | 'org_id' | 'media_asset_id' | 'type' | 'state' | 'attempt' | 'started_at' | 'updated_at' | 'payload'> & { media_assets: AssetColumns | null };
type CandidateRow = Pick<JobRow, 'id' | 'org_id' | 'media_asset_id' | 'state' | 'updated_at' | 'started_at'>;

// The embedding the Python worker uses on the live project: the asset through jobs.media_asset_id.
const JOB_WITH_ASSET = 'id,org_id,media_asset_id,type,state,attempt,started_at,updated_at,payload,media_assets:media_asset_id(id,org_id,bucket,storage_path,base_org_storage_path,processing_stage,status,streaming_ready)';

/** Rows per cleanup read, below Supabase's default max-rows (1000) so a full page is never cut. */
const CLEANUP_PAGE = 500;
/** Asset ids per media_assets read of a cleanup page: about 4 kB of URL. */
const ASSET_ORG_BATCH = 100;
/** media_assets.id is a uuid: anything else matches no asset (and PostgreSQL would refuse the whole filter). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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
      startedAt: row.started_at, updatedAt: row.updated_at, payload: row.payload,
      asset: a && {
        id: a.id, orgId: a.org_id, bucket: a.bucket, storagePath: a.storage_path, baseOrgStoragePath: a.base_org_storage_path,
        processingStage: a.processing_stage, status: a.status, streamingReady: a.streaming_ready,
      },
    };
  }

  async claimTranscode(ref: JobRef, claim: TranscodeClaim): Promise<JobHold | null> {
    const { from } = claim;
    const token = nextToken(this.now().getTime(), from.state === 'queued' ? null : from.startedAt);
    let query = this.client.from('jobs')
      .update(claimPatch(token, claim))
      .eq('id', ref.jobId)
      .eq('state', from.state);
    if (from.state !== 'queued') query = from.startedAt === null ? query.is('started_at', null) : query.eq('started_at', from.startedAt);
    if (rows('jobs', 'update', await query.select('id')).length === 0) return null;
    await this.updateAsset(ref, 'start', { transcode_progress: 0 });
    return { ref, token };
  }

  async refreshHold(hold: JobHold): Promise<boolean> {
    return (await this.touchHeld(hold, 'running', {})) > 0;
  }

  async reportProgress(hold: JobHold, progress: { encodePercent: number; jobFraction: number }): Promise<void> {
    const percent = encodePercentValue(progress.encodePercent);
    const fraction = jobFractionValue(progress.jobFraction);
    // The job first: only a holder may say `transcoding` again over complete-upload's `uploaded`.
    await this.fence(hold, 'running', fraction === null ? {} : { progress: fraction });
    if (percent !== null) await this.updateAsset(hold.ref, 'progress', { transcode_progress: percent }, { required: false });
  }

  async markTranscoded(hold: JobHold): Promise<void> {
    await this.fence(hold, 'running', {});
    await this.updateAsset(hold.ref, 'transcoded', { transcode_progress: 100 });
  }

  async publishStreaming(hold: JobHold, storyboard: StoryboardRecord | null): Promise<void> {
    await this.fence(hold, 'running', {});
    await this.updateAsset(hold.ref, 'publish', { streaming_ready: true, ...storyboardColumns(storyboard) });
  }

  async succeedJob(hold: JobHold, outcome: TranscodeOutcome): Promise<void> {
    if (await this.touchHeld(hold, 'running', succeededPatch(this.timestamp(), outcome)) > 0) return;
    const job = await this.transcodeJob(hold.ref.jobId);
    if (job?.state === 'succeeded' && job.startedAt !== null && sameInstant(job.startedAt, hold.token)) return; // this holder's retry
    throw new HoldLostError(`job ${hold.ref.jobId} is ${job?.state ?? 'gone'} and no longer held by this delivery`);
  }

  async completeAsset(hold: JobHold): Promise<void> {
    await this.fence(hold, 'succeeded', {});
    await this.updateAsset(hold.ref, 'complete', { streaming_ready: true });
  }

  async failTranscode(ref: JobRef, hold: JobHold | null, code: TranscodeErrorCode, message: string): Promise<void> {
    const patch = failedPatch(this.timestamp(), code, message);
    const failed = hold
      ? await this.touchHeld(hold, 'running', patch)
      : rows('jobs', 'update', await this.client.from('jobs').update(patch).eq('id', ref.jobId).eq('state', 'queued').select('id')).length;
    // Someone else's job (taken over, or finished meanwhile): not ours to mark.
    if (failed > 0) await this.updateAsset(ref, 'fail', {}, { required: false });
  }

  async restoreAsset(ref: JobRef): Promise<void> {
    await this.updateAsset(ref, 'restore', { streaming_ready: true });
  }

  async refailAsset(ref: JobRef): Promise<void> {
    await this.updateAsset(ref, 'refail', {}, { required: false });
  }

  async requeueCandidates(query: { queuedBefore: string; runningBefore: string; limit: number }): Promise<RequeueCandidate[]> {
    const select = (state: 'queued' | 'running', before: string) => this.client.from('jobs')
      .select('id,org_id,media_asset_id,state,updated_at,started_at')
      .eq('type', 'transcode').eq('state', state).lt('updated_at', before)
      .order('updated_at', { ascending: true }).limit(query.limit);
    const [queued, running] = await Promise.all([select('queued', query.queuedBefore), select('running', query.runningBefore)]);
    return [...rows('jobs', 'select', queued), ...rows('jobs', 'select', running)]
      .map((r) => r as CandidateRow)
      .filter((r): r is CandidateRow & { media_asset_id: string; state: 'queued' | 'running' } => r.media_asset_id !== null)
      .map((r) => ({ jobId: r.id, mediaId: r.media_asset_id, orgId: r.org_id, state: r.state, updatedAt: r.updated_at, startedAt: r.started_at }));
  }

  async markRequeued(job: RequeueCandidate, at: string): Promise<boolean> {
    return rows('jobs', 'update', await this.client.from('jobs')
      .update({ state: 'queued', updated_at: at })
      .eq('id', job.jobId).eq('state', job.state).eq('updated_at', job.updatedAt)
      .select('id')).length > 0;
  }

  async pendingCleanupJobs(): Promise<CleanupJob[]> {
    // Page by page: Supabase answers at most 1000 rows a request (max-rows), and rows that keep
    // failing stay pending at the front, so one page could hide every newer row for good.
    const out: CleanupJob[] = [];
    for (let from = 0; ; from += CLEANUP_PAGE) {
      const page = rows('media_cleanup_jobs', 'select', await this.client.from('media_cleanup_jobs')
        .select('id,media_asset_id,bucket,storage_path')
        .is('processed_at', null)
        .order('created_at', { ascending: true })
        .order('id', { ascending: true })
        .range(from, from + CLEANUP_PAGE - 1)) as Array<Pick<CleanupJobRow, 'id' | 'media_asset_id' | 'bucket' | 'storage_path'>>;
      const orgs = await this.assetOrgs(page.map((row) => row.media_asset_id));
      out.push(...page.map((row) => ({
        id: row.id, mediaAssetId: row.media_asset_id, assetOrgId: orgs.get(row.media_asset_id) ?? null, bucket: row.bucket, storagePath: row.storage_path,
      })));
      if (page.length < CLEANUP_PAGE) return out;
    }
  }

  /** media_assets.org_id of those of `ids` whose row still exists (no foreign key ties a cleanup row to its asset). */
  private async assetOrgs(ids: readonly string[]): Promise<Map<string, string>> {
    const wanted = [...new Set(ids.filter((id) => UUID.test(id)))];
    const orgs = new Map<string, string>();
    // A few ids a request: each is 37 characters of the URL.
    for (let i = 0; i < wanted.length; i += ASSET_ORG_BATCH) {
      const found = rows('media_assets', 'select', await this.client.from('media_assets')
        .select('id,org_id')
        .in('id', wanted.slice(i, i + ASSET_ORG_BATCH))) as Array<Pick<MediaAssetRow, 'id' | 'org_id'>>;
      for (const asset of found) orgs.set(asset.id, asset.org_id);
    }
    return orgs;
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

  /**
   * One asset write as its rule says (src/domain/rugbycodex/transcode-state.ts): the rule's stage and
   * status with `patch`, filtered by id, org and the stages it may come from. A miss means the
   * asset is gone or settled otherwise: a DbError when the write was `required`.
   */
  private async updateAsset(ref: JobRef, write: AssetWrite, patch: Partial<MediaAssetRow>, opts: { required?: boolean } = {}): Promise<void> {
    const rule = ASSET_WRITES[write];
    const changed = rows('media_assets', 'update', await this.client.from('media_assets')
      .update(assetPatch(write, patch))
      .eq('id', ref.mediaId).eq('org_id', ref.orgId)
      .in('processing_stage', [...rule.from])
      .select('id'));
    if (changed.length === 0 && opts.required !== false) {
      throw new DbError('media_assets', `cannot ${write}: asset ${ref.mediaId} of org ${ref.orgId} is gone or not ${rule.from.join('/')}`, { transient: false });
    }
  }

  /** Writes `patch` (and updated_at) on the job if `hold` still holds it in `state`; how many rows changed. */
  private async touchHeld(hold: JobHold, state: 'running' | 'succeeded', patch: Partial<JobRow>): Promise<number> {
    return rows('jobs', 'update', await this.client.from('jobs')
      .update({ updated_at: this.timestamp(), ...patch })
      .eq('id', hold.ref.jobId).eq('state', state).eq('started_at', hold.token)
      .select('id')).length;
  }

  /** touchHeld, or HoldLostError when another delivery has the job now. */
  private async fence(hold: JobHold, state: 'running' | 'succeeded', patch: Partial<JobRow>): Promise<void> {
    if (await this.touchHeld(hold, state, patch) === 0) throw new HoldLostError(`job ${hold.ref.jobId} is no longer ${state} with this delivery's token`);
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
