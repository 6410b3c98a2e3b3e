import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { keepHold } from '../../src/runtime/keep-hold.js';

describe('keepHold', () => {
  beforeEach(() => { jest.useFakeTimers(); });
  afterEach(() => { jest.useRealTimers(); });

  it('refreshes every interval until stopped', async () => {
    const refresh = jest.fn(async () => true);
    const kept = keepHold({ refresh, intervalSeconds: 15, lostError: () => new Error('lost'), onRefreshFailed: () => undefined });
    await jest.advanceTimersByTimeAsync(45_000);
    expect(refresh).toHaveBeenCalledTimes(3);
    await kept.stop();
    await jest.advanceTimersByTimeAsync(60_000);
    expect(refresh).toHaveBeenCalledTimes(3);
    expect(kept.lost.aborted).toBe(false);
  });

  it('aborts `lost` with the reason when a refresh says the claim is someone else\'s, and stops refreshing', async () => {
    const refresh = jest.fn(async () => false);
    const kept = keepHold({ refresh, intervalSeconds: 15, lostError: () => new Error('taken over'), onRefreshFailed: () => undefined });
    await jest.advanceTimersByTimeAsync(15_000);
    expect(kept.lost.aborted).toBe(true);
    expect((kept.lost.reason as Error).message).toBe('taken over');
    await jest.advanceTimersByTimeAsync(60_000);
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it('a refresh that fails (an outage) is reported and tried again; it is not a loss', async () => {
    let calls = 0;
    const failures: unknown[] = [];
    const kept = keepHold({
      refresh: async () => { if (++calls < 3) throw new Error('ECONNREFUSED'); return true; },
      intervalSeconds: 15, lostError: () => new Error('lost'), onRefreshFailed: (err) => failures.push(err),
    });
    await jest.advanceTimersByTimeAsync(45_000);
    expect(failures).toHaveLength(2);
    expect(kept.lost.aborted).toBe(false);
    await kept.stop();
  });
});
