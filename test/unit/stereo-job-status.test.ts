// The job-status decision (b622b25 job-worker, STEREO-SPOT-MAIN.md §6.3), case by case, with
// the upstream loss mode (§9) each case keeps from happening.
import { describe, expect, it } from '@jest/globals';
import { buildObjectCreatedEvent } from '../../src/domain/s3-event.js';
import { invocationRecords, type InferenceInvocation } from '../../src/domain/stereo/inference-invocations.js';
import { jobIdOf, jobStatusDecision, jobStatusLookups, type JobStatusFacts, type JobStatusPlan } from '../../src/domain/stereo/job-status.js';
import { parseOutputEvents, type OutputEvent } from '../../src/domain/stereo/output-events.js';
import type { StereoJob } from '../../src/domain/stereo/records.js';

const JOB = '3f2c1a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b';
const OUT = 'stereo-spot-output-123456789012';
const NOW = 1_772_100_000;
const ID = '7ee4e9fd-0e8f-4d6a-9f2b-123456789abc';
const RESPONSE = `sagemaker-async-responses/${ID}.out`;
const FAILURE = `sagemaker-async-failures/${ID}-error.out`;
const uri = (key: string) => `s3://${OUT}/${key}`;

/** The event as the job-status role gets it: an S3 notification body through the parser. */
function event(key: string): OutputEvent {
  const body = JSON.stringify(buildObjectCreatedEvent({ bucket: OUT, key, size: 1, eTag: 'e', region: 'eu-west-1', time: new Date(0), sequencer: '01' }));
  const parsed = parseOutputEvents(body);
  if (parsed.kind !== 'events') throw new Error(JSON.stringify(parsed));
  return parsed.events[0]!;
}
function job(over: Partial<StereoJob> = {}): StereoJob {
  return { jobId: JOB, mode: 'sbs', status: 'chunking_complete', createdAt: NOW - 600, totalSegments: 3, completedAt: null, ...over };
}
/** Our two rows for segment 1 of 3; upstream's is the first only. */
const [ROW, FAILURE_ROW] = invocationRecords({
  jobId: JOB, segmentIndex: 1, totalSegments: 3, outputS3Uri: uri(`jobs/${JOB}/segments/1.mp4`), outputLocation: uri(RESPONSE), failureLocation: uri(FAILURE), now: NOW - 300,
}) as [InferenceInvocation, InferenceInvocation];
const BOTH_ROWS = [uri(RESPONSE), uri(FAILURE)].sort();

function decide(key: string, facts: Partial<JobStatusFacts> = {}): JobStatusPlan {
  return jobStatusDecision({ event: event(key), job: job(), now: NOW, ...facts });
}

describe('final.mp4 and .reassembly-done', () => {
  const keys = [`jobs/${JOB}/final.mp4`, `jobs/${JOB}/.reassembly-done`];

  it.each(keys)('%s completes a chunking_complete or reassembling job, conditioned on those two', (key) => {
    for (const status of ['chunking_complete', 'reassembling']) {
      expect(decide(key, { job: job({ status }) })).toMatchObject({ action: 'complete', jobId: JOB, over: ['chunking_complete', 'reassembling'] });
    }
  });

  it.each<[string, string | null, RegExp, boolean]>([
    // L15: upstream's UpdateItem creates a mode-less item the web UI cannot read.
    ['an unknown job (L15)', null, /no Jobs item: never create one/, false],
    // L15: upstream overwrites deleted.
    ['a deleted job (L15)', 'deleted', /never resurrected/, true],
    // L17: upstream rewrites completed_at on every duplicate event (and re-sends Web Push).
    ['a completed job, a duplicate event (L17)', 'completed', /completed_at stays/, false],
    // L15: upstream overwrites failed.
    ['a failed job (L15)', 'failed', /only over chunking_complete or reassembling/, false],
    ['a job still chunking', 'chunking_in_progress', /only over/, false],
    ['a job of an unknown status', 'archived', /only over/, false],
  ])('%s: skip', (_name, status, reason, orphan) => {
    for (const key of keys) {
      const plan = decide(key, { job: status === null ? null : job({ status }) });
      expect(plan.action).toBe('skip');
      expect(plan.action === 'skip' && plan.reason).toMatch(reason);
      expect(plan.action === 'skip' && plan.orphan).toEqual(orphan ? { bucket: OUT, key } : undefined);
    }
  });
});

