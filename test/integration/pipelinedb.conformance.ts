// One behaviour for every PipelineDb adapter: run by pipelinedb-dynamodb.test.ts (the
// tables of upstream's Terraform on dynalite) and unit/pipelinedb-memory.test.ts. Items
// are written and read back through the harness as the backend keeps them (attribute
// names of STEREO-SPOT.md), as the web UI and upstream's workers would see them.
import { beforeEach, afterEach, describe, expect, it } from '@jest/globals';
import pino from 'pino';
import type { Logger } from 'pino';
import type { PipelineTable, StoredItem } from '../../src/adapters/db/stereo-items.js';
import { LOCK_TTL_SECONDS } from '../../src/domain/stereo/records.js';
import type { PipelineDb, SegmentCompletion } from '../../src/ports/index.js';

/** Items per Query page the harness builds its adapter with (where pages exist). */
export const PAGE = 5;
/** 2026-11-24T10:00:00Z, unix seconds. */
export const T0 = 1_795_514_400;
export const JOB = 'c9a3e1d2-5b7f-4e0a-9d41-6f2b8c3a7e10';
export const OUT = 'stereo-spot-output';

/** A Jobs item as the newer web UI creates it (its extra attributes included). */
export function webUiJob(item: StoredItem = {}): StoredItem & { job_id: string } {
  return { job_id: JOB, mode: 'sbs', status: 'created', created_at: T0, title: 'Match highlights', uploaded_at: T0 + 7, source_file_size_bytes: 734_003_200, ...item } as StoredItem & { job_id: string };
}

export function completion(i: number, c: Partial<SegmentCompletion> = {}): SegmentCompletion {
  return { jobId: JOB, segmentIndex: i, outputS3Uri: `s3://${OUT}/jobs/${JOB}/segments/${i}.mp4`, completedAt: T0 + 100 + i, totalSegments: 12, ...c };
}

export interface PipelineDbHarness {
  db: PipelineDb;
  /** Writes an item as another writer would (the web UI's PutItem, a hand repair), bypassing the adapter. */
  put(table: PipelineTable, item: StoredItem): Promise<void>;
  /** Every item of the table as stored, by job_id then segment_index. */
  scan(table: PipelineTable): Promise<StoredItem[]>;
  /** Query pages the adapter has read so far, where the backend has pages (DynamoDB). */
  queryPages?: () => number;
  teardown?(): Promise<void>;
}

export interface LogLine {
  level: number;
  event_type?: string;
  [field: string]: unknown;
}

const TABLES: PipelineTable[] = ['jobs', 'segmentCompletions', 'reassemblyTriggered'];

