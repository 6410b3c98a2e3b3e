// MediaDb on Supabase through PostgREST (@supabase/supabase-js). Every write is one
// conditional request, so a redelivered message or a second worker on the same job
// changes nothing that is already settled: the filters carry the state rule.
import { createClient } from '@supabase/supabase-js';
import type { PostgrestError, SupabaseClient, SupabaseClientOptions } from '@supabase/supabase-js';
import type { ClaimResult, CleanupJob, MediaDb, TranscodeErrorCode, TranscodeResult } from '../../ports.js';
import { DbError } from './db-error.js';
import { oneLine, progressValue, statusesThatMayBecome } from './schema.js';
import type { CleanupJobRow, MediaAssetRow, TranscodeJobRow } from './schema.js';

export interface SupabaseMediaDbOptions {
  /** SUPABASE_URL, e.g. https://xyz.supabase.co (requests go to <url>/rest/v1/<table>). */
  url: string;
  /** SUPABASE_SERVICE_ROLE_KEY: sent as `apikey` and `Authorization: Bearer`; bypasses RLS. */
  serviceRoleKey: string;
  /** The clock for started_at, completed_at and processed_at. */
  now?: () => Date;
  /** Per-request timeout; a hung request fails as a transient DbError. Default 30 s. */
  timeoutMs?: number;
}

interface Response<T> {
  data: T | null;
  error: PostgrestError | null;
  status: number;
}

type JobState = Pick<TranscodeJobRow, 'media_asset_id' | 'status' | 'attempts'>;

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
      db: { timeout: options.timeoutMs ?? 30_000 },
      realtime: { transport: NoRealtime as unknown as RealtimeTransport },
    });
    this.now = options.now ?? (() => new Date());
  }

  async claimTranscodeJob(jobId: string, assetId: string, workerId: string): Promise<ClaimResult> {
    // attempts+1 needs the current value (PostgREST cannot add in an update): read, then
    // update only if nobody changed it meanwhile; one retry when someone did.
    let attempts: number | null = null;
    for (let round = 0; attempts === null; round++) {
      const job = await this.readJob(jobId);
      if (job.media_asset_id !== assetId) throw new DbError('transcode_jobs', `job ${jobId} belongs to asset ${job.media_asset_id}, not ${assetId}`, { transient: false });
      // A redelivered completed job: nothing is written, orgId is not needed.
      if (!statusesThatMayBecome('processing').includes(job.status)) return { outcome: 'completed', attempts: job.attempts, orgId: null };
      const claimed = rows('transcode_jobs', 'update', await this.client.from('transcode_jobs')
        .update({ status: 'processing', worker_id: workerId, started_at: this.timestamp(), attempts: job.attempts + 1, error_code: null, error_message: null })
        .eq('id', jobId)
        .eq('attempts', job.attempts)
        .in('status', statusesThatMayBecome('processing'))
        .select('attempts')) as Array<Pick<TranscodeJobRow, 'attempts'>>;
      if (claimed[0]) attempts = claimed[0].attempts;
      else if (round >= 1) throw new DbError('transcode_jobs', `claim of job ${jobId} lost a race twice`);
    }
    const assets = rows('media_assets', 'update', await this.client.from('media_assets')
      .update({ status: 'processing', error_code: null, error_message: null })
      .eq('id', assetId)
      .select('org_id')) as Array<Pick<MediaAssetRow, 'org_id'>>;
    if (!assets[0]) throw new DbError('media_assets', `no asset ${assetId}`, { transient: false });
    return { outcome: 'claimed', attempts, orgId: assets[0].org_id };
  }

  async updateProgress(jobId: string, percent: number): Promise<void> {
    const progress = progressValue(percent);
    if (progress === null) return;
    // lt: a late or out-of-order update never moves the bar back.
    rows('transcode_jobs', 'update', await this.client.from('transcode_jobs').update({ progress }).eq('id', jobId).lt('progress', progress));
  }

  async completeTranscode(result: TranscodeResult): Promise<void> {
    const at = this.timestamp();
    // Asset first: a crash in between leaves the job processing, and a redelivery redoes it.
    const assets = rows('media_assets', 'update', await this.client.from('media_assets')
      .update({
        status: 'ready', streaming_path: result.streamingPath, thumbnail_path: result.thumbnailPath, duration_seconds: result.durationSeconds,
        width: result.width, height: result.height, renditions: result.renditions, error_code: null, error_message: null,
      })
      .eq('id', result.assetId)
      .select('id'));
    if (assets.length === 0) throw new DbError('media_assets', `no asset ${result.assetId}`, { transient: false });
    const jobs = rows('transcode_jobs', 'update', await this.client.from('transcode_jobs')
      .update({ status: 'completed', progress: 100, completed_at: at, error_code: null, error_message: null })
      .eq('id', result.jobId)
      .in('status', statusesThatMayBecome('completed'))
      .select('id'));
    if (jobs.length > 0) return;
    const job = await this.readJob(result.jobId);
    if (job.status === 'completed') return; // completed by an earlier delivery: harmless
    throw new DbError('transcode_jobs', `job ${result.jobId} is ${job.status} and cannot become completed`, { transient: false });
  }

  async failTranscode(jobId: string, assetId: string, code: TranscodeErrorCode, message: string): Promise<void> {
    const error = { error_code: code, error_message: oneLine(message) };
    // A ready asset keeps its playable output whatever a late attempt reports.
    rows('media_assets', 'update', await this.client.from('media_assets').update({ status: 'failed', ...error }).eq('id', assetId).neq('status', 'ready'));
    rows('transcode_jobs', 'update', await this.client.from('transcode_jobs')
      .update({ status: 'failed', ...error })
      .eq('id', jobId)
      .in('status', statusesThatMayBecome('failed')));
  }

  async pendingCleanupJobs(): Promise<CleanupJob[]> {
    const pending = rows('media_cleanup_jobs', 'select', await this.client.from('media_cleanup_jobs')
      .select('id,storage_path')
      .is('processed_at', null)
      .order('created_at', { ascending: true })
      .order('id', { ascending: true })) as Array<Pick<CleanupJobRow, 'id' | 'storage_path'>>;
    return pending.map((row) => ({ id: row.id, storagePath: row.storage_path }));
  }

  async markCleanupProcessed(id: string, objectsDeleted: number): Promise<void> {
    // is.null: a second mark (a pass that overlapped) keeps the first processed_at.
    rows('media_cleanup_jobs', 'update', await this.client.from('media_cleanup_jobs')
      .update({ processed_at: this.timestamp(), objects_deleted: objectsDeleted, error: null })
      .eq('id', id)
      .is('processed_at', null));
  }

  async markCleanupFailed(id: string, error: string): Promise<void> {
    rows('media_cleanup_jobs', 'update', await this.client.from('media_cleanup_jobs').update({ error: oneLine(error) }).eq('id', id).is('processed_at', null));
  }

  private async readJob(jobId: string): Promise<JobState> {
    const found = rows('transcode_jobs', 'select', await this.client.from('transcode_jobs')
      .select('media_asset_id,status,attempts')
      .eq('id', jobId)) as JobState[];
    if (!found[0]) throw new DbError('transcode_jobs', `no job ${jobId}`, { transient: false });
    return found[0];
  }

  private timestamp(): string {
    return this.now().toISOString();
  }
}

/** The rows of a response (none for return=minimal), or a DbError naming the table and PostgREST's message. */
function rows(table: string, op: 'select' | 'update', res: Response<unknown>): unknown[] {
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
