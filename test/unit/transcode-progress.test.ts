// The transcode's progress path without FFmpeg: the ladder's tracker (segments closed and
// FFmpeg's blocks → one percent) and the reporter's save cadence (issue 18 item 0).
import { describe, expect, it } from '@jest/globals';
import pino from 'pino';
import { chooseRungs } from '../../src/domain/rugbycodex/hls-ladder.js';
import type { FfmpegProgress } from '../../src/runtime/ffmpeg/index.js';
import { trackLadder } from '../../roles/transcode/ladder-progress.js';
import { createProgressReporter, type SavedProgress } from '../../roles/transcode/progress.js';

const silent = pino({ level: 'silent' });

function block(percent: number | null, done = false): FfmpegProgress {
  return { frame: 1, fps: 30, outTimeSeconds: 1, speed: 1.5, totalSizeBytes: 10, percent, done };
}

describe('trackLadder', () => {
  const rungs = chooseRungs({ width: 1280, height: 720 }, [720, 360]);
  const setup = () => {
    let t = 1_000;
    const seen: FfmpegProgress[] = [];
    const track = trackLadder({ rungs, segmentSeconds: 6, durationSeconds: 60, onProgress: (p) => seen.push(p), now: () => t });
    return { track, seen, advance: (ms: number) => { t += ms; } };
  };

  it('reports a step each time the whole ladder has closed one more segment, with the speed so far', () => {
    const { track, seen, advance } = setup();
    advance(12_000);
    track.onSegment({ rendition: '720p' });
    track.onSegment({ rendition: '360p' });
    advance(12_000);
    track.onSegment({ rendition: '720p' });
    track.onSegment({ rendition: '360p' });
    track.onSegment({ rendition: 'thumbnails' }); // not a rendition: no step
    expect(seen.map((p) => [p.percent, p.outTimeSeconds, p.speed, p.done])).toEqual([[10, 6, 0.5, false], [20, 12, 0.5, false]]);
  });

  it('passes FFmpeg’s blocks on with the larger percent, 99 at most until done', () => {
    const { track, seen } = setup();
    for (let i = 0; i < 3; i++) { track.onSegment({ rendition: '720p' }); track.onSegment({ rendition: '360p' }); }
    track.onFfmpegProgress(block(12));
    track.onFfmpegProgress(block(100));
    track.onFfmpegProgress(block(100, true));
    expect(seen.slice(-3).map((p) => [p.percent, p.speed, p.done])).toEqual([[30, 1.5, false], [99, 1.5, false], [100, 1.5, true]]);
  });

  it('counts closed segments for the stall watchdog', async () => {
    const { track } = setup();
    track.onSegment({ rendition: '720p' });
    track.onSegment({ rendition: '360p' });
    expect(await track.activity(process.pid)).toEqual({ segments: 2, input_bytes: expect.any(Number) });
  });
});

describe('createProgressReporter', () => {
  it('saves every 5 s by default, as the Python worker did', async () => {
    let t = 0;
    const saved: Array<SavedProgress & { at: number }> = [];
    const reporter = createProgressReporter({ logger: silent, now: () => t, save: async (p) => { saved.push({ ...p, at: t }); } });
    for (; t <= 12_000; t += 500) {
      reporter.report('transcoding', t / 200);
      await Promise.resolve();
    }
    expect(saved.map((s) => [s.at, s.encodePercent])).toEqual([[0, 0], [5_000, 25], [10_000, 50]]);
  });
});
