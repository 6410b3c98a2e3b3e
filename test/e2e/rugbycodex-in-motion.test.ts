// Issue 18: the transcode role on the executable against RugbyCodex in motion, not a still
// copy of its tables (RUGBYCODEX.md §"The other actors"): complete-upload replayed at every
// write of a job's lifecycle, two workers sharing one queue (a second message mid-encode, the
// holder SIGKILLed), and the reconciler re-sending a lost message. Every scenario asserts: the
// job succeeded exactly once, its asset ends complete/ready/streaming_ready, at most one
// encode ran to the end, nothing dead-lettered, the queue empty.
// FFmpeg is slowed (test/helpers/throttle.ts), at veryfast, so that the encode spans several
// progress saves (the ultrafast default finishes the long clip within one even throttled).
// FAULTS_LOG_DIR=DIR keeps each worker's log lines there.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { locateFfmpeg } from '../../src/runtime/ffmpeg/index.js';
import { replayCompleteUpload, type CompleteUploadRun } from '../helpers/complete-upload.js';
import type { RecordedRequest, Row } from '../helpers/postgrest-standin.js';
import { EMPTY, makeClip, startRugbyCodex, type RugbyCodex, type Upload } from '../helpers/rugbycodex.js';
import { throttleChildren } from '../helpers/throttle.js';
import { workFilesLeft } from '../helpers/transcode-checks.js';
import { startWorkerProcess, type LogEvent, type WorkerProcess } from '../helpers/worker-process.js';
import { until } from '../helpers/wait.js';

let codex: RugbyCodex;
let tmp: string;
let clip: string; // 8 s
let longClip: string; // 60 s: an encode that spans several 5 s progress saves, throttled

beforeAll(async () => {
  const bins = await locateFfmpeg(process.env);
  tmp = await mkdtemp(join(tmpdir(), 'rw-motion-'));
  clip = join(tmp, 'match.mp4');
  longClip = join(tmp, 'long.mp4');
  [codex] = await Promise.all([startRugbyCodex(), makeClip(bins.ffmpeg, clip, 8, '640x360'), makeClip(bins.ffmpeg, longClip, 60, '640x360')]);
}, 60_000);

