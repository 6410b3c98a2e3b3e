// cleanup (RUGBYCODEX.md): every CLEANUP_INTERVAL_SECONDS (first pass at start-up), each
// pending cleanup row, oldest first → its asset folder orgs/{org}/uploads/{id}/ deleted
// from the row's own bucket → row processed. An invalid path, or one whose folder is not the
// row's asset's (media_asset_id, and its org while the asset row exists), is final (processed
// with the error, nothing deleted); a storage failure keeps the row pending with its error, so
// the next pass retries it; one bad row never stops the others. Then the coach audio of
// segment_insight_audio_deletions (./coach-audio.ts). Not queue-driven: a periodic loop.
import type { CleanupJob, RoleContext, RoleService } from '../../src/ports/index.js';
import { cleanupTarget, validBucketName } from '../../src/domain/rugbycodex/cleanup-prefix.js';
import { nextPassDelayMs } from '../../src/domain/rugbycodex/cleanup-schedule.js';
import { deleteFailureMessage, deletePrefix } from './delete-prefix.js';
import { surveyPrefix } from './survey-prefix.js';
import { cleanupMetrics } from './metrics.js';
import { addCurrentJobs } from '../../src/runtime/current-jobs.js';
import { startPeriodic, type PassSignals } from '../../src/runtime/periodic.js';
import { isOutage } from '../../src/domain/failure.js';
import { drainCoachAudio } from './coach-audio.js';

export interface CleanupOptions {
  /** Jitter source for the pass interval (tests fix it). */
  random?: () => number;
}

type Outcome = 'completed' | 'failed' | 'interrupted';

/** `outage`: the failure was Supabase or the bucket unreachable, not the row. */
interface JobResult { outcome: Outcome; objects: number; bytes: number; outage?: boolean }

interface PassTotals { completed: number; failed: number; interrupted: number; skipped: number; objects: number; bytes: number }

/** Keys shown per row by --dry-run. */
const DRY_RUN_KEYS = 10;

