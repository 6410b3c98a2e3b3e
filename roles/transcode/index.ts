// transcode (RUGBYCODEX.md): a message names a `jobs` row → the job and its asset read in
// one request → job running, asset transcoding → the raw video from the asset's bucket →
// one FFmpeg pass makes the HLS ladder and the storyboard, uploaded while it encodes, under
// the folder the player looks in → asset transcoded → streaming ready → job succeeded →
// asset complete → message deleted.
import { join } from 'node:path';
import type { JobRef, RoleContext, RoleService, StoryboardRecord } from '../../src/ports.js';
import { calculateInitialTimeout } from '../../src/domain/lease-timeouts.js';
import { classifyTranscodeError, isFinished, needsAssetCompletion } from '../../src/domain/transcode-state.js';
import { jobRefOf, transcodeMessageSchema, type TranscodeMessage } from '../../src/domain/transcode-message.js';
import { checkJob } from '../../src/domain/transcode-job.js';
import { streamingLayout, type StreamingLayout } from '../../src/domain/streaming-layout.js';
import { sheetName, VTT_NAME } from '../../src/domain/storyboard.js';
import { renditionsFor } from '../../src/domain/hls-ladder.js';
import { createConsumer, type HandlerContext } from '../../src/runtime/consumer.js';
import { PermanentError } from '../../src/runtime/consumer-errors.js';
import { cachedHwDecode, locateConfiguredFfmpeg, probe } from '../../src/runtime/ffmpeg/index.js';
import { assertFreeSpace, sweepStaleJobDirs, withJobDir } from '../../src/runtime/workdir.js';
import { invalidInput, step, TranscodeStepError } from '../../src/runtime/transcode/errors.js';
import { produceLadder } from '../../src/runtime/transcode/produce-ladder.js';
import { createProgressReporter } from '../../src/runtime/transcode/progress.js';

export interface TranscodeOptions {
  /** Rung heights (local mode's --renditions); default HLS_RENDITIONS. */
  rungHeights?: readonly number[];
  preset?: string;
  /** How often transcode_progress is logged (local mode redraws a progress bar from it); default 10 s. */
  progressLogSeconds?: number;
}

/** The message names a job that is not the one in the table: dead-lettered with the reason, nothing written. */
class InvalidJobError extends PermanentError {
  override readonly name = 'InvalidJobError';
}

