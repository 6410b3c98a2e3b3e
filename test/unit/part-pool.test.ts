import { describe, expect, it } from '@jest/globals';
import { PartPool } from '../../src/adapters/storage/part-pool.js';

/** Settles pending promise callbacks. */
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('PartPool', () => {
  it('allocates nothing until asked, then at most `buffers`, reusing released ones', async () => {
    const pool = new PartPool({ partSize: 1024, buffers: 2 });
    expect(pool.allocated).toBe(0);
    const a = await pool.acquire();
    const b = await pool.acquire(100);
    expect(a.length).toBe(1024);
    expect(b.length).toBe(1024); // a whole part buffer; the caller takes what it needs
    expect(pool.allocated).toBe(2);
    pool.release(a);
    expect(await pool.acquire()).toBe(a);
    expect(pool.allocated).toBe(2);
    expect(pool.inUse).toBe(2);
  });

  it('makes later callers wait, and serves them first come, first served', async () => {
    const pool = new PartPool({ partSize: 16, buffers: 1 });
    const first = await pool.acquire();
    const order: string[] = [];
    const waiting = ['b', 'c', 'd'].map((name) => pool.acquire().then((buf) => { order.push(name); return buf; }));
    await tick();
    expect(order).toEqual([]);
    pool.release(first);
    pool.release(await waiting[0]!);
    pool.release(await waiting[1]!);
    pool.release(await waiting[2]!);
    expect(order).toEqual(['b', 'c', 'd']);
    expect(pool.inUse).toBe(0);
    expect(pool.allocated).toBe(1);
  });

  it('does not let a newcomer overtake the queue when a buffer comes back', async () => {
    const pool = new PartPool({ partSize: 16, buffers: 1 });
    const held = await pool.acquire();
    const queued = pool.acquire();
    pool.release(held);
    const late = pool.acquire();
    let lateDone = false;
    void late.then(() => { lateDone = true; });
    const got = await queued;
    await tick();
    expect(lateDone).toBe(false);
    pool.release(got);
    pool.release(await late);
  });

  it('an aborted wait rejects with the reason and leaves its place to the next', async () => {
    const pool = new PartPool({ partSize: 16, buffers: 1 });
    const held = await pool.acquire();
    const ctl = new AbortController();
    const cancelled = pool.acquire(16, ctl.signal);
    const next = pool.acquire();
    ctl.abort(new Error('job cancelled'));
    await expect(cancelled).rejects.toThrow('job cancelled');
    pool.release(held);
    pool.release(await next);
    expect(pool.inUse).toBe(0);
    expect(pool.allocated).toBe(1);
  });

  it('rejects at once for a signal already aborted, even with buffers free', async () => {
    const pool = new PartPool({ partSize: 16, buffers: 1 });
    const ctl = new AbortController();
    ctl.abort(new Error('stopping'));
    await expect(pool.acquire(16, ctl.signal)).rejects.toThrow('stopping');
    expect(pool.allocated).toBe(0);
  });

  it('a request larger than a part takes a slot, and its buffer is not kept', async () => {
    const pool = new PartPool({ partSize: 16, buffers: 2 });
    pool.release(await pool.acquire()); // one idle part buffer
    const big = await pool.acquire(40);
    expect(big.length).toBe(40);
    expect(pool.allocated).toBe(1); // the idle one gave way: never more than `buffers` exist
    const other = await pool.acquire();
    const blocked = pool.acquire();
    pool.release(big); // dropped: the waiter gets a new part-sized buffer
    const next = await blocked;
    expect(next.length).toBe(16);
    expect(pool.allocated).toBe(2);
    pool.release(other);
    pool.release(next);
    expect(pool.allocated).toBe(2);
  });

  it('refuses bad sizes and an unmatched release', () => {
    expect(() => new PartPool({ partSize: 0 })).toThrow('part pool buffer size must be a positive integer, got 0');
    expect(() => new PartPool({ buffers: 1.5 })).toThrow('part pool buffer count must be a positive integer, got 1.5');
    expect(() => new PartPool().release(Buffer.alloc(1))).toThrow('part pool: release without a matching acquire');
    expect(new PartPool()).toMatchObject({ partSize: 5 * 1024 * 1024, buffers: 4 });
  });
});
