// mapLimit (src/runtime/parallel.ts): order, the limit, and a failure that waits for the items in flight.
import { describe, expect, it } from '@jest/globals';
import { mapLimit } from '../../src/runtime/parallel.js';

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('mapLimit', () => {
  it('resolves results in item order with never more than `limit` in flight', async () => {
    let running = 0;
    let peak = 0;
    const out = await mapLimit([30, 5, 20, 1, 10, 2], 3, async (ms, i) => {
      peak = Math.max(peak, ++running);
      await tick(ms);
      running--;
      return i * 10;
    });
    expect(out).toEqual([0, 10, 20, 30, 40, 50]);
    expect(peak).toBe(3);
  });

  it('rejects with the first failure only after the items in flight have settled, and starts no new one', async () => {
    const settled: number[] = [];
    const started: number[] = [];
    const run = mapLimit([0, 1, 2, 3, 4], 3, async (i) => {
      started.push(i);
      if (i === 0) { await tick(5); throw new Error('part 0 failed'); }
      await tick(40);
      if (i === 2) throw new Error('part 2 failed too');
      settled.push(i);
      return i;
    });
    await expect(run).rejects.toThrow('part 0 failed');
    expect(settled).toEqual([1]);
    expect(started).toEqual([0, 1, 2]);
  });
});
