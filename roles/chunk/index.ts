// chunk (STEREO-SPOT.md): an S3 ObjectCreated event for input/{job_id}/source.mp4 → the job
// read → chunking_in_progress → the source split by stream copy while it downloads into
// CHUNK_SEGMENT_DURATION_SEC segments → segments uploaded in parallel under their keys →
// chunking_complete with total_segments → the trigger decision for the job (lost-job 1) → ack.
// A source FFmpeg cannot read (or over a limit) is the upload's fault: the engine has the job
// recorded failed once and the message acked, no retry storm.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidInputError, PermanentError, RetryableError } from '../../src/ports/index.js';
import type { RoleContext, RoleService } from '../../src/ports/index.js';
import type { S3NotificationObject } from '../../src/domain/stereo/s3-notification.js';
import { parseInputKey, segmentKey } from '../../src/domain/stereo/keys.js';
import { chunkDecision, statusesBefore } from '../../src/domain/stereo/job-state.js';
import { expectedSegments, mediaLimitProblem, segmentCountProblem } from '../../src/domain/media-limits.js';
import type { HandlerContext } from '../../src/runtime/consumer.js';
import { FfmpegError, locateConfiguredFfmpeg, probe } from '../../src/runtime/ffmpeg/index.js';
import { mapLimit } from '../../src/runtime/parallel.js';
import { splitSource } from '../stereo/media.js';
import { withProgressiveSource } from '../../src/runtime/progressive-source/progressive-source.js';
import { InlineTrigger } from '../stereo/inline-trigger.js';
import { jobLogger } from '../stereo/log.js';
import { consumeS3Objects } from '../stereo/s3-messages.js';
import { stereoMetrics } from '../stereo/metrics.js';
import { assertFreeSpace, withJobDir } from '../../src/runtime/workdir.js';

const UPLOADS_IN_FLIGHT = 4;

