// reassemble (STEREO-SPOT.md): {"job_id"} → the job taken through the ReassemblyTriggered
// lock (not taken: someone else has it) → the segment outputs downloaded in parallel, in
// index order → a frame-exact join, checked → final.mp4 uploaded (faststart, multipart) →
// completed + completed_at → ack. A failure after taking the job gives it back (the
// lock's reassembly_started_at removed) before the message is retried (lost-job 3); a
// worker killed mid-way stops refreshing the lock, and its redelivered message takes it over.
// A job that can never be joined (too many segments, a segment output that is no video or
// that FFmpeg cannot read, one outside the output bucket) is recorded failed once by the
// engine and its message acked: the reconciler leaves a failed job alone, so nothing resends it.
import { join } from 'node:path';
import { InvalidInputError, RetryableError } from '../../src/ports/index.js';
import type { RoleContext, RoleService } from '../../src/ports/index.js';
import { finalKey, parseS3Uri } from '../../src/domain/stereo/keys.js';
import { parseReassemblyBody } from '../../src/domain/stereo/reassembly-message.js';
import { reassemblyDecision, statusesBefore } from '../../src/domain/stereo/job-state.js';
import { segmentCountProblem } from '../../src/domain/media-limits.js';
import { createConsumer, type HandlerContext } from '../../src/runtime/consumer.js';
import { locateConfiguredFfmpeg } from '../../src/runtime/ffmpeg/index.js';
import { mapLimit } from '../../src/runtime/parallel.js';
import { joinSegments, PartError } from '../stereo/media.js';
import { withJobDir } from '../../src/runtime/workdir.js';
import { unixSeconds as unixNow } from '../../src/runtime/clock.js';
import { stereoMetrics } from '../stereo/metrics.js';
import { holdLock } from '../stereo/lock-holder.js';
import { reassemblyLockTiming } from '../../src/domain/stereo/reassembly-lock.js';

const DOWNLOADS_IN_FLIGHT = 4;

