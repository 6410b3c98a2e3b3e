import { describe, expect, it } from '@jest/globals';
import {
  DEFAULT_PRESET, buildLadderArgs, chooseRungs, copyableAudioBps, DEFAULT_RUNG_HEIGHTS, defaultRungCount, keyframeSeconds, renditionsFor, videoEncoderArgs, videoKbpsFor,
} from '../../src/domain/rugbycodex/hls-ladder.js';
import { VIDEO_ENCODERS } from '../../src/domain/rugbycodex/video-encoder.js';
import type { LadderArgsOptions, Rung } from '../../src/domain/rugbycodex/hls-ladder.js';

/** [name, width, height] per rung, for compact expectations. */
const sizes = (rungs: Rung[]) => rungs.map((r) => [r.name, r.width, r.height]);

/** The value after each occurrence of `flag`. */
function valuesOf(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag ? [args[i + 1]!] : []));
}
const valueOf = (args: string[], flag: string) => valuesOf(args, flag)[0];

describe('videoKbpsFor (Apple HLS authoring spec table)', () => {
  it.each([[234, 145], [270, 365], [360, 730], [432, 1100], [540, 2000], [720, 3000], [1080, 6000]])('%ip → %i kb/s', (h, kbps) => {
    expect(videoKbpsFor(h)).toBe(kbps);
  });

  it('interpolates between rows and scales beyond them, monotonically', () => {
    expect(videoKbpsFor(480)).toBeGreaterThan(1100);
    expect(videoKbpsFor(480)).toBeLessThan(2000);
    expect(videoKbpsFor(2160)).toBe(24000);
    expect(videoKbpsFor(120)).toBe(100); // floor
    const heights = [100, 200, 240, 300, 360, 400, 480, 600, 720, 900, 1080, 1440];
    const rates = heights.map(videoKbpsFor);
    expect([...rates].sort((a, b) => a - b)).toEqual(rates);
  });
});

