// The memory PipelineDb (local mode) against the shared behaviour, plus its test helpers.
import { describe, expect, it } from '@jest/globals';
import { MemoryPipelineDb } from '../../src/adapters/db/memory-pipeline.js';
import { JOB, T0, describePipelineDbConformance, sortItems, webUiJob } from '../integration/pipelinedb.conformance.js';

describePipelineDbConformance('memory', async (logger) => {
  const db = new MemoryPipelineDb({ logger });
  return {
    db,
    put: async (table, item) => void db.putItem(table, item),
    scan: async (table) => sortItems(db.rows()[table]),
  };
});

describe('MemoryPipelineDb helpers', () => {
  it('seeds items as their writers make them and hands out copies', async () => {
    const db = new MemoryPipelineDb();
    const job = db.seedJob({ job_id: JOB });
    expect(job).toEqual({ job_id: JOB, mode: 'sbs', status: 'created', created_at: expect.any(Number) });
    expect(Math.abs((job.created_at as number) - Date.now() / 1000)).toBeLessThan(5);
    expect(db.seedCompletion({ job_id: JOB, segment_index: 3, completed_at: T0 })).toEqual({
      job_id: JOB, segment_index: 3, output_s3_uri: `s3://output/jobs/${JOB}/segments/3.mp4`, completed_at: T0,
    });
    expect(db.seedLock({ job_id: JOB, triggered_at: T0 })).toEqual({ job_id: JOB, triggered_at: T0, ttl: T0 + 90 * 86_400 });

    const rows = db.rows();
    rows.jobs[0]!.status = 'failed';
    job.status = 'failed';
    expect(db.rows().jobs[0]!.status).toBe('created');
    const read = await db.getJob(JOB);
    expect(read).toMatchObject({ status: 'created' });
    (read as { status: string }).status = 'failed';
    await expect(db.getJob(JOB)).resolves.toMatchObject({ status: 'created' });
  });

  it('keeps rows in the order a snapshot shows: jobs and locks as inserted, completions by job then index', async () => {
    const db = new MemoryPipelineDb();
    db.seedJob(webUiJob({ job_id: 'b' }));
    db.seedJob(webUiJob({ job_id: 'a' }));
    await db.putCompletion({ jobId: 'b', segmentIndex: 10, outputS3Uri: 's3://o/10', completedAt: T0, totalSegments: 11 });
    await db.putCompletion({ jobId: 'b', segmentIndex: 9, outputS3Uri: 's3://o/9', completedAt: T0, totalSegments: 11 });
    await db.putCompletion({ jobId: 'a', segmentIndex: 0, outputS3Uri: 's3://o/0', completedAt: T0, totalSegments: 1 });
    const rows = db.rows();
    expect(rows.jobs.map((j) => j.job_id)).toEqual(['b', 'a']);
    expect(rows.segmentCompletions.map((c) => `${c.job_id}/${c.segment_index}`)).toEqual(['b/9', 'b/10', 'a/0']);
  });

  it('refuses an item DynamoDB would refuse (key types, the GSI key types)', () => {
    const db = new MemoryPipelineDb();
    expect(() => db.putItem('jobs', { job_id: '' })).toThrow(/job_id/);
    expect(() => db.putItem('jobs', { job_id: 7 })).toThrow(/job_id/);
    expect(() => db.putItem('jobs', { job_id: 'j', status: 3 })).toThrow(/status is an index key/);
    expect(() => db.putItem('jobs', { job_id: 'j', created_at: '1' })).toThrow(/created_at is an index key/);
    expect(() => db.putItem('jobs', { job_id: 'j', completed_at: '1' })).toThrow(/completed_at is an index key/);
    expect(() => db.putItem('segmentCompletions', { job_id: 'j', segment_index: '0' })).toThrow(/segment_index/);
    expect(() => db.putItem('segmentCompletions', { job_id: 'j' })).toThrow(/segment_index/);
    expect(db.rows()).toEqual({ jobs: [], segmentCompletions: [], reassemblyTriggered: [] });
  });
});