export function sortItems(items: StoredItem[]): StoredItem[] {
  const key = (it: StoredItem): [string, number] => [String(it.job_id), typeof it.segment_index === 'number' ? it.segment_index : -1];
  return [...items].sort((a, b) => {
    const [ja, ia] = key(a);
    const [jb, ib] = key(b);
    return ja < jb ? -1 : ja > jb ? 1 : ia - ib;
  });
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

export function describePipelineDbConformance(name: string, makeHarness: (logger: Logger) => Promise<PipelineDbHarness>): void {
  describe(`PipelineDb conformance: ${name}`, () => {
    let h: PipelineDbHarness;
    let db: PipelineDb;
    let logs: LogLine[];
    const pages = (): number => h.queryPages?.() ?? 0;
    const jobItem = async (id = JOB): Promise<StoredItem | undefined> => (await h.scan('jobs')).find((it) => it.job_id === id);

    beforeEach(async () => {
      logs = [];
      const logger = pino({ level: 'debug', base: undefined }, { write: (s: string) => void logs.push(JSON.parse(s) as LogLine) });
      h = await makeHarness(logger);
      db = h.db;
    });
    afterEach(async () => {
      await h.teardown?.();
    });

    describe('getJob', () => {
      it('reads a job as the web UI wrote it', async () => {
        await h.put('jobs', webUiJob({ status: 'chunking_complete', total_segments: 3 }));
        await expect(db.getJob(JOB)).resolves.toEqual({
          jobId: JOB, mode: 'sbs', status: 'chunking_complete', createdAt: T0, totalSegments: 3, completedAt: null,
        });
        expect(logs.filter((l) => l.event_type === 'pipeline_item_malformed')).toEqual([]);
      });

      it('is null for a job that does not exist', async () => {
        await h.put('jobs', webUiJob({ job_id: `${JOB}-other` }));
        await expect(db.getJob(JOB)).resolves.toBeNull();
      });

      it("reads newer deployments' statuses (and any other string) as stored", async () => {
        for (const status of ['ingesting', 'reassembling', 'deleted', 'Something Else']) {
          await h.put('jobs', webUiJob({ job_id: status, status, mode: 'anaglyph' }));
          await expect(db.getJob(status)).resolves.toMatchObject({ jobId: status, status, mode: 'anaglyph' });
        }
      });

      it('maps a malformed item as far as it goes, and warns, never throws', async () => {
        // A skeleton (an UpdateItem on a missing key), a number stored as a string, a bad mode.
        await h.put('jobs', { job_id: 'skeleton', total_segments: 3 });
        await h.put('jobs', { job_id: 'strings', mode: 'SBS', status: 'chunking_complete', created_at: T0, total_segments: '4' });
        await h.put('jobs', { job_id: 'nonsense', mode: 7, status: 'created', total_segments: 'four' });
        await h.put('jobs', { job_id: 'fraction', mode: 'anaglyph', status: 'created', total_segments: 2.5 });
        await expect(db.getJob('skeleton')).resolves.toEqual({ jobId: 'skeleton', mode: null, status: '', createdAt: null, totalSegments: 3, completedAt: null });
        await expect(db.getJob('strings')).resolves.toEqual({ jobId: 'strings', mode: null, status: 'chunking_complete', createdAt: T0, totalSegments: 4, completedAt: null });
        await expect(db.getJob('nonsense')).resolves.toEqual({ jobId: 'nonsense', mode: null, status: 'created', createdAt: null, totalSegments: null, completedAt: null });
        await expect(db.getJob('fraction')).resolves.toMatchObject({ mode: 'anaglyph', totalSegments: null });
        const warned = logs.filter((l) => l.event_type === 'pipeline_item_malformed').map((l) => [l.job_id, l.attributes]);
        expect(warned).toEqual([
          ['skeleton', ['mode', 'status']],
          ['strings', ['mode', 'total_segments']],
          ['nonsense', ['mode', 'total_segments']],
          ['fraction', ['total_segments']],
        ]);
      });
    });

    describe('updateJob', () => {
      it('sets status and total_segments on the job and leaves every other attribute as it was', async () => {
        await h.put('jobs', webUiJob());
        await expect(db.updateJob(JOB, { status: 'chunking_in_progress' })).resolves.toBe('updated');
        await expect(db.updateJob(JOB, { status: 'chunking_complete', totalSegments: 3 }, ['created', 'chunking_in_progress'])).resolves.toBe('updated');
        expect(await h.scan('jobs')).toEqual([webUiJob({ status: 'chunking_complete', total_segments: 3 })]);
      });

      it('completed with its completed_at', async () => {
        await h.put('jobs', webUiJob({ status: 'chunking_complete', total_segments: 3 }));
        await expect(db.updateJob(JOB, { status: 'completed', completedAt: T0 + 900 }, ['chunking_complete'])).resolves.toBe('updated');
        expect(await jobItem()).toEqual(webUiJob({ status: 'completed', total_segments: 3, completed_at: T0 + 900 }));
        await expect(db.getJob(JOB)).resolves.toMatchObject({ status: 'completed', completedAt: T0 + 900 });
      });

      it('conflict when the job is in none of the `from` statuses: nothing changes', async () => {
        await h.put('jobs', webUiJob({ status: 'chunking_complete', total_segments: 3 }));
        await expect(db.updateJob(JOB, { status: 'chunking_in_progress' }, ['created', 'chunking_in_progress'])).resolves.toBe('conflict');
        expect(await jobItem()).toEqual(webUiJob({ status: 'chunking_complete', total_segments: 3 }));
      });

      it("`from` may name a newer deployment's status (read, never written)", async () => {
        await h.put('jobs', webUiJob({ status: 'reassembling' }));
        await expect(db.updateJob(JOB, { status: 'failed' }, ['chunking_complete'])).resolves.toBe('conflict');
        await expect(db.updateJob(JOB, { status: 'failed' }, ['chunking_complete', 'reassembling'])).resolves.toBe('updated');
        expect(await jobItem()).toMatchObject({ status: 'failed' });
      });

      it('writes the split topology\'s ingesting and reassembling, conditioned like the rest', async () => {
        await h.put('jobs', webUiJob({ status: 'chunking_complete', total_segments: 3 }));
        await expect(db.updateJob(JOB, { status: 'reassembling' }, ['created'])).resolves.toBe('conflict');
        await expect(db.updateJob(JOB, { status: 'reassembling' }, ['chunking_complete'])).resolves.toBe('updated');
        await h.put('jobs', webUiJob({ job_id: `${JOB}-i` }));
        await expect(db.updateJob(`${JOB}-i`, { status: 'ingesting' }, ['created'])).resolves.toBe('updated');
        expect((await h.scan('jobs')).map((i) => i.status).sort()).toEqual(['ingesting', 'reassembling']);
      });

      it('a job without status is a conflict for any `from`', async () => {
        await h.put('jobs', { job_id: JOB, mode: 'sbs', created_at: T0 });
        await expect(db.updateJob(JOB, { status: 'chunking_in_progress' }, ['created'])).resolves.toBe('conflict');
        expect(await jobItem()).toEqual({ job_id: JOB, mode: 'sbs', created_at: T0 });
      });

      it('missing, with or without `from`, and no item is created', async () => {
        await expect(db.updateJob(JOB, { status: 'chunking_in_progress' })).resolves.toBe('missing');
        await expect(db.updateJob(JOB, { status: 'chunking_complete', totalSegments: 3 }, ['chunking_in_progress'])).resolves.toBe('missing');
        await expect(db.updateJob(JOB, { status: 'completed', completedAt: T0 }, [])).resolves.toBe('missing');
        expect(await h.scan('jobs')).toEqual([]);
      });

      it('an empty `from` matches nothing', async () => {
        await h.put('jobs', webUiJob());
        await expect(db.updateJob(JOB, { status: 'failed' }, [])).resolves.toBe('conflict');
        expect(await jobItem()).toEqual(webUiJob());
      });

      it('refuses, before any write, what this pipeline never writes', async () => {
        await h.put('jobs', webUiJob());
        for (const status of ['deleted', 'bogus', '']) {
          await expect(db.updateJob(JOB, { status: status as 'failed' })).rejects.toThrow(/is not one this pipeline writes/);
        }
        await expect(db.updateJob(JOB, { status: 'chunking_complete', totalSegments: -1 })).rejects.toThrow(RangeError);
        await expect(db.updateJob(JOB, { status: 'chunking_complete', totalSegments: 2.5 })).rejects.toThrow(RangeError);
        await expect(db.updateJob(JOB, { status: 'completed' })).rejects.toThrow(/completed needs completed_at/);
        await expect(db.updateJob(JOB, { status: 'completed', completedAt: Date.now() })).rejects.toThrow(/not milliseconds/);
        await expect(db.updateJob(JOB, { status: 'completed', completedAt: T0 + 0.5 })).rejects.toThrow(RangeError);
        await expect(db.updateJob('', { status: 'failed' })).rejects.toThrow(/non-empty/);
        expect(await h.scan('jobs')).toEqual([webUiJob()]);
      });

      it('two racing updates from the same status: exactly one wins', async () => {
        await h.put('jobs', webUiJob());
        const outcomes = await Promise.all([
          db.updateJob(JOB, { status: 'chunking_in_progress' }, ['created']),
          db.updateJob(JOB, { status: 'chunking_in_progress' }, ['created']),
        ]);
        expect(outcomes.sort()).toEqual(['conflict', 'updated']);
      });
    });

    describe('jobsInStatus', () => {
      it('the jobs in that status, oldest created first, every page', async () => {
        const created = [7, 3, 11, 1, 9, 5, 2, 10, 4, 8, 6]; // 11 jobs: three pages of PAGE
        for (const [n, at] of created.entries()) await h.put('jobs', webUiJob({ job_id: `job-${n}`, status: 'chunking_complete', created_at: T0 + at, total_segments: 2 }));
        await h.put('jobs', webUiJob({ job_id: 'other-1', status: 'created', created_at: T0 }));
        await h.put('jobs', webUiJob({ job_id: 'other-2', status: 'completed', created_at: T0 + 6, completed_at: T0 + 60 }));
        const before = pages();
        const got = await collect(db.jobsInStatus('chunking_complete'));
        expect(got.map((j) => j.createdAt)).toEqual([...created].sort((a, b) => a - b).map((at) => T0 + at));
        expect(got.every((j) => j.status === 'chunking_complete' && j.mode === 'sbs' && j.totalSegments === 2)).toBe(true);
        if (h.queryPages) expect(pages() - before).toBeGreaterThanOrEqual(3);
      });

      it('leaves out a job without created_at, as the index does', async () => {
        await h.put('jobs', webUiJob({ job_id: 'no-created-at', status: 'chunking_complete', created_at: undefined }));
        await h.put('jobs', webUiJob({ status: 'chunking_complete' }));
        expect((await collect(db.jobsInStatus('chunking_complete'))).map((j) => j.jobId)).toEqual([JOB]);
      });

      it('nothing for a status no job is in; follows a status change', async () => {
        await h.put('jobs', webUiJob());
        await expect(collect(db.jobsInStatus('failed'))).resolves.toEqual([]);
        await db.updateJob(JOB, { status: 'failed' }, ['created']);
        // dynalite updates its indexes with the item; DynamoDB's GSIs follow within a moment.
        expect((await collect(db.jobsInStatus('failed'))).map((j) => j.jobId)).toEqual([JOB]);
        await expect(collect(db.jobsInStatus('created'))).resolves.toEqual([]);
      });
    });

    describe('SegmentCompletions', () => {
      it("putCompletion writes upstream's attributes; completions reads them back", async () => {
        await db.putCompletion(completion(0));
        expect(await h.scan('segmentCompletions')).toEqual([
          { job_id: JOB, segment_index: 0, output_s3_uri: `s3://${OUT}/jobs/${JOB}/segments/0.mp4`, completed_at: T0 + 100, total_segments: 12 },
        ]);
        await expect(db.completions(JOB)).resolves.toEqual([completion(0)]);
      });

      it('idempotent: the same segment twice is one item, the later write replacing it whole (a PutItem, the call the task roles allow)', async () => {
        await h.put('segmentCompletions', { job_id: JOB, segment_index: 1, output_s3_uri: 'old', completed_at: T0, total_segments: 12, note: 'replaced' });
        await db.putCompletion(completion(1));
        await db.putCompletion(completion(1, { completedAt: T0 + 500 }));
        expect(await h.scan('segmentCompletions')).toEqual([
          { job_id: JOB, segment_index: 1, output_s3_uri: `s3://${OUT}/jobs/${JOB}/segments/1.mp4`, completed_at: T0 + 500, total_segments: 12 },
        ]);
        await expect(db.countCompletions(JOB)).resolves.toBe(1);
      });

      it('a null totalSegments writes no total_segments, and does not replace a completion that has one', async () => {
        await db.putCompletion(completion(0, { totalSegments: null }));
        expect((await h.scan('segmentCompletions'))[0]).not.toHaveProperty('total_segments');
        await db.putCompletion(completion(0));
        await db.putCompletion(completion(1));
        await db.putCompletion(completion(1, { totalSegments: null, completedAt: T0 + 900 }));
        await expect(db.completions(JOB)).resolves.toEqual([completion(0), completion(1)]);
      });

      it("every completion of the job in index order over several pages, and only that job's (lost-job case 4)", async () => {
        const order = [10, 2, 0, 9, 1, 11, 3, 8, 4, 7, 5, 6]; // 12: three pages of PAGE; 10 sorts after 9
        for (const i of order) await db.putCompletion(completion(i));
        for (const other of [`${JOB}-1`, JOB.slice(0, -1), 'job']) await db.putCompletion(completion(0, { jobId: other }));
        let before = pages();
        const got = await db.completions(JOB);
        expect(got.map((c) => c.segmentIndex)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        expect(got[10]).toEqual(completion(10));
        if (h.queryPages) expect(pages() - before).toBeGreaterThanOrEqual(3);
        before = pages();
        await expect(db.countCompletions(JOB)).resolves.toBe(12);
        if (h.queryPages) expect(pages() - before).toBeGreaterThanOrEqual(3);
      });

      it('completions put at once are all counted', async () => {
        await Promise.all(Array.from({ length: 12 }, (_, i) => db.putCompletion(completion(i))));
        await expect(db.countCompletions(JOB)).resolves.toBe(12);
      });

      it('none: an empty list and 0', async () => {
        await db.putCompletion(completion(0, { jobId: `${JOB}x` }));
        await expect(db.completions(JOB)).resolves.toEqual([]);
        await expect(db.countCompletions(JOB)).resolves.toBe(0);
      });

      it('maps a malformed completion as far as it goes', async () => {
        await h.put('segmentCompletions', { job_id: JOB, segment_index: 0 });
        await h.put('segmentCompletions', { job_id: JOB, segment_index: 1, output_s3_uri: 's3://o/jobs/x/segments/1.mp4', completed_at: `${T0}`, total_segments: 'two' });
        await expect(db.completions(JOB)).resolves.toEqual([
          { jobId: JOB, segmentIndex: 0, outputS3Uri: '', completedAt: 0, totalSegments: null },
          { jobId: JOB, segmentIndex: 1, outputS3Uri: 's3://o/jobs/x/segments/1.mp4', completedAt: T0, totalSegments: null },
        ]);
        await expect(db.countCompletions(JOB)).resolves.toBe(2);
        expect(logs.filter((l) => l.event_type === 'pipeline_item_malformed').map((l) => [l.segment_index, l.attributes])).toEqual([
          [0, ['output_s3_uri', 'completed_at']],
          [1, ['completed_at', 'total_segments']],
        ]);
      });

      it('refuses a completion that is not one', async () => {
        for (const bad of [{ segmentIndex: -1 }, { segmentIndex: 1.5 }, { outputS3Uri: '' }, { completedAt: Date.now() }, { totalSegments: 0 }, { jobId: '' }]) {
          await expect(db.putCompletion(completion(0, bad))).rejects.toThrow(RangeError);
        }
        expect(await h.scan('segmentCompletions')).toEqual([]);
      });
    });

    describe('ReassemblyTriggered', () => {
      it('putLock creates the lock once: triggered_at, ttl 90 days later', async () => {
        await expect(db.getLock(JOB)).resolves.toBeNull();
        await expect(db.putLock(JOB, T0)).resolves.toBe(true);
        await expect(db.putLock(JOB, T0 + 5)).resolves.toBe(false);
        expect(await h.scan('reassemblyTriggered')).toEqual([{ job_id: JOB, triggered_at: T0, ttl: T0 + 90 * 86_400 }]);
        await expect(db.getLock(JOB)).resolves.toEqual({ jobId: JOB, triggeredAt: T0, ttl: T0 + LOCK_TTL_SECONDS, reassemblyStartedAt: null });
      });

      it('two putLock at once: exactly one creates it', async () => {
        const results = await Promise.all([db.putLock(JOB, T0), db.putLock(JOB, T0 + 1), db.putLock(JOB, T0 + 2)]);
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await h.scan('reassemblyTriggered')).toHaveLength(1);
      });

      it('takeLock: false without a lock (and makes none), true once, then false', async () => {
        await expect(db.takeLock(JOB, T0 + 10)).resolves.toBe(false);
        expect(await h.scan('reassemblyTriggered')).toEqual([]);
        await db.putLock(JOB, T0);
        await expect(db.takeLock(JOB, T0 + 10)).resolves.toBe(true);
        await expect(db.takeLock(JOB, T0 + 20)).resolves.toBe(false);
        await expect(db.getLock(JOB)).resolves.toEqual({ jobId: JOB, triggeredAt: T0, ttl: T0 + LOCK_TTL_SECONDS, reassemblyStartedAt: T0 + 10 });
      });

      it('two takeLock at once: exactly one takes the job', async () => {
        await db.putLock(JOB, T0);
        const results = await Promise.all([db.takeLock(JOB, T0 + 10), db.takeLock(JOB, T0 + 11), db.takeLock(JOB, T0 + 12)]);
        expect(results.filter(Boolean)).toHaveLength(1);
        const started = (await db.getLock(JOB))?.reassemblyStartedAt;
        expect([T0 + 10, T0 + 11, T0 + 12]).toContain(started);
      });

      it('releaseLock gives the job back (lost-job case 3): the lock stays, takeLock works again', async () => {
        await db.putLock(JOB, T0);
        await db.takeLock(JOB, T0 + 10);
        await db.releaseLock(JOB);
        expect(await h.scan('reassemblyTriggered')).toEqual([{ job_id: JOB, triggered_at: T0, ttl: T0 + LOCK_TTL_SECONDS }]);
        await db.releaseLock(JOB); // not taken: nothing to do
        await expect(db.takeLock(JOB, T0 + 30)).resolves.toBe(true);
        await expect(db.getLock(JOB)).resolves.toMatchObject({ reassemblyStartedAt: T0 + 30 });
      });

      it('takeLock with staleBefore takes over a lock whose holder stopped refreshing it, and only that one', async () => {
        await db.putLock(JOB, T0);
        await db.takeLock(JOB, T0 + 10);
        await expect(db.takeLock(JOB, T0 + 20, { staleBefore: T0 + 10 })).resolves.toBe(false); // not older than T0 + 10
        await expect(db.takeLock(JOB, T0 + 20, { staleBefore: T0 + 11 })).resolves.toBe(true);
        await expect(db.getLock(JOB)).resolves.toMatchObject({ reassemblyStartedAt: T0 + 20 });
        // Two redeliveries racing for a stale lock: one wins.
        const results = await Promise.all([db.takeLock(JOB, T0 + 30, { staleBefore: T0 + 25 }), db.takeLock(JOB, T0 + 31, { staleBefore: T0 + 25 })]);
        expect(results.filter(Boolean)).toHaveLength(1);
        // Untaken: staleBefore does not matter; no lock: nothing is made.
        await db.putLock('other', T0);
        await expect(db.takeLock('other', T0 + 5, { staleBefore: T0 })).resolves.toBe(true);
        await expect(db.takeLock('missing', T0 + 5, { staleBefore: T0 + 100 })).resolves.toBe(false);
        expect((await h.scan('reassemblyTriggered')).map((i) => i.job_id).sort()).toEqual([JOB, 'other'].sort());
      });

      it('refreshLock moves only the holder\'s own reassembly_started_at; after a takeover the old holder learns it lost', async () => {
        await expect(db.refreshLock(JOB, T0, T0 + 1)).resolves.toBe(false);
        expect(await h.scan('reassemblyTriggered')).toEqual([]);
        await db.putLock(JOB, T0);
        await expect(db.refreshLock(JOB, T0, T0 + 1)).resolves.toBe(false); // untaken
        await db.takeLock(JOB, T0 + 10);
        await expect(db.refreshLock(JOB, T0 + 10, T0 + 15)).resolves.toBe(true);
        await expect(db.refreshLock(JOB, T0 + 10, T0 + 16)).resolves.toBe(false); // its old value
        await expect(db.takeLock(JOB, T0 + 100, { staleBefore: T0 + 50 })).resolves.toBe(true);
        await expect(db.refreshLock(JOB, T0 + 15, T0 + 101)).resolves.toBe(false);
        // The old holder's release must not free the new holder's lock.
        await db.releaseLock(JOB, T0 + 15);
        await expect(db.getLock(JOB)).resolves.toMatchObject({ reassemblyStartedAt: T0 + 100 });
        await db.releaseLock(JOB, T0 + 100);
        await expect(db.getLock(JOB)).resolves.toMatchObject({ reassemblyStartedAt: null });
        expect(await h.scan('reassemblyTriggered')).toEqual([{ job_id: JOB, triggered_at: T0, ttl: T0 + LOCK_TTL_SECONDS }]);
      });

      it('releaseLock without a lock creates nothing', async () => {
        await expect(db.releaseLock(JOB)).resolves.toBeUndefined();
        expect(await h.scan('reassemblyTriggered')).toEqual([]);
      });

      it('deleteLock: only an existing lock, and with triggeredAt only that one; then a new lock can be put', async () => {
        await expect(db.deleteLock(JOB)).resolves.toBe(false);
        await db.putLock(JOB, T0);
        await expect(db.deleteLock(JOB, T0 + 1)).resolves.toBe(false);
        expect(await h.scan('reassemblyTriggered')).toHaveLength(1);
        await expect(db.deleteLock(JOB, T0)).resolves.toBe(true);
        await expect(db.getLock(JOB)).resolves.toBeNull();
        await expect(db.deleteLock(JOB, T0)).resolves.toBe(false);
        await expect(db.putLock(JOB, T0 + 60)).resolves.toBe(true);
        await db.takeLock(JOB, T0 + 61);
        await expect(db.deleteLock(JOB)).resolves.toBe(true);
        expect(await h.scan('reassemblyTriggered')).toEqual([]);
      });

      it('reads a lock put by hand (no ttl, triggered_at as a string); deleteLock compares numbers only', async () => {
        await h.put('reassemblyTriggered', { job_id: JOB, triggered_at: 12345 }); // upstream's media-worker test item
        await h.put('reassemblyTriggered', { job_id: 'by-hand', triggered_at: '12345', reassembly_started_at: 'soon' });
        await expect(db.getLock(JOB)).resolves.toEqual({ jobId: JOB, triggeredAt: 12345, ttl: 0, reassemblyStartedAt: null });
        await expect(db.getLock('by-hand')).resolves.toEqual({ jobId: 'by-hand', triggeredAt: 12345, ttl: 0, reassemblyStartedAt: null });
        await expect(db.takeLock('by-hand', T0)).resolves.toBe(false); // reassembly_started_at exists, whatever it holds
        await expect(db.deleteLock('by-hand', 12345)).resolves.toBe(false);
        await expect(db.deleteLock(JOB, 12345)).resolves.toBe(true);
      });

      it('renewLock: only the untaken lock last seen, triggered_at and ttl moved; none created', async () => {
        await expect(db.renewLock(JOB, T0, T0 + 100)).resolves.toBe(false);
        expect(await h.scan('reassemblyTriggered')).toEqual([]);
        await db.putLock(JOB, T0);
        await expect(db.renewLock(JOB, T0 + 1, T0 + 100)).resolves.toBe(false); // not the lock seen
        await expect(db.renewLock(JOB, T0, T0 + 100)).resolves.toBe(true);
        await expect(db.renewLock(JOB, T0, T0 + 200)).resolves.toBe(false); // renewed by someone else
        expect(await h.scan('reassemblyTriggered')).toEqual([{ job_id: JOB, triggered_at: T0 + 100, ttl: T0 + 100 + LOCK_TTL_SECONDS }]);
        await db.takeLock(JOB, T0 + 110);
        await expect(db.renewLock(JOB, T0 + 100, T0 + 300)).resolves.toBe(false); // taken
        await expect(db.getLock(JOB)).resolves.toEqual({ jobId: JOB, triggeredAt: T0 + 100, ttl: T0 + 100 + LOCK_TTL_SECONDS, reassemblyStartedAt: T0 + 110 });
        await expect(db.renewLock(JOB, T0 + 100, Date.now())).rejects.toThrow(/not milliseconds/);
      });

      it('refuses times that are not whole unix seconds', async () => {
        await expect(db.putLock(JOB, Date.now())).rejects.toThrow(/not milliseconds/);
        await expect(db.putLock(JOB, -1)).rejects.toThrow(RangeError);
        await expect(db.takeLock(JOB, T0 + 0.25)).rejects.toThrow(RangeError);
        await expect(db.deleteLock(JOB, Number.NaN)).rejects.toThrow(RangeError);
        expect(await h.scan('reassemblyTriggered')).toEqual([]);
      });
    });

    it('no write aimed at an existing item creates one when there is none', async () => {
      await h.put('jobs', webUiJob({ job_id: 'present' }));
      await db.putLock('present', T0);
      await db.updateJob(JOB, { status: 'chunking_in_progress' });
      await db.updateJob(JOB, { status: 'chunking_complete', totalSegments: 2 }, ['chunking_in_progress']);
      await db.updateJob(JOB, { status: 'completed', completedAt: T0 }, []);
      await db.updateJob(JOB, { status: 'failed' }, ['created', 'chunking_in_progress', 'chunking_complete']);
      await db.takeLock(JOB, T0);
      await db.releaseLock(JOB);
      await db.deleteLock(JOB);
      await db.deleteLock(JOB, T0);
      const all = (await Promise.all(TABLES.map((t) => h.scan(t)))).flat();
      expect(all.map((it) => it.job_id)).toEqual(['present', 'present']);
    });
  });
}