describe('chooseRungs', () => {
  it('4K gets the default four, none above 1080p', () => {
    const rungs = chooseRungs({ width: 3840, height: 2160 });
    expect(sizes(rungs)).toEqual([['1080p', 1920, 1080], ['720p', 1280, 720], ['480p', 854, 480], ['360p', 640, 360]]);
    expect(rungs.map((r) => r.videoKbps)).toEqual([6000, 3000, videoKbpsFor(480), 730]);
  });

  it('1080p gets 1080/720/480/360 with the spec bit rates, 110 % maxrate and 2 s buffers', () => {
    const [r1080] = chooseRungs({ width: 1920, height: 1080 });
    expect(r1080).toEqual({ name: '1080p', width: 1920, height: 1080, videoKbps: 6000, maxrateKbps: 6600, bufsizeKbps: 12000, audioKbps: 128 });
    expect(chooseRungs({ width: 1920, height: 1080 })).toHaveLength(4);
  });

  it('720p gets 720/480/360', () => {
    expect(sizes(chooseRungs({ width: 1280, height: 720 }))).toEqual([['720p', 1280, 720], ['480p', 854, 480], ['360p', 640, 360]]);
  });

  it('540p gets 480/360 (nothing is upscaled)', () => {
    expect(sizes(chooseRungs({ width: 960, height: 540 }))).toEqual([['480p', 854, 480], ['360p', 640, 360]]);
  });

  it('a source below the smallest rung gets one rung at its own size', () => {
    const rungs = chooseRungs({ width: 320, height: 240 });
    expect(sizes(rungs)).toEqual([['240p', 320, 240]]);
    expect(rungs[0]!.videoKbps).toBeGreaterThan(145);
    expect(rungs[0]!.videoKbps).toBeLessThan(365);
  });

  it('portrait 1080x1920 stays portrait; the rung height is the short side', () => {
    expect(sizes(chooseRungs({ width: 1080, height: 1920 }))).toEqual([
      ['1080p', 1080, 1920], ['720p', 720, 1280], ['480p', 480, 854], ['360p', 360, 640],
    ]);
  });

  it.each([90, -90, 270, 450])('1920x1080 with rotation %i is shown portrait, so its rungs are portrait', (rotation) => {
    expect(sizes(chooseRungs({ width: 1920, height: 1080, rotation }))).toEqual(sizes(chooseRungs({ width: 1080, height: 1920 })));
  });

  it('rotation 180 or none keeps landscape', () => {
    expect(sizes(chooseRungs({ width: 1280, height: 720, rotation: 180 }))[0]).toEqual(['720p', 1280, 720]);
    expect(sizes(chooseRungs({ width: 1280, height: 720, rotation: null }))[0]).toEqual(['720p', 1280, 720]);
  });

  it('odd sizes give even dimensions with the aspect kept', () => {
    expect(sizes(chooseRungs({ width: 1279, height: 719 }))).toEqual([['480p', 854, 480], ['360p', 640, 360]]);
    expect(sizes(chooseRungs({ width: 321, height: 241 }))).toEqual([['240p', 320, 240]]);
    expect(sizes(chooseRungs({ width: 241, height: 321 }))).toEqual([['240p', 240, 320]]);
    for (const r of chooseRungs({ width: 1917, height: 1079 })) {
      expect(r.width % 2).toBe(0);
      expect(r.height % 2).toBe(0);
      expect(Math.abs(r.width / r.height - 1917 / 1079)).toBeLessThan(0.01);
    }
  });

  it('4:3 sources keep 4:3', () => {
    expect(sizes(chooseRungs({ width: 1440, height: 1080 }))).toEqual([
      ['1080p', 1440, 1080], ['720p', 960, 720], ['480p', 640, 480], ['360p', 480, 360],
    ]);
  });

  it('takes the wanted heights, largest first, without duplicates', () => {
    expect(sizes(chooseRungs({ width: 1920, height: 1080 }, [480, 1080, 480]))).toEqual([['1080p', 1920, 1080], ['480p', 854, 480]]);
  });

  it('wanted heights all above the source → one rung at the source size', () => {
    expect(sizes(chooseRungs({ width: 1280, height: 720 }, [1080]))).toEqual([['720p', 1280, 720]]);
  });

  it('lower rungs spend less on audio', () => {
    expect(chooseRungs({ width: 1920, height: 1080 }).map((r) => r.audioKbps)).toEqual([128, 128, 96, 96]);
  });

  it.each([
    [{ width: 0, height: 720 }, undefined],
    [{ width: Number.NaN, height: 720 }, undefined],
    [{ width: 1280, height: 720 }, []],
    [{ width: 1280, height: 720 }, [720.5]],
    [{ width: 1280, height: 720 }, [-360]],
  ])('refuses %j with wanted %j', (source, wanted) => {
    expect(() => chooseRungs(source, wanted)).toThrow(RangeError);
  });
});

describe('the default ladder by encoder (HLS_RENDITIONS unset)', () => {
  const fullHd = { width: 1920, height: 1080 };
  it('libx264: the top three heights that fit the source', () => {
    expect(defaultRungCount('libx264')).toBe(3);
    expect(chooseRungs(fullHd, DEFAULT_RUNG_HEIGHTS, 3).map((r) => r.name)).toEqual(['1080p', '720p', '480p']);
    expect(chooseRungs({ width: 1280, height: 720 }, DEFAULT_RUNG_HEIGHTS, 3).map((r) => r.name)).toEqual(['720p', '480p', '360p']);
    expect(chooseRungs({ width: 640, height: 360 }, DEFAULT_RUNG_HEIGHTS, 3).map((r) => r.name)).toEqual(['360p']);
  });

  it('a hardware encoder: every height that fits', () => {
    for (const encoder of ['h264_nvenc', 'h264_nvv4l2enc', 'h264_nvmpi']) expect(defaultRungCount(encoder)).toBeNull();
    expect(chooseRungs(fullHd, DEFAULT_RUNG_HEIGHTS, null).map((r) => r.name)).toEqual(['1080p', '720p', '480p', '360p']);
  });
});

describe('keyframeSeconds', () => {
  it.each([[6, 2], [2, 2], [4, 2], [1, 1], [3, 1.5], [5, 5 / 3], [10, 2]])('segments of %i s → keyframes every %d s', (seg, kf) => {
    expect(keyframeSeconds(seg)).toBeCloseTo(kf, 10);
  });
});

