// `rugbyworker jobs recover-chunking | diagnose | trigger-reassembly` (issue 10, seed 002
// runbooks 1 and 3) on the built executable against fauxqs (SQS + S3) and dynalite with the
// upstream tables: every refusal, the warnings about segment keys, diagnose's JSON and its
// verdicts for STEREO-SPOT.md's lost jobs 1–3, each repaired by the command it names.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { runExe, type RunResult } from '../helpers/binary.js';
import { INPUT, NINETY_DAYS, OUTPUT, startStereoWorld, type QueuePair, type StereoWorld } from '../helpers/stereo-world.js';

// Each case runs the executable a few times: ~1.5 s alone, more on a loaded CI machine.
jest.setTimeout(30_000);

let w: StereoWorld;

beforeAll(async () => {
  w = await startStereoWorld();
}, 60_000);

afterAll(async () => {
  await w?.stop();
});

const now = (): number => Math.floor(Date.now() / 1000);
interface Queues { chunking: QueuePair; videoWorker: QueuePair; reassembly: QueuePair }

/** A fresh set of the three queues, so each test reads only its own depths. */
async function queues(): Promise<Queues> {
  const tag = randomUUID().slice(0, 8);
  const [chunking, videoWorker, reassembly] = await Promise.all(['chunking', 'video-worker', 'reassembly'].map((q) => w.createQueue(`${tag}-${q}`, 30, 5)));
  return { chunking: chunking!, videoWorker: videoWorker!, reassembly: reassembly! };
}

function env(q: Queues, extra: Record<string, string> = {}): Record<string, string> {
  return w.workerEnv({ chunking: q.chunking.url, videoWorker: q.videoWorker.url, reassembly: q.reassembly.url }, extra);
}

const run = (args: string[], q: Queues, extra?: Record<string, string>): Promise<RunResult> => runExe(args, { env: env(q, extra), timeoutMs: 20_000 });

async function putJob(jobId: string, status: string, more: Record<string, unknown> = {}): Promise<void> {
  await w.ddb.send(new PutCommand({ TableName: w.tables.jobs, Item: { job_id: jobId, mode: 'sbs', status, created_at: now() - 3600, title: 'kept', ...more } }));
}

async function putCompletions(jobId: string, indices: number[], total: number): Promise<void> {
  for (const i of indices) {
    await w.ddb.send(new PutCommand({ TableName: w.tables.segmentCompletions, Item: {
      job_id: jobId, segment_index: i, output_s3_uri: `s3://${OUTPUT}/jobs/${jobId}/segments/${i}.mp4`, completed_at: now() - 600, total_segments: total,
    } }));
  }
}

async function putLock(jobId: string, triggeredAgo: number, startedAgo?: number): Promise<void> {
  const triggeredAt = now() - triggeredAgo;
  await w.ddb.send(new PutCommand({ TableName: w.tables.reassemblyTriggered, Item: {
    job_id: jobId, triggered_at: triggeredAt, ttl: triggeredAt + NINETY_DAYS, ...(startedAgo === undefined ? {} : { reassembly_started_at: now() - startedAgo }),
  } }));
}

const getLock = async (jobId: string) => (await w.ddb.send(new GetCommand({ TableName: w.tables.reassemblyTriggered, Key: { job_id: jobId }, ConsistentRead: true }))).Item;
const segment = (jobId: string, i: number, total: number) => `segments/${jobId}/${String(i).padStart(5, '0')}_${String(total).padStart(5, '0')}_sbs.mp4`;

async function putSegments(jobId: string, total: number, indices = Array.from({ length: total }, (_, i) => i)): Promise<void> {
  for (const i of indices) await w.putObject(INPUT, segment(jobId, i, total), Buffer.from('segment'));
}