export async function start(ctx: RoleContext, opts: CleanupOptions = {}): Promise<RoleService> {
  const { config, ports, logger } = ctx;
  const db = ports.mediaDb();
  const dryRun = ctx.dryRun === true;
  const metrics = cleanupMetrics(ctx.metrics);
  let failedJobs = 0;
  let current: { job_id: string; prefix: string; started_at: string; startedAt: number } | null = null;
  const removeReporter = addCurrentJobs(ctx.metrics, () => current === null ? [] : [{
    role: 'cleanup', job_id: current.job_id, prefix: current.prefix, started_at: current.started_at,
    seconds: seconds(current.startedAt),
  }]);

  async function cleanJob(job: CleanupJob, deadline: AbortSignal): Promise<JobResult> {
    const log = logger.child({ job_id: job.id });
    const target = cleanupTarget(job);
    if (!target.ok) return fail(job, target.error, { storage_path: job.storagePath, media_asset_id: job.mediaAssetId, asset_org_id: job.assetOrgId }, { final: true });
    if (!validBucketName(job.bucket)) return fail(job, `invalid bucket ${JSON.stringify(job.bucket)}; nothing deleted`, { bucket: job.bucket }, { final: true });
    const { prefix } = target;
    const store = ports.storage({ media: job.bucket });
    const startedAt = performance.now();

    if (dryRun) {
      const survey = await surveyPrefix(store, prefix, DRY_RUN_KEYS).catch((err: unknown) => err as Error);
      if (survey instanceof Error) return fail(job, `listing ${prefix} failed: ${survey.message}`, { bucket: job.bucket, prefix }, { outage: isOutage(survey) });
      log.info(
        { event_type: 'cleanup_job_dry_run', bucket: job.bucket, prefix, objects: survey.objects, bytes: survey.bytes, first_keys: survey.firstKeys, dry_run: true },
        `would delete ${survey.objects} objects (${survey.bytes} bytes) under ${prefix}`,
      );
      return { outcome: 'completed', objects: survey.objects, bytes: survey.bytes };
    }

    current = { job_id: job.id, prefix, started_at: new Date().toISOString(), startedAt };
    const r = await deletePrefix({ store, prefix, concurrency: config.CLEANUP_DELETE_CONCURRENCY, signal: deadline })
      .finally(() => { current = null; });
    metrics.objectsDeleted.inc(r.deleted);
    metrics.bytesDeleted.inc(r.bytes);
    const done = { bucket: job.bucket, prefix, objects: r.deleted, bytes: r.bytes, seconds: seconds(startedAt), rounds: r.rounds };
    if (r.aborted) {
      // Nothing written: the row is still pending and the next pass (any worker) finishes it.
      log.warn({ event_type: 'cleanup_job_interrupted', ...done }, `stopped by shutdown after deleting ${r.deleted} objects under ${prefix}`);
      return { outcome: 'interrupted', objects: r.deleted, bytes: r.bytes };
    }
    if (!r.empty) return fail(job, deleteFailureMessage(prefix, r), { ...done, failed_keys: r.errors.length }, { outage: r.outage });
    try {
      await db.markCleanupProcessed(job.id);
    } catch (err) {
      // The folder is gone; the next pass finds it empty and marks the row then.
      return fail(job, `folder deleted but marking the row failed: ${(err as Error).message}`, done, { outage: isOutage(err) });
    }
    metrics.jobsCompleted.inc();
    log.info({ event_type: 'cleanup_job_completed', ...done }, `deleted ${r.deleted} objects (${r.bytes} bytes) under ${prefix}`);
    return { outcome: 'completed', objects: r.deleted, bytes: r.bytes };
  }

  /** Records the failure on the row (not in a dry run; `final`: no pass retries it) and logs it; never throws. */
  async function fail(job: CleanupJob, error: string, fields: Record<string, unknown>, { final = false, outage = false } = {}): Promise<JobResult> {
    failedJobs++;
    metrics.jobsFailed.inc();
    let recorded = false;
    if (!dryRun) {
      try {
        await db.markCleanupFailed(job.id, error, { final });
        recorded = true;
      } catch (err) {
        logger.error({ event_type: 'cleanup_mark_failed_error', job_id: job.id, err }, `could not record the failure of cleanup job ${job.id}: ${(err as Error).message}`);
      }
    }
    logger.error(
      { event_type: 'cleanup_job_failed', job_id: job.id, error_message: error, final, recorded, dry_run: dryRun, ...fields },
      `cleanup job ${job.id} failed: ${error}`,
    );
    const objects = typeof fields.objects === 'number' ? fields.objects : 0;
    const bytes = typeof fields.bytes === 'number' ? fields.bytes : 0;
    return { outcome: 'failed', objects, bytes, outage };
  }

  /** One pass over the pending rows; resolves false when it met an outage (the rows could not be read, or one failed on it). */
  async function cleanFolders({ halted, deadline }: PassSignals): Promise<boolean> {
    const startedAt = performance.now();
    let jobs: CleanupJob[];
    try {
      jobs = await db.pendingCleanupJobs();
    } catch (err) {
      failedJobs++;
      logger.error({ event_type: 'cleanup_pass_failed', err }, `cleanup: could not read media_cleanup_jobs: ${(err as Error).message}`);
      return false;
    }
    logger.info(
      { event_type: 'cleanup_started', jobs: jobs.length, buckets: [...new Set(jobs.map((j) => j.bucket))], dry_run: dryRun, delete_concurrency: config.CLEANUP_DELETE_CONCURRENCY },
      `cleanup pass: ${jobs.length} pending job${jobs.length === 1 ? '' : 's'}${dryRun ? ' (dry run: nothing is changed)' : ''}`,
    );
    const totals: PassTotals = { completed: 0, failed: 0, interrupted: 0, skipped: 0, objects: 0, bytes: 0 };
    let outage = false;
    for (const [i, job] of jobs.entries()) {
      if (halted.aborted) {
        totals.skipped = jobs.length - i;
        break;
      }
      const r = await cleanJob(job, deadline).catch((err: unknown) => fail(job, `unexpected error: ${(err as Error).message}`, {}));
      totals[r.outcome]++;
      outage ||= r.outage === true;
      totals.objects += r.objects;
      totals.bytes += r.bytes;
    }
    logger.info(
      { event_type: 'cleanup_pass_completed', jobs: jobs.length, ...totals, outage, seconds: seconds(startedAt), dry_run: dryRun },
      `cleanup pass done: ${totals.completed} ${dryRun ? 'would complete' : 'completed'}, ${totals.failed} failed, ${totals.objects} objects${dryRun ? ' would go' : ' deleted'}`,
    );
    return !outage;
  }

  /** The pending coach audio, after the folders (whether or not those could be read); false on an outage, as cleanFolders. */
  async function cleanCoachAudio({ halted }: PassSignals): Promise<boolean> {
    const startedAt = performance.now();
    const audio = await drainCoachAudio({ db, storage: (b) => ports.storage(b), logger, metrics, dryRun, maxAttempts: config.COACH_AUDIO_MAX_ATTEMPTS, halted });
    failedJobs += audio.failed + audio.retried + (audio.unread ? 1 : 0);
    if (audio.unread) return false;
    const { unread: _unread, ...counts } = audio;
    logger.info(
      { event_type: 'coach_audio_pass_completed', ...counts, seconds: seconds(startedAt), dry_run: dryRun },
      `coach audio done: ${audio.completed} ${dryRun ? 'would be deleted' : 'deleted'}, ${audio.failed} failed, ${audio.retried} to retry`,
    );
    return !audio.outage;
  }

  async function pass(signals: PassSignals): Promise<boolean> {
    const folders = await cleanFolders(signals);
    return (await cleanCoachAudio(signals)) && folders;
  }

  const service = startPeriodic({
    name: 'cleanup', once: ctx.once, stopping: ctx.stopping, logger, pass, onEnd: removeReporter,
    nextDelayMs: (clean) => nextPassDelayMs(config.CLEANUP_INTERVAL_SECONDS, { outage: !clean, ...(opts.random ? { random: opts.random } : {}) }),
  });
  return { ...service, exitCode: () => (failedJobs > 0 ? 1 : 0) };
}

const seconds = (fromMs: number): number => Math.round(performance.now() - fromMs) / 1000;