describe('buildLadderArgs', () => {
  const rungs = chooseRungs({ width: 1920, height: 1080 }, [720, 480]);
  const base: LadderArgsOptions = {
    input: '/work/job/in.mp4',
    inputArgs: ['-c:v', 'h264_nvv4l2dec'],
    rungs,
    hasAudio: true,
    fps: 30,
    segmentSeconds: 6,
    segmentType: 'ts',
    outDir: '/work/job/hls',
  };

  it('decodes once with the hardware arguments before -i, then splits and scales per rung', () => {
    const args = buildLadderArgs(base);
    expect(args.slice(args.indexOf('-i') - 2, args.indexOf('-i') + 2)).toEqual(['-c:v', 'h264_nvv4l2dec', '-i', '/work/job/in.mp4']);
    expect(valueOf(args, '-filter_complex')).toBe(
      '[0:v:0]scale=1280:720,setsar=1,format=yuv420p,split=2[v0][c1];[c1]scale=854:480,setsar=1,format=yuv420p[v1]',
    );
  });

  it('with audio: video and audio mapped per rung, and var_stream_map pairs them', () => {
    const args = buildLadderArgs(base);
    expect(valuesOf(args, '-map')).toEqual(['[v0]', '0:a:0', '[v1]', '0:a:0']);
    expect(valueOf(args, '-var_stream_map')).toBe('v:0,a:0,name:720p v:1,a:1,name:480p');
    expect(valueOf(args, '-c:a')).toBe('aac');
    expect(valueOf(args, '-b:a:0')).toBe('128k');
    expect(valueOf(args, '-b:a:1')).toBe('96k');
  });

  it('without audio: video only, no audio encoder', () => {
    const args = buildLadderArgs({ ...base, hasAudio: false });
    expect(valuesOf(args, '-map')).toEqual(['[v0]', '[v1]']);
    expect(valueOf(args, '-var_stream_map')).toBe('v:0,name:720p v:1,name:480p');
    expect(args).not.toContain('-c:a');
    expect(args.some((a) => a.startsWith('-b:a'))).toBe(false);
  });

  it('libx264 per rung with its bit rate, maxrate and buffer', () => {
    const args = buildLadderArgs(base);
    expect(valueOf(args, '-c:v')).toBe('h264_nvv4l2dec'); // the decoder, before -i
    expect(valuesOf(args, '-c:v')[1]).toBe('libx264');
    expect(valueOf(args, '-preset')).toBe(DEFAULT_PRESET);
    expect(valueOf(buildLadderArgs({ ...base, preset: 'veryfast' }), '-preset')).toBe('veryfast');
    // The default preset with adaptive quantisation back on in the top rung only; any other preset as x264 has it.
    expect(valueOf(args, '-x264-params:v:0')).toBe('aq-mode=1');
    expect(args.filter((a) => a.startsWith('-x264-params'))).toEqual(['-x264-params:v:0']);
    expect(buildLadderArgs({ ...base, preset: 'veryfast' }).some((a) => a.startsWith('-x264-params'))).toBe(false);
    expect([valueOf(args, '-b:v:0'), valueOf(args, '-maxrate:v:0'), valueOf(args, '-bufsize:v:0')]).toEqual(['3000k', '3300k', '6000k']);
    expect(valueOf(args, '-b:v:1')).toBe(`${rungs[1]!.videoKbps}k`);
  });

  it('keyframes every 2 s in every rung, no scene cuts, GOP from the frame rate', () => {
    const args = buildLadderArgs(base);
    expect(valueOf(args, '-force_key_frames')).toBe('expr:gte(t,n_forced*2)');
    expect(valueOf(args, '-sc_threshold')).toBe('0');
    expect(valueOf(args, '-g')).toBe('60');
    expect(valueOf(buildLadderArgs({ ...base, fps: 29.97 }), '-g')).toBe('60');
    expect(buildLadderArgs({ ...base, fps: null })).not.toContain('-g');
    // A segment length 2 does not divide still starts every segment on a keyframe.
    expect(valueOf(buildLadderArgs({ ...base, segmentSeconds: 5 }), '-force_key_frames')).toBe('expr:gte(t,n_forced*5/3)');
  });

  it('TS: VOD HLS with the master playlist and one folder per rendition', () => {
    const args = buildLadderArgs({ ...base, outDir: '/work/job/hls/' });
    const hls = args.slice(args.indexOf('-f'));
    expect(hls).toEqual([
      '-f', 'hls',
      '-hls_time', '6',
      '-hls_playlist_type', 'vod',
      '-hls_segment_type', 'mpegts',
      '-hls_flags', 'independent_segments+temp_file',
      '-master_pl_name', 'index.m3u8',
      '-var_stream_map', 'v:0,a:0,name:720p v:1,a:1,name:480p',
      '-hls_segment_filename', '/work/job/hls/%v/seg_%05d.ts',
      '/work/job/hls/%v/index.m3u8',
    ]);
  });

  it('fMP4: .m4s segments and an init file per rendition', () => {
    const args = buildLadderArgs({ ...base, segmentType: 'fmp4' });
    expect(valueOf(args, '-hls_segment_type')).toBe('fmp4');
    expect(valueOf(args, '-hls_fmp4_init_filename')).toBe('init.mp4');
    expect(valueOf(args, '-hls_segment_filename')).toBe('/work/job/hls/%v/seg_%05d.m4s');
    expect(args[args.length - 1]).toBe('/work/job/hls/%v/index.m3u8');
  });

  it('uses the probed stream indexes when given (a cover picture first)', () => {
    const args = buildLadderArgs({ ...base, videoStreamIndex: 1, audioStreamIndex: 2 });
    expect(valueOf(args, '-filter_complex')).toMatch(/^\[0:1\]scale=1280:720,/);
    expect(valuesOf(args, '-map')).toEqual(['[v0]', '0:2', '[v1]', '0:2']);
  });

  it('no storyboard unless asked: one split branch per rung, one output', () => {
    const args = buildLadderArgs(base);
    expect(valueOf(args, '-filter_complex')).not.toMatch(/tile=|\[sb\]/);
    expect(args.filter((a) => a.includes('storyboard'))).toEqual([]);
  });

  it('with storyboardTileHeight: one more split branch, tiled, and a JPEG output under outDir/thumbnails/', () => {
    const args = buildLadderArgs({ ...base, outDir: '/work/job/hls/', storyboardTileHeight: 180 });
    const graph = valueOf(args, '-filter_complex')!;
    expect(graph.split(';')).toEqual([
      '[0:v:0]split=2[c0][sb0]',
      '[c0]scale=1280:720,setsar=1,format=yuv420p,split=2[v0][c1]',
      '[c1]scale=854:480,setsar=1,format=yuv420p[v1]',
      String.raw`[sb0]select=gte(t\,selected_n*6),scale=320:180,setsar=1,tile=5x5,settb=1,setpts=N,fps=1[sb]`,
    ]);
    // The HLS output is unchanged and comes first; the sheets are a second output after it.
    const hlsEnd = args.indexOf('/work/job/hls/%v/index.m3u8');
    expect(args.slice(0, hlsEnd + 1)).toEqual(buildLadderArgs({ ...base, outDir: '/work/job/hls/' }).map((a) => (a.startsWith('[0:v:0]') ? graph : a)));
    expect(args.slice(hlsEnd + 1)).toEqual([
      '-map', '[sb]', '-c:v', 'mjpeg', '-q:v', '4', '-max_muxing_queue_size', '1024', '-start_number', '0',
      '/work/job/hls/thumbnails/storyboard_%03d.jpg',
    ]);
    // The sheets never carry audio: [sb] is the only map after the HLS output.
    expect(valuesOf(args.slice(hlsEnd + 1), '-map')).toEqual(['[sb]']);
  });

  it('the storyboard branch follows the probed video stream and the segment length', () => {
    const graph = valueOf(buildLadderArgs({ ...base, rungs: [rungs[0]!], videoStreamIndex: 1, segmentSeconds: 4, storyboardTileHeight: 240 }), '-filter_complex')!;
    expect(graph).toMatch(/^\[0:1\]split=2\[c0\]\[sb0\];/);
    expect(graph).toContain(String.raw`[sb0]select=gte(t\,selected_n*4),scale=320:240,`);
  });

  it.each([
    [{ rungs: [] }],
    [{ segmentSeconds: 0 }],
    [{ outDir: '/tmp/100%/x' }],
    [{ rungs: [{ ...rungs[0]!, name: 'a b' }] }],
    [{ rungs: [rungs[0]!, rungs[0]!] }],
  ])('refuses %j', (patch) => {
    expect(() => buildLadderArgs({ ...base, ...patch })).toThrow(RangeError);
  });
});

