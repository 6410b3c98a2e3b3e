// transcode (seeds 000/001): a job from the queue → raw video from Wasabi/S3 → one FFmpeg
// HLS ladder, uploaded while it encodes → poster → Supabase rows ready → message deleted.
import { join } from 'node:path';
import type { RoleContext, RoleService } from '../../src/ports.js';
import { calculateInitialTimeout } from '../../src/domain/lease-timeouts.js';
import { classifyTranscodeError } from '../../src/domain/transcode-state.js';
import { masterKey, parseRawKey, posterKey, streamingPrefix, transcodeMessageSchema, type TranscodeMessage } from '../../src/domain/transcode-message.js';
import { renditionsFor } from '../../src/domain/hls-ladder.js';
import { createConsumer, type HandlerContext } from '../../src/runtime/consumer.js';
import { cachedHwDecode, locateFfmpeg, probe } from '../../src/runtime/ffmpeg/index.js';
import { assertFreeSpace, sweepStaleJobDirs, withJobDir } from '../../src/runtime/workdir.js';
import { invalidInput, step, TranscodeStepError } from '../../src/runtime/transcode/errors.js';
import { produceLadder } from '../../src/runtime/transcode/produce-ladder.js';
import { makePoster } from '../../src/runtime/transcode/poster.js';
import { createProgressReporter } from '../../src/runtime/transcode/progress.js';

export interface TranscodeOptions {
  /** Rung heights (local mode's --renditions); default 1080/720/480/360. */
  rungHeights?: readonly number[];
  preset?: string;
  /** How often transcode_progress is logged (local mode redraws a progress bar from it); default 10 s. */
  progressLogSeconds?: number;
}