describe('a segment output (jobs/{id}/segments/{i}.mp4)', () => {
  const key = `jobs/${JOB}/segments/2.mp4`;

  it('records the completion with the job\'s total and the event\'s URI, then checks the trigger', () => {
    expect(decide(key)).toEqual({
      action: 'record',
      completion: { jobId: JOB, segmentIndex: 2, outputS3Uri: uri(key), completedAt: NOW, totalSegments: 3 },
      forget: [], trigger: true, reason: 'segment 2 of 3 written',
    });
  });

  // L2: upstream skips and acks; the segment is never recorded and the job sticks at 75 %.
  it.each(['created', 'ingesting', 'chunking_in_progress'])('L2: before chunking recorded a total (%s): recorded without one', (status) => {
    const plan = decide(key, { job: job({ status, totalSegments: null }) });
    expect(plan).toMatchObject({ action: 'record', completion: { totalSegments: null, segmentIndex: 2 }, trigger: true });
    expect(plan.reason).toMatch(/L2/);
  });

  // L3: the trigger is checked after every completion, whatever came first.
  it('L3: a job reassembling (a duplicate event) still records and checks the trigger', () => {
    expect(decide(key, { job: job({ status: 'reassembling' }) })).toMatchObject({ action: 'record', trigger: true });
  });

  // L10: a job failed for a transient error still gets its later completions recorded (no trigger: failed is terminal).
  it('L10: a failed job records, without a trigger', () => {
    expect(decide(key, { job: job({ status: 'failed' }) })).toMatchObject({ action: 'record', trigger: false });
  });

  it.each<[string, Partial<StereoJob> | null, RegExp, boolean]>([
    ['no Jobs item', null, /no Jobs item/, false],
    // L15: upstream writes completions of a deleted job (in-flight outputs).
    ['a deleted job (L15)', { status: 'deleted' }, /never resurrected/, true],
    ['a completed job', { status: 'completed' }, /completed job/, false],
    ['an unknown status', { status: 'archived' }, /left alone/, false],
    ['an index beyond the job\'s total', { totalSegments: 2 }, /not below the job's total_segments 2/, false],
  ])('%s: skip', (_name, j, reason, orphan) => {
    const plan = decide(key, { job: j === null ? null : job(j) });
    expect(plan.action).toBe('skip');
    expect(plan.action === 'skip' && plan.reason).toMatch(reason);
    expect(plan.action === 'skip' && plan.orphan).toEqual(orphan ? { bucket: OUT, key } : undefined);
  });
});

describe('a SageMaker response (sagemaker-async-responses/…)', () => {
  it('is looked up by its own URI; its job is the row\'s', () => {
    expect(jobStatusLookups(event(RESPONSE))).toEqual([uri(RESPONSE)]);
    expect(jobIdOf(event(RESPONSE), ROW)).toBe(JOB);
    expect(jobIdOf(event(RESPONSE), null)).toBeNull();
  });

  it('records with the row\'s total and output, forgets both rows, checks the trigger', () => {
    expect(decide(RESPONSE, { invocation: ROW })).toEqual({
      action: 'record',
      completion: { jobId: JOB, segmentIndex: 1, outputS3Uri: uri(`jobs/${JOB}/segments/1.mp4`), completedAt: NOW, totalSegments: 3 },
      forget: BOTH_ROWS, trigger: true, reason: expect.stringMatching(/recorded with the row's total \(L3\)/),
    });
    expect(decide(RESPONSE, { invocation: ROW, outputExists: true })).toMatchObject({ action: 'record', reason: expect.stringMatching(/output present/) });
  });

  // L3: upstream records this completion before chunking_complete too, but never re-checks it.
  it('L3: before chunking_complete, recorded with the row\'s total and the trigger checked', () => {
    expect(decide(RESPONSE, { invocation: ROW, job: job({ status: 'chunking_in_progress', totalSegments: null }) })).toMatchObject({
      action: 'record', completion: { totalSegments: 3 }, trigger: true,
    });
  });

  // L8: the bootstrap stub answers {} and writes nothing; upstream records a completion without an output.
  it('L8: success without an output fails the job (conditioned), and forgets the rows', () => {
    const plan = decide(RESPONSE, { invocation: ROW, outputExists: false });
    expect(plan).toMatchObject({ action: 'fail', jobId: JOB, segmentIndex: 1, forget: BOTH_ROWS, over: ['created', 'ingesting', 'chunking_in_progress', 'chunking_complete', 'reassembling'] });
    expect(plan.reason).toMatch(/wrote no output \(L8\)/);
    expect(decide(RESPONSE, { invocation: ROW, outputExists: false, job: job({ status: 'failed' }) }).action).toBe('forget');
  });

  it('without a row: skip (the row is written after the call; the segment file\'s event records it)', () => {
    expect(decide(RESPONSE, { invocation: null, job: null })).toMatchObject({ action: 'skip', reason: expect.stringMatching(/segment output's own event/) });
  });

  it.each<[string, Partial<StereoJob> | null, RegExp]>([
    ['no Jobs item', null, /no Jobs item/],
    ['a deleted job (L15)', { status: 'deleted' }, /nothing recorded \(L15\)/],
    ['a completed job', { status: 'completed' }, /completed job/],
    ['a row of an earlier chunking', { totalSegments: 4 }, /earlier chunking/],
  ])('%s: forget the rows, record nothing', (_name, j, reason) => {
    const plan = decide(RESPONSE, { invocation: ROW, job: j === null ? null : job(j) });
    expect(plan).toMatchObject({ action: 'forget', forget: BOTH_ROWS });
    expect(plan.reason).toMatch(reason);
  });

  it('a job of an unknown status: left alone, rows too', () => {
    expect(decide(RESPONSE, { invocation: ROW, job: job({ status: 'archived' }) }).action).toBe('skip');
  });

  it('a row without output_s3_uri: the segment\'s usual output', () => {
    const plan = decide(RESPONSE, { invocation: { ...ROW, outputS3Uri: '' } });
    expect(plan.action === 'record' && plan.completion.outputS3Uri).toBe(uri(`jobs/${JOB}/segments/1.mp4`));
  });
});

describe('a SageMaker failure (sagemaker-async-failures/…)', () => {
  it('is looked up by its own URI (our row), then by the OutputLocation paired with it (upstream\'s row)', () => {
    expect(jobStatusLookups(event(FAILURE))).toEqual([uri(FAILURE), uri(RESPONSE)]);
    expect(jobStatusLookups(event('sagemaker-async-failures/odd-name'))).toEqual([uri('sagemaker-async-failures/odd-name')]);
    expect(jobStatusLookups(event(`jobs/${JOB}/final.mp4`))).toEqual([]);
  });

  // L9: upstream keys the row by OutputLocation only, so the failure is never correlated.
  it('L9: marks the job failed (conditioned, once) and forgets both rows, found by either key', () => {
    for (const row of [FAILURE_ROW, ROW]) {
      const plan = decide(FAILURE, { invocation: row });
      expect(plan).toMatchObject({ action: 'fail', jobId: JOB, segmentIndex: 1, forget: BOTH_ROWS });
      expect(plan.action === 'fail' && plan.over).not.toContain('failed');
      expect(plan.reason).toMatch(/failure object s3:\/\/.*-error\.out\) \(L9\)/);
    }
  });

  it.each<[string, Partial<JobStatusFacts>, RegExp]>([
    ['the job is failed already: marked once', { job: job({ status: 'failed' }) }, /failed already/],
    // L15
    ['a deleted job (L15)', { job: job({ status: 'deleted' }) }, /left deleted/],
    ['a completed job', { job: job({ status: 'completed' }) }, /left completed/],
    // L17: a redelivered segment was invoked twice and one invocation succeeded.
    ['the segment completed through another invocation (L17)', { segmentCompleted: true }, /another invocation/],
    ['a row of an earlier chunking', { job: job({ totalSegments: 5 }) }, /earlier chunking/],
    ['no Jobs item', { job: null }, /no Jobs item/],
  ])('%s: forget the rows only', (_name, facts, reason) => {
    const plan = decide(FAILURE, { invocation: FAILURE_ROW, ...facts });
    expect(plan).toMatchObject({ action: 'forget', forget: BOTH_ROWS });
    expect(plan.reason).toMatch(reason);
  });

  it('without a row: skip', () => {
    expect(decide(FAILURE, { invocation: null, job: null })).toMatchObject({ action: 'skip', reason: expect.stringMatching(/nothing to correlate/) });
  });

  it('fails a job in any status failed may be written over', () => {
    for (const status of ['created', 'chunking_in_progress', 'chunking_complete', 'reassembling']) {
      expect(decide(FAILURE, { invocation: FAILURE_ROW, job: job({ status }) }).action).toBe('fail');
    }
  });
});

describe('anything else', () => {
  it.each([`sagemaker-invocation-requests/${JOB}/0.json`, 'input/x/source.mp4', `jobs/${JOB}/segments/0.mkv`])('%s: skip, saying why', (key) => {
    const plan = decide(key);
    expect(plan.action).toBe('skip');
    expect(plan.reason).toMatch(/^not a job-status event: /);
    expect(jobIdOf(event(key), null)).toBeNull();
  });
});

describe('what the plans never do', () => {
  const keys = [`jobs/${JOB}/final.mp4`, `jobs/${JOB}/.reassembly-done`, `jobs/${JOB}/segments/0.mp4`, RESPONSE, FAILURE, 'other/key'];
  const statuses = [null, 'created', 'ingesting', 'chunking_in_progress', 'chunking_complete', 'reassembling', 'completed', 'failed', 'deleted', 'archived'];
  const plans = keys.flatMap((key) => statuses.flatMap((status) => [undefined, true, false].map((outputExists) =>
    decide(key, { job: status === null ? null : job({ status }), invocation: key === FAILURE ? FAILURE_ROW : ROW, outputExists }))));

  it('L15: never write anything but row deletions for a missing or deleted job', () => {
    for (const key of keys) for (const status of [null, 'deleted']) {
      const plan = decide(key, { job: status === null ? null : job({ status }), invocation: ROW });
      expect(['skip', 'forget']).toContain(plan.action);
    }
  });

  it('complete and fail are always conditioned, never over completed, failed or deleted', () => {
    for (const plan of plans) {
      if (plan.action !== 'complete' && plan.action !== 'fail') continue;
      expect(plan.over.length).toBeGreaterThan(0);
      for (const s of ['completed', 'failed', 'deleted']) expect(plan.over).not.toContain(s);
    }
  });

  it('every plan says why', () => {
    for (const plan of plans) expect(plan.reason.length).toBeGreaterThan(10);
  });
});
