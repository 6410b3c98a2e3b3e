// What a delivery does, from the row as it stands: every state × who holds it × where the asset is.
import { describe, expect, it } from '@jest/globals';
import { decideDelivery, isPlayable } from '../../src/domain/rugbycodex/transcode-delivery.js';
import { HOLD_STALE_SECONDS, holderOf, holderPayload, isFresh, nextToken } from '../../src/domain/rugbycodex/transcode-hold.js';
import type { CheckedJob, TranscodeAsset } from '../../src/domain/rugbycodex/transcode-job.js';
import type { JobState, MediaAssetStatus, ProcessingStage } from '../../src/domain/rugbycodex/transcode-state.js';

const NOW = Date.parse('2026-12-07T12:00:00.000Z');
const ago = (seconds: number): string => new Date(NOW - seconds * 1000).toISOString();
const STARTED = '2026-12-07T11:50:00.000+00:00';

function job(state: JobState, opts: { stage?: ProcessingStage; status?: MediaAssetStatus; ready?: boolean; updatedAgo?: number; holder?: string | null } = {}): CheckedJob {
  const asset: TranscodeAsset = {
    id: 'a', orgId: 'o', bucket: 'rugbycodex', storagePath: 'orgs/o/uploads/a/raw/m.mp4', baseOrgStoragePath: null,
    processingStage: opts.stage ?? 'uploaded', status: opts.status ?? 'uploaded', streamingReady: opts.ready ?? false,
  };
  const holder = opts.holder === undefined ? 'msg-holder' : opts.holder;
  return {
    id: 'j', orgId: 'o', mediaAssetId: 'a', type: 'transcode', state, attempt: 1, startedAt: state === 'queued' ? null : STARTED,
    updatedAt: ago(opts.updatedAgo ?? 5), payload: holder === null ? null : holderPayload({ messageId: holder, worker: 'jetson-2' }), asset,
  };
}
const decide = (j: CheckedJob, messageId = 'msg-new') => decideDelivery({ job: j, messageId, nowMs: NOW });

describe('decideDelivery', () => {
  it('a queued job is claimed from queued', () => {
    expect(decide(job('queued'))).toMatchObject({ action: 'claim', from: { state: 'queued' } });
  });

  it('a second message for a job another delivery holds (fresh heartbeat) is acked without work', () => {
    expect(decide(job('running', { stage: 'transcoding', updatedAgo: 10 }))).toMatchObject({ action: 'ack', reason: expect.stringContaining('jetson-2') });
  });

  it('the holder\'s own message back is a take-over at once, heartbeat fresh or not', () => {
    expect(decide(job('running', { updatedAgo: 1 }), 'msg-holder')).toEqual({
      action: 'claim', from: { state: 'running', startedAt: STARTED }, why: expect.stringContaining('came back'),
    });
  });

  it('a running job whose holder stopped refreshing is taken over, from the started_at read', () => {
    expect(decide(job('running', { updatedAgo: HOLD_STALE_SECONDS + 1 }))).toMatchObject({ action: 'claim', from: { state: 'running', startedAt: STARTED } });
    expect(decide(job('running', { updatedAgo: HOLD_STALE_SECONDS - 1 }))).toMatchObject({ action: 'ack' });
  });

  it('a running job with no holder named (an older worker) is judged by its heartbeat alone', () => {
    expect(decide(job('running', { holder: null, updatedAgo: 3 }))).toMatchObject({ action: 'ack' });
    expect(decide(job('running', { holder: null, updatedAgo: 3600 }))).toMatchObject({ action: 'claim' });
  });

  it('a succeeded job whose asset is playable: ack', () => {
    expect(decide(job('succeeded', { stage: 'complete', status: 'ready', ready: true }))).toMatchObject({ action: 'ack' });
  });

  it.each<[ProcessingStage, MediaAssetStatus, boolean]>([
    ['uploaded', 'uploaded', true], // complete-upload called again after success
    ['complete', 'uploaded', true], // its step 1 landed, step 4 not yet
    ['transcoded', 'uploaded', true], // a worker stopped between the job and asset writes
    ['uploaded', 'uploaded', false],
  ])('a succeeded job whose asset is %s/%s (streaming_ready %s): restore, or encode again from succeeded', (stage, status, ready) => {
    expect(decide(job('succeeded', { stage, status, ready }))).toEqual({ action: 'restore', from: { state: 'succeeded', startedAt: STARTED } });
  });

  it('a failed job: its asset moved back to uploaded says failed again; otherwise ack', () => {
    expect(decide(job('failed', { stage: 'uploaded' }))).toEqual({ action: 'refail' });
    expect(decide(job('failed', { stage: 'failed', status: 'failed' }))).toMatchObject({ action: 'ack' });
  });

  it('a canceled job is acked whatever its asset says', () => {
    expect(decide(job('canceled', { stage: 'uploaded' }))).toMatchObject({ action: 'ack' });
  });

  it('isPlayable is what the frontend lists: complete, ready and streaming_ready', () => {
    const a = job('succeeded', { stage: 'complete', status: 'ready', ready: true }).asset;
    expect(isPlayable(a)).toBe(true);
    expect(isPlayable({ ...a, status: 'uploaded' })).toBe(false);
    expect(isPlayable({ ...a, streamingReady: false })).toBe(false);
    expect(isPlayable({ ...a, processingStage: 'transcoded' })).toBe(false);
  });
});

describe('the hold', () => {
  it('holderOf reads back what holderPayload writes, and nothing else', () => {
    expect(holderOf(holderPayload({ messageId: 'm', worker: 'w' }))).toEqual({ messageId: 'm', worker: 'w' });
    expect(holderOf(null)).toBeNull();
    expect(holderOf({ holder: { message_id: 7 } })).toBeNull();
    expect(holderOf({ something: 'else' })).toBeNull();
  });

  it('nextToken is now, one millisecond on when now is the token it replaces', () => {
    expect(nextToken(NOW, null)).toBe('2026-12-07T12:00:00.000Z');
    expect(nextToken(NOW, '2026-12-07T12:00:00+00:00')).toBe('2026-12-07T12:00:00.001Z');
    expect(nextToken(NOW, STARTED)).toBe('2026-12-07T12:00:00.000Z');
  });

  it('isFresh: within the stale time, and never for a time that cannot be read', () => {
    expect(isFresh(ago(10), NOW)).toBe(true);
    expect(isFresh(ago(HOLD_STALE_SECONDS), NOW)).toBe(false);
    expect(isFresh('yesterday', NOW)).toBe(false);
  });
});
