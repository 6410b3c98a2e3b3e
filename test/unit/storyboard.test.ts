import { describe, expect, it } from '@jest/globals';
import { buildStoryboardVtt, sheetName, storyboardFilter, tileHeight, vttTimestamp } from '../../src/domain/rugbycodex/storyboard.js';

interface Cue { start: string; end: string; text: string }

/** The cues of a WebVTT text, after checking its header. */
function cuesOf(vtt: string): Cue[] {
  const [header, ...blocks] = vtt.trimEnd().split('\n\n');
  expect(header).toBe('WEBVTT');
  return blocks.filter((b) => b.trim() !== '').map((block) => {
    const [timing, text, ...rest] = block.split('\n');
    expect(rest).toEqual([]);
    const [start, end] = timing!.split(' --> ');
    return { start: start!, end: end!, text: text! };
  });
}

describe('tileHeight (320 wide, aspect kept, even)', () => {
  it.each([
    [1920, 1080, 180, '16:9'],
    [1280, 720, 180, '16:9, smaller'],
    [640, 480, 240, '4:3'],
    [1080, 1920, 568, 'portrait 9:16 (568.9 → 568)'],
    [1920, 800, 134, '2.4:1 (133.3 → 134, not the odd 133)'],
    [1000, 605, 194, '193.6 → 194'],
    [10_000, 10, 2, 'never below 2'],
  ])('%i×%i → %i (%s)', (w, h, expected) => {
    expect(tileHeight(w, h)).toBe(expected);
    expect(expected % 2).toBe(0);
  });

  it.each([[0, 720], [1280, 0], [Number.NaN, 720], [-1280, 720]])('refuses %d×%d', (w, h) => {
    expect(() => tileHeight(w, h)).toThrow(RangeError);
  });
});

describe('vttTimestamp', () => {
  it.each([
    [0, '00:00:00.000'],
    [6, '00:00:06.000'],
    [12.3456, '00:00:12.346'],
    [61.5, '00:01:01.500'],
    [59.9996, '00:01:00.000'], // rounds up across the minute
    [3725.25, '01:02:05.250'],
    [36_000, '10:00:00.000'],
    [-1, '00:00:00.000'],
  ])('%d s → %s', (seconds, text) => {
    expect(vttTimestamp(seconds)).toBe(text);
  });
});

describe('sheetName', () => {
  it('numbers sheets from 000, three digits at least', () => {
    expect([0, 1, 12, 999, 1000].map(sheetName)).toEqual([
      'storyboard_000.jpg', 'storyboard_001.jpg', 'storyboard_012.jpg', 'storyboard_999.jpg', 'storyboard_1000.jpg',
    ]);
  });
});

describe('buildStoryboardVtt', () => {
  it('one cue per segment, its times the cumulative real durations, its text the tile', () => {
    const vtt = buildStoryboardVtt([6, 6, 6, 2.5], 1, 180);
    expect(vtt.frameCount).toBe(4);
    expect(vtt.text).toBe([
      'WEBVTT',
      '',
      '00:00:00.000 --> 00:00:06.000', 'storyboard_000.jpg#xywh=0,0,320,180', '',
      '00:00:06.000 --> 00:00:12.000', 'storyboard_000.jpg#xywh=320,0,320,180', '',
      '00:00:12.000 --> 00:00:18.000', 'storyboard_000.jpg#xywh=640,0,320,180', '',
      '00:00:18.000 --> 00:00:20.500', 'storyboard_000.jpg#xywh=960,0,320,180', '',
    ].join('\n'));
  });

  it('accumulates uneven durations without drift', () => {
    const cues = cuesOf(buildStoryboardVtt([6.006, 6.006, 6.006, 0.1, 0.2], 1, 180).text);
    expect(cues.map((c) => c.end)).toEqual(['00:00:06.006', '00:00:12.012', '00:00:18.018', '00:00:18.118', '00:00:18.318']);
    // Each cue starts where the one before ended.
    expect(cues.slice(1).map((c) => c.start)).toEqual(cues.slice(0, -1).map((c) => c.end));
  });

  it('walks a 5×5 sheet row by row, then goes on at the top left of sheet 001 at cue 25', () => {
    const cues = cuesOf(buildStoryboardVtt(Array.from({ length: 30 }, () => 2), 2, 240).text);
    expect(cues).toHaveLength(30);
    const tile = (i: number): string => cues[i]!.text;
    expect(tile(0)).toBe('storyboard_000.jpg#xywh=0,0,320,240');
    expect(tile(4)).toBe('storyboard_000.jpg#xywh=1280,0,320,240');
    expect(tile(5)).toBe('storyboard_000.jpg#xywh=0,240,320,240');
    expect(tile(12)).toBe('storyboard_000.jpg#xywh=640,480,320,240');
    expect(tile(24)).toBe('storyboard_000.jpg#xywh=1280,960,320,240');
    expect(tile(25)).toBe('storyboard_001.jpg#xywh=0,0,320,240');
    expect(tile(29)).toBe('storyboard_001.jpg#xywh=1280,0,320,240');
    expect(cues[25]).toMatchObject({ start: '00:00:50.000', end: '00:00:52.000' });
  });

  it.each([
    [30, 1, 25, 'more segments than one sheet holds: bounded by the tiles'],
    [30, 2, 30, 'two sheets hold them all'],
    [3, 1, 3, 'fewer segments than tiles'],
    [0, 1, 0, 'no segment, no cue'],
    [5, 0, 0, 'no sheet, no cue'],
  ])('%i segments on %i sheet(s) → %i cues (%s)', (segments, sheets, cues) => {
    const vtt = buildStoryboardVtt(Array.from({ length: segments }, () => 6), sheets, 180);
    expect(vtt.frameCount).toBe(cues);
    expect(cuesOf(vtt.text)).toHaveLength(cues);
  });
});

describe('storyboardFilter', () => {
  it('picks the first frame of each segment interval, scales it to the tile and tiles 5×5', () => {
    expect(storyboardFilter(6, 180)).toBe(String.raw`select=gte(t\,selected_n*6),scale=320:180,setsar=1,tile=5x5`);
  });

  it('escapes the comma inside select\'s expression, so the graph splits into four filters, not five', () => {
    const filters = storyboardFilter(2, 134).split(/(?<!\\),/);
    expect(filters).toEqual([String.raw`select=gte(t\,selected_n*2)`, 'scale=320:134', 'setsar=1', 'tile=5x5']);
  });
});
