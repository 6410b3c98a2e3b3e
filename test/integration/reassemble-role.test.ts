// The reassemble role in-process (memory queue and PipelineDb, a directory as the output
// bucket, real FFmpeg) when DynamoDB goes away after the job's lock was taken: the read of
// the completions fails, and so does giving the lock back. The engine waits the outage out
// and runs the job again on the same receive; that try must take its own unreleased lock
// again (it is fresh, and no one else holds it) and finish the job, not take it for another
// worker's, ack, and leave the job waiting for a reassembly that never comes.
// And a job that can never be joined (a segment output that is no video, or one FFmpeg
// cannot read): failed once, acked, and the trigger reconciler leaves it alone (issue 21).
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { pino } from 'pino';
import { roleDefinition } from '../../roles/index.js';
import { MemoryPipelineDb } from '../../src/adapters/db/memory-pipeline.js';
import { MemoryQueue } from '../../src/adapters/queue/memory.js';
import { FsObjectStore } from '../../src/adapters/storage/fs.js';
import { loadConfig } from '../../src/runtime/config/load.js';
import { Metrics } from '../../src/runtime/metrics.js';
import { locateFfmpeg } from '../../src/runtime/ffmpeg/index.js';
import type { PipelineDb, RolePorts } from '../../src/ports/index.js';

type LogEvent = Record<string, unknown> & { event_type?: string };

const OUTPUT = 'stereo-output';
let tmp: string;
let segments: string[];

beforeAll(async () => {
  const { ffmpeg } = await locateFfmpeg(process.env);
  tmp = await mkdtemp(join(tmpdir(), 'rw-reassemble-'));
  const clip = join(tmp, 'clip.mp4');
  await execa(ffmpeg, ['-hide_banner', '-nostdin', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=30', '-t', '4',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '30', '-pix_fmt', 'yuv420p', '-y', clip]);
  await mkdir(join(tmp, 'parts'));
  await execa(ffmpeg, ['-hide_banner', '-nostdin', '-v', 'error', '-i', clip, '-c', 'copy', '-f', 'segment', '-segment_time', '2', '-reset_timestamps', '1', join(tmp, 'parts', 'seg_%02d.mp4')]);
  segments = (await readdir(join(tmp, 'parts'))).sort().map((f) => join(tmp, 'parts', f));
}, 60_000);

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** Connection reset, as the DynamoDB client's error carries it. */
const outage = (): Error => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });

/** A stereo role (reassemble by default) in-process until its --once run is done; its log events. */
async function runOnce(queue: MemoryQueue, store: FsObjectStore, db: PipelineDb, role = 'reassemble'): Promise<LogEvent[]> {
  const config = loadConfig({ env: {
    QUEUE_BACKEND: 'memory', OUTPUT_BUCKET_NAME: OUTPUT, WORK_DIR: join(tmp, 'work'),
    HEARTBEAT_INTERVAL_SECONDS: '2', HEARTBEAT_EXTENSION_SECONDS: '10', SQS_LONG_POLL_WAIT_SECONDS: '0',
  } });
  const events: LogEvent[] = [];
  const logger = pino({ level: 'info', base: undefined }, { write: (line: string) => void events.push(JSON.parse(line) as LogEvent) });
  const ports: RolePorts = {
    queue: async () => queue,
    storage: () => store,
    pipelineDb: async () => db,
    mediaDb: () => { throw new Error('no media database here'); },
    inference: () => Promise.reject(new Error('no inference here')),
  };
  const stopping = new AbortController();
  const start = roleDefinition(role)?.start;
  if (!start) throw new Error(`the ${role} role has no start()`);
  const service = await start({
    config, instanceId: 'reassemble-test', logger: logger.child({ role }), metrics: new Metrics({ instanceId: 'reassemble-test', defaultMetrics: false }),
    stopping: stopping.signal, concurrency: 1, once: true, ports,
  });
  await Promise.race([service.done!, new Promise((_, reject) => setTimeout(() => reject(new Error(`not done in 30 s: ${JSON.stringify(events.slice(-8))}`)), 30_000))]);
  await service.stop(AbortSignal.timeout(5_000));
  return events;
}

