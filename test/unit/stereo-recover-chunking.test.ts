import { describe, expect, it } from '@jest/globals';
import { planChunkingRecovery } from '../../src/domain/stereo/recover-chunking.js';
import { segmentKey } from '../../src/domain/stereo/keys.js';
import type { StereoJob } from '../../src/domain/stereo/records.js';

const JOB = 'job-1';
const job = (status: string, mode: 'sbs' | 'anaglyph' | null = 'sbs'): StereoJob => ({ jobId: JOB, mode, status, createdAt: 1, totalSegments: null, completedAt: null });
const keys = (total: number, indices = Array.from({ length: total }, (_, i) => i), mode: 'sbs' | 'anaglyph' = 'sbs') =>
  indices.map((segmentIndex) => segmentKey({ jobId: JOB, segmentIndex, totalSegments: total, mode }));
const plan = (status: string | null, ks: string[]) => planChunkingRecovery({ jobId: JOB, job: status === null ? null : job(status), keys: ks, bucket: 'in' });

describe('planChunkingRecovery (runbook 1)', () => {
  it('takes total_segments from the keys of a job chunking left in created or chunking_in_progress', () => {
    expect(plan('chunking_in_progress', keys(3))).toEqual({ ok: true, totalSegments: 3, segments: 3, warnings: [] });
    expect(plan('created', keys(1))).toEqual({ ok: true, totalSegments: 1, segments: 1, warnings: [] });
  });

  it('refuses a missing job, one already chunking_complete or completed, any other status, and no segments', () => {
    expect(plan(null, keys(2))).toMatchObject({ ok: false, reason: 'no job job-1 in the Jobs table' });
    expect(plan('chunking_complete', keys(2))).toMatchObject({ ok: false, reason: 'job job-1 is already chunking_complete; refusing to overwrite it' });
    expect(plan('completed', keys(2))).toMatchObject({ ok: false, reason: 'job job-1 is already completed; refusing to overwrite it' });
    expect(plan('failed', keys(2))).toMatchObject({ ok: false, reason: expect.stringContaining('job job-1 is failed; only a job chunking left in created or chunking_in_progress') });
    expect(plan('chunking_in_progress', [])).toMatchObject({ ok: false, reason: 'no segments under s3://in/segments/job-1/' });
  });

  it('warns about keys that do not parse, and refuses when no key parses', () => {
    const bad = [`segments/${JOB}/0000_00002_sbs.mp4`, `segments/${JOB}/00000_00002_SBS.mp4`, `segments/${JOB}/notes.txt`];
    const p = plan('chunking_in_progress', [...keys(2), ...bad]);
    expect(p).toMatchObject({ ok: true, totalSegments: 2 });
    expect(p.warnings).toHaveLength(1);
    expect(p.warnings[0]).toMatch(/^3 keys under s3:\/\/in\/segments\/job-1\/ are not segment keys and were ignored: segments\/job-1\/0000_00002_sbs\.mp4 \(not a segment key/);
    const none = plan('chunking_in_progress', bad);
    expect(none).toMatchObject({ ok: false, reason: 'no segments under s3://in/segments/job-1/ (only keys that do not parse)' });
    expect(none.warnings).toHaveLength(1);
  });

  it('keys that disagree: the total most keys give wins (the first key’s on a tie), each other total named, holes named', () => {
    const p = plan('chunking_in_progress', [...keys(5, [0, 1, 2]), ...keys(3)]);
    // 3 keys say 5, 3 say 3: a tie, and the first key says 5.
    expect(p).toMatchObject({ ok: true, totalSegments: 5, segments: 3 });
    expect(p.warnings).toEqual([
      `3 keys say total_segments 3, not 5: ${keys(3).join(', ')}`,
      'segments 3, 4 of 5 have no key: the chunking stopped mid-upload, and the job will not reassemble until they are there',
    ]);
    const majority = plan('chunking_in_progress', [...keys(4, [0]), ...keys(2)]);
    expect(majority).toMatchObject({ ok: true, totalSegments: 2 });
    expect(majority.warnings).toEqual([`1 key says total_segments 4, not 2: ${keys(4, [0])[0]}`]);
  });

  it('ignores the segments of job "{job_id}/…" listed under the same prefix, and names a mode other than the job’s', () => {
    const other = segmentKey({ jobId: `${JOB}/b`, segmentIndex: 0, totalSegments: 9, mode: 'sbs' });
    expect(plan('chunking_in_progress', [...keys(2), other])).toEqual({ ok: true, totalSegments: 2, segments: 2, warnings: [] });
    const p = plan('chunking_in_progress', keys(2, [0, 1], 'anaglyph'));
    expect(p.warnings).toEqual([`2 keys name a mode other than the job's sbs: ${keys(2, [0, 1], 'anaglyph').join(', ')}`]);
  });

  it('names at most ten keys per warning', () => {
    const bad = Array.from({ length: 12 }, (_, i) => `segments/${JOB}/x${i}`);
    const p = plan('chunking_in_progress', [...keys(1), ...bad]);
    expect(p.warnings[0]).toMatch(/x9 \(.*\) and 2 more$/);
  });
});
