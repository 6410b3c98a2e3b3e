// transcode (RUGBYCODEX.md): a message names a `jobs` row → the job and its asset read in
// one request → what this delivery does is decided from the row (src/domain/rugbycodex/transcode-delivery.ts:
// a duplicate of a held or finished job is acked; a finished job's asset moved back by
// complete-upload is put right) → the job claimed under a token this delivery holds while it
// works → the raw video from the asset's bucket, only from the asset's own folder, read by
// FFmpeg while it downloads → one FFmpeg pass makes the HLS ladder and the storyboard,
// uploaded while it encodes, under the folder the player looks in → asset transcoded →
// streaming ready → job succeeded → asset complete → message deleted.
// Beside the queue, a reconciler sends again the messages of jobs whose message was lost.
import { join } from 'node:path';
import { HoldLostError, PermanentError } from '../../src/ports/index.js';
import type { JobHold, JobRef, RoleContext, RoleService, StoryboardRecord, TranscodeAsset, TranscodeErrorCode } from '../../src/ports/index.js';
import { calculateInitialTimeout } from '../../src/domain/rugbycodex/lease-timeouts.js';
import { transcodeErrorCode } from '../../src/domain/rugbycodex/transcode-state.js';
import { jobRefOf, transcodeMessageSchema, type TranscodeMessage } from '../../src/domain/rugbycodex/transcode-message.js';
import { checkJob, type CheckedJob } from '../../src/domain/rugbycodex/transcode-job.js';
import { decideDelivery, isPlayable, RESTORE_RECHECK_SECONDS, RESTORE_ROUNDS, type ClaimFrom } from '../../src/domain/rugbycodex/transcode-delivery.js';
import { HOLD_REFRESH_SECONDS } from '../../src/domain/rugbycodex/transcode-hold.js';
import { orphanSeconds } from '../../src/domain/rugbycodex/transcode-requeue.js';
import { streamingLayout, type StreamingLayout } from '../../src/domain/rugbycodex/streaming-layout.js';
import { sourceKeyProblem } from '../../src/domain/rugbycodex/asset-folder.js';
import { DEFAULT_RUNG_HEIGHTS, defaultRungCount } from '../../src/domain/rugbycodex/hls-ladder.js';
import { sheetName, VTT_NAME } from '../../src/domain/rugbycodex/storyboard.js';
import { mediaLimitProblem } from '../../src/domain/media-limits.js';
import { createConsumer, type HandlerContext } from '../../src/runtime/consumer.js';
import { cachedHwDecode, cachedHwEncode, locateConfiguredFfmpeg } from '../../src/runtime/ffmpeg/index.js';
import { encoderChoice } from '../../src/domain/rugbycodex/video-encoder.js';
import { keepHold } from '../../src/runtime/keep-hold.js';
import { startPeriodic } from '../../src/runtime/periodic.js';
import { sleep } from '../../src/runtime/retry.js';
import { assertFreeSpace, sweepStaleJobDirs, withJobDir } from '../../src/runtime/workdir.js';
import { invalidInput, step, TranscodeStepError } from './errors.js';
import { produceLadder } from './produce-ladder.js';
import { withProgressiveSource } from './progressive-source.js';
import { createProgressReporter } from './progress.js';
import { transcodeMetrics, type TranscodePhase } from './metrics.js';
import { reportHardware } from './hardware-metrics.js';
import { createRequeuer } from './requeue.js';

export interface TranscodeOptions {
  /** Rung heights (local mode's --renditions); default HLS_RENDITIONS, else by encoder (defaultRungHeights). */
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
  const [hw, enc] = await Promise.all([
    cachedHwDecode(ffmpeg),
    cachedHwEncode(ffmpeg, { choice: encoderChoice(config.HLS_ENCODER), streams: (opts.rungHeights ?? config.HLS_RENDITIONS ?? DEFAULT_RUNG_HEIGHTS).length }),
  ]);
  reportHardware(ctx.metrics, { decode: hw.kind, encoder: enc.encoder });
  const timing = transcodeMetrics(ctx.metrics);
  logger.info({ event_type: 'transcode_ready', decode: hw.kind, reason: hw.reason, encoder: enc.encoder, encode_reason: enc.reason }, `transcode: ${hw.kind === 'none' ? 'software' : hw.kind} decode, ${enc.encoder} encode`);
  const swept = await sweepStaleJobDirs(config.WORK_DIR);
  if (swept.length > 0) logger.warn({ event_type: 'workdir_swept', dirs: swept }, `removed ${swept.length} work directories of jobs whose worker is gone`);

