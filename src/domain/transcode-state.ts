// The RugbyCodex transcode lifecycle (RUGBYCODEX.md, DESIGN §4): `jobs.state` and
// `media_assets.processing_stage`. The only place that decides which changes are legal
// (the adapters turn them into conditional writes) and which failures are worth a retry.
export const JOB_STATES = ['queued', 'running', 'succeeded', 'failed', 'canceled'] as const;
export type JobState = (typeof JOB_STATES)[number];

export const PROCESSING_STAGES = ['uploaded', 'transcoding', 'transcoded', 'complete', 'failed'] as const;
export type ProcessingStage = (typeof PROCESSING_STAGES)[number];

export type TranscodeErrorCode = 'INVALID_INPUT' | 'FFMPEG_ERROR' | 'DOWNLOAD_ERROR' | 'UPLOAD_ERROR' | 'DB_ERROR' | 'ABORTED';

const JOB_NEXT: Readonly<Record<JobState, readonly JobState[]>> = {
  // queued → failed: every delivery failed before the start (the database was down, say)
  // and the last one is going to the DLQ; left queued, the row would wait forever.
  queued: ['running', 'failed'],
  // running → running: a redelivery after the previous worker died mid-job.
  running: ['running', 'succeeded', 'failed'],
  // Finished: a redelivered message is acked without work (a user completing twice).
  succeeded: [],
  failed: [],
  canceled: [],
};

const STAGE_NEXT: Readonly<Record<ProcessingStage, readonly ProcessingStage[]>> = {
  uploaded: ['transcoding', 'failed'],
  transcoding: ['transcoding', 'transcoded', 'failed'],
  // transcoded → transcoding: the worker died before completing and the job came back.
  transcoded: ['transcoding', 'complete', 'failed'],
  complete: [],
  // failed → transcoding: an operator re-queued the job.
  failed: ['transcoding'],
};

export function canJobBecome(from: JobState, to: JobState): boolean {
  return JOB_NEXT[from]?.includes(to) ?? false;
}

export function canStageBecome(from: ProcessingStage, to: ProcessingStage): boolean {
  return STAGE_NEXT[from]?.includes(to) ?? false;
}

/** The states a job may be in for a write that moves it to `to` (a conditional update's filter). */
export function jobStatesBefore(to: JobState): JobState[] {
  return JOB_STATES.filter((from) => canJobBecome(from, to));
}

export function stagesBefore(to: ProcessingStage): ProcessingStage[] {
  return PROCESSING_STAGES.filter((from) => canStageBecome(from, to));
}

/** A job nothing more is done for: its message is acked as it comes. */
export function isFinished(state: JobState): boolean {
  return JOB_NEXT[state]?.length === 0;
}

/**
 * A succeeded job whose asset the worker left short of `complete` (it stopped between the
 * job and asset writes): a redelivery finishes the asset rather than leaving the player on
 * "Preparing video…" forever.
 */
export function needsAssetCompletion(state: JobState, asset: { processingStage: ProcessingStage; streamingReady: boolean }): boolean {
  return state === 'succeeded' && asset.streamingReady && asset.processingStage === 'transcoded';
}

/**
 * What went wrong, as the role saw it. `ffmpeg` carries FfmpegError's reason and exit
 * code; no exit code on an `exit` means the process was killed by a signal.
 */
export type TranscodeFailure =
  | { kind: 'invalid_input' }
  // disk_full: FFmpeg could not write (ENOSPC): the work disk's trouble, not the input's.
  | { kind: 'ffmpeg'; reason: 'exit' | 'stall' | 'aborted' | 'spawn' | 'disk_full'; exitCode?: number | null }
  | { kind: 'download' }
  | { kind: 'upload' }
  | { kind: 'db'; transient?: boolean }
  | { kind: 'aborted' };

export interface TranscodeErrorClass {
  code: TranscodeErrorCode;
  /** Permanent: mark job and asset failed and ack. Transient: release for a retry. */
  permanent: boolean;
}

export function classifyTranscodeError(failure: TranscodeFailure): TranscodeErrorClass {
  switch (failure.kind) {
    case 'invalid_input':
      return { code: 'INVALID_INPUT', permanent: true };
    case 'ffmpeg':
      return { code: failure.reason === 'aborted' ? 'ABORTED' : 'FFMPEG_ERROR', permanent: ffmpegFailureIsPermanent(failure) };
    case 'download':
      return { code: 'DOWNLOAD_ERROR', permanent: false };
    case 'upload':
      return { code: 'UPLOAD_ERROR', permanent: false };
    case 'db':
      // Not transient: the row is gone or moved on (the video was deleted mid-transcode, say).
      return { code: 'DB_ERROR', permanent: failure.transient === false };
    case 'aborted':
      return { code: 'ABORTED', permanent: false };
  }
}

function ffmpegFailureIsPermanent(failure: Extract<TranscodeFailure, { kind: 'ffmpeg' }>): boolean {
  // Only a clean non-zero exit says the input itself is bad: a stall, an abort (shutdown),
  // a kill by signal (the OOM killer) or a missing binary is this worker's trouble, and
  // another attempt, maybe on another worker, can succeed.
  if (failure.reason !== 'exit') return false;
  return failure.exitCode !== undefined && failure.exitCode !== null;
}
