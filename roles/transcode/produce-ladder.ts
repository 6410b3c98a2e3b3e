// The HLS ladder of one job: one FFmpeg process, uploads while it encodes, and a re-run
// when hardware decode fails (seed 001 decodes with h264_nvv4l2dec on the Jetson) or the
// hardware encoder does (libx264 then, as on a machine without one).
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ObjectStore } from '../../src/ports/index.js';
import { buildLadderArgs, chooseRungs, copyableAudioBps, renditionsFor, type Rendition, type Rung } from '../../src/domain/rugbycodex/hls-ladder.js';
import { tileHeight } from '../../src/domain/rugbycodex/storyboard.js';
import { THUMBNAILS_FOLDER } from '../../src/domain/rugbycodex/streaming-layout.js';
import { writeStoryboardVtt, type StoryboardFiles } from './storyboard.js';
import { FfmpegError, runFfmpeg, type FfmpegBinaries, type FfmpegProgress, type HwVerdict, type ProbeResult } from '../../src/runtime/ffmpeg/index.js';
import { startLiveUpload } from './live-upload.js';
import { toStepError } from './errors.js';
import { trackLadder } from './ladder-progress.js';
import { clearDeviceCondition, HW_DECODE, HW_ENCODE, setDeviceCondition } from '../../src/runtime/device-conditions.js';
import { isHardwareEncoder, type VideoEncoder } from '../../src/domain/rugbycodex/video-encoder.js';
import { untrustedInputArgs, type MediaTransport } from '../../src/domain/untrusted-media.js';
import { hwEncodeFailedEarlier, rememberHwEncodeFailure } from './hw-encode-failures.js';

export interface LadderJob {
  ffmpeg: FfmpegBinaries;
  hw: HwVerdict;
  input: string;
  /** How FFmpeg reaches `input` (default a local file): it reads it as untrusted media either way. */
  transport?: MediaTransport;
  source: ProbeResult;
  workDir: string;
  store: ObjectStore;
  /** e.g. orgs/{org}/uploads/{id}/streaming/ */
  prefix: string;
  /** Also make the hover-preview storyboard (thumbnails/) in the same pass. */
  storyboard: boolean;
  rungHeights?: readonly number[];
  /** At most this many of them, the largest (defaultRungCount); absent: every one that fits. */
  rungCount?: number | null;
  segmentSeconds: number;
  segmentType: 'ts' | 'fmp4';
  stallSeconds: number;
  /** The start-up encode verdict's encoder (default libx264); libx264 again if it fails. */
  encoder?: VideoEncoder;
  preset?: string;
  signal: AbortSignal;
  logger: Logger;
  /** FFmpeg's blocks and each step of the closed segments; percent only forward, 100 only when done. */
  onProgress: (p: FfmpegProgress) => void;
}

export interface LadderResult {
  rungs: Rung[];
  /** As the master playlist lists them (BANDWIDTH included). */
  renditions: Rendition[];
  hardwareDecode: boolean;
  /** The encoder of the output. */
  encoder: VideoEncoder;
  objects: number;
  bytes: number;
  storyboard: StoryboardFiles | null;
  /** Time-to-ready phases: FFmpeg's runs (every try), then the uploads still going when the last ended. */
  seconds: { encode: number; upload: number };
}

export async function produceLadder(job: LadderJob): Promise<LadderResult> {
  const video = job.source.video!;
  const rungs = chooseRungs({ width: video.width ?? 0, height: video.height ?? 0, rotation: video.rotation ?? null }, job.rungHeights, job.rungCount ?? null);
  let decodeArgs = video.codecName === 'h264' ? job.hw.h264InputArgs : video.codecName === 'hevc' ? job.hw.hevcInputArgs : [];
  let encoder = startingEncoder(job);
  let failedEncoder: { encoder: VideoEncoder; error: string } | null = null;
  const started = performance.now();
  // At most three runs: hardware decode goes first (it meets the untrusted input), then the
  // hardware encoder; an abort or a stall is never a reason to try again.
  for (;;) {
    try {
      const { ffmpegEndedAt, ...done } = await attempt(job, rungs, decodeArgs, encoder);
      const seconds = { encode: (ffmpegEndedAt - started) / 1000, upload: (performance.now() - ffmpegEndedAt) / 1000 };
      if (decodeArgs.length > 0) clearDeviceCondition(HW_DECODE); // the device heartbeat reports online again
      if (failedEncoder) {
        // libx264 encoded what the hardware encoder could not: the encoder it was.
        rememberHwEncodeFailure(job.ffmpeg.ffmpeg, failedEncoder.encoder, failedEncoder.error);
        setDeviceCondition(HW_ENCODE, `${failedEncoder.encoder} failed a job, encoding with libx264 until restart: ${failedEncoder.error}`);
      }
      return { ...done, rungs, renditions: renditionsFor(rungs, job.source.audio !== null, copyableAudioBps(job.source.audio)), hardwareDecode: decodeArgs.length > 0, encoder, seconds };
    } catch (err) {
      if (!(err instanceof FfmpegError) || err.reason !== 'exit' || job.signal.aborted) throw toStepError('ffmpeg', err);
      if (decodeArgs.length > 0) {
        setDeviceCondition(HW_DECODE, `${decodeArgs.join(' ')} failed, decoding in software: ${err.message}`);
        job.logger.warn(
          { event_type: 'hw_decode_fallback', decoder: decodeArgs.join(' '), error: err.message, stderr_tail: err.stderrTail.slice(-500) },
          'hardware decode failed; encoding again with software decode',
        );
        decodeArgs = [];
      } else if (isHardwareEncoder(encoder)) {
        job.logger.warn(
          { event_type: 'hw_encode_fallback', encoder, error: err.message, stderr_tail: err.stderrTail.slice(-500) },
          `hardware encode (${encoder}) failed; encoding again with libx264`,
        );
        failedEncoder = { encoder, error: err.message };
        encoder = 'libx264';
      } else {
        throw toStepError('ffmpeg', err);
      }
    }
  }
}