  /** The rungs asked for (--renditions, HLS_RENDITIONS), or the default ladder for the encoder this machine has. */
  const rungsWanted = (encoder: string): { rungHeights: readonly number[]; rungCount: number | null } => {
    const asked = opts.rungHeights ?? config.HLS_RENDITIONS;
    return asked ? { rungHeights: asked, rungCount: null } : { rungHeights: DEFAULT_RUNG_HEIGHTS, rungCount: defaultRungCount(encoder) };
  };

  /** One delivery: decide from the row, then ack, put the asset right, or claim and encode. */
  async function deliver(ref: JobRef, job: HandlerContext, held: (hold: JobHold) => void): Promise<void> {
    const log = job.logger;
    const read = async (): Promise<CheckedJob> => {
      const checked = checkJob(ref, await step('db', () => db.transcodeJob(ref.jobId)));
      if (!checked.ok) throw new InvalidJobError(checked.reason);
      return checked.job;
    };
    const found = await read();
    const layout = streamingLayout({ baseOrgStoragePath: found.asset.baseOrgStoragePath, orgId: ref.orgId, mediaId: ref.mediaId });
    if (!layout.ok) throw new InvalidJobError(layout.reason);
    const store = ports.storage({ media: found.asset.bucket });

    const decision = decideDelivery({ job: found, messageId: job.message.id, nowMs: Date.now() });
    let from: ClaimFrom;
    switch (decision.action) {
      case 'ack':
        log.info({ event_type: 'transcode_skipped', state: found.state, reason: decision.reason }, `nothing to do: ${decision.reason}`);
        return;
      case 'refail':
        await step('db', () => db.refailAsset(ref));
        log.info({ event_type: 'transcode_skipped', state: found.state, reason: 'failed; its asset said failed again' }, 'the job already failed; its asset, moved back to uploaded, says failed again');
        return;
      case 'restore':
        if (await step('download', () => store.exists(layout.layout.playlistKey))) {
          await restore(ref, read, job);
          return;
        }
        log.warn({ event_type: 'transcode_output_missing', playlist: layout.layout.playlistKey }, `the job succeeded but ${layout.layout.playlistKey} is gone: encoding again`);
        from = decision.from;
        break;
      case 'claim':
        from = decision.from;
        if (from.state === 'running') log.warn({ event_type: 'transcode_taking_over', reason: decision.why }, `taking the job over: ${decision.why}`);
    }

    const hold = await step('db', () => db.claimTranscode(ref, { from, attempt: job.message.receiveCount, holder: { messageId: job.message.id, worker: ctx.instanceId } }));
    if (!hold) {
      log.info({ event_type: 'transcode_skipped', reason: 'another delivery claimed it first' }, 'another delivery claimed the job first; nothing to do');
      return;
    }
    held(hold);
    await encode(hold, found.asset, layout.layout, job);
  }

  /** A succeeded job's asset complete again; looked at once more after complete-upload's late write may have landed. */
  async function restore(ref: JobRef, read: () => Promise<CheckedJob>, job: HandlerContext): Promise<void> {
    for (let round = 1; ; round++) {
      await step('db', () => db.restoreAsset(ref));
      job.logger.info({ event_type: 'transcode_asset_restored', round }, 'the job had succeeded and its output is there: asset complete and ready again');
      if (round >= RESTORE_ROUNDS) return;
      await sleep(RESTORE_RECHECK_SECONDS * 1000, job.signal);
      const again = await read();
      if (again.state !== 'succeeded' || isPlayable(again.asset)) return;
    }
  }

