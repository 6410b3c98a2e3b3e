// Which step failed decides the job's error code (src/domain/rugbycodex/transcode-state.ts); whether a
// retry can help is the one classification's (src/domain/failure.ts), which reads this
// error's failureClass and, where it has none, its cause's. This tags errors with their step.
import type { TranscodeFailure } from '../../src/domain/rugbycodex/transcode-state.js';
import { isDiskFull, type FailureClass } from '../../src/domain/failure.js';
import { FfmpegError } from '../../src/runtime/ffmpeg/index.js';
import { HoldLostError } from '../../src/ports/index.js';

export class TranscodeStepError extends Error {
  constructor(readonly failure: TranscodeFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TranscodeStepError';
  }

  /**
   * The input (or its row: gone mid-transcode, a DbError that is not transient) is at fault;
   * otherwise what the cause says (an FFmpeg exit, an outage, …).
   */
  get failureClass(): FailureClass | undefined {
    const f = this.failure;
    return f.kind === 'invalid_input' || (f.kind === 'db' && f.transient === false) ? 'bad_input' : undefined;
  }
}

/** The input itself is unusable (missing, unreadable, no video): retrying cannot help. */
export function invalidInput(message: string): TranscodeStepError {
  return new TranscodeStepError({ kind: 'invalid_input' }, message);
}

/** Runs one step, tagging what it throws with the step's kind (FFmpeg errors keep their own reason). */
export async function step<T>(kind: 'download' | 'upload' | 'db' | 'ffmpeg', fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    // Not a failure of the job: another delivery has it now.
    if (err instanceof HoldLostError) throw err;
    throw toStepError(kind, err);
  }
}

export function toStepError(kind: 'download' | 'upload' | 'db' | 'ffmpeg', err: unknown): TranscodeStepError {
  if (err instanceof TranscodeStepError) return err;
  const message = err instanceof Error ? err.message.split('\n')[0] ?? err.message : String(err);
  if (err instanceof FfmpegError) {
    // FFmpeg refused the source (not a video container): the upload's fault, not FFmpeg's.
    if (err.refused !== null) return new TranscodeStepError({ kind: 'invalid_input' }, `the upload is ${err.refused}`, { cause: err });
    // A non-zero exit is the input's fault, unless FFmpeg says it could not write: a full
    // WORK_DIR must not mark the upload failed for good.
    if (err.reason === 'exit' && isDiskFull(err.stderrTail)) {
      return new TranscodeStepError({ kind: 'ffmpeg', reason: 'disk_full', exitCode: err.exitCode ?? null }, `the work disk (WORK_DIR) is full: ${message}`, { cause: err });
    }
    return new TranscodeStepError({ kind: 'ffmpeg', reason: err.reason, exitCode: err.exitCode ?? null }, message, { cause: err });
  }
  if (kind === 'ffmpeg') return new TranscodeStepError({ kind: 'ffmpeg', reason: 'spawn', exitCode: null }, message, { cause: err });
  // MediaDb adapters say whether another attempt can help (DbError.transient).
  if (kind === 'db' && (err as { transient?: unknown } | null)?.transient === false) return new TranscodeStepError({ kind, transient: false }, message, { cause: err });
  return new TranscodeStepError({ kind }, message, { cause: err });
}
