// The reassemble role in-process (memory queue and PipelineDb, a directory as the output
// bucket, real FFmpeg) when DynamoDB goes away after the job's lock was taken: the read of
// the completions fails, and so does giving the lock back. The engine waits the outage out
// and runs the job again on the same receive; that try must take its own unreleased lock
// again (it is fresh, and no one else holds it) and finish the job, not take it for another
// worker's, ack, and leave the job waiting for a reassembly that never comes.
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
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

/** The reassemble role in-process until its --once run is done; its log events. */
async function runOnce(queue: MemoryQueue, store: FsObjectStore, db: PipelineDb): Promise<LogEvent[]> {
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
  const start = roleDefinition('reassemble')?.start;
  if (!start) throw new Error('the reassemble role has no start()');
  const service = await start({
    config, instanceId: 'reassemble-test', logger: logger.child({ role: 'reassemble' }), metrics: new Metrics({ instanceId: 'reassemble-test', defaultMetrics: false }),
    stopping: stopping.signal, concurrency: 1, once: true, ports,
  });
  await Promise.race([service.done!, new Promise((_, reject) => setTimeout(() => reject(new Error(`not done in 30 s: ${JSON.stringify(events.slice(-8))}`)), 30_000))]);
  await service.stop(AbortSignal.timeout(5_000));
  await queue.close();
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
    expect(events.filter((e) => e.event_type === 'reassembly_failed')).toEqual([expect.objectContaining({
      error_message: `segment 1 output s3://${OUTPUT}/jobs/${jobId}/segments/1.mp4 is an HLS playlist, not a video container`,
    })]);
    expect(events.filter((e) => e.event_type === 'job_started')).toHaveLength(1);
    expect(await db.getJob(jobId)).toMatchObject({ status: 'failed' });
    expect(await store.exists(`jobs/${jobId}/final.mp4`)).toBe(false);
    expect(await queue.depth()).toEqual({ visible: 0, inflight: 0, dlq: 0 });
  }, 60_000);
});
