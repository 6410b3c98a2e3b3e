import { describe, expect, it } from '@jest/globals';
import { activityMoved } from '../../src/domain/ffmpeg-activity.js';

describe('activityMoved (the stall watchdog’s second look)', () => {
  it('a counter that changed is work done', () => {
    expect(activityMoved({ segments: 3, input_bytes: 1000 }, { segments: 3, input_bytes: 4096 })).toBe(true);
    expect(activityMoved({ segments: 3, input_bytes: 1000 }, { segments: 4, input_bytes: 1000 })).toBe(true);
  });

  it('the same counters twice is a stall', () => {
    expect(activityMoved({ segments: 3, input_bytes: 1000 }, { segments: 3, input_bytes: 1000 })).toBe(false);
    expect(activityMoved({}, {})).toBe(false);
  });

  it('a counter that appeared is work done (a new file); one that vanished is not', () => {
    expect(activityMoved({ a: 1 }, { a: 1, b: 0 })).toBe(true);
    expect(activityMoved({ a: 1, b: 5 }, { a: 1 })).toBe(false);
  });

  it('a counter unreadable either time proves nothing', () => {
    expect(activityMoved({ segments: 3, input_bytes: null }, { segments: 3, input_bytes: 5 })).toBe(false);
    expect(activityMoved({ segments: 3, input_bytes: 5 }, { segments: 3, input_bytes: null })).toBe(false);
  });

  it('no earlier look: anything readable counts as a first sign of work', () => {
    expect(activityMoved(undefined, { segments: 0 })).toBe(true);
    expect(activityMoved(undefined, { segments: null })).toBe(false);
  });
});
