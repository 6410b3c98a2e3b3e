// How far an HLS encode has got, from what it has really written (issue 18). FFmpeg 5.1's
// -progress says nothing until every output has written something, and the storyboard's
// first sheet needs 25 segments (150 s of video at 6 s segments), so the segments each
// rendition has closed are the measure that never waits. Keyframes are forced at every
// segment boundary (hls-ladder.ts), so every segment but the last is exactly segmentSeconds
// long: closed segments × segmentSeconds is media time encoded.

/** The most a running encode shows: 100 % is for FFmpeg having exited 0. */
export const MAX_RUNNING_PERCENT = 99;

export interface EncodeProgressOptions {
  /** The rendition folders; the one with the fewest closed segments says how far the encode is. */
  renditions: readonly string[];
  segmentSeconds: number;
  /** The source's duration; null when unknown, and then there is no percent. */
  durationSeconds: number | null;
}

export interface EncodeProgress {
  /** A media segment of `rendition` was closed; the percent now. */
  segmentClosed(rendition: string): number | null;
  /** FFmpeg's own percent from -progress (`done`: it exited 0); the percent now. */
  ffmpegReported(percent: number | null, done: boolean): number | null;
  /** Media seconds that every rendition has closed. */
  readonly encodedSeconds: number;
  /** Never goes back; at most MAX_RUNNING_PERCENT until done. */
  readonly percent: number | null;
}

/** Media seconds in the segments the slowest rendition has closed, never beyond the duration. */
export function encodedSeconds(
  closed: ReadonlyMap<string, number>,
  renditions: readonly string[],
  segmentSeconds: number,
  durationSeconds: number | null,
): number {
  if (renditions.length === 0) return 0;
  const slowest = Math.min(...renditions.map((r) => closed.get(r) ?? 0));
  const seconds = slowest * segmentSeconds;
  return durationSeconds !== null && durationSeconds > 0 ? Math.min(seconds, durationSeconds) : seconds;
}

/** Percent of `durationSeconds` that `seconds` is, held at MAX_RUNNING_PERCENT; null without a duration. */
export function runningPercent(seconds: number, durationSeconds: number | null): number | null {
  if (durationSeconds === null || !(durationSeconds > 0)) return null;
  return Math.min(MAX_RUNNING_PERCENT, Math.max(0, (seconds / durationSeconds) * 100));
}

/** The larger of the two measures, only ever forward. */
export function createEncodeProgress(opts: EncodeProgressOptions): EncodeProgress {
  const closed = new Map<string, number>();
  let percent: number | null = null;
  const raise = (p: number | null): number | null => {
    if (p !== null && (percent === null || p > percent)) percent = p;
    return percent;
  };
  const encoded = (): number => encodedSeconds(closed, opts.renditions, opts.segmentSeconds, opts.durationSeconds);
  return {
    get encodedSeconds() { return encoded(); },
    get percent() { return percent; },
    segmentClosed(rendition) {
      closed.set(rendition, (closed.get(rendition) ?? 0) + 1);
      return raise(runningPercent(encoded(), opts.durationSeconds));
    },
    ffmpegReported(p, done) {
      if (done) return raise(100);
      return raise(p === null ? null : Math.min(MAX_RUNNING_PERCENT, Math.max(0, p)));
    },
  };
}
