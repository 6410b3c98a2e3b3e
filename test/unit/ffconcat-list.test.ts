// The ffconcat list the reassembly joins from: each path one token by FFmpeg's quoting rules
// (ffmpeg-utils "Quoting and escaping"), so a WORK_DIR with a quote, a space or a backslash
// names the same files. test/integration/stereo-join.test.ts runs the real join.
import { describe, expect, it } from '@jest/globals';
import { ffconcatList, ffconcatPath } from '../../src/domain/stereo/media-args.js';

describe('ffconcatPath', () => {
  it("writes a ' as '\\'' (close the quote, escaped quote, reopen): FFmpeg's own example", () => {
    expect(ffconcatPath("Crime d'Amour")).toBe("'Crime d'\\''Amour'");
    expect(ffconcatPath("/work/it's a dir/seg_00000.mp4")).toBe("'/work/it'\\''s a dir/seg_00000.mp4'");
    expect(ffconcatPath("''")).toBe("''\\'''\\'''");
  });

  it('keeps spaces and backslashes literal inside the quotes', () => {
    expect(ffconcatPath('/work/a b\\c/seg.mp4')).toBe("'/work/a b\\c/seg.mp4'");
  });

  it('refuses a line break or NUL, which no quoting carries through a list read line by line', () => {
    for (const bad of ['/work/a\nb.mp4', '/work/a\rb.mp4', '/work/a\0b.mp4']) expect(() => ffconcatPath(bad)).toThrow(RangeError);
  });
});

describe('ffconcatList', () => {
  it('one quoted file line and its duration per part, after the version line', () => {
    expect(ffconcatList([{ file: "/w/it's/0.mp4", durationSeconds: 2 }, { file: '/w/1.mp4', durationSeconds: 1.0333333 }])).toBe(
      "ffconcat version 1.0\nfile '/w/it'\\''s/0.mp4'\nduration 2.000000\nfile '/w/1.mp4'\nduration 1.033333\n",
    );
  });
});
