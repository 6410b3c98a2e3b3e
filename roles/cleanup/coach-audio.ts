// The cleanup role's second list (RUGBYCODEX.md "The other actors"): coach audio in
// segment_insight_audio_deletions, which the cleanup-coach-audio edge function also drains.
// Each pending row, oldest first: its one object deleted from its bucket when the location is
// exactly a coach track's (src/domain/rugbycodex/coach-audio.ts), then the row settled by a write
// conditional on what was read. A storage error is retried on later passes up to
// COACH_AUDIO_MAX_ATTEMPTS (the edge function gives up at once); a location that is refused
// is failed at once and nothing is deleted.
import type { Logger } from 'pino';
import type { CoachAudioDeletion, MediaDb, RolePorts } from '../../src/ports/index.js';
import { coachAudioLocation, settleCoachAudio, unsafeLocationError, type CoachAudioOutcome } from '../../src/domain/rugbycodex/coach-audio.js';
import type { CleanupMetrics } from './metrics.js';
import { describeError } from '../../src/domain/describe-error.js';
import { isOutage } from '../../src/domain/failure.js';

export interface CoachAudioOptions {
  db: MediaDb;
  storage: RolePorts['storage'];
  logger: Logger;
  metrics: CleanupMetrics;
  dryRun: boolean;
  maxAttempts: number;
  /** Shutdown started: take no further row. */
  halted: AbortSignal;
}

export interface CoachAudioTotals {
  rows: number;
  completed: number;
  /** Failed for good (refused location, or the last attempt's storage error). */
  failed: number;
  /** A storage error, or the row's write failed: pending, the next pass tries again. */
  retried: number;
  /** Changed by the edge function or another worker since it was read, or left for a stop. */
  skipped: number;
  /** The rows could not be read. */
  unread: boolean;
  /** Supabase or the bucket did not answer: the next pass should come soon. */
  outage: boolean;
}

/** Logs `coach_audio_dry_run` per row instead of deleting or writing anything. */
export async function drainCoachAudio(opts: CoachAudioOptions): Promise<CoachAudioTotals> {
  const { db, logger, dryRun } = opts;
  const totals: CoachAudioTotals = { rows: 0, completed: 0, failed: 0, retried: 0, skipped: 0, unread: false, outage: false };
  let rows: CoachAudioDeletion[];
  try {
    rows = await db.pendingCoachAudioDeletions();
  } catch (err) {
    logger.error({ event_type: 'coach_audio_read_failed', err }, `cleanup: could not read segment_insight_audio_deletions: ${describeError(err)}`);
    return { ...totals, unread: true, outage: isOutage(err) };
  }
  totals.rows = rows.length;
  logger.info({ event_type: 'coach_audio_started', rows: rows.length, dry_run: dryRun }, `coach audio: ${rows.length} pending deletion${rows.length === 1 ? '' : 's'}`);

  for (const [i, row] of rows.entries()) {
    if (opts.halted.aborted) {
      totals.skipped += rows.length - i;
      break;
    }
    const log = logger.child({ coach_audio_id: row.id });
    const where = coachAudioLocation(row);
    if (dryRun) {
      await dryRunRow(opts, log, row, where, totals);
      continue;
    }
    let outcome: CoachAudioOutcome;
    if (!where.ok) {
      outcome = { kind: 'unsafe', reason: where.reason };
    } else {
      try {
        const r = await opts.storage({ media: where.bucket }).deleteMany([where.key]);
        outcome = r.errors.length === 0 ? { kind: 'deleted' } : { kind: 'storage-error', message: `deleting ${where.key} from ${where.bucket} failed: ${r.errors.map((e) => e.message).join('; ')}` };
      } catch (err) {
        totals.outage ||= isOutage(err);
        outcome = { kind: 'storage-error', message: `deleting ${where.key} from ${where.bucket} failed: ${describeError(err)}` };
      }
    }
    const settlement = settleCoachAudio(row.attemptCount, outcome, opts.maxAttempts);
    const fields = { ...(where.ok ? { bucket: where.bucket, key: where.key } : {}), attempt_count: settlement.attemptCount, status: settlement.status };
    let written: boolean;
    try {
      written = await db.settleCoachAudioDeletion(row.id, row.attemptCount, settlement);
    } catch (err) {
      // Deleted or not, the row stays pending; the next pass deletes again (a missing object counts as deleted) and settles it.
      totals.retried++;
      totals.outage ||= isOutage(err);
      opts.metrics.coachAudioFailed.inc();
      log.error({ event_type: 'coach_audio_failed', ...fields, error_message: `recording the outcome failed: ${describeError(err)}`, recorded: false }, `coach audio ${row.id}: recording the outcome failed: ${describeError(err)}`);
      continue;
    }
    if (!written) {
      totals.skipped++;
      log.info({ event_type: 'coach_audio_skipped', ...fields }, `coach audio ${row.id} was settled by someone else meanwhile; left as it is`);
    } else if (settlement.status === 'completed') {
      totals.completed++;
      opts.metrics.coachAudioDeleted.inc();
      log.info({ event_type: 'coach_audio_deleted', ...fields }, `deleted ${fields.key ?? ''} from ${fields.bucket ?? ''}`);
    } else {
      if (settlement.status === 'failed') totals.failed++;
      else totals.retried++;
      opts.metrics.coachAudioFailed.inc();
      log.error({ event_type: 'coach_audio_failed', ...fields, error_message: settlement.lastError, final: settlement.status === 'failed', recorded: true }, `coach audio ${row.id}: ${settlement.lastError ?? ''}`);
    }
  }
  return totals;
}

/** What a real pass would do with the row: the object it would delete (and whether it is there), or why it would fail the row. */
async function dryRunRow(opts: CoachAudioOptions, log: Logger, row: CoachAudioDeletion, where: ReturnType<typeof coachAudioLocation>, totals: CoachAudioTotals): Promise<void> {
  if (!where.ok) {
    totals.failed++;
    log.error({ event_type: 'coach_audio_dry_run', dry_run: true, would: 'fail', error_message: unsafeLocationError(where.reason), attempt_count: row.attemptCount }, `would fail coach audio ${row.id}: ${where.reason}`);
    return;
  }
  try {
    const object = await opts.storage({ media: where.bucket }).head(where.key);
    totals.completed++;
    log.info(
      { event_type: 'coach_audio_dry_run', dry_run: true, would: 'delete', bucket: where.bucket, key: where.key, exists: object !== null, bytes: object?.size ?? 0 },
      `would delete ${where.key} from ${where.bucket}${object === null ? ' (already gone)' : ` (${object.size} bytes)`}`,
    );
  } catch (err) {
    totals.retried++;
    totals.outage ||= isOutage(err);
    log.error({ event_type: 'coach_audio_dry_run', dry_run: true, would: 'delete', bucket: where.bucket, key: where.key, error_message: describeError(err) }, `could not look at ${where.key} in ${where.bucket}: ${describeError(err)}`);
  }
}