  async function encode(hold: JobHold, asset: TranscodeAsset, layout: StreamingLayout, job: HandlerContext): Promise<void> {
    const log = job.logger;
    // complete-upload stores the storage_path its caller sends: read only inside the asset's own folder.
    const foreign = sourceKeyProblem(asset);
    if (foreign !== null) throw invalidInput(foreign);
    const started = performance.now();
    // Time to ready counts from the send where the queue tells it (SQS, Redis, memory all do).
    const sentAt = job.message.sentAt ?? Date.now();
    const phases: Partial<Record<TranscodePhase, number>> = { queued: (Date.now() - sentAt) / 1000 };
    // The row says this delivery is alive; a refresh that finds it taken over stops the work.
    const kept = keepHold({
      refresh: () => db.refreshHold(hold), intervalSeconds: HOLD_REFRESH_SECONDS,
      lostError: () => new HoldLostError(`job ${hold.ref.jobId} was taken over by another delivery`),
      onRefreshFailed: (err) => log.warn({ event_type: 'transcode_hold_refresh_failed', err }, `could not refresh the job's hold: ${(err as Error).message}`),
    });
    const signal = AbortSignal.any([job.signal, kept.lost]);
    log.info({ event_type: 'transcode_started', attempt: job.message.receiveCount, bucket: asset.bucket, key: asset.storagePath }, `transcoding ${asset.bucket}/${asset.storagePath}`);
    const progress = createProgressReporter({
      logger: log, save: (p) => db.reportProgress(hold, p),
      ...(opts.progressLogSeconds ? { logIntervalMs: opts.progressLogSeconds * 1000 } : {}),
    });

    try {
      await withJobDir(config.WORK_DIR, hold.ref.jobId, async (dir) => {
        const store = ports.storage({ media: asset.bucket });
        const raw = await step('download', () => store.head(asset.storagePath));
        if (!raw) throw invalidInput(`raw video ${asset.storagePath} not found in bucket ${asset.bucket}`);
        // The lease now follows the video's size (seed table), before the long download.
        await job.extendTo(calculateInitialTimeout(raw.size));
        // Room for the download and the ladder in progress.
        await assertFreeSpace(dir, raw.size * 2 + 256 * 1024 * 1024);
        progress.report('downloading', 0);
        // FFmpeg reads the source while it downloads, through a loopback server; the download
        // stops once the ladder is done.
        const { source, ladder } = await withProgressiveSource({ ffmpeg, store, object: raw, file: join(dir, 'input'), signal, logger: log, onDownloaded: (s) => { phases.download = s; } }, async (input) => {
          const source = await input.probe();
          if (!source.video || !source.video.width || !source.video.height) throw invalidInput('the file has no video stream');
          // Before any decode: a file over a limit would cost its work again on every delivery.
          const overLimit = mediaLimitProblem(source, config);
          if (overLimit) throw invalidInput(overLimit);
          progress.report('transcoding', 0);
          const ladder = await input.read((reading) => produceLadder({
            ffmpeg, hw, input: input.url, transport: input.transport, source, workDir: dir, store, prefix: layout.prefix, storyboard: true,
            ...rungsWanted(enc.encoder), encoder: enc.encoder, preset: opts.preset ?? config.HLS_PRESET,
            segmentSeconds: config.HLS_SEGMENT_SECONDS, segmentType: config.HLS_SEGMENT_TYPE as 'ts' | 'fmp4', stallSeconds: config.FFMPEG_STALL_SECONDS,
            signal: reading, logger: log, onProgress: (p) => progress.report('transcoding', p.percent, p.speed),
          }));
          return { source, ladder };
        });
        await kept.stop();
        if (kept.lost.aborted) throw kept.lost.reason;
        phases.encode = ladder.seconds.encode;
        phases.upload = ladder.seconds.upload;
        const finishing = performance.now();

        await step('db', () => db.markTranscoded(hold));
        await step('db', () => db.publishStreaming(hold, storyboardRecord(layout, ladder.storyboard, config.HLS_SEGMENT_SECONDS)));
        await step('db', () => db.succeedJob(hold, {
          playlistKey: layout.playlistKey, durationSeconds: source.durationSeconds,
          renditions: ladder.renditions.map(({ name, width, height, bandwidth }) => ({ name, width, height, bandwidth })),
        }));
        await step('db', () => db.completeAsset(hold));
        phases.finish = (performance.now() - finishing) / 1000;
        timing.ready((Date.now() - sentAt) / 1000, phases);
        log.info({
          event_type: 'transcode_completed', duration_seconds: round((performance.now() - started) / 1000), video_seconds: source.durationSeconds,
          renditions: ladder.rungs.map((r) => r.name), hardware_decode: ladder.hardwareDecode, encoder: ladder.encoder, objects: ladder.objects, bytes: ladder.bytes,
          storyboard_frames: ladder.storyboard?.frameCount ?? 0, playlist: layout.playlistKey,
        }, `transcoded ${asset.storagePath} into ${ladder.rungs.length} renditions at ${layout.playlistKey}`);
      });
    } catch (err) {
      // Whatever the work died of, a hold taken over is the news: the job is another delivery's.
      throw kept.lost.aborted ? kept.lost.reason : err;
    } finally {
      await kept.stop();
    }
  }

