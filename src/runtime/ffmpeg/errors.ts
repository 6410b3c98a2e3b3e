/** ffmpeg/ffprobe could not be found or is not executable. */
import { refusedInput } from '../../domain/untrusted-media.js';
import { ConfigError } from '../errors.js';

/** No usable ffmpeg/ffprobe: fixed by installing it or setting FFMPEG_PATH (exit 78, no restart loop). */
export class FfmpegNotFoundError extends ConfigError {
  override readonly name = 'FfmpegNotFoundError';
}

export type FfmpegFailureReason = 'exit' | 'stall' | 'aborted' | 'spawn';

export interface FfmpegErrorInit {
  reason: FfmpegFailureReason;
  exitCode?: number;
  stderrTail: string;
  /** Short context, e.g. "ffprobe input.mp4". */
  what?: string;
}

/** A failed ffmpeg/ffprobe run; the message stays one line, the full tail is a field. */
export class FfmpegError extends Error {
  override readonly name = 'FfmpegError';
  readonly reason: FfmpegFailureReason;
  readonly exitCode?: number;
  readonly stderrTail: string;
  /**
   * Set when FFmpeg refused the input under untrustedInputArgs: why, as the end of a sentence
   * ("an HLS playlist, not a video container"). The input's fault: retrying cannot help.
   */
  readonly refused: string | null;

  constructor(init: FfmpegErrorInit, options?: { cause?: unknown }) {
    const refused = init.reason === 'exit' ? refusedInput(init.stderrTail) : null;
    super(refused === null ? oneLineMessage(init) : `${init.what ?? 'ffmpeg'}: the input is ${refused}`, options);
    this.refused = refused;
    this.reason = init.reason;
    if (init.exitCode !== undefined) this.exitCode = init.exitCode;
    this.stderrTail = init.stderrTail;
  }
}

function oneLineMessage(init: FfmpegErrorInit): string {
  const what = init.what ?? 'ffmpeg';
  const head = {
    exit: `${what} exited with code ${init.exitCode ?? '?'}`,
    stall: `${what} made no progress and was killed`,
    aborted: `${what} was aborted`,
    spawn: `${what} could not be started`,
  }[init.reason];
  const last = lastLine(init.stderrTail);
  return last ? `${head}: ${last}` : head;
}

/** The last non-empty stderr line is usually ffmpeg's actual complaint. */
function lastLine(text: string): string {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  const line = lines[lines.length - 1] ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