describe('reassemble when DynamoDB goes away after the lock was taken', () => {
  it('the next try takes its own unreleased lock again and completes the job on the same receive', async () => {
    expect(segments).toHaveLength(2);
    const jobId = randomUUID();
    const now = Math.floor(Date.now() / 1000);
    const store = new FsObjectStore({ root: join(tmp, 'bucket'), bucket: OUTPUT });
    for (const [i, file] of segments.entries()) await store.upload(file, `jobs/${jobId}/segments/${i}.mp4`, 'video/mp4');
    const memory = new MemoryPipelineDb();
    memory.seedJob({ job_id: jobId, mode: 'sbs', status: 'chunking_complete', total_segments: 2, created_at: now });
    for (const i of [0, 1]) await memory.putCompletion({ jobId, segmentIndex: i, outputS3Uri: `s3://${OUTPUT}/jobs/${jobId}/segments/${i}.mp4`, completedAt: now, totalSegments: 2 });
    expect(await memory.putLock(jobId, now)).toBe(true);
    // DynamoDB drops out right after the lock is taken: one completions read and one release fail.
    const failing = new Set(['completions', 'releaseLock']);
    const db = new Proxy(memory, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (failing.delete(String(prop))) return Promise.reject(outage());
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    }) as PipelineDb;

    const queue = new MemoryQueue({ name: 'reassembly', visibilitySeconds: 30, maxReceiveCount: 5 });
    await queue.send(JSON.stringify({ job_id: jobId }));
    const events = await runOnce(queue, store, db);
    await queue.close();
    const of = (type: string): LogEvent[] => events.filter((e) => e.event_type === type);
    expect(failing).toEqual(new Set());
    expect(of('job_waiting')).toHaveLength(1);
    expect(of('reassembly_release_failed')).toHaveLength(1);
    expect(of('reassembly_skipped')).toEqual([]);
    expect(of('reassembly_taken_over')).toEqual([]);
    expect(of('reassembly_completed')).toEqual([expect.objectContaining({ total_segments: 2 })]);
    expect(events.filter((e) => e.event_type === 'job_started').map((e) => e.receive_count)).toEqual([1]);
    expect(await memory.getJob(jobId)).toMatchObject({ status: 'completed', completedAt: expect.any(Number) });
    expect(await store.exists(`jobs/${jobId}/final.mp4`)).toBe(true);
    expect(await queue.peekDeadLetters(10)).toEqual([]);
    expect(await queue.depth()).toEqual({ visible: 0, inflight: 0, dlq: 0 });
  }, 60_000);
});

describe('reassemble given a segment output that is no video (issue 20)', () => {
  it('an HLS playlist naming a file on the worker: the job failed with one line, acked, no final.mp4', async () => {
    const jobId = randomUUID();
    const now = Math.floor(Date.now() / 1000);
    const store = new FsObjectStore({ root: join(tmp, 'bucket'), bucket: OUTPUT });
    await store.upload(segments[0]!, `jobs/${jobId}/segments/0.mp4`, 'video/mp4');
    // What a model server (or anyone who can write the output bucket) could put there.
    const playlist = join(tmp, 'playlist.mp4');
    await writeFile(playlist, `#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nfile://${segments[1]}\n#EXT-X-ENDLIST\n`);
    await store.upload(playlist, `jobs/${jobId}/segments/1.mp4`, 'video/mp4');
    const db = new MemoryPipelineDb();
    db.seedJob({ job_id: jobId, mode: 'sbs', status: 'chunking_complete', total_segments: 2, created_at: now });
    for (const i of [0, 1]) await db.putCompletion({ jobId, segmentIndex: i, outputS3Uri: `s3://${OUTPUT}/jobs/${jobId}/segments/${i}.mp4`, completedAt: now, totalSegments: 2 });
    expect(await db.putLock(jobId, now)).toBe(true);

    const queue = new MemoryQueue({ name: 'reassembly', visibilitySeconds: 30, maxReceiveCount: 5 });
    await queue.send(JSON.stringify({ job_id: jobId }));
    const events = await runOnce(queue, store, db);
    await queue.close();
    expect(events.filter((e) => e.event_type === 'reassembly_failed')).toEqual([expect.objectContaining({
      error_message: `segment 1 output s3://${OUTPUT}/jobs/${jobId}/segments/1.mp4 is an HLS playlist, not a video container`,
    })]);
    expect(events.filter((e) => e.event_type === 'job_started')).toHaveLength(1);
    expect(await db.getJob(jobId)).toMatchObject({ status: 'failed' });
    expect(await store.exists(`jobs/${jobId}/final.mp4`)).toBe(false);
    expect(await queue.depth()).toEqual({ visible: 0, inflight: 0, dlq: 0 });
  }, 60_000);
});

