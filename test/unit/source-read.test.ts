import { describe, expect, it } from '@jest/globals';
import { nextRead, READ_LIMITS, type ReadLimits } from '../../src/domain/source-read.js';

const limits: ReadLimits = { chunkBytes: 100, aheadBytes: 1000, windowBytes: 500 };
const at = (position: number, onDisk: number, end = 9999, storeUsable = true) => nextRead({ position, end, onDisk, storeUsable }, limits);

describe('nextRead', () => {
  it('bytes on disk come from the file, a chunk at a time, never past the download or the range', () => {
    expect(at(0, 5000)).toEqual({ from: 'disk', range: { start: 0, end: 99 } });
    expect(at(4950, 5000)).toEqual({ from: 'disk', range: { start: 4950, end: 4999 } });
    expect(at(0, 5000, 9)).toEqual({ from: 'disk', range: { start: 0, end: 9 } });
    expect(at(9990, 10_000)).toEqual({ from: 'disk', range: { start: 9990, end: 9999 } });
  });

  it('a read at the download or just ahead of it waits for the download', () => {
    expect(at(5000, 5000)).toEqual({ from: 'wait' });
    expect(at(5999, 5000)).toEqual({ from: 'wait' });
    expect(at(0, 0)).toEqual({ from: 'wait' });
  });

  it('a read far ahead (an index at the end, a seek) comes from the store, one window at a time', () => {
    expect(at(6000, 5000)).toEqual({ from: 'store', range: { start: 6000, end: 6499 } });
    expect(at(9800, 0)).toEqual({ from: 'store', range: { start: 9800, end: 9999 } });
    expect(at(9999, 0)).toEqual({ from: 'store', range: { start: 9999, end: 9999 } });
  });

  it('once a store read broke, the response waits for the (resuming) download instead', () => {
    expect(at(9800, 0, 9999, false)).toEqual({ from: 'wait' });
    expect(at(100, 5000, 9999, false)).toEqual({ from: 'disk', range: { start: 100, end: 199 } });
  });

  it('refuses a position past the end of the range', () => {
    expect(() => at(10_000, 0)).toThrow(RangeError);
  });

  it('the default limits: chunks within a window, the wait shorter than a window', () => {
    expect(READ_LIMITS.chunkBytes).toBeLessThan(READ_LIMITS.windowBytes);
    expect(READ_LIMITS.aheadBytes).toBeLessThanOrEqual(READ_LIMITS.windowBytes);
    expect(nextRead({ position: 0, end: 1e9, onDisk: 1e9, storeUsable: true })).toEqual({ from: 'disk', range: { start: 0, end: READ_LIMITS.chunkBytes - 1 } });
  });
});
