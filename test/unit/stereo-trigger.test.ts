import { describe, expect, it } from '@jest/globals';
import {
  DEFAULT_REASSEMBLY_STALE_SECONDS, DEFAULT_SEND_GRACE_SECONDS, countCurrentCompletions, jobIdsFromStreamEvent, lambdaResult, pythonJsonString,
  triggerDecision,
} from '../../src/domain/stereo/trigger.js';
import type { TriggerInput } from '../../src/domain/stereo/trigger.js';
import type { ReassemblyLock, StereoJob } from '../../src/domain/stereo/records.js';

const NOW = 1_771_300_000;

const job = (over: Partial<StereoJob> = {}): StereoJob => ({
  jobId: 'j1', mode: 'anaglyph', status: 'chunking_complete', createdAt: NOW - 3600, totalSegments: 3, completedAt: null, ...over,
});
const lock = (over: Partial<ReassemblyLock> = {}): ReassemblyLock => ({
  jobId: 'j1', triggeredAt: NOW - 10, ttl: NOW - 10 + 90 * 86400, reassemblyStartedAt: null, ...over,
});
const decide = (over: Partial<TriggerInput> = {}) => triggerDecision({ job: job(), completions: 3, lock: null, now: NOW, ...over });

// Ported from stereo-spot ecba15e packages/reassembly-trigger/tests/test_handler.py.
describe('should_trigger_reassembly (test_handler.py)', () => {
  it('test_should_trigger_reassembly_true: chunking_complete and count == total_segments', () => {
    expect(decide({ job: job({ status: 'chunking_complete', totalSegments: 3 }), completions: 3 }).action).toBe('trigger');
  });

  it('test_should_trigger_reassembly_count_not_reached', () => {
    expect(decide({ completions: 2 })).toEqual({ action: 'none', reason: 'waiting for segments: 2 of 3 complete' });
  });

  it('test_should_trigger_reassembly_job_not_chunking_complete', () => {
    const d = decide({ job: job({ status: 'chunking_in_progress', totalSegments: 2 }), completions: 2 });
    expect(d).toEqual({ action: 'none', reason: 'job status is "chunking_in_progress", not chunking_complete or reassembling' });
  });

  it('test_should_trigger_reassembly_job_missing', () => {
    expect(decide({ job: null })).toEqual({ action: 'none', reason: 'no such job' });
  });
});

describe('process_job_id (test_handler.py): put the lock, send only if the put won', () => {
  it('test_process_job_id_sends_when_conditional_create_succeeds: no lock yet → trigger (put, then send)', () => {
    expect(decide({ lock: null })).toEqual({ action: 'trigger', reason: 'all 3 segments complete' });
  });

  it('test_process_job_id_no_send_when_conditional_create_fails: a lock stands → nothing to send', () => {
    expect(decide({ lock: lock({ triggeredAt: NOW - 5 }) }).action).toBe('none');
    expect(decide({ lock: lock({ triggeredAt: NOW - 5, reassemblyStartedAt: NOW - 2 }) }).action).toBe('none');
  });

  it('test_process_job_id_no_send_when_should_trigger_false: no trigger, whatever the lock', () => {
    for (const l of [null, lock(), lock({ triggeredAt: NOW - 10_000 })]) {
      expect(decide({ completions: 1, lock: l }).action).toBe('none');
    }
  });
});

describe('the rest of upstream\'s conditions', () => {
  it.each([
    ['created'], ['ingesting'], ['chunking_in_progress'], ['failed'], ['deleted'], ['invalid_status'],
  ])('no trigger for a %s job', (status) => {
    expect(decide({ job: job({ status }) }).action).toBe('none');
  });

  it('no trigger for a completed job, even with final.mp4 and a stale lock', () => {
    const d = decide({ job: job({ status: 'completed' }), lock: lock({ reassemblyStartedAt: NOW - 99_999 }), finalExists: true });
    expect(d).toEqual({ action: 'none', reason: 'job already completed' });
  });

  it.each([[null], [0], [-1], [2.5]])('no trigger when total_segments is %p', (totalSegments) => {
    expect(decide({ job: job({ totalSegments }), completions: 0 }).action).toBe('none');
    expect(decide({ job: job({ totalSegments }), completions: 3, finalExists: true }).action).toBe('none');
  });

  it('no trigger for an item without a valid mode (upstream\'s Job validation fails)', () => {
    expect(decide({ job: job({ mode: null }) })).toEqual({ action: 'none', reason: 'job item has no valid mode' });
  });

  it('a single-segment job triggers on its one completion', () => {
    expect(decide({ job: job({ totalSegments: 1 }), completions: 1 }).action).toBe('trigger');
    expect(decide({ job: job({ totalSegments: 1 }), completions: 0 }).action).toBe('none');
  });

  it('more completions than segments (a re-chunk left old ones): not triggered, says why', () => {
    const d = decide({ completions: 5 });
    expect(d.action).toBe('none');
    expect(d).toMatchObject({ reason: expect.stringMatching(/5 completions for 3 segments: stale completions/) });
  });
});

