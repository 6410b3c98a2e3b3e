// transcode_jobs.status (DESIGN §4: pending → processing → completed | failed, plus
// pending → failed). The only place that decides which status changes are legal, and
// which failures are worth a retry.
import type { TranscodeErrorCode, TranscodeJobStatus } from '../ports.js';

const NEXT: Readonly<Record<TranscodeJobStatus, readonly TranscodeJobStatus[]>> = {
  // pending → failed: every delivery failed before the claim (say the database was down) and
  // the last one is going to the DLQ; left pending, the row would wait forever.
  pending: ['processing', 'failed'],
  // processing → processing: a redelivery after the previous worker died mid-job.
  processing: ['processing', 'completed', 'failed'],
  // failed → processing: a transient failure released the message and it came back.
  failed: ['processing'],
  // Terminal: a redelivered completed job is acked without any work.
  completed: [],
};

export function canTransition(from: TranscodeJobStatus, to: TranscodeJobStatus): boolean {
  return NEXT[from]?.includes(to) ?? false;
}

export class IllegalTransitionError extends Error {
  override readonly name = 'IllegalTransitionError';
  constructor(readonly from: TranscodeJobStatus, readonly to: TranscodeJobStatus) {
    super(`transcode job cannot go from ${from} to ${to}`);
  }
}

export function assertTransition(from: TranscodeJobStatus, to: TranscodeJobStatus): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
}

/**
 * What went wrong, as the role saw it. `ffmpeg` carries FfmpegError's reason and exit
 * code; no exit code on an `exit` means the process was killed by a signal.
 */
export type TranscodeFailure =
  | { kind: 'invalid_input' }
  | { kind: 'ffmpeg'; reason: 'exit' | 'stall' | 'aborted' | 'spawn'; exitCode?: number | null }
  | { kind: 'download' }
  | { kind: 'upload' }
  | { kind: 'db' }
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
      return { code: 'DB_ERROR', permanent: false };
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
