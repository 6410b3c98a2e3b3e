// The RugbyCodex transcode lifecycle (RUGBYCODEX.md, DESIGN §4): `jobs.state`,
// `media_assets.processing_stage` and `status`. The only place that decides which changes
// are legal (the adapters turn them into conditional writes) and which error code a failure
// is recorded with. Other actors write the same asset (RUGBYCODEX.md §"The other actors"):
// complete-upload puts it back to `uploaded` at any moment, after it sends our message, so
// every write of a delivery that holds the job accepts `uploaded` as where it comes from.
export const JOB_STATES = ['queued', 'running', 'succeeded', 'failed', 'canceled'] as const;
export type JobState = (typeof JOB_STATES)[number];

export const PROCESSING_STAGES = ['uploaded', 'transcoding', 'transcoded', 'complete', 'failed'] as const;
export type ProcessingStage = (typeof PROCESSING_STAGES)[number];

export const MEDIA_ASSET_STATUSES = ['intent', 'uploading', 'uploaded', 'processing', 'ready', 'failed', 'interrupted'] as const;
export type MediaAssetStatus = (typeof MEDIA_ASSET_STATUSES)[number];

export type TranscodeErrorCode = 'INVALID_INPUT' | 'FFMPEG_ERROR' | 'DOWNLOAD_ERROR' | 'UPLOAD_ERROR' | 'DB_ERROR' | 'ABORTED';

const JOB_NEXT: Readonly<Record<JobState, readonly JobState[]>> = {
  // queued → failed: every delivery failed before the start (the database was down, say)
  // and the last one is going to the DLQ; left queued, the row would wait forever.
  queued: ['running', 'failed'],
  // running → running: a delivery takes over from a holder that is gone.
  // running → queued: the reconciler sends a job whose holder and message are both gone again.
  running: ['running', 'succeeded', 'failed', 'queued'],
  // succeeded → running: complete-upload ran again and the output is gone: encoded again.
  succeeded: ['running'],
  failed: [],
  canceled: [],
};

export function canJobBecome(from: JobState, to: JobState): boolean {
  return JOB_NEXT[from]?.includes(to) ?? false;
}

/** A job whose message is acked as it comes, its asset at most put right (never encoded again, but for a lost output). */
export function isFinished(state: JobState): boolean {
  return state === 'succeeded' || state === 'failed' || state === 'canceled';
}

/** Every write of the asset row a transcode makes; each is conditional on the stages it may come from. */
export type AssetWrite = 'start' | 'progress' | 'transcoded' | 'publish' | 'complete' | 'fail' | 'restore' | 'refail';

export interface AssetWriteRule {
  /** The stage written; null: the stage is left as it is (the streaming columns). */
  readonly stage: ProcessingStage | null;
  readonly status: MediaAssetStatus | null;
  readonly from: readonly ProcessingStage[];
}

const ANY_STAGE = PROCESSING_STAGES;

export const ASSET_WRITES: Readonly<Record<AssetWrite, AssetWriteRule>> = {
  // From any stage: only a claim starts, and a claim of a job that succeeded means its output
  // is gone (the asset may still say complete); failed → transcoding: an operator re-queued it.
  start: { stage: 'transcoding', status: null, from: ANY_STAGE },
  // Each progress write says `transcoding` again, as the Python worker's do: complete-upload's
  // late `uploaded` would otherwise hide the bar for the whole encode.
  progress: { stage: 'transcoding', status: null, from: ['uploaded', 'transcoding'] },
  transcoded: { stage: 'transcoded', status: null, from: ['uploaded', 'transcoding', 'transcoded'] },
  // transcoding: a progress write still in flight when the encode ended may land after `transcoded`.
  publish: { stage: null, status: null, from: ['uploaded', 'transcoding', 'transcoded'] },
  // complete → complete: a redelivery finishing what an earlier one started is harmless.
  complete: { stage: 'complete', status: 'ready', from: ['uploaded', 'transcoding', 'transcoded', 'complete'] },
  // Never over complete: another delivery's finished video wins over a late failure.
  fail: { stage: 'failed', status: 'failed', from: ['uploaded', 'transcoding', 'transcoded'] },
  // A succeeded job whose asset another actor moved back, its output still there.
  restore: { stage: 'complete', status: 'ready', from: ANY_STAGE },
  // A failed job whose asset complete-upload moved back: the player says so rather than "queued" forever.
  refail: { stage: 'failed', status: 'failed', from: ['uploaded'] },
};

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

/**
 * The job's error_code for what went wrong. Whether a retry can help is not decided here:
 * src/domain/failure.ts classifies every failure, this one's included.
 */
export function transcodeErrorCode(failure: TranscodeFailure): TranscodeErrorCode {
  switch (failure.kind) {
    case 'invalid_input': return 'INVALID_INPUT';
    case 'ffmpeg': return failure.reason === 'aborted' ? 'ABORTED' : 'FFMPEG_ERROR';
    case 'download': return 'DOWNLOAD_ERROR';
    case 'upload': return 'UPLOAD_ERROR';
    case 'db': return 'DB_ERROR';
    case 'aborted': return 'ABORTED';
  }
}
