// SIGTERM to the shipped executable with transcode jobs in flight (issue 3, "Done when"):
// both jobs get the grace, are then aborted, and their messages are visible again within a
// second of the grace expiring (the queue's visibility timeout is 300 s, so only a release
// can do that). None is lost, none acked, no output is published, and the next worker
// finishes both. Real fauxqs SQS + S3, real ffmpeg, the PostgREST stand-in on PostgreSQL.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { ListObjectsV2Command as ListObjects } from '@aws-sdk/client-s3';
import { locateFfmpeg } from '../../src/runtime/ffmpeg/index.js';
import { spawnExe, waitForExit } from '../helpers/binary.js';
import { BUCKET, EMPTY, makeClip, startRugbyCodex, type RugbyCodex, type Upload } from '../helpers/rugbycodex.js';

type LogEvent = Record<string, unknown> & { event_type?: string; job_id?: string };

const GRACE_SECONDS = 2;
let codex: RugbyCodex;
let tmp: string;
let clip: string;

beforeAll(async () => {
  const bins = await locateFfmpeg(process.env);
  tmp = await mkdtemp(join(tmpdir(), 'rw-sigterm-'));
  clip = join(tmp, 'match.mp4');
  [codex] = await Promise.all([startRugbyCodex(), makeClip(bins.ffmpeg, clip, 40)]);
}, 60_000);

afterAll(async () => {
  await codex?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** Starts the executable as a transcode worker; `events` fills as it logs, `until` waits for a condition on them. */
function startWorker(env: Record<string, string>) {
  const child = spawnExe(['--role', 'transcode', '--concurrency', '2'], { cwd: tmp, env });
  const events: LogEvent[] = [];
  const waiters: Array<{ test: () => boolean; resolve: () => void }> = [];
  let stderr = '';
  let buf = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => { stderr += c; });
  child.stdout!.setEncoding('utf8').on('data', (c: string) => {
    buf += c;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      events.push(JSON.parse(buf.slice(0, nl)) as LogEvent);
      buf = buf.slice(nl + 1);
    }
    for (const w of waiters.filter((x) => x.test())) { waiters.splice(waiters.indexOf(w), 1); w.resolve(); }
  });
  const of = (type: string) => events.filter((e) => e.event_type === type);
  const until = (test: () => boolean, ms: number, what: string) => new Promise<void>((resolve, reject) => {
    if (test()) { resolve(); return; }
    const timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms: ${stderr} ${JSON.stringify(events.slice(-4))}`)), ms);
    waiters.push({ test, resolve: () => { clearTimeout(timer); resolve(); } });
  });
  return { child, events, of, until, stderr: () => stderr };
}

describe('SIGTERM to the executable with transcode jobs in flight', () => {
  it('gives them the grace, then releases both within a second; none lost or acked; a new worker finishes them', async () => {
    const queues = await codex.createQueues({ visibilitySeconds: 300 });
    const uploads: Upload[] = [await codex.seedUpload(clip), await codex.seedUpload(clip)];
    for (const u of uploads) await codex.sqs.send(new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: u.body }));
    const work = join(tmp, 'work-a');

    const a = startWorker(codex.workerEnv(queues.queueUrl, work, { SHUTDOWN_GRACE_SECONDS: String(GRACE_SECONDS), RC_DEVICE_NAME: 'worker-a' }));
    // Both jobs are past download and probe, encoding, before the signal.
    const encoding = () => new Set(a.of('transcode_progress').filter((e) => e.phase === 'transcoding').map((e) => e.job_id)).size === 2;
    await a.until(encoding, 45_000, 'both jobs encoding');
    expect(await codex.depth(queues.queueUrl)).toEqual({ visible: 0, inFlight: 2, delayed: 0 });

    const signalledAt = Date.now();
    a.child.kill('SIGTERM');
    // Poll the queue until both messages are visible again.
    let visibleAt = 0;
    while (Date.now() - signalledAt < (GRACE_SECONDS + 10) * 1000) {
      const d = await codex.depth(queues.queueUrl);
      if (d.visible === 2) { visibleAt = Date.now(); break; }
      await new Promise((r) => setTimeout(r, 50));
    }
    const code = await waitForExit(a.child, 15_000);
    expect({ code, stderr: a.stderr() }).toEqual({ code: 0, stderr: '' });
    expect(visibleAt).toBeGreaterThan(0);
    const graceEndsAt = signalledAt + GRACE_SECONDS * 1000;
    // Not dropped at the signal (the grace was given), back within a second of it ending.
    expect(visibleAt).toBeGreaterThanOrEqual(graceEndsAt - 250);
    expect(visibleAt - graceEndsAt).toBeLessThan(1000);

    // Nothing finished, nothing acked, nothing marked done or failed, nothing published.
    expect(a.of('job_succeeded')).toEqual([]);
    expect(a.of('transcode_completed')).toEqual([]);
    expect(a.of('job_aborted').map((e) => e.job_id).sort()).toEqual(uploads.map((u) => u.job).sort());
    for (const u of uploads) {
      expect(await codex.standin.row('jobs', u.job)).toMatchObject({ state: 'running', attempt: 1, finished_at: null });
      expect(await codex.standin.row('media_assets', u.asset)).toMatchObject({ processing_stage: 'transcoding', status: 'uploaded', streaming_ready: false });
      const listed = await codex.s3.send(new ListObjects({ Bucket: BUCKET, Prefix: `${u.streaming}index.m3u8` }));
      expect(listed.KeyCount ?? 0).toBe(0);
    }
    expect(await readdir(work)).toEqual([]); // scratch space removed on the abort path too
    expect(await codex.depth(queues.dlqUrl!)).toEqual(EMPTY);

    // None lost: a second worker receives both (second delivery) and completes them.
    const b = startWorker(codex.workerEnv(queues.queueUrl, join(tmp, 'work-b'), { RC_DEVICE_NAME: 'worker-b' }));
    try {
      await b.until(() => b.of('job_succeeded').length === 2, 120_000, 'worker b finishing both jobs');
    } finally {
      b.child.kill('SIGTERM');
    }
    expect(await waitForExit(b.child, 15_000)).toBe(0);
    expect(b.of('job_started').map((e) => e.receive_count)).toEqual([2, 2]);
    for (const u of uploads) {
      expect(await codex.standin.row('jobs', u.job)).toMatchObject({ state: 'succeeded', attempt: 2, progress: 1 });
      expect(await codex.standin.row('media_assets', u.asset)).toMatchObject({ status: 'ready', processing_stage: 'complete', streaming_ready: true });
      const listed = await codex.s3.send(new ListObjects({ Bucket: BUCKET, Prefix: `${u.streaming}index.m3u8` }));
      expect(listed.KeyCount).toBe(1);
    }
    expect(await codex.depth(queues.queueUrl)).toEqual(EMPTY);
    expect(await codex.depth(queues.dlqUrl!)).toEqual(EMPTY);
    const left = await codex.sqs.send(new ReceiveMessageCommand({ QueueUrl: queues.queueUrl, WaitTimeSeconds: 0 }));
    expect(left.Messages ?? []).toEqual([]);
  }, 240_000);
});