describe('buildLadderArgs per encoder (issue 19)', () => {
  const rungs = chooseRungs({ width: 1920, height: 1080 }, [1080, 720, 480]);
  const base: LadderArgsOptions = {
    input: '/work/job/in.mp4', inputArgs: [], rungs, hasAudio: true, fps: 30, segmentSeconds: 6, segmentType: 'ts', outDir: '/work/job/hls',
  };
  /** -b:v:N / -maxrate:v:N / -bufsize:v:N pairs, in order. */
  const rateFlags = (args: string[]) => args.flatMap((a, i) => (/^-(b|maxrate|bufsize):v:\d+$/.test(a) ? [a, args[i + 1]!] : []));
  const x264Rates = rateFlags(buildLadderArgs(base));

  it('libx264 is the default, and the encoder after -i is the only video encoder of the HLS output', () => {
    expect(buildLadderArgs(base)).toEqual(buildLadderArgs({ ...base, encoder: 'libx264' }));
    for (const encoder of VIDEO_ENCODERS) {
      const args = buildLadderArgs({ ...base, encoder });
      expect(valuesOf(args, '-c:v')).toEqual([encoder]);
    }
  });

  it.each(VIDEO_ENCODERS)('%s: every rung keeps its bit rate, 110 %% maxrate and 2 s buffer', (encoder) => {
    expect(x264Rates).toEqual([
      '-b:v:0', '6000k', '-maxrate:v:0', '6600k', '-bufsize:v:0', '12000k',
      '-b:v:1', '3000k', '-maxrate:v:1', '3300k', '-bufsize:v:1', '6000k',
      '-b:v:2', `${rungs[2]!.videoKbps}k`, '-maxrate:v:2', `${rungs[2]!.maxrateKbps}k`, '-bufsize:v:2', `${rungs[2]!.bufsizeKbps}k`,
    ]);
    expect(rateFlags(buildLadderArgs({ ...base, encoder }))).toEqual(x264Rates);
  });

  it('h264_nvenc: the burst workers\' preset p4, forced keyframes made IDR, no scene cuts, no lookahead, 2 B-frames, VBR', () => {
    const args = buildLadderArgs({ ...base, encoder: 'h264_nvenc', preset: 'veryfast' });
    expect(valueOf(args, '-preset')).toBe('p4'); // HLS_PRESET is libx264's
    expect(valueOf(args, '-force_key_frames')).toBe('expr:gte(t,n_forced*2)');
    expect(valueOf(args, '-forced-idr')).toBe('1');
    expect(valueOf(args, '-no-scenecut')).toBe('1');
    expect(valueOf(args, '-rc-lookahead')).toBe('0');
    expect(valueOf(args, '-g')).toBe('60');
    expect(valueOf(args, '-bf')).toBe('2');
    expect(valueOf(args, '-rc')).toBe('vbr');
    expect(valueOf(args, '-profile:v')).toBe('high');
    expect(args.some((a) => a.startsWith('-x264-params'))).toBe(false);
    expect(args).not.toContain('-sc_threshold');
    expect(valueOf(buildLadderArgs({ ...base, encoder: 'h264_nvenc', segmentSeconds: 5 }), '-force_key_frames')).toBe('expr:gte(t,n_forced*5/3)');
    expect(buildLadderArgs({ ...base, encoder: 'h264_nvenc', fps: null })).not.toContain('-g');
  });

  it.each(['h264_nvv4l2enc', 'h264_nvmpi'] as const)('%s: a fixed GOP of the keyframe spacing in frames, no forced keyframes, no B-frames, only generic options', (encoder) => {
    const args = buildLadderArgs({ ...base, encoder });
    expect(args).not.toContain('-force_key_frames');
    expect(valueOf(args, '-g')).toBe('60');
    expect(valueOf(buildLadderArgs({ ...base, encoder, fps: 25 }), '-g')).toBe('50');
    expect(valueOf(buildLadderArgs({ ...base, encoder, fps: 29.97 }), '-g')).toBe('60');
    expect(valueOf(buildLadderArgs({ ...base, encoder, segmentSeconds: 5 }), '-g')).toBe('50'); // 5/3 s at 30 fps
    expect(valueOf(buildLadderArgs({ ...base, encoder, fps: null }), '-g')).toBe('60'); // 30 fps assumed
    expect(valueOf(args, '-bf')).toBe('0');
    // Nothing a build might not know: codec, -bf, the rates, -g.
    const video = videoEncoderArgs(encoder, { rungs, segmentSeconds: 6, fps: 30 });
    expect(video.filter((a) => a.startsWith('-'))).toEqual(['-c:v', '-bf', ...x264Rates.filter((a) => a.startsWith('-')), '-g']);
  });

  it('the video encoder sits between the maps and the audio encoder, as libx264 did', () => {
    for (const encoder of VIDEO_ENCODERS) {
      const args = buildLadderArgs({ ...base, encoder });
      const video = videoEncoderArgs(encoder, { rungs, segmentSeconds: 6, fps: 30 });
      const at = args.indexOf('-c:v');
      expect(args.slice(at, at + video.length)).toEqual(video);
      expect(args[at + video.length]).toBe('-c:a');
    }
  });
});