export async function start(ctx: RoleContext, opts: TranscodeOptions = {}): Promise<RoleService> {
  const { config, ports, logger } = ctx;
  const queue = await ports.queue('SQS_QUEUE_URL');
  const db = ports.mediaDb();
  const ffmpeg = await locateFfmpeg({ FFMPEG_PATH: config.FFMPEG_PATH || undefined, FFPROBE_PATH: config.FFPROBE_PATH || undefined, PATH: process.env.PATH });
  const hw = await cachedHwDecode(ffmpeg);
  logger.info({ event_type: 'transcode_ready', decode: hw.kind, reason: hw.reason }, `transcode: ${hw.kind === 'none' ? 'software' : hw.kind} decode`);
  const swept = await sweepStaleJobDirs(config.WORK_DIR);
  if (swept.length > 0) logger.warn({ event_type: 'workdir_swept', dirs: swept }, `removed ${swept.length} work directories of jobs whose worker is gone`);
  const storeOf = (msg: TranscodeMessage) => ports.storage({ name: msg.bucket ?? config.BUCKET_NAME });

  async function transcode(msg: TranscodeMessage, job: HandlerContext): Promise<void> {
    const { org, uploadId } = parseRawKey(msg.key)!; // the schema has checked the key
    const store = storeOf(msg);
    const log = job.logger;
    const claim = await step('db', () => db.claimTranscodeJob(msg.job_id, msg.media_asset_id, ctx.instanceId));
    if (claim.outcome === 'completed') {
      log.info({ event_type: 'transcode_skipped', reason: 'already completed' }, 'job already completed; nothing to do');
      return;
    }
    const started = performance.now();
    log.info({ event_type: 'transcode_started', attempt: claim.attempts, key: msg.key }, `transcoding ${msg.key}`);
    const progress = createProgressReporter({
      logger: log, save: (p) => db.updateProgress(msg.job_id, p),
      ...(opts.progressLogSeconds ? { logIntervalMs: opts.progressLogSeconds * 1000 } : {}),
    });

    await withJobDir(config.WORK_DIR, msg.job_id, async (dir) => {
      const raw = await step('download', () => store.head(msg.key));
      if (!raw) throw invalidInput(`raw video ${msg.key} not found in bucket ${store.bucket}`);
      // Room for the download, the ladder in progress and the poster.
      await assertFreeSpace(dir, raw.size * 2 + 256 * 1024 * 1024);
      const input = join(dir, 'input');
      progress.report('downloading', 0);
      await step('download', () => store.download(msg.key, input, { signal: job.signal }));
      const source = await probe(ffmpeg.ffprobe, input, { signal: job.signal }).catch((err: unknown) => {
        // Name the object, not our scratch copy of it: this line ends up in the asset's error_message.
        throw invalidInput(`cannot read the video: ${(err as Error).message.replaceAll(input, msg.key)}`);
      });
      if (!source.video || !source.video.width || !source.video.height) throw invalidInput('the file has no video stream');

      progress.report('transcoding', 0);
      const ladder = await produceLadder({
        ffmpeg, hw, input, source, workDir: dir, store, prefix: streamingPrefix(org, uploadId),
        rungHeights: opts.rungHeights, preset: opts.preset,
        segmentSeconds: config.HLS_SEGMENT_SECONDS, segmentType: config.HLS_SEGMENT_TYPE as 'ts' | 'fmp4', stallSeconds: config.FFMPEG_STALL_SECONDS,
        signal: job.signal, logger: log, onProgress: (p) => progress.report('transcoding', p.percent, p.speed),
      });

      progress.report('uploading', 0);
      const poster = join(dir, 'poster.jpg');
      await step('ffmpeg', () => makePoster({ ffmpeg, input, source, outFile: poster, signal: job.signal, stallSeconds: config.FFMPEG_STALL_SECONDS }));
      await step('upload', () => store.upload(poster, posterKey(org, uploadId), 'image/jpeg', { signal: job.signal }));

      const top = ladder.rungs[0]!;
      await step('db', () => db.completeTranscode({
        jobId: msg.job_id, assetId: msg.media_asset_id, streamingPath: masterKey(org, uploadId), thumbnailPath: posterKey(org, uploadId),
        durationSeconds: source.durationSeconds ?? 0, width: top.width, height: top.height, renditions: renditionsFor(ladder.rungs, source.audio !== null),
      }));
      log.info({
        event_type: 'transcode_completed', duration_seconds: round((performance.now() - started) / 1000), video_seconds: source.durationSeconds,
        renditions: ladder.rungs.map((r) => r.name), hardware_decode: ladder.hardwareDecode, objects: ladder.objects + 1, bytes: ladder.bytes,
      }, `transcoded ${msg.key} into ${ladder.rungs.length} renditions`);
    });
  }

  return createConsumer<TranscodeMessage>({
    role: 'transcode', queue, schema: transcodeMessageSchema, jobIdOf: (m) => m.job_id,
    concurrency: ctx.concurrency, once: ctx.once, waitSeconds: config.SQS_LONG_POLL_WAIT_SECONDS,
    heartbeat: { intervalSeconds: config.HEARTBEAT_INTERVAL_SECONDS, extensionSeconds: config.HEARTBEAT_EXTENSION_SECONDS },
    initialTimeoutSeconds: async (m) => calculateInitialTimeout((await storeOf(m).head(m.key))?.size ?? 0),
    logger: ctx.logger, metrics: ctx.metrics, stopping: ctx.stopping,
    handler: async (msg, job) => {
      try {
        await transcode(msg, job);
      } catch (err) {
        if (job.signal.aborted) throw err; // lease lost or shutdown: the engine gives the message back
        const failure = err instanceof TranscodeStepError ? err.failure : { kind: 'download' as const };
        const { code, permanent } = classifyTranscodeError(failure);
        const message = (err as Error).message;
        const last = queue.maxReceiveCount !== null && job.message.receiveCount >= queue.maxReceiveCount;
        job.logger.error({ event_type: 'transcode_failed', error_code: code, error_message: message, permanent, last_attempt: last, err }, `transcode failed: ${message}`);
        // A permanent failure is recorded and acked (no retry storm); a transient one is retried
        // by the engine, and recorded too when this was the last receive before the DLQ.
        if (permanent || last) await db.failTranscode(msg.job_id, msg.media_asset_id, code, message);
        if (!permanent) throw err;
      }
    },
  });
}

const round = (n: number): number => Math.round(n * 1000) / 1000;