export async function start(ctx: RoleContext): Promise<RoleService> {
  const { config, ports } = ctx;
  const [queue, db] = await Promise.all([ports.queue('REASSEMBLY_QUEUE_URL'), ports.pipelineDb()]);
  const output = ports.storage('OUTPUT_BUCKET_NAME');
  const ffmpeg = await locateConfiguredFfmpeg(config);
  const counts = stereoMetrics(ctx.metrics, 'reassemble', ['completed', 'failed']);
  const lockTiming = reassemblyLockTiming(config.HEARTBEAT_INTERVAL_SECONDS, config.HEARTBEAT_EXTENSION_SECONDS);
  // Locks this process took and could not give back (DynamoDB down at the release): still ours
  // to take again at once. Else the next try found a fresh lock, took it for another worker's,
  // acked, and the job waited for no one.
  const unreleased = new Map<string, number>();

  async function reassemble(jobId: string, job: HandlerContext): Promise<void> {
    const log = job.logger;
    const row = await db.getJob(jobId);
    const decision = reassemblyDecision(row?.status ?? null);
    if (decision === 'done' || decision === 'skip') return void log.info({ event_type: 'reassembly_skipped', status: row?.status }, `job is ${row?.status}; nothing to reassemble`);
    if (decision === 'retry' || !row) throw new RetryableError(`job ${jobId} is ${row ? row.status : 'not in the Jobs table'}; not ready for reassembly`);
    // Before any download or ffprobe: a count no chunk of ours makes would cost that many on every try.
    const tooMany = segmentCountProblem(row.totalSegments ?? 0, config);
    if (tooMany) throw new InvalidInputError(tooMany);
    if (await output.exists(finalKey(jobId))) {
      await db.updateJob(jobId, { status: 'completed', completedAt: unixNow() }, statusesBefore('completed'));
      return void log.info({ event_type: 'reassembly_skipped', reason: 'final.mp4 exists' }, 'final.mp4 already there; job marked completed');
    }
    const held = await db.getLock(jobId);
    const startedAt = unixNow();
    const ours = unreleased.get(jobId);
    const mine = ours !== undefined && held?.reassemblyStartedAt === ours;
    if (!(await db.takeLock(jobId, startedAt, { staleBefore: Math.max(startedAt - lockTiming.takeoverSeconds, mine ? ours + 1 : -Infinity) }))) {
      return void log.info({ event_type: 'reassembly_skipped', reason: 'taken' }, 'another reassembly has this job');
    }
    unreleased.delete(jobId);
    if (held?.reassemblyStartedAt != null && !mine) {
      log.warn({ event_type: 'reassembly_taken_over', last_refreshed_at: held.reassemblyStartedAt }, `the reassembly holding this job stopped ${startedAt - held.reassemblyStartedAt} s ago; taking it over`);
    }
    const hold = holdLock({ db, jobId, startedAt, refreshSeconds: lockTiming.refreshSeconds, logger: log });
    const signal = AbortSignal.any([job.signal, hold.signal]);
    try {
      const total = row.totalSegments ?? 0;
      const completions = (await db.completions(jobId)).filter((c) => c.segmentIndex < total);
      if (total < 1 || completions.length < total) throw new RetryableError(`${completions.length} of ${total} segments complete; not ready for reassembly`);
      await withJobDir(config.WORK_DIR, jobId, async (dir) => {
        const parts = await mapLimit(completions, DOWNLOADS_IN_FLIGHT, async (c) => {
          const uri = parseS3Uri(c.outputS3Uri);
          if (!uri.ok || uri.bucket !== output.bucket) throw new InvalidInputError(`segment ${c.segmentIndex} output ${c.outputS3Uri} is not in the output bucket`);
          const file = join(dir, `part_${String(c.segmentIndex).padStart(5, '0')}.mp4`);
          await output.download(uri.key, file, { signal });
          return file;
        });
        const final = join(dir, 'final.mp4');
        const joined = await joinSegments({ ffmpeg, parts, output: final, workDir: dir, signal, stallSeconds: config.FFMPEG_STALL_SECONDS, probesInFlight: config.REASSEMBLY_PROBE_CONCURRENCY }).catch((err: unknown) => {
          if (!(err instanceof PartError)) throw err;
          // Named as the job knows it; the cause (FFmpeg's error) still says whether it is the segment's fault.
          const c = completions[err.index]!;
          throw new Error(`segment ${c.segmentIndex} output ${c.outputS3Uri} is ${err.problem}`, { cause: err });
        });
        await output.upload(final, finalKey(jobId), 'video/mp4', { signal });
        await db.updateJob(jobId, { status: 'completed', completedAt: unixNow() }, statusesBefore('completed'));
        counts.segments.inc(total);
        counts.jobs('completed').inc();
        log.info({ event_type: 'reassembly_completed', total_segments: total, frames: joined.frames, duration_seconds: joined.durationSeconds }, `job ${jobId}: final.mp4 of ${total} segments`);
      });
    } catch (err) {
      await hold.stop();
      // Given back, so the retry (or another worker) can take it again; only if still ours.
      await db.releaseLock(jobId, hold.current()).catch((e: unknown) => {
        unreleased.set(jobId, hold.current());
        log.error({ event_type: 'reassembly_release_failed', err: e }, 'could not release the reassembly lock');
      });
      throw err;
    } finally {
      await hold.stop();
    }
  }

  return createConsumer<{ jobId: string }>({
    role: 'reassemble', queue, jobIdOf: (m) => m.jobId,
    parse: (body) => {
      const r = parseReassemblyBody(body);
      return r.ok ? { ok: true, value: { jobId: r.jobId } } : r;
    },
    concurrency: ctx.concurrency, once: ctx.once, waitSeconds: config.SQS_LONG_POLL_WAIT_SECONDS,
    // The stereo queues' own visibility is the lease where the task role may not extend it (upstream's never do).
    heartbeat: { intervalSeconds: config.HEARTBEAT_INTERVAL_SECONDS, extensionSeconds: config.HEARTBEAT_EXTENSION_SECONDS, optional: true },
    logger: ctx.logger, metrics: ctx.metrics, stopping: ctx.stopping,
    handler: (msg, job) => reassemble(msg.jobId, job),
    // A job whose receives ran out stays chunking_complete: the reconciler sends it again
    // after the grace (a transient trouble may be gone by then).
    failed: {
      lastReceive: false,
      async record(msg, err, job) {
        if ((await db.updateJob(msg.jobId, { status: 'failed' }, statusesBefore('failed'))) === 'updated') counts.jobs('failed').inc();
        const message = err instanceof Error ? err.message : String(err);
        job.logger.error({ event_type: 'reassembly_failed', error_message: message }, message);
      },
    },
  });
}
