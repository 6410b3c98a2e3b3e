import { describe, it, expect } from '@jest/globals';
import { createProgressParser } from '../../src/runtime/ffmpeg/index.js';
import type { FfmpegProgress } from '../../src/runtime/ffmpeg/index.js';

// Two blocks as ffmpeg 5.1 writes them with `-progress pipe:1 -nostats`.
const BLOCK_1 = [
  'frame=30', 'fps=0.00', 'stream_0_0_q=28.0', 'bitrate=N/A', 'total_size=48',
  'out_time_us=1000000', 'out_time_ms=1000000', 'out_time=00:00:01.000000',
  'dup_frames=0', 'drop_frames=0', 'speed=1.98x', 'progress=continue', '',
].join('\n');
const BLOCK_END = [
  'frame=75', 'fps=49.52', 'stream_0_0_q=-1.0', 'bitrate= 118.4kbits/s', 'total_size=44422',
  'out_time_us=3000000', 'out_time_ms=3000000', 'out_time=00:00:03.000000',
  'dup_frames=0', 'drop_frames=0', 'speed=1.98x', 'progress=end', '',
].join('\n');

function collect(opts?: { durationSeconds?: number }) {
  const seen: FfmpegProgress[] = [];
  const feed = createProgressParser((p) => seen.push(p), opts);
  return { seen, feed };
}

describe('createProgressParser', () => {
  it('emits one event per block with parsed numbers; out_time_us/ms are microseconds', () => {
    const { seen, feed } = collect({ durationSeconds: 4 });
    feed(BLOCK_1);
    expect(seen).toEqual([{
      frame: 30, fps: 0, outTimeSeconds: 1, speed: 1.98, totalSizeBytes: 48, percent: 25, done: false,
    }]);
  });

  it('reads out_time_ms as microseconds when it is the only time field', () => {
    const { seen, feed } = collect();
    feed('out_time_ms=2500000\nprogress=continue\n');
    expect(seen[0]?.outTimeSeconds).toBe(2.5);
  });

  it('falls back to the out_time clock string', () => {
    const { seen, feed } = collect();
    feed('out_time=00:01:02.500000\nprogress=continue\n');
    expect(seen[0]?.outTimeSeconds).toBeCloseTo(62.5, 6);
  });

  it('handles chunks split anywhere, including inside keys, values and the newline', () => {
    const whole = collect({ durationSeconds: 3 });
    whole.feed(BLOCK_1 + BLOCK_END);
    const text = BLOCK_1 + BLOCK_END;
    for (const size of [1, 2, 3, 7, 13]) {
      const split = collect({ durationSeconds: 3 });
      for (let i = 0; i < text.length; i += size) split.feed(text.slice(i, i + size));
      expect(split.seen).toEqual(whole.seen);
    }
    expect(whole.seen).toHaveLength(2);
  });

  it('does not emit until the progress line is complete', () => {
    const { seen, feed } = collect();
    feed('frame=1\nprogress=cont');
    expect(seen).toHaveLength(0);
    feed('inue\n');
    expect(seen).toHaveLength(1);
  });

  it('maps N/A to null, and speed=N/A too', () => {
    const { seen, feed } = collect({ durationSeconds: 10 });
    feed('frame=0\nfps=N/A\ntotal_size=N/A\nout_time_us=N/A\nout_time_ms=N/A\nout_time=N/A\nspeed=N/A\nprogress=continue\n');
    expect(seen[0]).toEqual({
      frame: 0, fps: null, outTimeSeconds: null, speed: null, totalSizeBytes: null, percent: null, done: false,
    });
  });

  it('marks the end block done with percent 100', () => {
    const { seen, feed } = collect({ durationSeconds: 3.04 });
    feed(BLOCK_1 + BLOCK_END);
    expect(seen.map((p) => p.done)).toEqual([false, true]);
    expect(seen[1]).toMatchObject({ frame: 75, fps: 49.52, outTimeSeconds: 3, totalSizeBytes: 44422, percent: 100, done: true });
  });

  it('clamps percent to 0–100 and leaves it null without a duration', () => {
    const over = collect({ durationSeconds: 2 });
    over.feed('out_time_us=5000000\nprogress=continue\nout_time_us=-23220\nprogress=continue\n');
    expect(over.seen.map((p) => p.percent)).toEqual([100, 0]);
    const unknown = collect();
    unknown.feed(BLOCK_1 + BLOCK_END);
    expect(unknown.seen.map((p) => p.percent)).toEqual([null, null]);
  });

  it('accepts CRLF line endings and ignores junk lines', () => {
    const { seen, feed } = collect({ durationSeconds: 2 });
    feed('garbage\r\nframe=5\r\nout_time_us=500000\r\nprogress=continue\r\n');
    expect(seen).toEqual([{ frame: 5, fps: null, outTimeSeconds: 0.5, speed: null, totalSizeBytes: null, percent: 25, done: false }]);
  });

  it('does not carry values from one block into the next', () => {
    const { seen, feed } = collect();
    feed('frame=5\nfps=30\nprogress=continue\nframe=6\nprogress=continue\n');
    expect(seen[1]).toMatchObject({ frame: 6, fps: null });
  });
});
