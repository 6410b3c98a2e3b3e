import { describe, expect, it } from '@jest/globals';
import { createEncodeProgress, encodedSeconds, MAX_RUNNING_PERCENT, runningPercent } from '../../src/domain/rugbycodex/encode-progress.js';

const LADDER = ['1080p', '720p', '480p'];

describe('encodedSeconds (closed segments of the slowest rendition × segment length)', () => {
  it('counts the rendition that is furthest behind', () => {
    const closed = new Map([['1080p', 3], ['720p', 5], ['480p', 4]]);
    expect(encodedSeconds(closed, LADDER, 6, 600)).toBe(18);
  });

  it('a rendition with nothing closed yet holds it at 0; folders outside the ladder do not count', () => {
    expect(encodedSeconds(new Map([['720p', 5], ['480p', 5], ['thumbnails', 9]]), LADDER, 6, 600)).toBe(0);
  });

  it('never beyond the duration (the last segment is shorter); unbounded without one', () => {
    const closed = new Map([['360p', 21]]);
    expect(encodedSeconds(closed, ['360p'], 2, 41.5)).toBe(41.5);
    expect(encodedSeconds(closed, ['360p'], 2, null)).toBe(42);
  });

  it('no renditions: nothing encoded', () => {
    expect(encodedSeconds(new Map(), [], 6, 60)).toBe(0);
  });
});

describe('runningPercent', () => {
  it.each([
    [0, 60, 0],
    [30, 60, 50],
    [60, 60, MAX_RUNNING_PERCENT], // everything written is not FFmpeg having finished
    [90, 60, MAX_RUNNING_PERCENT],
  ])('%s s of %s s → %s %%', (seconds, duration, percent) => {
    expect(runningPercent(seconds, duration)).toBe(percent);
  });

  it('null without a usable duration', () => {
    expect(runningPercent(10, null)).toBeNull();
    expect(runningPercent(10, 0)).toBeNull();
  });
});

describe('createEncodeProgress', () => {
  it('moves with each segment the whole ladder has closed, while FFmpeg says nothing', () => {
    const p = createEncodeProgress({ renditions: ['720p', '360p'], segmentSeconds: 6, durationSeconds: 60 });
    expect(p.percent).toBeNull();
    expect(p.segmentClosed('720p')).toBe(0); // 360p has not closed its first segment yet
    expect(p.segmentClosed('360p')).toBe(10);
    p.segmentClosed('720p');
    expect(p.segmentClosed('360p')).toBe(20);
    expect(p.encodedSeconds).toBe(12);
  });

  it('the larger of the segments and FFmpeg, never backwards', () => {
    const p = createEncodeProgress({ renditions: ['360p'], segmentSeconds: 2, durationSeconds: 100 });
    for (let i = 0; i < 10; i++) p.segmentClosed('360p');
    expect(p.percent).toBe(20);
    expect(p.ffmpegReported(23.5, false)).toBe(23.5); // the storyboard let go: FFmpeg is ahead
    expect(p.ffmpegReported(null, false)).toBe(23.5); // N/A in a block
    expect(p.segmentClosed('360p')).toBe(23.5); // 22 % by segments: the bar does not go back
    expect(p.ffmpegReported(10, false)).toBe(23.5);
  });

  it('at most 99 until FFmpeg has exited 0, then 100', () => {
    const p = createEncodeProgress({ renditions: ['360p'], segmentSeconds: 2, durationSeconds: 4 });
    p.segmentClosed('360p');
    expect(p.segmentClosed('360p')).toBe(MAX_RUNNING_PERCENT);
    expect(p.ffmpegReported(100, false)).toBe(MAX_RUNNING_PERCENT);
    expect(p.ffmpegReported(100, true)).toBe(100);
  });

  it('an unknown duration has no percent until the end', () => {
    const p = createEncodeProgress({ renditions: ['360p'], segmentSeconds: 2, durationSeconds: null });
    expect(p.segmentClosed('360p')).toBeNull();
    expect(p.ffmpegReported(null, false)).toBeNull();
    expect(p.encodedSeconds).toBe(2);
    expect(p.ffmpegReported(null, true)).toBe(100);
  });
});
