import { describe, expect, it } from '@jest/globals';
import { lazyAsync } from '../../src/adapters/lazy.js';

interface Db { add(a: number, b: number): Promise<number>; name(): Promise<string> }

class RealDb implements Db {
  constructor(private readonly label: string) {}
  async add(a: number, b: number): Promise<number> { return a + b; }
  async name(): Promise<string> { return this.label; }
}

describe('lazyAsync', () => {
  it('loads nothing until the first call, then loads once and delegates with the real this', async () => {
    let loads = 0;
    const db = lazyAsync<Db>(async () => { loads++; return new RealDb('supabase'); });
    expect(loads).toBe(0);
    expect(await Promise.all([db.add(2, 3), db.name(), db.add(1, 1)])).toEqual([5, 'supabase', 2]);
    expect(loads).toBe(1);
  });

  it('is not a thenable, so awaiting the object itself does not load or call anything', async () => {
    let loads = 0;
    const db = lazyAsync<Db>(async () => { loads++; return new RealDb('x'); });
    expect(await db).toBe(db);
    expect(loads).toBe(0);
  });

  it('rejects a call when loading fails, and names a missing method', async () => {
    const broken = lazyAsync<Db>(async () => { throw new Error('cannot load supabase-js'); });
    await expect(broken.name()).rejects.toThrow('cannot load supabase-js');
    const partial = lazyAsync<Db>(async () => ({ name: async () => 'n' }) as unknown as Db);
    await expect(partial.add(1, 2)).rejects.toThrow('add is not a method of the lazily loaded object');
  });
});