  // The hold each try took, for recording its job failed with the holder's token.
  const holds = new WeakMap<HandlerContext, JobHold>();
  const consumer = createConsumer<TranscodeMessage>({
    role: 'transcode', queue, schema: transcodeMessageSchema, jobIdOf: (m) => m.job_id,
    concurrency: ctx.concurrency, once: ctx.once, waitSeconds: config.SQS_LONG_POLL_WAIT_SECONDS,
    ...(config.SQS_VISIBILITY_TIMEOUT > 0 ? { visibilitySeconds: config.SQS_VISIBILITY_TIMEOUT } : {}),
    heartbeat: { intervalSeconds: config.HEARTBEAT_INTERVAL_SECONDS, extensionSeconds: config.HEARTBEAT_EXTENSION_SECONDS },
    logger: ctx.logger, metrics: ctx.metrics, stopping: ctx.stopping,
    handler: async (msg, job) => {
      await deliver(jobRefOf(msg), job, (hold) => holds.set(job, hold));
    },
    // A failure on the input is recorded and acked (no retry storm); a transient one is
    // retried by the engine (an outage on the same receive), and recorded too when it ends
    // the job. A message naming the wrong job is dead-lettered: that job's rows are not ours.
    failed: {
      lastReceive: true,
      report: (_msg, err, { failure, recordFailed }, job) => {
        const message = errorText(err);
        if (failure === 'superseded') {
          job.logger.warn({ event_type: 'transcode_superseded', reason: message }, `another delivery has the job now; stopping and leaving it to it: ${message}`);
          return;
        }
        if (failure !== 'bad_input' && failure !== 'outage' && failure !== 'transient') return;
        const permanent = failure === 'bad_input';
        job.logger.error({ event_type: 'transcode_failed', error_code: errorCode(err), error_message: message, permanent, last_attempt: !permanent && recordFailed, err }, `transcode failed: ${message}`);
      },
      record: (msg, err, job) => db.failTranscode(jobRefOf(msg), holds.get(job) ?? null, errorCode(err), errorText(err)),
    },
  });
  if (ctx.once) return consumer;

  const requeueSeconds = config.TRANSCODE_REQUEUE_MINUTES * 60;
  const requeuer = createRequeuer({
    db, queue, logger, metrics: ctx.metrics,
    limits: () => ({
      queuedSeconds: requeueSeconds,
      orphanSeconds: orphanSeconds({ visibilitySeconds: config.SQS_VISIBILITY_TIMEOUT, extensionSeconds: config.HEARTBEAT_EXTENSION_SECONDS, maxReceiveCount: queue.maxReceiveCount }),
    }),
  });
  // A quarter of the requeue age, at most a minute: a lost message waits at most 25 % longer than said.
  // Not at start-up: a fleet restarting together would only query together.
  const passMs = Math.min(60, Math.max(1, requeueSeconds / 4)) * 1000;
  const reconciler = startPeriodic({
    name: 'transcode_requeue', once: false, stopping: ctx.stopping, logger, pass: () => requeuer.pass(),
    firstDelayMs: passMs, nextDelayMs: () => passMs,
  });
  return {
    name: consumer.name,
    done: consumer.done,
    async stop(deadline) {
      await Promise.all([consumer.stop(deadline), reconciler.stop(deadline)]);
    },
  };
}

function storyboardRecord(layout: StreamingLayout, files: { frameCount: number; width: number; height: number } | null, intervalSeconds: number): StoryboardRecord | null {
  if (files === null) return null;
  return {
    spriteKey: `${layout.thumbnailsPrefix}${sheetName(0)}`, vttKey: `${layout.thumbnailsPrefix}${VTT_NAME}`,
    frameCount: files.frameCount, intervalSeconds, width: files.width, height: files.height,
  };
}

const round = (n: number): number => Math.round(n * 1000) / 1000;

/** The job's error_code: by the step that failed (a failure outside any step is the download's). */
function errorCode(err: unknown): TranscodeErrorCode {
  return transcodeErrorCode(err instanceof TranscodeStepError ? err.failure : { kind: 'download' });
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));
