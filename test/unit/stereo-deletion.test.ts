// What a b622b25 deletion removes and when (STEREO-SPOT-MAIN.md §6.5, deletion.py@b622b25).
import { describe, expect, it } from '@jest/globals';
import { deletionDecision, deletionScope, keyInScope, parseDeletionBody } from '../../src/domain/stereo/deletion.js';
import { finalKey, invocationRequestKey, reassemblyDoneKey, segmentKey, segmentOutputKey } from '../../src/domain/stereo/keys.js';

const JOB = '3f2c1a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b';

describe('deletionDecision (test_deletion.py)', () => {
  it('cleans up a deleted job', () => {
    expect(deletionDecision('deleted').action).toBe('cleanup');
  });

  it('cleans up when the job is missing, as upstream does', () => {
    expect(deletionDecision(null)).toEqual({ action: 'cleanup', reason: expect.stringMatching(/no Jobs item/) });
  });

  it.each(['created', 'ingesting', 'chunking_in_progress', 'chunking_complete', 'reassembling', 'completed', 'failed', 'archived', ''])('skips a %j job: nothing removed', (status) => {
    const d = deletionDecision(status);
    expect(d.action).toBe('skip');
    expect(d.reason).toMatch(/not deleted/);
  });
});

describe('deletionScope', () => {
  it('is upstream\'s scope plus the request objects', () => {
    expect(deletionScope(JOB)).toEqual({
      input: { keys: [`input/${JOB}/source.mp4`], prefixes: [`segments/${JOB}/`] },
      output: { keys: [], prefixes: [`jobs/${JOB}/`, `sagemaker-invocation-requests/${JOB}/`] },
      rows: ['segmentCompletions', 'reassemblyTriggered'],
    });
  });

  it('upstream\'s exactly, on request', () => {
    expect(deletionScope(JOB, { requestObjects: false }).output.prefixes).toEqual([`jobs/${JOB}/`]);
  });

  it('refuses a job id no key can be made of', () => {
    expect(() => deletionScope('')).toThrow(RangeError);
    expect(() => deletionScope('../other')).toThrow(RangeError);
  });
});

describe('keyInScope: the listed keys that are this job\'s', () => {
  it('takes every object the pipeline writes for the job', () => {
    expect(keyInScope('input', `input/${JOB}/source.mp4`, JOB)).toBe(true);
    expect(keyInScope('input', segmentKey({ jobId: JOB, segmentIndex: 1, totalSegments: 3, mode: 'sbs' }), JOB)).toBe(true);
    for (const key of [segmentOutputKey(JOB, 0), finalKey(JOB), reassemblyDoneKey(JOB), invocationRequestKey(JOB, 2)]) expect(keyInScope('output', key, JOB)).toBe(true);
  });

  it('takes a stray file directly in the job\'s folders', () => {
    expect(keyInScope('input', `segments/${JOB}/segment_00000.mp4`, JOB)).toBe(true);
    expect(keyInScope('output', `jobs/${JOB}/notes.txt`, JOB)).toBe(true);
    expect(keyInScope('output', `jobs/${JOB}/segments/0.mp4.tmp`, JOB)).toBe(true);
  });

  it('never takes another job\'s keys that the prefix also lists (job "a/b" under "a")', () => {
    expect(keyInScope('input', segmentKey({ jobId: 'a/b', segmentIndex: 0, totalSegments: 1, mode: 'sbs' }), 'a')).toBe(false);
    expect(keyInScope('input', 'segments/a/b/junk', 'a')).toBe(false);
    expect(keyInScope('input', 'input/a/b/source.mp4', 'a')).toBe(false);
    for (const key of [segmentOutputKey('a/b', 0), finalKey('a/b'), reassemblyDoneKey('a/b'), 'jobs/a/b/notes.txt', invocationRequestKey('a/b', 0)]) {
      expect(keyInScope('output', key, 'a')).toBe(false);
    }
    expect(keyInScope('output', 'jobs/a/segments/final.mp4', 'a')).toBe(false);
  });

  it('never takes a key outside the job\'s folders', () => {
    expect(keyInScope('input', `segments/${JOB}x/00000_00001_sbs.mp4`, JOB)).toBe(false);
    expect(keyInScope('output', 'sagemaker-async-responses/x.out', JOB)).toBe(false);
    expect(keyInScope('output', `sagemaker-invocation-requests/${JOB}/x.txt`, JOB)).toBe(false);
    expect(keyInScope('output', `jobs/${JOB}`, JOB)).toBe(false);
  });
});

describe('parseDeletionBody (DeletionPayload)', () => {
  it('takes the web UI\'s body, extra keys ignored', () => {
    expect(parseDeletionBody(JSON.stringify({ job_id: JOB }))).toEqual({ ok: true, jobId: JOB });
    expect(parseDeletionBody(JSON.stringify({ job_id: JOB, reason: 'user' }))).toEqual({ ok: true, jobId: JOB });
  });

  it.each([['nope', /body is not JSON/], ['{}', /job_id is missing/], ['{"job_id":""}', /job_id is empty/], ['{"job_id":3}', /not a string/]])('refuses %s', (body, why) => {
    const p = parseDeletionBody(body);
    expect(p.ok).toBe(false);
    expect(p.ok ? '' : p.reason).toMatch(/^deletion message: /);
    expect(p.ok ? '' : p.reason).toMatch(why);
  });
});
