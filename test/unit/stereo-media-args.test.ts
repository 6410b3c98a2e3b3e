import { describe, expect, it } from '@jest/globals';
import { naiveStereoArgs, passthroughFramesArgs } from '../../src/domain/stereo/media-args.js';

describe('passthroughFramesArgs', () => {
  it('is -fps_mode from FFmpeg 5.1 (9 has no -vsync), -vsync before (JetPack 4.x)', () => {
    expect(passthroughFramesArgs('5.1.6-0+deb12u1')).toEqual(['-fps_mode', 'passthrough']);
    expect(passthroughFramesArgs('6.1.1-3ubuntu5')).toEqual(['-fps_mode', 'passthrough']);
    expect(passthroughFramesArgs('9.0.1-full_build-www.gyan.dev')).toEqual(['-fps_mode', 'passthrough']);
    expect(passthroughFramesArgs('4.2.7-0ubuntu0.1')).toEqual(['-vsync', 'passthrough']);
    expect(passthroughFramesArgs('n4.4.2')).toEqual(['-vsync', 'passthrough']);
    expect(passthroughFramesArgs('5.0.3')).toEqual(['-vsync', 'passthrough']);
  });

  it('takes a git build (no version number) as new', () => {
    expect(passthroughFramesArgs('N-113417-g0f5fd44dfb')).toEqual(['-fps_mode', 'passthrough']);
  });
});

describe('naiveStereoArgs', () => {
  it('keeps every frame (the given flag before the encoder) and copies the audio', () => {
    const args = naiveStereoArgs({ input: 'in.mp4', output: 'out.mp4', mode: 'sbs', passthrough: ['-fps_mode', 'passthrough'] });
    expect(args.slice(args.indexOf('-fps_mode'), args.indexOf('-fps_mode') + 2)).toEqual(['-fps_mode', 'passthrough']);
    expect(args.indexOf('-fps_mode')).toBeLessThan(args.indexOf('-c:v'));
    expect(args).toEqual(expect.arrayContaining(['-map', '0:a?', '-c:a', 'copy']));
    expect(args.at(-1)).toBe('out.mp4');
  });

  it('sbs is the two views side by side; anaglyph merges them back to the source width', () => {
    const graph = (mode: 'sbs' | 'anaglyph') => {
      const args = naiveStereoArgs({ input: 'i', output: 'o', mode, passthrough: [] });
      return args[args.indexOf('-filter_complex') + 1]!;
    };
    expect(graph('sbs')).toContain('hstack');
    expect(graph('sbs')).not.toContain('stereo3d');
    expect(graph('anaglyph')).toContain('hstack,stereo3d=sbsl:arcd');
  });
});