describe('reassemble given a segment output FFmpeg cannot read (issue 21)', () => {
  it('the job failed exactly once, its message acked; the reconciler then sends nothing, and a duplicate message changes nothing', async () => {
    const jobId = randomUUID();
    const now = Math.floor(Date.now() / 1000);
    const store = new FsObjectStore({ root: join(tmp, 'bucket'), bucket: OUTPUT });
    await store.upload(segments[0]!, `jobs/${jobId}/segments/0.mp4`, 'video/mp4');
    // A model server that died mid-write: an MP4 cut short, a container FFmpeg accepts and cannot read (exit 1, "moov atom not found").
    const cut = join(tmp, 'cut.mp4');
    const whole = await readFile(segments[1]!);
    await writeFile(cut, whole.subarray(0, Math.floor(whole.length * 0.6)));
    await store.upload(cut, `jobs/${jobId}/segments/1.mp4`, 'video/mp4');
    const db = new MemoryPipelineDb();
    db.seedJob({ job_id: jobId, mode: 'sbs', status: 'chunking_complete', total_segments: 2, created_at: now });
    for (const i of [0, 1]) await db.putCompletion({ jobId, segmentIndex: i, outputS3Uri: `s3://${OUTPUT}/jobs/${jobId}/segments/${i}.mp4`, completedAt: now, totalSegments: 2 });
    // Triggered two minutes ago: were the job left chunking_complete with its lock given back,
    // the reconciler would take the message for lost (past its 60 s grace) and send it again.
    expect(await db.putLock(jobId, now - 120)).toBe(true);

    const queue = new MemoryQueue({ name: 'reassembly', visibilitySeconds: 30, maxReceiveCount: 5 });
    await queue.send(JSON.stringify({ job_id: jobId }));
    const reassembled = await runOnce(queue, store, db);
    const failed = reassembled.filter((e) => e.event_type === 'reassembly_failed');
    expect(failed).toEqual([expect.objectContaining({ error_message: expect.stringMatching(new RegExp(`^segment 1 output s3://${OUTPUT}/jobs/${jobId}/segments/1\\.mp4 is not readable as video \\(ffprobe exit code 1: Invalid data found when processing input\\)$`)) })]);
    expect(reassembled.filter((e) => e.event_type === 'job_started')).toHaveLength(1);
    expect(reassembled.filter((e) => e.event_type === 'job_retry')).toEqual([]);
    expect(reassembled.find((e) => e.event_type === 'job_failed')).toMatchObject({ permanent: true, recorded: true });
    expect(await db.getJob(jobId)).toMatchObject({ status: 'failed' });
    expect(await db.getLock(jobId)).toMatchObject({ reassemblyStartedAt: null }); // given back, as any failed try gives it
    expect(await queue.depth()).toEqual({ visible: 0, inflight: 0, dlq: 0 });

    // The reconciler's pass: a failed job is not chunking_complete, so nothing is triggered or resent.
    const reconciled = await runOnce(queue, store, db, 'trigger');
    expect(reconciled.filter((e) => e.event_type === 'trigger_pass_completed').map((e) => e.msg)).toEqual(['trigger pass: {}']);
    expect(reconciled.filter((e) => ['reassembly_resent', 'reassembly_triggered', 'reassembly_lock_reset'].includes(String(e.event_type)))).toEqual([]);
    expect(await queue.depth()).toEqual({ visible: 0, inflight: 0, dlq: 0 });

    // A duplicate of the message (a lost-job resend that raced the failure): skipped, the job failed once.
    await queue.send(JSON.stringify({ job_id: jobId }));
    const again = await runOnce(queue, store, db);
    await queue.close();
    expect(again.filter((e) => e.event_type === 'reassembly_skipped')).toEqual([expect.objectContaining({ status: 'failed' })]);
    expect(again.filter((e) => e.event_type === 'reassembly_failed')).toEqual([]);
    expect(await db.getJob(jobId)).toMatchObject({ status: 'failed' });
    expect(await store.exists(`jobs/${jobId}/final.mp4`)).toBe(false);
  }, 60_000);
});
