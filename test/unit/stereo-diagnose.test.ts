import { describe, expect, it } from '@jest/globals';
import { diagnose, shellWord, type DiagnoseFacts, type QueueCounts } from '../../src/domain/stereo/diagnose.js';
import type { ReassemblyLock, StereoJob } from '../../src/domain/stereo/records.js';

const NOW = 1_800_000_000;
const empty: QueueCounts = { visible: 0, inflight: 0, dlq: 0 };
const job = (status: string, totalSegments: number | null = 3, jobId = 'j1'): StereoJob => ({ jobId, mode: 'sbs', status, createdAt: NOW - 5000, totalSegments, completedAt: null });
const lock = (triggeredAgo: number, startedAgo: number | null = null): ReassemblyLock => ({
  jobId: 'j1', triggeredAt: NOW - triggeredAgo, ttl: NOW + 1, reassemblyStartedAt: startedAgo === null ? null : NOW - startedAgo,
});

function facts(over: Partial<Omit<DiagnoseFacts, 'queues'>> & { queues?: Partial<DiagnoseFacts['queues']> }): DiagnoseFacts {
  return {
    job: job('chunking_complete'), completions: 3, lock: null, finalExists: false, segmentObjects: null, now: NOW, staleSeconds: 1800,
    ...over,
    queues: { chunking: empty, 'video-worker': empty, reassembly: empty, ...over.queues },
  };
}

describe('diagnose (runbook 3)', () => {
  it('lost-job 1: all segments complete, no lock: stuck at the trigger; trigger-reassembly repairs it', () => {
    expect(diagnose(facts({}))).toEqual({
      step: 'trigger', state: 'stuck', next: 'rugbyworker jobs trigger-reassembly j1',
      verdict: 'stuck at trigger: all 3 segments are complete and no reassembly was ever triggered (lost-job 1)',
    });
  });

  it('lost-job 2: an untaken lock past the grace with nothing queued is a lost message; a queued or dead-lettered one is not', () => {
    const lost = diagnose(facts({ lock: lock(300) }));
    expect(lost).toMatchObject({ step: 'trigger', state: 'stuck', next: 'rugbyworker jobs trigger-reassembly j1 --reset-lock' });
    expect(lost.verdict).toMatch(/^stuck at trigger: the lock was put 300 s ago .*message was lost \(lost-job 2\)$/);
    expect(diagnose(facts({ lock: lock(300), queues: { reassembly: { visible: 1, inflight: 0, dlq: 0 } } }))).toMatchObject({
      step: 'reassembly', state: 'waiting', next: null, verdict: expect.stringContaining('the reassembly queue holds 1 visible, 0 in flight (is the reassemble role running?)'),
    });
    expect(diagnose(facts({ lock: lock(300), queues: { reassembly: { visible: 0, inflight: 0, dlq: 2 } } }))).toMatchObject({
      step: 'reassembly', state: 'stuck', next: 'rugbyworker dlq inspect --queue reassembly',
    });
    // Within the grace: on its way.
    expect(diagnose(facts({ lock: lock(10) }))).toMatchObject({ step: 'reassembly', state: 'waiting', next: null });
  });

  it('lost-job 3: a reassembly silent past REASSEMBLY_STALE_SECONDS without final.mp4; alive within it', () => {
    const dead = diagnose(facts({ lock: lock(4000, 2000) }));
    expect(dead).toMatchObject({ step: 'reassembly', state: 'stuck', next: 'rugbyworker jobs trigger-reassembly j1 --reset-lock' });
    expect(dead.verdict).toContain('has not been heard of for 2000 s (stale after 1800 s), leaving no final.mp4 (lost-job 3)');
    expect(diagnose(facts({ lock: lock(400, 100) }))).toMatchObject({ step: 'reassembly', state: 'waiting', verdict: 'waiting on reassembly: a reassembly is running (last heartbeat 100 s ago)' });
  });

  it('final.mp4 there but the job still chunking_complete: one trigger pass completes it', () => {
    expect(diagnose(facts({ lock: lock(4000, 2000), finalExists: true }))).toMatchObject({ step: 'completion', state: 'stuck', next: 'rugbyworker --role trigger --once' });
  });

  it('segments missing: waiting while their messages are queued, stuck when they are dead-lettered or gone', () => {
    expect(diagnose(facts({ completions: 1, queues: { 'video-worker': { visible: 0, inflight: 2, dlq: 0 } } }))).toMatchObject({
      step: 'inference', state: 'waiting', verdict: 'waiting on inference: 1 of 3 segments complete; the video-worker queue holds 0 visible, 2 in flight',
    });
    expect(diagnose(facts({ completions: 1, queues: { 'video-worker': { visible: 0, inflight: 0, dlq: 2 } } }))).toMatchObject({
      step: 'inference', state: 'stuck', next: 'rugbyworker dlq inspect --queue video-worker',
    });
    expect(diagnose(facts({ completions: 1 }))).toMatchObject({ step: 'inference', state: 'stuck', next: null });
    expect(diagnose(facts({ completions: 5 }))).toMatchObject({ step: 'inference', state: 'stuck', next: null, verdict: expect.stringContaining('5 completions for 3 segments') });
  });

  it('chunking: segments uploaded with no message left is runbook 1; a queued message is on its way; a dead letter is shown', () => {
    expect(diagnose(facts({ job: job('chunking_in_progress', null), segmentObjects: 4 }))).toMatchObject({ step: 'chunking', state: 'stuck', next: 'rugbyworker jobs recover-chunking j1' });
    expect(diagnose(facts({ job: job('chunking_in_progress', null), segmentObjects: 4, queues: { chunking: { visible: 0, inflight: 1, dlq: 0 } } }))).toMatchObject({ step: 'chunking', state: 'waiting' });
    expect(diagnose(facts({ job: job('created', null), segmentObjects: 0, queues: { chunking: { visible: 0, inflight: 0, dlq: 1 } } }))).toMatchObject({ step: 'chunking', state: 'stuck', next: 'rugbyworker dlq inspect --queue chunking' });
    expect(diagnose(facts({ job: job('created', null), segmentObjects: 0 }))).toMatchObject({ step: 'chunking', state: 'waiting', next: null });
  });

  it('settled jobs: nothing to repair', () => {
    expect(diagnose(facts({ job: job('completed'), finalExists: true }))).toEqual({ step: 'none', state: 'done', verdict: 'done: the job is completed and final.mp4 exists', next: null });
    expect(diagnose(facts({ job: job('failed') }))).toMatchObject({ state: 'done', next: null });
  });

  it('the next command quotes a job id the shell would split', () => {
    expect(diagnose(facts({ job: job('chunking_complete', 3, "a/take 2+it's") })).next).toBe("rugbyworker jobs trigger-reassembly 'a/take 2+it'\\''s'");
    expect(shellWord('4badaf04-9b49/x_y.z')).toBe('4badaf04-9b49/x_y.z');
  });
});