afterAll(async () => {
  await codex?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

type Worker = WorkerProcess & { workDir: string; unthrottle: () => Promise<void> };

async function startWorker(queueUrl: string, name: string, extra: Record<string, string> = {}): Promise<Worker> {
  const workDir = join(tmp, `work-${name}`);
  const env = codex.workerEnv(queueUrl, workDir, { HLS_RENDITIONS: '360', HLS_PRESET: 'veryfast', RC_DEVICE_NAME: name, ...extra });
  const w = await startWorkerProcess(['--role', 'transcode'], env, name);
  const throttle = throttleChildren(w.child.pid!, 'ffmpeg', { runMs: 120, periodMs: 400 });
  return Object.assign(w, { workDir, unthrottle: () => throttle.stop() });
}

/** Stops each worker still running: a clean exit, no work files left (a SIGKILLed one keeps its own). */
async function stopAll(workers: Worker[]): Promise<void> {
  await Promise.all(workers.map((w) => w.unthrottle()));
  const live = workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
  expect(await Promise.all(live.map((w) => w.stop()))).toEqual(live.map(() => 0));
  for (const w of live) expect(await workFilesLeft(w.workDir)).toEqual([]);
}

const ofJob = (workers: Worker[], type: string, job: string): LogEvent[] => workers.flatMap((w) => w.events.filter((e) => e.event_type === type && e.job_id === job));

/** Writes of one job's rows that PostgreSQL applied (a conditional write that matched nothing is not one). */
function applied(table: 'jobs' | 'media_assets', id: string, pred: (body: Row, r: RecordedRequest) => boolean): RecordedRequest[] {
  return codex.standin.requests.filter((r) => r.method === 'PATCH' && r.table === table && r.query.id === `eq.${id}` && (r.rows ?? 0) > 0 && pred(r.body as Row, r));
}

const playable = async (u: Upload): Promise<boolean> => {
  const a = await codex.standin.row('media_assets', u.asset);
  return a?.processing_stage === 'complete' && a.status === 'ready' && a.streaming_ready === true;
};

/** The job succeeded once, its asset playable, one encode finished, the queue and its DLQ empty. */
async function expectDoneOnce(workers: Worker[], u: Upload, queues: { queueUrl: string; dlqUrl: string | null }): Promise<void> {
  expect(await codex.standin.row('jobs', u.job)).toMatchObject({ state: 'succeeded', progress: 1 });
  expect(await codex.standin.row('media_assets', u.asset)).toMatchObject({ processing_stage: 'complete', status: 'ready', streaming_ready: true });
  expect(applied('jobs', u.job, (b) => b.state === 'succeeded')).toHaveLength(1);
  expect(ofJob(workers, 'transcode_completed', u.job)).toHaveLength(1);
  expect(ofJob(workers, 'transcode_failed', u.job)).toEqual([]);
  expect(await codex.depth(queues.queueUrl)).toEqual(EMPTY);
  expect(await codex.depth(queues.dlqUrl!)).toEqual(EMPTY);
}

describe('RugbyCodex in motion', () => {
  it('complete-upload at every write of the transcode lifecycle: each job succeeds once, ends playable, one encode, nothing dead-lettered', async () => {
    const queues = await codex.createQueues({ visibilitySeconds: 30 });
    // Where complete-upload runs again, after which request of the worker's (on that job).
    type Point = 'before start' | 'after running' | 'mid-encode' | 'after transcoded' | 'after succeeded' | 'after complete';
    const at: Record<Point, (r: RecordedRequest, u: Upload) => boolean> = {
      'before start': (r, u) => r.method === 'GET' && r.table === 'jobs' && r.query.id === `eq.${u.job}`,
      'after running': (r, u) => isPatch(r, 'jobs', u.job) && (r.body as Row).state === 'running',
      'mid-encode': (r, u) => isPatch(r, 'media_assets', u.asset) && r.query.processing_stage === 'in.(uploaded,transcoding)' && Number((r.body as Row).transcode_progress) > 0,
      'after transcoded': (r, u) => isPatch(r, 'media_assets', u.asset) && (r.body as Row).processing_stage === 'transcoded',
      'after succeeded': (r, u) => isPatch(r, 'jobs', u.job) && (r.body as Row).state === 'succeeded',
      'after complete': (r, u) => isPatch(r, 'media_assets', u.asset) && (r.body as Row).processing_stage === 'complete',
    };
    const points = Object.keys(at) as Point[];
    const uploads = new Map<Point, Upload>();
    for (const p of points) uploads.set(p, await codex.seedUpload(p === 'mid-encode' ? longClip : clip));
    const replays = new Map<Point, CompleteUploadRun>();
    codex.standin.onResponse(async (r) => {
      if ((r.rows ?? 0) === 0) return;
      for (const p of points) {
        const u = uploads.get(p)!;
        if (!replays.has(p) && at[p](r, u)) replays.set(p, await replayCompleteUpload(codex, queues.queueUrl, u));
      }
    });
    const workers = [
      await startWorker(queues.queueUrl, 'jetson-a', { CONCURRENCY: '3' }),
      await startWorker(queues.queueUrl, 'jetson-b', { CONCURRENCY: '3' }),
    ];
    try {
      for (const u of uploads.values()) await codex.sqs.send(new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: u.body }));
      await until('every job done and both of its messages handled', 120_000, async () =>
        replays.size === points.length
        && (await Promise.all([...uploads.values()].map(playable))).every(Boolean)
        && [...uploads.values()].every((u) => ofJob(workers, 'job_succeeded', u.job).length === 2)
        && JSON.stringify(await codex.depth(queues.queueUrl)) === JSON.stringify(EMPTY), { everyMs: 250 });
      for (const p of points) {
        const u = uploads.get(p)!;
        await expectDoneOnce(workers, u, queues);
        // One claim, and the second message acked without a second encode.
        expect([p, ofJob(workers, 'transcode_started', u.job).length]).toEqual([p, 1]);
      }
      // Mid-encode: complete-upload's `uploaded` was written over by the next progress write.
      const mid = uploads.get('mid-encode')!;
      const reset = replays.get('mid-encode')!.at;
      const after = applied('media_assets', mid.asset, (b) => b.processing_stage === 'transcoding' && Number(b.transcode_progress) > 0).filter((r) => r.at > reset);
      expect(after.length).toBeGreaterThanOrEqual(1);
      // After complete: the second message found the asset moved back and restored it.
      expect(ofJob(workers, 'transcode_asset_restored', uploads.get('after complete')!.job).length).toBeGreaterThanOrEqual(1);
    } finally {
      codex.standin.onResponse(null);
      await stopAll(workers);
    }
  }, 240_000);

  it('two workers on one queue: a second message mid-encode is acked without work; the holder SIGKILLed, its job finishes once on the other', async () => {
    const queues = await codex.createQueues({ visibilitySeconds: 30 });
    const u = await codex.seedUpload(longClip);
    // Short leases, so the dead holder's message is back within seconds.
    const lease = { HEARTBEAT_INTERVAL_SECONDS: '1', HEARTBEAT_EXTENSION_SECONDS: '4', SQS_VISIBILITY_TIMEOUT: '4' };
    const a = await startWorker(queues.queueUrl, 'holder', lease);
    const workers = [a];
    try {
      await codex.sqs.send(new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: u.body }));
      await a.waitFor((e) => e.event_type === 'transcode_progress' && e.phase === 'transcoding' && e.job_id === u.job);
      // Killed only once the heartbeat has replaced the lease sized from the video (5 min) by a 4 s one.
      await a.waitFor((e) => e.event_type === 'heartbeat_extended' && e.new_timeout_seconds === 4 && e.job_id === u.job);
      const b = await startWorker(queues.queueUrl, 'other', lease);
      workers.push(b);
      const second = await replayCompleteUpload(codex, queues.queueUrl, u);
      const skipped = await b.waitFor((e) => e.event_type === 'transcode_skipped' && e.job_id === u.job);
      expect(skipped).toMatchObject({ message_id: second.messageId, reason: expect.stringContaining('another delivery holds it (holder)') });
      expect(a.child.exitCode).toBeNull(); // still encoding

      await a.unthrottle();
      a.child.kill('SIGKILL');
      await b.waitFor((e) => e.event_type === 'job_succeeded' && e.job_id === u.job && e.message_id !== second.messageId, 60_000);
      expect(ofJob(workers, 'transcode_taking_over', u.job)).toEqual([expect.objectContaining({ reason: expect.stringContaining('message came back') })]);
      expect(ofJob(workers, 'transcode_started', u.job).map((e) => e.instance_id)).toEqual(['holder', 'other']);
      await expectDoneOnce(workers, u, queues);
      expect(applied('jobs', u.job, (body) => body.state === 'running')).toHaveLength(2);
    } finally {
      await stopAll(workers);
    }
  }, 120_000);

  it('the reconciler: a queued job whose message was never sent is sent once; one whose message still waits is not encoded twice', async () => {
    const queues = await codex.createQueues({ visibilitySeconds: 30 });
    const lost = await codex.seedUpload(clip); // queued since T0, no message
    const waiting = await codex.seedUpload(clip); // queued since T0, its message delayed in the queue
    await codex.sqs.send(new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: waiting.body, DelaySeconds: 6 }));
    // Jobs untouched for 3 s are re-sent; passes every second.
    const w = await startWorker(queues.queueUrl, 'reconciler', { TRANSCODE_REQUEUE_MINUTES: '0.05', CONCURRENCY: '2' });
    try {
      await until('both jobs done and the delayed message handled', 90_000, async () =>
        (await playable(lost)) && (await playable(waiting)) && ofJob([w], 'job_succeeded', waiting.job).length === 2
        && JSON.stringify(await codex.depth(queues.queueUrl)) === JSON.stringify(EMPTY), { everyMs: 250 });
      for (const u of [lost, waiting]) {
        expect(ofJob([w], 'transcode_requeued', u.job)).toEqual([expect.objectContaining({ reason: 'queued' })]);
        expect(ofJob([w], 'transcode_started', u.job)).toHaveLength(1);
        await expectDoneOnce([w], u, queues);
      }
      // The delayed original came after the re-sent copy, and was acked without work.
      expect(ofJob([w], 'transcode_skipped', waiting.job)).toHaveLength(1);
      // Done jobs are not queued any more: nothing more is re-sent.
      await new Promise((r) => setTimeout(r, 2500));
      expect(w.events.filter((e) => e.event_type === 'transcode_requeued')).toHaveLength(2);
    } finally {
      await stopAll([w]);
    }
  }, 120_000);
});

function isPatch(r: RecordedRequest, table: string, id: string): boolean {
  return r.method === 'PATCH' && r.table === table && r.query.id === `eq.${id}`;
}
