import { describe, expect, it } from '@jest/globals';
import { ownConcatListArgs, refusedInput, untrustedInputArgs, VIDEO_CONTAINERS } from '../../src/domain/untrusted-media.js';
import { concatArgs, frameCountArgs, naiveStereoArgs, splitArgs } from '../../src/domain/stereo/media-args.js';

const valueOf = (args: readonly string[], flag: string): string | undefined => args[args.indexOf(flag) + 1];

describe('untrustedInputArgs', () => {
  it('allows the video containers and nothing that opens other files or URLs', () => {
    const formats = valueOf(untrustedInputArgs('file'), '-format_whitelist')!.split(',');
    expect(formats).toEqual([...VIDEO_CONTAINERS]);
    expect(formats).toEqual(expect.arrayContaining(['mov', 'matroska', 'mpegts', 'avi', 'flv']));
    for (const opener of ['hls', 'concat', 'dash', 'image2', 'tty', 'lavfi', 'data', 'sdp', 'rtsp', 'srt', 'subviewer', 'webm_dash_manifest']) {
      expect(formats).not.toContain(opener);
    }
  });

  it('allows only the protocol the input needs: file for a local file, HTTP for the loopback source', () => {
    expect(valueOf(untrustedInputArgs('file'), '-protocol_whitelist')).toBe('file');
    expect(valueOf(untrustedInputArgs('http'), '-protocol_whitelist')).toBe('http,tcp');
  });

  it('lets only our own list be a concat list, naming local files', () => {
    const args = ownConcatListArgs();
    expect(args.slice(0, 4)).toEqual(['-f', 'concat', '-safe', '0']);
    expect(valueOf(args, '-protocol_whitelist')).toBe('file');
    expect(valueOf(args, '-format_whitelist')).toBe(['concat', ...VIDEO_CONTAINERS].join(','));
  });
});

describe('the stereo steps read their inputs as untrusted media', () => {
  /** The options right before `input` (or before its -i) are `expected`. */
  const beforeInput = (args: string[], input: string, expected: string[]): void => {
    const end = args.indexOf(input) - (args[args.indexOf(input) - 1] === '-i' ? 1 : 0);
    expect(args.slice(end - expected.length, end)).toEqual(expected);
  };
  it('split, frame count and the naive stereo filter: the allow-list before the input', () => {
    beforeInput(splitArgs({ input: '/w/source.mp4', outDir: '/w/seg', segmentSeconds: 2 }), '/w/source.mp4', untrustedInputArgs('file'));
    beforeInput(splitArgs({ input: 'http://127.0.0.1:9/x', outDir: '/w/seg', segmentSeconds: 2, transport: 'http' }), 'http://127.0.0.1:9/x', untrustedInputArgs('http'));
    beforeInput(frameCountArgs('/w/part.mp4'), '/w/part.mp4', untrustedInputArgs('file'));
    beforeInput(naiveStereoArgs({ input: '/w/in.mp4', output: '/w/out.mp4', mode: 'sbs', passthrough: [] }), '/w/in.mp4', untrustedInputArgs('file'));
  });

  it('the join: our list through ownConcatListArgs', () => {
    beforeInput(concatArgs({ list: '/w/parts.ffconcat', output: '/w/final.mp4' }), '/w/parts.ffconcat', ownConcatListArgs());
  });
});

describe('refusedInput', () => {
  // FFmpeg 5.1's own lines (ffprobe -v error, ffmpeg at its default level).
  const refusedFormat = (name: string): string => `[${name} @ 0x5563199a9280] Format not on whitelist 'mov,matroska,mpegts'\nplay.mp4: Invalid argument\n`;

  it('names what the input is, as the end of a sentence', () => {
    expect(refusedInput(refusedFormat('hls'))).toBe('an HLS playlist, not a video container');
    expect(refusedInput(refusedFormat('concat'))).toBe('an FFmpeg concat list, not a video container');
    expect(refusedInput(refusedFormat('tty'))).toBe('a text file, not a video container');
    expect(refusedInput(refusedFormat('png_pipe'))).toBe('an image, not a video container');
    expect(refusedInput(refusedFormat('mp3'))).toBe('in the mp3 format, not a video container');
    expect(refusedInput("[file @ 0x556afc0ba840] Protocol 'file' not on whitelist 'http,tcp'!\n")).toBe('not a video on its own: it makes FFmpeg open a file URL');
  });

  it('is null for any other failure (a corrupt file is not a refusal)', () => {
    expect(refusedInput('[mov,mp4,m4a,3gp,3g2,mj2 @ 0x556afc0b1680] moov atom not found\nx.mp4: Invalid data found when processing input')).toBeNull();
    expect(refusedInput('')).toBeNull();
  });
});
