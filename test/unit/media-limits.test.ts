// The limits on what an uploaded video may demand (src/domain/media-limits.ts): each one,
// at and just over its value, on ffprobe's own JSON for the files the tests make.
import { describe, expect, it } from '@jest/globals';
import { expectedSegments, mediaLimitProblem, segmentCountProblem, type MediaLimits } from '../../src/domain/media-limits.js';
import { parseProbeJson } from '../../src/runtime/ffmpeg/probe.js';
import { loadConfig } from '../../src/runtime/config/load.js';

const LIMITS: MediaLimits = { MAX_SOURCE_PIXELS: 7680 * 4320, MAX_SOURCE_DURATION_SECONDS: 6 * 3600, MAX_SOURCE_FRAME_RATE: 120, MAX_SOURCE_STREAMS: 32 };

/** ffprobe -show_format -show_streams JSON for a video stream of this shape, plus `extra` streams. */
function probed(v: { width: number; height: number; rate?: string; duration?: string; extra?: number; cover?: { width: number; height: number } }) {
  const streams: Array<Record<string, unknown>> = [{ index: 0, codec_type: 'video', codec_name: 'h264', width: v.width, height: v.height, avg_frame_rate: v.rate ?? '30/1' }];
  for (let i = 0; i < (v.extra ?? 0); i++) streams.push({ index: streams.length, codec_type: 'audio', codec_name: 'aac', avg_frame_rate: '0/0' });
  if (v.cover) streams.push({ index: streams.length, codec_type: 'video', codec_name: 'mjpeg', ...v.cover, avg_frame_rate: '0/0', disposition: { attached_pic: 1 } });
  return parseProbeJson({ format: { duration: v.duration ?? '60.000000', format_name: 'mov,mp4,m4a,3gp,3g2,mj2', size: '1000' }, streams });
}

describe('mediaLimitProblem', () => {
  it('passes what phones and cameras make, 8K at 120 fps for 6 h included', () => {
    expect(mediaLimitProblem(probed({ width: 1920, height: 1080, rate: '30000/1001', extra: 1 }), LIMITS)).toBeNull();
    expect(mediaLimitProblem(probed({ width: 3840, height: 2160, rate: '60/1', extra: 5 }), LIMITS)).toBeNull();
    expect(mediaLimitProblem(probed({ width: 7680, height: 4320, rate: '120/1', duration: '21600.000000' }), LIMITS)).toBeNull();
    // Portrait is the same picture.
    expect(mediaLimitProblem(probed({ width: 4320, height: 7680 }), LIMITS)).toBeNull();
    // A variable rate's average a little over its nominal 120.
    expect(mediaLimitProblem(probed({ width: 1920, height: 1080, rate: '2412/20' }), LIMITS)).toBeNull();
  });

  it('names MAX_SOURCE_PIXELS and the picture for one over 8K, a cover picture included', () => {
    expect(mediaLimitProblem(probed({ width: 15360, height: 8640 }), LIMITS)).toBe('source is 15360x8640 (132.7 Mpx), over MAX_SOURCE_PIXELS 33177600');
    expect(mediaLimitProblem(probed({ width: 7681, height: 4320 }), LIMITS)).toBe('source is 7681x4320 (33.2 Mpx), over MAX_SOURCE_PIXELS 33177600');
    // A huge attached picture costs its decode too.
    expect(mediaLimitProblem(probed({ width: 1280, height: 720, extra: 1, cover: { width: 20000, height: 20000 } }), LIMITS))
      .toBe('source stream 2 is 20000x20000 (400.0 Mpx), over MAX_SOURCE_PIXELS 33177600');
  });

  it('names MAX_SOURCE_FRAME_RATE and the rate', () => {
    expect(mediaLimitProblem(probed({ width: 1280, height: 720, rate: '240/1' }), LIMITS)).toBe('source is 240 fps, over MAX_SOURCE_FRAME_RATE 120');
    expect(mediaLimitProblem(probed({ width: 1280, height: 720, rate: '1000000/7919' }), LIMITS)).toBe('source is 126.28 fps, over MAX_SOURCE_FRAME_RATE 120');
  });

  it('names MAX_SOURCE_DURATION_SECONDS and the length, from the container or else its streams', () => {
    expect(mediaLimitProblem(probed({ width: 1280, height: 720, duration: '21600.5' }), LIMITS))
      .toBe('source lasts 21600.5 s (6 h), over MAX_SOURCE_DURATION_SECONDS 21600');
    const noFormatDuration = parseProbeJson({ format: {}, streams: [{ index: 0, codec_type: 'video', width: 64, height: 64, duration: '90000' }] });
    expect(mediaLimitProblem(noFormatDuration, LIMITS)).toBe('source lasts 90000 s (25 h), over MAX_SOURCE_DURATION_SECONDS 21600');
  });

  it('names MAX_SOURCE_STREAMS and the count', () => {
    expect(mediaLimitProblem(probed({ width: 1280, height: 720, extra: 31 }), LIMITS)).toBeNull();
    expect(mediaLimitProblem(probed({ width: 1280, height: 720, extra: 32 }), LIMITS)).toBe('source has 33 streams, over MAX_SOURCE_STREAMS 32');
  });

  it('uses the settings as configured, with 8K, 6 h, 120 fps, 32 streams and 1000 segments the defaults', () => {
    const defaults = loadConfig({ env: {} });
    expect([defaults.MAX_SOURCE_PIXELS, defaults.MAX_SOURCE_DURATION_SECONDS, defaults.MAX_SOURCE_FRAME_RATE, defaults.MAX_SOURCE_STREAMS, defaults.MAX_SEGMENTS_PER_JOB, defaults.REASSEMBLY_PROBE_CONCURRENCY])
      .toEqual([33_177_600, 21_600, 120, 32, 1000, 4]);
    const tight = loadConfig({ env: { MAX_SOURCE_PIXELS: '100000' } });
    expect(mediaLimitProblem(probed({ width: 640, height: 360 }), tight)).toBe('source is 640x360 (0.2 Mpx), over MAX_SOURCE_PIXELS 100000');
  });
});

describe('segment counts', () => {
  it('a split makes one segment per started segment length', () => {
    expect(expectedSegments(7, 2)).toBe(4);
    expect(expectedSegments(6, 2)).toBe(3);
    expect(expectedSegments(21_600, 300)).toBe(72);
    expect(expectedSegments(null, 300)).toBe(1);
  });

  it('names MAX_SEGMENTS_PER_JOB over it, nothing at it', () => {
    expect(segmentCountProblem(1000, { MAX_SEGMENTS_PER_JOB: 1000 })).toBeNull();
    expect(segmentCountProblem(1001, { MAX_SEGMENTS_PER_JOB: 1000 })).toBe('job has 1001 segments, over MAX_SEGMENTS_PER_JOB 1000');
  });
});