describe('lost-job case 2: the send failed after the put', () => {
  it('a lock untaken past the grace is resent, with the lock\'s triggered_at to condition on', () => {
    const d = decide({ lock: lock({ triggeredAt: NOW - DEFAULT_SEND_GRACE_SECONDS - 1 }) });
    expect(d).toEqual({
      action: 'resend',
      reason: `lock untaken 61 s after the trigger (grace 60 s): the reassembly message was lost`,
      triggeredAt: NOW - 61,
    });
  });

  it('not within the grace (the message may still be on its way)', () => {
    expect(decide({ lock: lock({ triggeredAt: NOW - DEFAULT_SEND_GRACE_SECONDS }) }).action).toBe('none');
    expect(decide({ lock: lock({ triggeredAt: NOW }) }).action).toBe('none');
    // A clock ahead of ours: still within the grace.
    expect(decide({ lock: lock({ triggeredAt: NOW + 30 }) }).action).toBe('none');
  });

  it('honours sendGraceSeconds', () => {
    expect(decide({ lock: lock({ triggeredAt: NOW - 11 }), sendGraceSeconds: 10 }).action).toBe('resend');
    expect(decide({ lock: lock({ triggeredAt: NOW - 11 }), sendGraceSeconds: 300 }).action).toBe('none');
  });

  it('needs no final.mp4 check', () => {
    expect(decide({ lock: lock({ triggeredAt: NOW - 3600 }), finalExists: undefined }).action).toBe('resend');
    expect(decide({ lock: lock({ triggeredAt: NOW - 3600 }), finalExists: false }).action).toBe('resend');
  });
});

describe('lost-job case 3: the reassembly died after taking the lock', () => {
  const stale = lock({ triggeredAt: NOW - 4000, reassemblyStartedAt: NOW - DEFAULT_REASSEMBLY_STALE_SECONDS - 1 });

  it('a lock taken longer ago than REASSEMBLY_STALE_SECONDS, with no final.mp4, is reset', () => {
    expect(decide({ lock: stale, finalExists: false })).toEqual({
      action: 'reset',
      reason: 'reassembly started 1801 s ago (stale after 1800 s) and left no final.mp4',
      triggeredAt: NOW - 4000,
      reassemblyStartedAt: NOW - 1801,
    });
  });

  it('not while the reassembly may still be running', () => {
    const running = lock({ triggeredAt: NOW - 4000, reassemblyStartedAt: NOW - DEFAULT_REASSEMBLY_STALE_SECONDS });
    expect(decide({ lock: running, finalExists: false })).toEqual({ action: 'none', reason: 'reassembly started 1800 s ago' });
  });

  it('not without knowing final.mp4 is absent', () => {
    const d = decide({ lock: stale });
    expect(d.action).toBe('none');
    expect(d.reason).toMatch(/final\.mp4 not checked/);
  });

  it('honours staleSeconds', () => {
    const l = lock({ reassemblyStartedAt: NOW - 700 });
    expect(decide({ lock: l, finalExists: false, staleSeconds: 600 }).action).toBe('reset');
    expect(decide({ lock: l, finalExists: false }).action).toBe('none');
  });
});

describe('final.mp4 there, job not completed (a reassembly died before its status write)', () => {
  it('completes the job, whatever the lock', () => {
    for (const l of [null, lock(), lock({ reassemblyStartedAt: NOW - 5 }), lock({ reassemblyStartedAt: NOW - 99_999 })]) {
      expect(decide({ lock: l, finalExists: true }).action).toBe('complete');
    }
  });

  it('only for a chunking_complete or reassembling job', () => {
    expect(decide({ job: job({ status: 'reassembling' }), finalExists: true })).toEqual({
      action: 'complete', reason: 'final.mp4 exists but the job is reassembling: a reassembly died before marking it completed',
    });
    for (const status of ['created', 'chunking_in_progress', 'failed', 'deleted', 'completed']) {
      expect(decide({ job: job({ status }), finalExists: true }).action).toBe('none');
    }
  });

  it('comes before the completion count, as in reassemble (upstream checks final.mp4 first too)', () => {
    expect(decide({ completions: 1, finalExists: true }).action).toBe('complete');
  });
});

describe('countCurrentCompletions', () => {
  it('counts distinct indices below total_segments only', () => {
    expect(countCurrentCompletions([0, 1, 2], 3)).toBe(3);
    expect(countCurrentCompletions([0, 1, 1, 2], 3)).toBe(3);
    expect(countCurrentCompletions([0, 1, 2, 3, 4], 3)).toBe(3);
    expect(countCurrentCompletions([0, 2], 3)).toBe(2);
    expect(countCurrentCompletions([-1, 0.5, Number.NaN], 3)).toBe(0);
    expect(countCurrentCompletions([], 3)).toBe(0);
  });
});

