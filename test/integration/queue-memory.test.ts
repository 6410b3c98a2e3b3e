import { describe, expect, it } from '@jest/globals';
import { MemoryQueue } from '../../src/adapters/queue/memory.js';
import { LeaseLostError } from '../../src/ports/index.js';
import { describeQueueConformance } from './queue.conformance.js';

const VISIBILITY = 1;
const MAX_RECEIVES = 3;

describeQueueConformance(
  'memory',
  async () => {
    const queue = new MemoryQueue({ name: 'conformance', visibilitySeconds: VISIBILITY, maxReceiveCount: MAX_RECEIVES });
    return { queue, deadLetters: queue, teardown: () => queue.close() };
  },
  { visibilitySeconds: VISIBILITY, maxReceiveCount: MAX_RECEIVES },
);

describe('MemoryQueue specifics', () => {
  it('follows an injected clock for visibility', async () => {
    let t = 1_000_000;
    const q = new MemoryQueue({ name: 'clock', visibilitySeconds: 30, maxReceiveCount: 2, now: () => t });
    await q.send('x');
    const [m] = await q.receive({ max: 1, waitSeconds: 0 });
    expect(m?.receiveCount).toBe(1);
    t += 29_999;
    expect(await q.receive({ max: 1, waitSeconds: 0 })).toEqual([]);
    t += 1;
    const [again] = await q.receive({ max: 1, waitSeconds: 0 });
    expect(again?.receiveCount).toBe(2);
    await expect(q.ack(m!)).rejects.toBeInstanceOf(LeaseLostError);
    t += 30_000;
    expect(await q.receive({ max: 1, waitSeconds: 0 })).toEqual([]);
    expect(await q.peekDeadLetters(5)).toEqual([{ id: again!.id, body: 'x', reason: 'exceeded maxReceiveCount 2' }]);
    expect(q.size).toBe(0);
  });

  it('an expired lease cannot be extended or released, but an unclaimed one can still be acked', async () => {
    let t = 0;
    const q = new MemoryQueue({ name: 'expiry', visibilitySeconds: 10, now: () => t });
    await q.send('y');
    const [m] = await q.receive({ max: 1, waitSeconds: 0 });
    t += 10_000;
    await expect(q.extend(m!, 10)).rejects.toBeInstanceOf(LeaseLostError);
    await expect(q.release(m!)).rejects.toBeInstanceOf(LeaseLostError);
    await q.ack(m!);
    expect(q.size).toBe(0);
  });

  it('without a DLQ (maxReceiveCount null) messages are redelivered forever and deadLetter refuses', async () => {
    let t = 0;
    const q = new MemoryQueue({ name: 'nodlq', visibilitySeconds: 1, maxReceiveCount: null, now: () => t });
    expect(q.maxReceiveCount).toBeNull();
    await q.send('z');
    let last;
    for (let i = 0; i < 20; i++) {
      [last] = await q.receive({ max: 1, waitSeconds: 0 });
      t += 1000;
    }
    expect(last?.receiveCount).toBe(20);
    const [m] = await q.receive({ max: 1, waitSeconds: 0 });
    await expect(q.deadLetter(m!, 'bad')).rejects.toThrow(/no dead-letter queue/);
  });

  it('close ends a pending long poll with []', async () => {
    const q = new MemoryQueue({ name: 'close' });
    const polling = q.receive({ max: 1, waitSeconds: 20 });
    await q.close();
    expect(await polling).toEqual([]);
  });

  it('a long poll wakes when a hidden message becomes visible (timer, not polling)', async () => {
    const q = new MemoryQueue({ name: 'timer', visibilitySeconds: 1 });
    await q.send('v', { delaySeconds: 0.3 });
    const started = Date.now();
    const got = await q.receive({ max: 1, waitSeconds: 5 });
    expect(got).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(800);
  });
});