describe('jobs recover-chunking (runbook 1)', () => {
  it('derives total_segments from the keys, warns about the ones that disagree or do not parse, and makes one conditional update', async () => {
    const q = await queues();
    const jobId = randomUUID();
    await putJob(jobId, 'chunking_in_progress');
    await putSegments(jobId, 3);
    await w.putObject(INPUT, segment(jobId, 0, 4), Buffer.from('stale')); // a key from another chunking
    await w.putObject(INPUT, `segments/${jobId}/00001_00003_sbs.MP4`, Buffer.from('x')); // not a segment key
    await w.putObject(INPUT, `segments/${jobId}/sub/00000_00009_sbs.mp4`, Buffer.from('x')); // job "<id>/sub": someone else's

    const r = await run(['jobs', 'recover-chunking', jobId, '--yes'], q);
    expect(r.stderr).toContain(`warning: 1 key under s3://${INPUT}/segments/${jobId}/ is not a segment key and was ignored: segments/${jobId}/00001_00003_sbs.MP4`);
    expect(r.stderr).toContain(`warning: 1 key says total_segments 4, not 3: ${segment(jobId, 0, 4)}`);
    expect(r.stdout).toBe(`updated job ${jobId}: status chunking_complete, total_segments 3 (3 segments found)\n`);
    expect(r.code).toBe(0);
    expect(await w.getJob(jobId)).toMatchObject({ status: 'chunking_complete', total_segments: 3, title: 'kept', mode: 'sbs' });
  });

  it('without --yes and without a terminal it changes nothing and says to pass --yes', async () => {
    const q = await queues();
    const jobId = randomUUID();
    await putJob(jobId, 'created');
    await putSegments(jobId, 2);
    const r = await run(['jobs', 'recover-chunking', jobId], q);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`rugbyworker: set job ${jobId} (now created) to chunking_complete with total_segments 2: not done, no terminal to confirm on; pass --yes to do it without asking\n`);
    expect(await w.getJob(jobId)).toMatchObject({ status: 'created' });
    expect((await w.getJob(jobId))?.total_segments).toBeUndefined();
  });

  it('refuses a missing job (creating none), one already chunking_complete or completed, and one without segments', async () => {
    const q = await queues();
    const missing = randomUUID();
    await putSegments(missing, 1);
    const r1 = await run(['jobs', 'recover-chunking', missing, '--yes'], q);
    expect([r1.code, r1.stderr]).toEqual([1, `rugbyworker: no job ${missing} in the Jobs table\n`]);
    expect(await w.getJob(missing)).toBeUndefined();

    for (const status of ['chunking_complete', 'completed']) {
      const jobId = randomUUID();
      await putJob(jobId, status, { total_segments: 7 });
      await putSegments(jobId, 2);
      const r = await run(['jobs', 'recover-chunking', jobId, '--yes'], q);
      expect([r.code, r.stderr]).toEqual([1, `rugbyworker: job ${jobId} is already ${status}; refusing to overwrite it\n`]);
      expect(await w.getJob(jobId)).toMatchObject({ status, total_segments: 7 });
    }

    const bare = randomUUID();
    await putJob(bare, 'chunking_in_progress');
    const r2 = await run(['jobs', 'recover-chunking', bare, '--yes'], q);
    expect([r2.code, r2.stderr]).toEqual([1, `rugbyworker: no segments under s3://${INPUT}/segments/${bare}/\n`]);
  });

  it('when every segment finished before the recovery, says that nothing will trigger it by itself (lost-job 1)', async () => {
    const q = await queues();
    const jobId = randomUUID();
    await putJob(jobId, 'chunking_in_progress');
    await putSegments(jobId, 2);
    await putCompletions(jobId, [0, 1], 2);
    const r = await run(['jobs', 'recover-chunking', jobId, '--yes'], q);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`all 2 segments are already complete and no completion will come to trigger the reassembly: run rugbyworker jobs trigger-reassembly ${jobId}`);
  });
});

interface Diagnosis {
  job_id: string; status: string; total_segments: number | null; completions: number; final_exists: boolean;
  lock: { state: string; triggered_at?: number; started_at?: number; seconds_ago?: number };
  queues: Record<'chunking' | 'video-worker' | 'reassembly', { visible: number; inflight: number; dlq: number | null }>;
  verdict: string; next: string | null;
}

