import { describe, expect, it } from '@jest/globals';
import { MicroBatcher, type BatchOutcome } from '../../src/adapters/queue/micro-batcher.js';

describe('MicroBatcher', () => {
  it('coalesces calls of one tick into batches of at most max, settling each item by its own outcome', async () => {
    const batches: number[][] = [];
    const b = new MicroBatcher<number>(async (items) => {
      batches.push(items);
      return items.map((i): BatchOutcome => (i === 13 ? new Error('bad 13') : null));
    }, 10);
    const results = await Promise.allSettled(Array.from({ length: 25 }, (_, i) => b.add(i)));
    expect(batches.map((x) => x.length)).toEqual([10, 10, 5]);
    expect(batches.flat()).toEqual(Array.from({ length: 25 }, (_, i) => i));
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
    expect(results[13]).toMatchObject({ status: 'rejected', reason: new Error('bad 13') });
  });

  it('rejects every item of a batch whose request fails, and keeps working after', async () => {
    let fail = true;
    const b = new MicroBatcher<string>(async (items) => {
      if (fail) throw new Error('network down');
      return items.map(() => null);
    });
    await expect(Promise.all([b.add('a'), b.add('b')])).rejects.toThrow('network down');
    fail = false;
    await expect(b.add('c')).resolves.toBeUndefined();
  });
});
