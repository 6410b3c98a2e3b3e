import { describe, expect, it } from '@jest/globals';
import { answerRange, contentRange, rangeHeader, rangeLength, rangeProblem } from '../../src/domain/byte-range.js';

describe('answerRange', () => {
  it.each([
    ['bytes=0-', { start: 0, end: 999 }],
    ['bytes=100-', { start: 100, end: 999 }], // FFmpeg's seek
    ['bytes=100-199', { start: 100, end: 199 }],
    ['bytes=999-999', { start: 999, end: 999 }],
    ['bytes=900-5000', { start: 900, end: 999 }], // the end clamped to the last byte
    ['bytes=-10', { start: 990, end: 999 }], // the last ten bytes
    ['bytes=-5000', { start: 0, end: 999 }],
    [' bytes=5-6 ', { start: 5, end: 6 }],
  ])('%s of 1000 bytes → %j', (header, range) => {
    expect(answerRange(header, 1000)).toEqual({ kind: 'range', range });
  });

  it.each([undefined, 'bytes=0-1,5-6', 'items=0-1', 'bytes=abc', 'bytes=-', 'bytes=10-5'])('%s → the whole object (a Range a server may ignore)', (header) => {
    expect(answerRange(header, 1000)).toEqual({ kind: 'whole' });
  });

  it.each([['bytes=1000-', 1000], ['bytes=5000-6000', 1000], ['bytes=-0', 1000], ['bytes=0-', 0], ['bytes=-1', 0]])('%s of %d bytes → unsatisfiable (416)', (header, size) => {
    expect(answerRange(header, size)).toEqual({ kind: 'unsatisfiable' });
  });
});

describe('contentRange', () => {
  it('names the range and the size of a 206, only the size of a 416', () => {
    expect(contentRange(1000, { start: 100, end: 199 })).toBe('bytes 100-199/1000');
    expect(contentRange(1000)).toBe('bytes */1000');
  });

  it('rangeLength counts both ends', () => {
    expect(rangeLength({ start: 100, end: 199 })).toBe(100);
    expect(rangeLength({ start: 7, end: 7 })).toBe(1);
  });
});

describe('rangeProblem and rangeHeader', () => {
  it('accepts offsets, end optional and inclusive', () => {
    expect(rangeProblem({ start: 0 })).toBeNull();
    expect(rangeProblem({ start: 5, end: 5 })).toBeNull();
    expect(rangeHeader({ start: 5, end: 9 })).toBe('bytes=5-9');
    expect(rangeHeader({ start: 5 })).toBe('bytes=5-');
  });

  it.each([[{ start: -1 }], [{ start: 1.5 }], [{ start: Number.NaN }], [{ start: 5, end: 4 }], [{ start: 0, end: Infinity }]])('refuses %j', (range) => {
    expect(rangeProblem(range)).toMatch(/not a byte offset/);
  });
});