describe('stream records (test_handler.py)', () => {
  it('test_get_job_ids_from_stream_records', () => {
    const event = { Records: [
      { dynamodb: { Keys: { job_id: { S: 'job-1' }, segment_index: { N: '0' } } } },
      { dynamodb: { Keys: { job_id: { S: 'job-1' }, segment_index: { N: '1' } } } },
      { dynamodb: { Keys: { job_id: { S: 'job-2' }, segment_index: { N: '0' } } } },
    ] };
    expect(jobIdsFromStreamEvent(event)).toEqual(['job-1', 'job-2']);
  });

  it('test_get_job_ids_empty_records', () => {
    expect(jobIdsFromStreamEvent({ Records: [] })).toEqual([]);
    expect(jobIdsFromStreamEvent({})).toEqual([]);
    expect(jobIdsFromStreamEvent({ Records: null })).toEqual([]);
  });

  it('takes every event name (INSERT, MODIFY, REMOVE), as upstream does', () => {
    const event = { Records: ['INSERT', 'MODIFY', 'REMOVE'].map((eventName, i) => ({ eventName, dynamodb: { Keys: { job_id: { S: `j${i}` }, segment_index: { N: '0' } } } })) };
    expect(jobIdsFromStreamEvent(event)).toEqual(['j0', 'j1', 'j2']);
  });

  it('skips records with no usable job id', () => {
    const event = { Records: [
      null, 1, 'x', {}, { dynamodb: null }, { dynamodb: { Keys: {} } }, { dynamodb: { Keys: { job_id: {} } } },
      { dynamodb: { Keys: { job_id: { N: '1' } } } }, { dynamodb: { Keys: { job_id: { S: '' } } } }, { dynamodb: { Keys: { job_id: { S: 5 } } } },
      { dynamodb: { Keys: { job_id: { S: 'ok' } } } },
    ] };
    expect(jobIdsFromStreamEvent(event)).toEqual(['ok']);
    expect(jobIdsFromStreamEvent(null)).toEqual([]);
    expect(jobIdsFromStreamEvent([])).toEqual([]);
  });
});

describe('lambdaResult (test_handler.py test_lambda_handler_calls_process_for_each_job_id)', () => {
  it('is statusCode 200 and upstream\'s body', () => {
    expect(lambdaResult(['job-a'])).toEqual({ statusCode: 200, body: '{"processed_job_ids": ["job-a"]}' });
    expect(lambdaResult([])).toEqual({ statusCode: 200, body: '{"processed_job_ids": []}' });
  });

  // The expected strings are Python's json.dumps({"processed_job_ids": ids}) (Python 3.11).
  it('writes the body byte for byte as Python\'s json.dumps', () => {
    const ids = ['j1', 'é', '🏉', 'a"b', 'a/b', '\u2028x', '日本', 'a b', '\u007f', 'x\ny', 'b\\s'];
    expect(lambdaResult(ids).body).toBe(
      '{"processed_job_ids": ["j1", "\\u00e9", "\\ud83c\\udfc9", "a\\"b", "a/b", "\\u2028x", "\\u65e5\\u672c", "a b", "\\u007f", "x\\ny", "b\\\\s"]}',
    );
    // And it is JSON that reads back to the same ids.
    expect(JSON.parse(lambdaResult(ids).body)).toEqual({ processed_job_ids: ids });
  });

  it('pythonJsonString escapes like ensure_ascii', () => {
    expect(pythonJsonString('\b\f\r\t\u0000\u001f ~')).toBe('"\\b\\f\\r\\t\\u0000\\u001f ~"');
  });
});

// b622b25: the trigger marks the job reassembling after its send; upstream's job then stays
// there for ever when the message is lost (L6), the reassembly dies (L7) or the job-status
// events never come (L1).
describe('a reassembling job (b622b25) is decided like a chunking_complete one', () => {
  const reassembling = job({ status: 'reassembling' });

  it('L6: its untaken lock past the grace is resent', () => {
    expect(decide({ job: reassembling, lock: lock({ triggeredAt: NOW - DEFAULT_SEND_GRACE_SECONDS - 1 }) })).toMatchObject({ action: 'resend' });
  });

  it('L7: a dead reassembly without final.mp4 is reset', () => {
    const l = lock({ triggeredAt: NOW - 9999, reassemblyStartedAt: NOW - DEFAULT_REASSEMBLY_STALE_SECONDS - 1 });
    expect(decide({ job: reassembling, lock: l, finalExists: false })).toMatchObject({ action: 'reset' });
  });

  it('L1: final.mp4 there completes it', () => {
    expect(decide({ job: reassembling, lock: lock({ reassemblyStartedAt: NOW - 5 }), finalExists: true }).action).toBe('complete');
  });

  it('a lock gone (reset, or expired) triggers again; a live one waits', () => {
    expect(decide({ job: reassembling, lock: null }).action).toBe('trigger');
    expect(decide({ job: reassembling, lock: lock({ reassemblyStartedAt: NOW - 5 }) }).action).toBe('none');
    expect(decide({ job: reassembling, completions: 2 }).action).toBe('none');
  });
});
