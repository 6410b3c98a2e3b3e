// The ladder's progress and signs of life from what FFmpeg really writes (issue 18). FFmpeg
// 5.1 holds -progress back until the storyboard's first sheet (25 segments), so the percent
// also follows the segments the live upload sees closed, and the stall watchdog looks at
// those segments and at the input FFmpeg has read before it calls a quiet FFmpeg stalled.
import { createEncodeProgress } from '../../src/domain/rugbycodex/encode-progress.js';
import type { ActivitySignature } from '../../src/domain/ffmpeg-activity.js';
import type { Rung } from '../../src/domain/rugbycodex/hls-ladder.js';
import { bytesRead, type FfmpegProgress } from '../../src/runtime/ffmpeg/index.js';

export interface LadderProgress {
  /** For the live upload: a segment was closed. */
  onSegment(segment: { rendition: string }): void;
  /** For runFfmpeg: a -progress block. */
  onFfmpegProgress(p: FfmpegProgress): void;
  /** For runFfmpeg's stall watchdog. */
  activity(pid: number): Promise<ActivitySignature>;
}

export function trackLadder(opts: {
  rungs: readonly Rung[];
  segmentSeconds: number;
  durationSeconds: number | null;
  /** Gets the larger of FFmpeg's percent and the segments', never backwards, at most 99 until done. */
  onProgress: (p: FfmpegProgress) => void;
  now?: () => number;
}): LadderProgress {
  const now = opts.now ?? Date.now;
  const started = now();
  const progress = createEncodeProgress({ renditions: opts.rungs.map((r) => r.name), segmentSeconds: opts.segmentSeconds, durationSeconds: opts.durationSeconds });
  let segments = 0;
  let reportedSeconds = 0;
  return {
    onSegment({ rendition }) {
      segments++;
      const percent = progress.segmentClosed(rendition);
      // One step each time the whole ladder has closed one more segment.
      const seconds = progress.encodedSeconds;
      if (seconds === reportedSeconds) return;
      reportedSeconds = seconds;
      const elapsed = (now() - started) / 1000;
      opts.onProgress({
        frame: null, fps: null, totalSizeBytes: null, done: false, percent, outTimeSeconds: seconds,
        speed: elapsed > 0 ? Math.round((seconds / elapsed) * 100) / 100 : null,
      });
    },
    onFfmpegProgress(p) {
      opts.onProgress({ ...p, percent: progress.ffmpegReported(p.percent, p.done) });
    },
    async activity(pid) {
      return { segments, input_bytes: await bytesRead(pid) };
    },
  };
}
