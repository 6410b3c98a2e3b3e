import { describe, expect, it } from '@jest/globals';
import { JobWatch } from '../../src/commands/stereo-watch.js';

const completion = (jobId: string, segmentIndex: number) => ({ jobId, segmentIndex, outputS3Uri: `s3://out/jobs/${jobId}/segments/${segmentIndex}.mp4`, completedAt: 1, totalSegments: 2 });
const settledYet = async (p: Promise<unknown>) => Promise.race([p.then(() => true), new Promise((r) => setTimeout(() => r(false), 10))]);

describe('JobWatch', () => {
  it("counts this job's segment keys as chunked (total from the key), and each segment's completion once", () => {
    const w = new JobWatch('j1', 'in');
    w.objectCreated('input/j1/source.mp4');
    w.objectCreated('segments/j1/00000_00002_sbs.mp4');
    w.objectCreated('segments/other/00000_00005_sbs.mp4');
    w.completionPut(completion('j1', 0));
    w.completionPut(completion('j1', 0));
    w.completionPut(completion('other', 1));
    expect(w.counts).toEqual({ total: 2, chunked: 1, inferred: 1, joined: 0 });
  });

  it('ends completed when the job is updated to completed (joined = total)', async () => {
    const w = new JobWatch('j1', 'in');
    w.objectCreated('segments/j1/00000_00001_anaglyph.mp4');
    w.jobUpdated('j1', 'chunking_complete', 'updated');
    w.jobUpdated('j1', 'completed', 'conflict');
    w.jobUpdated('j2', 'completed', 'updated');
    expect(await settledYet(w.end)).toBe(false);
    w.jobUpdated('j1', 'completed', 'updated');
    await expect(w.end).resolves.toBe('completed');
    expect(w.counts.joined).toBe(1);
  });

  it('ends failed on a failed job or on any dead letter (nothing will retry it)', async () => {
    const failed = new JobWatch('j1', 'in');
    failed.jobUpdated('j1', 'failed', 'updated');
    await expect(failed.end).resolves.toBe('failed');
    const dead = new JobWatch('j1', 'in');
    dead.deadLettered();
    await expect(dead.end).resolves.toBe('failed');
  });
});