/** The verdict's encoder, unless it already failed a job in this process. */
function startingEncoder(job: LadderJob): VideoEncoder {
  const wanted = job.encoder ?? 'libx264';
  const earlier = isHardwareEncoder(wanted) ? hwEncodeFailedEarlier(job.ffmpeg.ffmpeg, wanted) : undefined;
  if (earlier === undefined) return wanted;
  job.logger.info({ event_type: 'hw_encode_skipped', encoder: wanted, reason: earlier }, `${wanted} failed an earlier job; encoding with libx264`);
  return 'libx264';
}

async function attempt(job: LadderJob, rungs: Rung[], inputArgs: string[], encoder: VideoEncoder): Promise<{ objects: number; bytes: number; storyboard: StoryboardFiles | null; ffmpegEndedAt: number }> {
  // The rungs are the picture as shown (rotation applied), so the tiles keep its aspect.
  const tiles = job.storyboard ? tileHeight(rungs[0]!.width, rungs[0]!.height) : undefined;
  const outDir = join(job.workDir, `hls-${inputArgs.length > 0 ? 'hw' : 'sw'}${isHardwareEncoder(encoder) ? '-hwenc' : ''}`);
  await rm(outDir, { recursive: true, force: true });
  await mkdir(tiles === undefined ? outDir : join(outDir, THUMBNAILS_FOLDER), { recursive: true }); // FFmpeg's image muxer makes no folder
  const stopEncoding = new AbortController();
  const signal = AbortSignal.any([job.signal, stopEncoding.signal]);
  const durationSeconds = job.source.durationSeconds;
  const track = trackLadder({ rungs, segmentSeconds: job.segmentSeconds, durationSeconds, onProgress: job.onProgress });
  const upload = startLiveUpload({
    dir: outDir, store: job.store, prefix: job.prefix, signal, logger: job.logger, deleteUploaded: true, tempFile: true,
    // A failed upload makes the rest of the encode pointless.
    onError: (err) => stopEncoding.abort(err),
    onSegment: track.onSegment,
  });
  try {
    await runFfmpeg(job.ffmpeg.ffmpeg, buildLadderArgs({
      input: job.input, inputArgs: [...inputArgs, ...untrustedInputArgs(job.transport ?? 'file')], rungs,
      hasAudio: job.source.audio !== null, copyAudio: copyableAudioBps(job.source.audio) !== null, fps: job.source.video?.frameRate ?? null,
      segmentSeconds: job.segmentSeconds, segmentType: job.segmentType, outDir, encoder, preset: job.preset,
      videoStreamIndex: job.source.video?.index, audioStreamIndex: job.source.audio?.index, storyboardTileHeight: tiles,
    }), {
      signal, onProgress: track.onFfmpegProgress, activity: track.activity,
      durationSeconds: durationSeconds ?? undefined, stallSeconds: job.stallSeconds, logger: job.logger,
    });
  } catch (err) {
    await upload.stop();
    // What this attempt left must not sit beside the next one on a small Jetson disk.
    await rm(outDir, { recursive: true, force: true });
    if (stopEncoding.signal.aborted && !job.signal.aborted) throw toStepError('upload', stopEncoding.signal.reason);
    throw err;
  }
  const ffmpegEndedAt = performance.now();
  // Before finish(): the VTT goes up with the sheets, ahead of the master playlist.
  let storyboard: StoryboardFiles | null = null;
  try {
    if (tiles !== undefined) storyboard = await writeStoryboardVtt(outDir, rungs[0]!.name, tiles);
  } catch (err) {
    await upload.stop();
    throw toStepError('ffmpeg', err);
  }
  const summary = await upload.finish().catch((err: unknown) => { throw toStepError('upload', err); });
  return { ...summary, storyboard, ffmpegEndedAt };
}
