import { describe, expect, it } from '@jest/globals';
import { stereoProgress } from '../../src/commands/stereo-progress.js';
import { progressBarOutput, stereoLabel } from '../../src/commands/progress-bar.js';

describe('stereoProgress', () => {
  it('is 0 % with no estimate until the first segment exists', () => {
    expect(stereoProgress({ total: null, chunked: 0, inferred: 0, joined: 0 }, 10)).toEqual({ percent: 0, etaSeconds: null });
  });

  it('weighs inference most, and estimates only once a segment went through it', () => {
    expect(stereoProgress({ total: 4, chunked: 4, inferred: 0, joined: 0 }, 2)).toEqual({ percent: 10, etaSeconds: null });
    // 10 % + 80 % × 1/2 = 50 % in 10 s: 10 s more.
    expect(stereoProgress({ total: 4, chunked: 4, inferred: 2, joined: 0 }, 10)).toEqual({ percent: 50, etaSeconds: 10 });
    expect(stereoProgress({ total: 4, chunked: 4, inferred: 4, joined: 4 }, 30)).toEqual({ percent: 100, etaSeconds: 0 });
  });

  it('never passes 100 % on counts past the total', () => {
    expect(stereoProgress({ total: 2, chunked: 3, inferred: 3, joined: 3 }, 5).percent).toBe(100);
  });
});

function fakeTty(): { tty: NodeJS.WriteStream; text: () => string } {
  let out = '';
  return { tty: { write: (s: string) => { out += s; return true; } } as unknown as NodeJS.WriteStream, text: () => out };
}

describe('progressBarOutput', () => {
  it('draws stereo_progress with the three counts and the ETA, and ends the bar with a newline at 100 %', () => {
    const { tty, text } = fakeTty();
    const bar = progressBarOutput(tty);
    bar.write(`${JSON.stringify({ severity: 'info', event_type: 'stereo_progress', total: 8, chunked: 8, inferred: 2, joined: 0, percent: 30, eta_seconds: 65 })}\n`);
    expect(text()).toBe(`\r\x1b[2K[${'#'.repeat(9)}${'.'.repeat(21)}]  30% 8/8 chunked, 2/8 inferred, 0/8 joined, ETA 1:05`);
    bar.write(`${JSON.stringify({ severity: 'info', event_type: 'segment_completed', message: 'segment 3/8 done' })}\n`);
    bar.write(`${JSON.stringify({ severity: 'info', event_type: 'stereo_progress', total: 8, chunked: 8, inferred: 8, joined: 8, percent: 100, eta_seconds: 0 })}\n`);
    expect(text().endsWith('] 100% 8/8 chunked, 8/8 inferred, 8/8 joined, ETA 0:00\n')).toBe(true);
    expect(text()).not.toContain('segment 3/8 done');
  });

  it('still draws transcode_progress as before, and shows warnings on their own line', () => {
    const { tty, text } = fakeTty();
    const bar = progressBarOutput(tty);
    bar.write(`${JSON.stringify({ severity: 'info', event_type: 'transcode_progress', percent: 50, phase: 'encoding', speed: 2.5 })}\n`);
    expect(text()).toBe(`\r\x1b[2K[${'#'.repeat(15)}${'.'.repeat(15)}]  50% encoding 2.50x`);
    bar.write(`${JSON.stringify({ severity: 'warn', event_type: 'x', message: 'careful' })}\n`);
    expect(text().endsWith('\r\x1b[2Kwarn: careful\n')).toBe(true);
  });

  it('labels an unknown total with ?', () => {
    expect(stereoLabel({ chunked: 0, inferred: 0, joined: 0, total: null, eta_seconds: null })).toBe('0/? chunked, 0/? inferred, 0/? joined');
  });
});
