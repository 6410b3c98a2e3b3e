// What an uploaded video may demand of a worker (issue 20, item 6). A small file can declare
// a 16K picture, a 1000 fps rate, days of running time or hundreds of streams, and every
// delivery would spend the decode work and memory again. After the probe, anything over a
// limit is invalid input: the job fails once, naming the limit and the value, and is never
// retried. The limits are settings (src/runtime/config/schema.ts), read here by their names.

export interface MediaLimits {
  /** Width × height of any video stream (8K UHD, 7680x4320 = 33,177,600, by default). */
  readonly MAX_SOURCE_PIXELS: number;
  readonly MAX_SOURCE_DURATION_SECONDS: number;
  readonly MAX_SOURCE_FRAME_RATE: number;
  readonly MAX_SOURCE_STREAMS: number;
}

/** What ffprobe says of a source: the fields of the probe result these limits look at. */
export interface MediaFacts {
  readonly durationSeconds: number | null;
  readonly streams: ReadonlyArray<{
    readonly index: number;
    readonly codecType: string;
    readonly width?: number;
    readonly height?: number;
    readonly frameRate?: number;
    readonly durationSeconds?: number | null;
  }>;
}

/** A variable-rate clip's average lands a little off its nominal rate: 120.4 is a 120 fps clip. */
const FRAME_RATE_SLACK = 1.01;

/** The first limit `facts` is over, as one line naming the limit and the value; null when within all. */
export function mediaLimitProblem(facts: MediaFacts, limits: MediaLimits): string | null {
  const videos = facts.streams.filter((s) => s.codecType === 'video');
  const what = (s: { index: number }): string => (s === videos[0] ? 'source' : `source stream ${s.index}`);
  for (const s of videos) {
    if (s.width === undefined || s.height === undefined) continue;
    const pixels = s.width * s.height;
    if (pixels > limits.MAX_SOURCE_PIXELS) {
      return `${what(s)} is ${s.width}x${s.height} (${(pixels / 1e6).toFixed(1)} Mpx), over MAX_SOURCE_PIXELS ${limits.MAX_SOURCE_PIXELS}`;
    }
  }
  for (const s of videos) {
    if (s.frameRate !== undefined && s.frameRate > limits.MAX_SOURCE_FRAME_RATE * FRAME_RATE_SLACK) {
      return `${what(s)} is ${trim(s.frameRate)} fps, over MAX_SOURCE_FRAME_RATE ${limits.MAX_SOURCE_FRAME_RATE}`;
    }
  }
  // The container's duration is what FFmpeg reads to; a stream's only when the container has none.
  const duration = facts.durationSeconds ?? Math.max(0, ...facts.streams.map((s) => s.durationSeconds ?? 0));
  if (duration > limits.MAX_SOURCE_DURATION_SECONDS) {
    return `source lasts ${trim(duration)} s (${trim(duration / 3600)} h), over MAX_SOURCE_DURATION_SECONDS ${limits.MAX_SOURCE_DURATION_SECONDS}`;
  }
  if (facts.streams.length > limits.MAX_SOURCE_STREAMS) {
    return `source has ${facts.streams.length} streams, over MAX_SOURCE_STREAMS ${limits.MAX_SOURCE_STREAMS}`;
  }
  return null;
}

/** A stereo job's segment count over MAX_SEGMENTS_PER_JOB, as one line; null when within it. */
export function segmentCountProblem(count: number, limits: { readonly MAX_SEGMENTS_PER_JOB: number }, what = 'job has'): string | null {
  return count > limits.MAX_SEGMENTS_PER_JOB ? `${what} ${count} segments, over MAX_SEGMENTS_PER_JOB ${limits.MAX_SEGMENTS_PER_JOB}` : null;
}

/** The segments the chunk role's split makes of `durationSeconds`: one per started segment length. */
export function expectedSegments(durationSeconds: number | null, segmentSeconds: number): number {
  return durationSeconds === null || durationSeconds <= 0 ? 1 : Math.ceil(durationSeconds / segmentSeconds);
}

const trim = (n: number): string => String(Math.round(n * 100) / 100);