export async function start(ctx: RoleContext): Promise<RoleService> {
  const { config, ports } = ctx;
  const [queue, db] = await Promise.all([ports.queue('CHUNKING_QUEUE_URL'), ports.pipelineDb()]);
  // Off in upstream's ecba15e media-worker task (its role may not send to the reassembly queue):
  // there its Lambda triggers, and a job whose segments all finished first is nudged to it.
  const trigger = await InlineTrigger.open(ctx, 'chunk', db, { nudge: true });
  const input = ports.storage('INPUT_BUCKET_NAME');
  const ffmpeg = await locateConfiguredFfmpeg(config);
  const counts = stereoMetrics(ctx.metrics, 'chunk', ['chunked', 'failed']);

  async function chunk(object: S3NotificationObject, job: HandlerContext): Promise<void> {
    const parsed = parseInputKey(object.key);
    if (!parsed.ok) throw new PermanentError(`${JSON.stringify(object.key)} is ${parsed.reason}`);
    const { jobId } = parsed;
    // The consumer bound job_id already (jobIdOf); a second child({ job_id }) wrote the key twice per line.
    const log = jobLogger(job.logger, jobId);
    const row = await db.getJob(jobId);
    const decision = chunkDecision(row?.status ?? null);
    // No job yet (or one still ingesting): retried, then dead-lettered; no item is ever made for it.
    if (decision === 'retry' || !row) throw new RetryableError(`job ${jobId} is ${row ? row.status : 'not in the Jobs table'} yet`);
    if (decision === 'skip') return void log.info({ event_type: 'chunking_skipped', status: row.status }, `job is ${row.status}; nothing to chunk`);
    if (decision === 'done') {
      // Chunked already (a redelivery): the trigger may still be owed (lost-job 1).
      await trigger.afterChunking(jobId, row.totalSegments ?? 0, log);
      return void log.info({ event_type: 'chunking_skipped', status: row.status }, `job is ${row.status}; already chunked`);
    }
    if (row.mode === null) throw new PermanentError(`job ${jobId} has no valid mode`);
    const mode = row.mode;
    if ((await db.updateJob(jobId, { status: 'chunking_in_progress' }, statusesBefore('chunking_in_progress'))) !== 'updated') {
      return void log.info({ event_type: 'chunking_skipped', reason: 'job moved on meanwhile' }, 'job moved on meanwhile; nothing to chunk');
    }
    await withJobDir(config.WORK_DIR, jobId, async (dir) => {
      const head = await input.head(object.key);
      if (!head) throw new RetryableError(`source ${object.key} is not in ${input.bucket} (yet)`);
      // No size-based lease (transcode has one): the heartbeat keeps a live chunk's message, and
      // after a crash it comes back within HEARTBEAT_EXTENSION_SECONDS, not the table's hour.
      await assertFreeSpace(dir, head.size * 2 + 64 * 1024 * 1024);
      // FFmpeg reads the source while it downloads (a loopback server in front of the work file):
      // the probe and the split start on the first bytes instead of after the last.
      const onDownloaded = (seconds: number): void => log.info({ event_type: 'chunking_source_downloaded', bytes: head.size, seconds: Math.round(seconds * 1000) / 1000 }, `downloaded ${head.size} bytes in ${seconds.toFixed(3)} s`);
      const parts = await withProgressiveSource({ store: input, object: head, file: join(dir, 'source.mp4'), signal: job.signal, logger: log, onDownloaded }, async (source) => {
        // Read as untrusted media: a playlist naming the worker's own files is refused, not followed.
        // The messages name the object, not our loopback URL; FFmpeg's error stays the cause, so a
        // clean exit is a bad input and a stall or a kill another try's business.
        const unreadable = (what: string) => (err: unknown): never => {
          if (err instanceof FfmpegError && err.refused !== null) throw new InvalidInputError(`${object.key} is ${err.refused}`, { cause: err });
          throw new Error(`${what} ${object.key}: ${(err as Error).message.split('\n')[0]!.replaceAll(source.url, object.key)}`, { cause: err });
        };
        const info = await source.read((signal) => probe(ffmpeg.ffprobe, source.url, { signal, transport: source.transport }).catch(unreadable('cannot read')));
        if (!info.video) throw new InvalidInputError(`${object.key} has no video stream`);
        // Before the split: a source over a limit would cost its work (and its segments' inference) on every delivery.
        const overLimit = mediaLimitProblem(info, config)
          ?? segmentCountProblem(expectedSegments(info.durationSeconds, config.CHUNK_SEGMENT_DURATION_SEC), config, `at CHUNK_SEGMENT_DURATION_SEC ${config.CHUNK_SEGMENT_DURATION_SEC} the source would make`);
        if (overLimit) throw new InvalidInputError(`${object.key}: ${overLimit}`);
        const segments = join(dir, 'segments');
        await mkdir(segments);
        return source.read((signal) => splitSource({
          ffmpeg, input: source.url, transport: source.transport, outDir: segments, segmentSeconds: config.CHUNK_SEGMENT_DURATION_SEC, signal,
          stallSeconds: config.FFMPEG_STALL_SECONDS, durationSeconds: info.durationSeconds ?? undefined,
        }).catch(unreadable('cannot split')));
      });
      if (parts.length === 0) throw new InvalidInputError(`splitting ${object.key} made no segment`);
      // Timestamps can say less than the split finds: the count itself is checked before any upload.
      const tooMany = segmentCountProblem(parts.length, config, 'splitting the source made');
      if (tooMany) throw new InvalidInputError(`${object.key}: ${tooMany}`);
      const total = parts.length;
      // Each upload fires a video-worker event: inference starts before chunking is recorded.
      await mapLimit(parts, UPLOADS_IN_FLIGHT, (file, i) => input.upload(file, segmentKey({ jobId, segmentIndex: i, totalSegments: total, mode }), 'video/mp4', { signal: job.signal }));
      await db.updateJob(jobId, { status: 'chunking_complete', totalSegments: total }, statusesBefore('chunking_complete'));
      counts.segments.inc(total);
      counts.jobs('chunked').inc();
      log.info({ event_type: 'chunking_completed', total_segments: total, mode }, `job ${jobId} chunked into ${total} segments`);
      // Every completion may have landed before chunking_complete did: decide now (lost-job 1).
      await trigger.afterChunking(jobId, total, log);
    });
  }

  return consumeS3Objects({
    role: 'chunk', ctx, queue,
    jobIdOf: (object) => { const p = parseInputKey(object.key); return p.ok ? p.jobId : ''; },
    handle: chunk,
    // A chunk whose receives ran out is left chunking_in_progress for runbook 1 (jobs recover-chunking).
    failed: {
      lastReceive: false,
      async record(object, err, job) {
        const parsed = parseInputKey(object.key);
        if (!parsed.ok) return;
        if ((await db.updateJob(parsed.jobId, { status: 'failed' }, statusesBefore('failed'))) === 'updated') counts.jobs('failed').inc();
        const message = err instanceof Error ? err.message : String(err);
        jobLogger(job.logger, parsed.jobId).error({ event_type: 'chunking_failed', error_message: message }, message);
      },
    },
  });
}