describe('renditionsFor', () => {
  it('lists each rung with ffmpeg\'s BANDWIDTH figure and its playlist', () => {
    const rungs = chooseRungs({ width: 1280, height: 720 }, [720, 360]);
    expect(renditionsFor(rungs)).toEqual([
      { name: '720p', width: 1280, height: 720, bandwidth: 3_440_800, playlist: '720p/index.m3u8' },
      { name: '360p', width: 640, height: 360, bandwidth: 908_600, playlist: '360p/index.m3u8' },
    ]);
    expect(renditionsFor(rungs, false).map((r) => r.bandwidth)).toEqual([3_300_000, 803_000]);
    // Copied audio: its own rate in every rung, a tenth added in whole bits as ffmpeg does.
    expect(renditionsFor(rungs, true, 127_999).map((r) => r.bandwidth)).toEqual([3_000_000 + 127_999 + 312_799, 730_000 + 127_999 + 85_799]);
  });
});

describe('copyableAudioBps: the source\'s audio copied into every rung, or encoded per rung', () => {
  it.each<[Parameters<typeof copyableAudioBps>[0], number | null]>([
    [{ codecName: 'aac', channels: 2, bitRate: 128_000 }, 128_000],
    [{ codecName: 'aac', channels: 1, bitRate: 96_000 }, 96_000],
    [{ codecName: 'aac', bitRate: 192_000 }, 192_000],
    [{ codecName: 'aac', channels: 2, bitRate: 256_000 }, null], // too rich for the low rungs
    [{ codecName: 'aac', channels: 6, bitRate: 128_000 }, null], // 5.1: down-mixed by an encode
    [{ codecName: 'aac', channels: 2 }, null], // rate unknown: BANDWIDTH could not say it
    [{ codecName: 'pcm_s16le', channels: 2, bitRate: 128_000 }, null],
    [{ codecName: 'opus', channels: 2, bitRate: 96_000 }, null],
    [null, null],
  ])('%j → %s', (audio, bps) => {
    expect(copyableAudioBps(audio)).toBe(bps);
  });

  it('copyAudio: -c:a copy, no per-rung audio rate', () => {
    const rungs = chooseRungs({ width: 1280, height: 720 }, [720, 360]);
    const args = buildLadderArgs({ input: 'in.mp4', inputArgs: [], rungs, hasAudio: true, copyAudio: true, fps: 30, segmentSeconds: 6, segmentType: 'ts', outDir: '/o' });
    expect(args.join(' ')).toContain('-c:a copy');
    expect(args.some((a) => a.startsWith('-b:a') || a === '-ac')).toBe(false);
  });
});
