import { describe, expect, it } from '@jest/globals';
import { orphanSeconds, requeueAction, type RequeueCandidate } from '../../src/domain/rugbycodex/transcode-requeue.js';

const NOW = Date.parse('2026-12-07T12:00:00.000Z');
const ago = (seconds: number): string => new Date(NOW - seconds * 1000).toISOString();
const LIMITS = { queuedSeconds: 900, orphanSeconds: 10_800 };
const job = (state: 'queued' | 'running', updatedAgo: number): RequeueCandidate => ({
  jobId: 'j', mediaId: 'a', orgId: 'o', state, updatedAt: ago(updatedAgo), startedAt: state === 'running' ? ago(20_000) : null,
});

describe('requeueAction', () => {
  it.each<[RequeueCandidate, ReturnType<typeof requeueAction>]>([
    [job('queued', 60), null], // complete-upload may still be sending it, or it waits in the queue
    [job('queued', 901), 'resend'],
    [job('running', 3600), null], // a holder silent for an hour may still have a message in flight
    [job('running', 10_801), 'reset'],
  ])('%j → %s', (candidate, action) => {
    expect(requeueAction(candidate, NOW, LIMITS)).toBe(action);
  });
});

describe('orphanSeconds', () => {
  it('is the longest a receive may hold a message, times the receives the queue allows', () => {
    // The live queue: visibility 1200 s, 3 receives; a lease sized from a large video lasts up to an hour.
    expect(orphanSeconds({ visibilitySeconds: 1200, extensionSeconds: 300, maxReceiveCount: 3 })).toBe(3 * 3600);
    expect(orphanSeconds({ visibilitySeconds: 43_200, extensionSeconds: 300, maxReceiveCount: 2 })).toBe(2 * 43_200);
    // No redrive policy: a message is never dropped, one receive's worth is enough.
    expect(orphanSeconds({ visibilitySeconds: 0, extensionSeconds: 300, maxReceiveCount: null })).toBe(3600);
  });
});
