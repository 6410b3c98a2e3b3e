// Where the next bytes of a read of the raw video come from while it is still downloading
// (issue 19, overlap): FFmpeg reads the source through a loopback server while one
// sequential, resumable download fills the work file from the start. Bytes already on disk
// come from the file; a read just ahead of the download waits for it (sooner than a new
// request, and no byte fetched twice); a read far ahead (the index of a phone's MP4, which
// sits at the end, or a seek) is fetched from the store in windows, each decided anew, so
// once the download has caught up the rest comes from disk.
import type { ByteRange } from './byte-range.js';

export interface ReadLimits {
  /** Most bytes read from the file at once (one buffer of the response). */
  readonly chunkBytes: number;
  /**
   * How far beyond the download a read still waits for it. About a second of a slow club
   * line (2–5 MB/s): a wait that short costs less than a second request sharing that line.
   */
  readonly aheadBytes: number;
  /** Most bytes one ranged read from the store asks for before the plan is looked at again. */
  readonly windowBytes: number;
}

const MiB = 1024 * 1024;
export const READ_LIMITS: ReadLimits = { chunkBytes: 256 * 1024, aheadBytes: 4 * MiB, windowBytes: 8 * MiB };

export interface ReadState {
  /** The next byte the response must send. */
  readonly position: number;
  /** The last byte it must send (inclusive). */
  readonly end: number;
  /** Bytes 0 … onDisk − 1 are in the work file. */
  readonly onDisk: number;
  /** False once a ranged read from the store broke in this response: the download (which resumes) is waited for instead. */
  readonly storeUsable: boolean;
}

export type ReadStep =
  | { readonly from: 'disk'; readonly range: ByteRange }
  | { readonly from: 'store'; readonly range: ByteRange }
  /** Until the download has `position` on disk. */
  | { readonly from: 'wait' };

export function nextRead(state: ReadState, limits: ReadLimits = READ_LIMITS): ReadStep {
  const { position, end, onDisk } = state;
  if (position > end) throw new RangeError(`nothing left to read: position ${position} is past the end ${end}`);
  if (position < onDisk) return { from: 'disk', range: { start: position, end: Math.min(end, onDisk - 1, position + limits.chunkBytes - 1) } };
  if (!state.storeUsable || position - onDisk < limits.aheadBytes) return { from: 'wait' };
  return { from: 'store', range: { start: position, end: Math.min(end, position + limits.windowBytes - 1) } };
}