async function diagnoseJson(jobId: string, q: Queues): Promise<Diagnosis> {
  const r = await run(['jobs', 'diagnose', jobId, '--json'], q);
  if (r.code !== 0) throw new Error(`diagnose exited ${r.code}: ${r.stderr}`);
  expect(r.stdout.trim().split('\n')).toHaveLength(1);
  return JSON.parse(r.stdout) as Diagnosis;
}

/** Runs the `next` a verdict names (its words; job ids here need no quoting). */
const runNext = (next: string, q: Queues) => run(next.replace(/^rugbyworker /, '').split(' '), q);

describe('jobs diagnose (runbook 3) and trigger-reassembly (its step 4)', () => {
  it('lost-job 1: the JSON object, the verdict, and trigger-reassembly putting the lock and sending exactly {"job_id"}', async () => {
    const q = await queues();
    const jobId = randomUUID();
    await putJob(jobId, 'chunking_complete', { total_segments: 2 });
    await putCompletions(jobId, [0, 1], 2);
    await w.send(q.videoWorker.url, '{"unrelated":true}');
    await w.send(q.videoWorker.dlq, '{"dead":true}');

    const d = await diagnoseJson(jobId, q);
    expect(Object.keys(d)).toEqual(['job_id', 'status', 'total_segments', 'completions', 'lock', 'final_exists', 'queues', 'verdict', 'next']);
    expect(d).toEqual({
      job_id: jobId, status: 'chunking_complete', total_segments: 2, completions: 2, lock: { state: 'none' }, final_exists: false,
      queues: { chunking: { visible: 0, inflight: 0, dlq: 0 }, 'video-worker': { visible: 1, inflight: 0, dlq: 1 }, reassembly: { visible: 0, inflight: 0, dlq: 0 } },
      verdict: 'stuck at trigger: all 2 segments are complete and no reassembly was ever triggered (lost-job 1)',
      next: `rugbyworker jobs trigger-reassembly ${jobId}`,
    });

    const before = now();
    const t = await runNext(d.next!, q);
    expect([t.code, t.stderr]).toEqual([0, '']);
    expect(t.stdout).toMatch(new RegExp(`^triggered the reassembly of job ${jobId}: lock put \\(triggered \\d+\\), \\{"job_id":"${jobId}"\\} sent to .*-reassembly\\n$`));
    const lock = await getLock(jobId);
    expect(lock?.triggered_at).toBeGreaterThanOrEqual(before);
    expect(lock?.ttl).toBe((lock?.triggered_at as number) + NINETY_DAYS);
    expect(lock?.reassembly_started_at).toBeUndefined();
    expect(await w.drain(q.reassembly.url)).toEqual([[`{"job_id":"${jobId}"}`, undefined]]);

    // A second trigger finds the lock and refuses, saying what it holds; nothing more is sent.
    const again = await run(['jobs', 'trigger-reassembly', jobId], q);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(new RegExp(`^rugbyworker: a reassembly lock stands for job ${jobId}: triggered \\d+ s ago, not taken by a reassembly; nothing sent \\(pass --reset-lock to delete it first, the stale-lock repair\\)\\n$`));
    expect(await w.depth(q.reassembly.url)).toBe(0);
  });

  it('lost-job 2: an untaken lock whose message was lost; --reset-lock puts a new one and sends again', async () => {
    const q = await queues();
    const jobId = randomUUID();
    await putJob(jobId, 'chunking_complete', { total_segments: 1 });
    await putCompletions(jobId, [0], 1);
    await putLock(jobId, 600);
    const d = await diagnoseJson(jobId, q);
    expect(d.lock).toEqual({ state: 'triggered', triggered_at: expect.any(Number), seconds_ago: expect.any(Number) });
    expect(d.lock.seconds_ago).toBeGreaterThanOrEqual(600);
    expect(d.verdict).toMatch(/^stuck at trigger: the lock was put \d+ s ago but no reassembly took it and no reassembly message is queued: the message was lost \(lost-job 2\)$/);
    expect(d.next).toBe(`rugbyworker jobs trigger-reassembly ${jobId} --reset-lock`);

    const t = await runNext(d.next!, q);
    expect(t.code).toBe(0);
    expect(t.stdout).toContain(`deleted the reassembly lock of job ${jobId}\n`);
    expect((await getLock(jobId))?.triggered_at).toBeGreaterThan(now() - 60);
    expect(await w.drain(q.reassembly.url)).toEqual([[`{"job_id":"${jobId}"}`, undefined]]);
    // Now it waits on the reassembly, with nothing to run.
    const after = await diagnoseJson(jobId, q);
    expect(after).toMatchObject({ lock: { state: 'triggered' }, next: null });
    expect(after.verdict).toMatch(/^waiting on reassembly: triggered \d+ s ago; the reassembly message is not taken yet/);
  });

  it('lost-job 3: a reassembly dead past REASSEMBLY_STALE_SECONDS without final.mp4; the text report; the repair', async () => {
    const q = await queues();
    const jobId = randomUUID();
    await putJob(jobId, 'chunking_complete', { total_segments: 2 });
    await putCompletions(jobId, [0, 1], 2);
    await putLock(jobId, 4000, 3000);
    const d = await diagnoseJson(jobId, q);
    expect(d.lock).toMatchObject({ state: 'started', started_at: expect.any(Number) });
    expect(d.verdict).toMatch(/^stuck at reassembly: a reassembly took the job and has not been heard of for \d+ s \(stale after 1800 s\), leaving no final.mp4 \(lost-job 3\)$/);
    expect(d.next).toBe(`rugbyworker jobs trigger-reassembly ${jobId} --reset-lock`);

    const text = await run(['jobs', 'diagnose', jobId], q);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^job {2,}\S+\nstatus {2,}chunking_complete \(sbs\)\nsegments {2,}2 complete of 2\nlock {2,}started: a reassembly took it, its last heartbeat \d+ s ago\n/);
    expect(text.stdout).toMatch(/\nreassembly queue {2,}0 visible, 0 in flight, 0 in the DLQ\n/);
    expect(text.stdout).toMatch(new RegExp(`\\nnext {2,}rugbyworker jobs trigger-reassembly ${jobId} --reset-lock\\n$`));

    const t = await runNext(d.next!, q);
    expect(t.code).toBe(0);
    expect((await getLock(jobId))?.reassembly_started_at).toBeUndefined();
    expect(await w.depth(q.reassembly.url)).toBe(1);
  });

  it('a row field carrying terminal escapes (written by another actor) is shown escaped, in text and JSON', async () => {
    const q = await queues();
    const jobId = randomUUID();
    // status is any string the table holds (a newer deployment's, or anyone's who can write the table).
    await putJob(jobId, 'done\u001b]0;owned\u0007\u001b[2J\u202e', { total_segments: 1 });
    const text = await run(['jobs', 'diagnose', jobId], q);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/\nstatus +done\\x1b\]0;owned\\x07\\x1b\[2J\\u202e \(sbs\)\n/);
    const json = await run(['jobs', 'diagnose', jobId, '--json'], q);
    expect([...json.stdout].filter((c) => c.charCodeAt(0) === 0x1b || c === '\u202e')).toEqual([]);
  });

  it('chunking that stopped after its uploads: diagnose names recover-chunking; segments waiting on inference are not stuck', async () => {
    const q = await queues();
    const chunked = randomUUID();
    await putJob(chunked, 'chunking_in_progress');
    await putSegments(chunked, 2);
    const d = await diagnoseJson(chunked, q);
    expect(d).toMatchObject({ status: 'chunking_in_progress', total_segments: null, completions: 0, next: `rugbyworker jobs recover-chunking ${chunked}` });
    expect(d.verdict).toMatch(/^stuck at chunking: 2 segments uploaded but the job is still chunking_in_progress/);

    const inferring = randomUUID();
    await putJob(inferring, 'chunking_complete', { total_segments: 3 });
    await putCompletions(inferring, [0], 3);
    await w.send(q.videoWorker.url, '{"Records":[]}');
    const d2 = await diagnoseJson(inferring, q);
    expect(d2).toMatchObject({ completions: 1, next: null, verdict: 'waiting on inference: 1 of 3 segments complete; the video-worker queue holds 1 visible, 0 in flight (is segment-infer running?)' });
  });

  it('refusals: an unknown job (diagnose and trigger), a completed job, one not yet chunked', async () => {
    const q = await queues();
    const unknown = randomUUID();
    const d = await run(['jobs', 'diagnose', unknown], q);
    expect([d.code, d.stdout, d.stderr]).toEqual([1, '', `rugbyworker: no job ${unknown} in DynamoDB table ${w.tables.jobs} (JOBS_TABLE_NAME)\n`]);
    const t = await run(['jobs', 'trigger-reassembly', unknown], q);
    expect([t.code, t.stderr]).toEqual([1, `rugbyworker: no job ${unknown} in the Jobs table\n`]);
    expect(await getLock(unknown)).toBeUndefined();

    const completed = randomUUID();
    await putJob(completed, 'completed', { total_segments: 1 });
    const c = await run(['jobs', 'trigger-reassembly', completed, '--reset-lock'], q);
    expect([c.code, c.stderr]).toEqual([1, `rugbyworker: job ${completed} is already completed: nothing to reassemble\n`]);
    const early = randomUUID();
    await putJob(early, 'chunking_in_progress');
    const e = await run(['jobs', 'trigger-reassembly', early], q);
    expect(e.code).toBe(1);
    expect(e.stderr).toContain(`job ${early} is chunking_in_progress, not chunking_complete`);
    expect(await w.depth(q.reassembly.url)).toBe(0);
  });

  it('one line per failure: a missing setting (78, named), an unusable job id (64), an AWS error naming the call and resource', async () => {
    const q = await queues();
    const noTable = await run(['jobs', 'diagnose', 'x'], q, { REASSEMBLY_TRIGGERED_TABLE_NAME: '' });
    expect([noTable.code, noTable.stderr]).toEqual([78, 'rugbyworker: REASSEMBLY_TRIGGERED_TABLE_NAME is required: DynamoDB table name (jobs diagnose)\n']);
    const noBucket = await run(['jobs', 'recover-chunking', 'x'], q, { INPUT_BUCKET_NAME: '' });
    expect([noBucket.code, noBucket.stderr]).toEqual([78, 'rugbyworker: INPUT_BUCKET_NAME is required: bucket name (jobs recover-chunking)\n']);
    const badId = await run(['jobs', 'diagnose', '../etc'], q);
    expect(badId.code).toBe(64);
    expect(badId.stderr).toContain('JOB_ID "../etc": job id makes an unsafe key');

    const noSuchTable = await run(['jobs', 'diagnose', 'x'], q, { JOBS_TABLE_NAME: 'no-such-table' });
    expect(noSuchTable.code).toBe(1);
    expect(noSuchTable.stderr).toMatch(/^rugbyworker: DynamoDB GetItem on DynamoDB table no-such-table \(JOBS_TABLE_NAME\) failed: .*no such DynamoDB table.*\n$/);
    const noSuchQueue = `${q.reassembly.url}-gone`;
    const jobId = randomUUID();
    await putJob(jobId, 'chunking_complete', { total_segments: 1 });
    const t = await run(['jobs', 'trigger-reassembly', jobId], q, { REASSEMBLY_QUEUE_URL: noSuchQueue });
    expect(t.code).toBe(1);
    expect(t.stderr).toMatch(new RegExp(`^rugbyworker: SQS GetQueueAttributes \\(RedrivePolicy\\) on ${noSuchQueue} \\(REASSEMBLY_QUEUE_URL\\) failed: .+\\n$`));
    expect(await getLock(jobId)).toBeUndefined(); // the queue is opened before any lock is put
  });
});