export async function start(ctx: RoleContext, opts: TranscodeOptions = {}): Promise<RoleService> {
  const { config, ports, logger } = ctx;
  const queue = await ports.queue('SQS_TRANSCODE_QUEUE_URL');
  const db = ports.mediaDb();
  const ffmpeg = await locateConfiguredFfmpeg(config);
  const hw = await cachedHwDecode(ffmpeg);
  logger.info({ event_type: 'transcode_ready', decode: hw.kind, reason: hw.reason }, `transcode: ${hw.kind === 'none' ? 'software' : hw.kind} decode`);
  const swept = await sweepStaleJobDirs(config.WORK_DIR);
  if (swept.length > 0) logger.warn({ event_type: 'workdir_swept', dirs: swept }, `removed ${swept.length} work directories of jobs whose worker is gone`);

  async function transcode(ref: JobRef, job: HandlerContext): Promise<void> {
    const log = job.logger;
    const checked = checkJob(ref, await step('db', () => db.transcodeJob(ref.jobId)));
    if (!checked.ok) throw new InvalidJobError(checked.reason);
    const { state, asset } = checked.job;
    if (isFinished(state)) {
      // A redelivery after the worker stopped between the job and asset writes finishes the asset.
      if (needsAssetCompletion(state, asset)) await step('db', () => db.completeAsset(ref));
      log.info({ event_type: 'transcode_skipped', state }, `job is already ${state}; nothing to do`);
      return;
    }
    const layout = streamingLayout({ baseOrgStoragePath: asset.baseOrgStoragePath, orgId: ref.orgId, mediaId: ref.mediaId });
    if (!layout.ok) throw new InvalidJobError(layout.reason);
    const store = ports.storage({ media: asset.bucket });

    if (!(await step('db', () => db.startTranscode(ref, job.message.receiveCount)))) {
      log.info({ event_type: 'transcode_skipped', reason: 'finished meanwhile' }, 'job finished while this delivery started; nothing to do');
      return;
    }
    const started = performance.now();
    log.info({ event_type: 'transcode_started', attempt: job.message.receiveCount, bucket: asset.bucket, key: asset.storagePath }, `transcoding ${asset.bucket}/${asset.storagePath}`);
    const progress = createProgressReporter({
      logger: log, save: (p) => db.reportProgress(ref, p),
      ...(opts.progressLogSeconds ? { logIntervalMs: opts.progressLogSeconds * 1000 } : {}),
    });

    await withJobDir(config.WORK_DIR, ref.jobId, async (dir) => {
      const raw = await step('download', () => store.head(asset.storagePath));
      if (!raw) throw invalidInput(`raw video ${asset.storagePath} not found in bucket ${asset.bucket}`);
      // The lease now follows the video's size (seed table), before the long download.
      await job.extendTo(calculateInitialTimeout(raw.size));
      // Room for the download and the ladder in progress.
      await assertFreeSpace(dir, raw.size * 2 + 256 * 1024 * 1024);
      const input = join(dir, 'input');
      progress.report('downloading', 0);
      await step('download', () => store.download(asset.storagePath, input, { signal: job.signal }));
      const source = await probe(ffmpeg.ffprobe, input, { signal: job.signal }).catch((err: unknown) => {
        // Name the object, not our scratch copy of it: this line ends up in the job's error_message.
        throw invalidInput(`cannot read the video: ${(err as Error).message.replaceAll(input, asset.storagePath)}`);
      });
      if (!source.video || !source.video.width || !source.video.height) throw invalidInput('the file has no video stream');

      progress.report('transcoding', 0);
      const ladder = await produceLadder({
        ffmpeg, hw, input, source, workDir: dir, store, prefix: layout.layout.prefix, storyboard: true,
        rungHeights: opts.rungHeights ?? config.HLS_RENDITIONS, preset: opts.preset,
        segmentSeconds: config.HLS_SEGMENT_SECONDS, segmentType: config.HLS_SEGMENT_TYPE as 'ts' | 'fmp4', stallSeconds: config.FFMPEG_STALL_SECONDS,
        signal: job.signal, logger: log, onProgress: (p) => progress.report('transcoding', p.percent, p.speed),
      });

      await step('db', () => db.markTranscoded(ref));
      await step('db', () => db.publishStreaming(ref, storyboardRecord(layout.layout, ladder.storyboard, config.HLS_SEGMENT_SECONDS)));
      await step('db', () => db.succeedJob(ref, {
        playlistKey: layout.layout.playlistKey, durationSeconds: source.durationSeconds,
        renditions: renditionsFor(ladder.rungs, source.audio !== null).map(({ name, width, height, bandwidth }) => ({ name, width, height, bandwidth })),
      }));
      await step('db', () => db.completeAsset(ref));
      log.info({
        event_type: 'transcode_completed', duration_seconds: round((performance.now() - started) / 1000), video_seconds: source.durationSeconds,
        renditions: ladder.rungs.map((r) => r.name), hardware_decode: ladder.hardwareDecode, objects: ladder.objects, bytes: ladder.bytes,
        storyboard_frames: ladder.storyboard?.frameCount ?? 0, playlist: layout.layout.playlistKey,
      }, `transcoded ${asset.storagePath} into ${ladder.rungs.length} renditions at ${layout.layout.playlistKey}`);
    });
  }

  return createConsumer<TranscodeMessage>({
    role: 'transcode', queue, schema: transcodeMessageSchema, jobIdOf: (m) => m.job_id,
    concurrency: ctx.concurrency, once: ctx.once, waitSeconds: config.SQS_LONG_POLL_WAIT_SECONDS,
    ...(config.SQS_VISIBILITY_TIMEOUT > 0 ? { visibilitySeconds: config.SQS_VISIBILITY_TIMEOUT } : {}),
    heartbeat: { intervalSeconds: config.HEARTBEAT_INTERVAL_SECONDS, extensionSeconds: config.HEARTBEAT_EXTENSION_SECONDS },
    logger: ctx.logger, metrics: ctx.metrics, stopping: ctx.stopping,
    handler: async (msg, job) => {
      const ref = jobRefOf(msg);
      try {
        await transcode(ref, job);
      } catch (err) {
        // Lease lost or shutdown: the engine gives the message back. A message naming the wrong
        // job: dead-lettered, and that job's rows are not ours to touch.
        if (job.signal.aborted || err instanceof InvalidJobError) throw err;
        const failure = err instanceof TranscodeStepError ? err.failure : { kind: 'download' as const };
        const { code, permanent } = classifyTranscodeError(failure);
        const message = (err as Error).message;
        const last = !permanent && job.isFinalFailure(err);
        job.logger.error({ event_type: 'transcode_failed', error_code: code, error_message: message, permanent, last_attempt: last, err }, `transcode failed: ${message}`);
        // A permanent failure is recorded and acked (no retry storm); a transient one is retried
        // by the engine (an outage on the same receive), and recorded too when it ends the job.
        if (permanent || last) await db.failTranscode(ref, code, message);
        if (!permanent) throw err;
      }
    },
  });
}

function storyboardRecord(layout: StreamingLayout, files: { frameCount: number; width: number; height: number } | null, intervalSeconds: number): StoryboardRecord | null {
  if (files === null) return null;
  return {
    spriteKey: `${layout.thumbnailsPrefix}${sheetName(0)}`, vttKey: `${layout.thumbnailsPrefix}${VTT_NAME}`,
    frameCount: files.frameCount, intervalSeconds, width: files.width, height: files.height,
  };
}

const round = (n: number): number => Math.round(n * 1000) / 1000;
