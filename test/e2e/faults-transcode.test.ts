// Issue 12's faults on the main job, on the shipped executable: the transcode role against
// fauxqs (SQS, S3) and the PostgREST stand-in, each behind its own fault proxy
// (test/helpers/fault-proxy.ts): SQS gone for longer than the lease, connections reset in
// mid-transfer, a slow link, refused credentials at start-up. Each scenario asserts its own
// "nothing lost, nothing duplicated": every job succeeded exactly once, the player folder
// complete, the queue empty, no work files left, the worker alive. (Each dependency down for
// 30 s mid-job, within the lease: faults-outage-rugbycodex.test.ts.)
// FAULTS_LOG_DIR=DIR keeps each worker's log lines there, for looking into a failure.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { locateFfmpeg } from '../../src/runtime/ffmpeg/index.js';
import { runExe } from '../helpers/binary.js';
import { startCredentialGate } from '../helpers/aws-credential-gate.js';
import { proxyEndpoint, type FaultProxy } from '../helpers/fault-proxy.js';
import { EMPTY, makeClip, startRugbyCodex, type RugbyCodex } from '../helpers/rugbycodex.js';
import { expectTranscodedOnce, stateWrites, workFilesLeft } from '../helpers/transcode-checks.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process.js';
import { until } from '../helpers/wait.js';

let codex: RugbyCodex;
let tmp: string;
let clip: string;
let sqsProxy: FaultProxy & { endpoint: string };
let s3Proxy: FaultProxy & { endpoint: string };
let dbProxy: FaultProxy & { endpoint: string };

beforeAll(async () => {
  const bins = await locateFfmpeg(process.env);
  tmp = await mkdtemp(join(tmpdir(), 'rw-faults-'));
  clip = join(tmp, 'match.mp4');
  [codex] = await Promise.all([startRugbyCodex(), makeClip(bins.ffmpeg, clip, 8, '640x360')]);
  [sqsProxy, s3Proxy, dbProxy] = await Promise.all([
    proxyEndpoint(codex.fauxqs.endpoint), proxyEndpoint(codex.fauxqs.endpoint), proxyEndpoint(codex.standin.url),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([sqsProxy?.close(), s3Proxy?.close(), dbProxy?.close()]);
  await codex?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

type Worker = WorkerProcess & { workDir: string };

async function startWorker(queueUrl: string, name: string, extra: Record<string, string> = {}): Promise<Worker> {
  const workDir = join(tmp, `work-${name}`);
  const env = codex.workerEnv(queueUrl, workDir, {
    AWS_ENDPOINT_URL_SQS: sqsProxy.endpoint, AWS_ENDPOINT_URL_S3: s3Proxy.endpoint, SUPABASE_URL: dbProxy.endpoint,
    HEARTBEAT_INTERVAL_SECONDS: '1', HEARTBEAT_EXTENSION_SECONDS: '10', HLS_RENDITIONS: '360', ...extra,
  });
  return Object.assign(await startWorkerProcess(['--role', 'transcode'], env, name), { workDir });
}


describe('faults during a transcode', () => {
  it('SQS unreachable for longer than the lease: aborted as lease-lost only when the lease ran out, then redone once', async () => {
    const queues = await codex.createQueues({ visibilitySeconds: 30 });
    const u = await codex.seedUpload(clip);
    const w = await startWorker(queues.queueUrl, 'sqs-long', { HEARTBEAT_EXTENSION_SECONDS: '3' });
    try {
      await codex.sqs.send(new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: u.body }));
      await w.waitFor((e) => e.event_type === 'job_started');
      const down = Date.now();
      sqsProxy.set({ kind: 'reset' });
      const lost = await w.waitFor((e) => e.event_type === 'job_lease_lost', 30_000);
      const abortedAfter = Date.now() - down;
      sqsProxy.set({ kind: 'pass' });
      await w.waitFor((e) => e.event_type === 'job_succeeded' && e.job_id === u.job, 90_000);
      expect(lost.job_id).toBe(u.job);
      // Retried while the 3 s lease held, not given up at the first failed beat.
      expect(w.events.filter((e) => e.event_type === 'heartbeat_retry').length).toBeGreaterThan(0);
      expect(abortedAfter).toBeGreaterThanOrEqual(1_500);
      // Done once: the aborted attempt published nothing, the second one everything.
      expect(stateWrites(codex, 'jobs', u.job).map((b) => b.state)).toEqual(['running', 'running', 'succeeded']);
      expect(await codex.standin.row('jobs', u.job)).toMatchObject({ state: 'succeeded', attempt: 2 });
      expect(w.events.filter((e) => e.event_type === 'transcode_completed' && e.job_id === u.job)).toHaveLength(1);
      expect(await codex.depth(queues.queueUrl)).toEqual(EMPTY);
    } finally {
      sqsProxy.set({ kind: 'pass' });
      expect(await w.stop()).toBe(0);
    }
    expect(await workFilesLeft(w.workDir)).toEqual([]);
  }, 150_000);

  it('S3 connections reset during the download and during the uploads: the job finishes once, output complete', async () => {
    const queues = await codex.createQueues({ visibilitySeconds: 30 });
    const u = await codex.seedUpload(clip);
    const w = await startWorker(queues.queueUrl, 's3');
    try {
      s3Proxy.resetAfter(100_000, 'down');
      await codex.sqs.send(new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: u.body }));
      // The download (after transcode_started) is cut after 100 kB; then the uploads after 30 kB.
      await until('the download cut', 30_000, () => s3Proxy.stats().resets > 0, { everyMs: 20 });
      const afterDownload = s3Proxy.stats().resets;
      expect(afterDownload).toBeGreaterThanOrEqual(1);
      s3Proxy.resetAfter(30_000, 'up');
      const end = await w.waitFor((e) => ['job_succeeded', 'job_failed', 'job_retry', 'job_lease_lost'].includes(String(e.event_type)) && e.job_id === u.job, 90_000);
      expect(end.event_type).toBe('job_succeeded');
      expect(s3Proxy.stats().resets).toBeGreaterThan(afterDownload);
      await expectTranscodedOnce(codex, w.events, u);
      expect(await codex.depth(queues.queueUrl)).toEqual(EMPTY);
    } finally {
      expect(await w.stop()).toBe(0);
    }
    expect(await workFilesLeft(w.workDir)).toEqual([]);
  }, 150_000);

  it('a 2 Mbit/s link with 200 ms latency to S3 and SQS: the lease is kept throughout, progress moves, done once', async () => {
    const queues = await codex.createQueues({ visibilitySeconds: 30 });
    const u = await codex.seedUpload(clip);
    // Extensions of 3 s every second: a beat that took too long would let the lease lapse.
    const w = await startWorker(queues.queueUrl, 'slow', { HEARTBEAT_EXTENSION_SECONDS: '3', SQS_VISIBILITY_TIMEOUT: '30' });
    s3Proxy.set({ kind: 'bandwidth', bytesPerSecond: 250_000, latencyMs: 200 });
    sqsProxy.set({ kind: 'latency', ms: 200 });
    try {
      const t0 = Date.now();
      await codex.sqs.send(new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: u.body }));
      const end = await w.waitFor((e) => ['job_succeeded', 'job_failed', 'job_retry', 'job_lease_lost'].includes(String(e.event_type)) && e.job_id === u.job, 120_000);
      expect(end.event_type).toBe('job_succeeded');
      const seconds = (Date.now() - t0) / 1000;
      expect(seconds).toBeGreaterThan(4); // the link really was slow
      await expectTranscodedOnce(codex, w.events, u);
      const beats = w.events.filter((e) => e.event_type === 'heartbeat_extended' && e.job_id === u.job).length;
      expect(beats).toBeGreaterThanOrEqual(Math.floor(seconds / 2));
      expect(w.events.filter((e) => e.event_type === 'heartbeat_failed')).toEqual([]);
      const percents = w.events.filter((e) => e.event_type === 'transcode_progress' && e.job_id === u.job).map((e) => Number(e.percent));
      expect(percents.length).toBeGreaterThanOrEqual(2);
      expect([...percents].sort((a, b) => a - b)).toEqual(percents);
      expect(percents.at(-1)!).toBeGreaterThan(percents[0]!);
      expect(await codex.depth(queues.queueUrl)).toEqual(EMPTY);
    } finally {
      s3Proxy.set({ kind: 'pass' });
      sqsProxy.set({ kind: 'pass' });
      expect(await w.stop()).toBe(0);
    }
  }, 150_000);

  it('Supabase refusing the service role key at start-up: exit 78 at once naming SUPABASE_SERVICE_ROLE_KEY', async () => {
    const queues = await codex.createQueues({ visibilitySeconds: 30 });
    const started = Date.now();
    const r = await runExe(['--role', 'transcode'], {
      env: codex.workerEnv(queues.queueUrl, join(tmp, 'work-key'), { SUPABASE_SERVICE_ROLE_KEY: 'not-the-key', AWS_ENDPOINT_URL_S3: s3Proxy.endpoint }),
      timeoutMs: 30_000,
    });
    expect(r.code).toBe(78);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/Supabase refused the credentials \(SUPABASE_SERVICE_ROLE_KEY\): .*401/);
    expect(r.stdout + r.stderr).not.toContain('not-the-key');
  }, 60_000);

  it('AWS refusing the access key at start-up: exit 78 at once naming the AWS credential settings', async () => {
    const queues = await codex.createQueues({ visibilitySeconds: 30 });
    const gate = await startCredentialGate(codex.fauxqs.endpoint, ['test']);
    try {
      const started = Date.now();
      const r = await runExe(['--role', 'transcode'], {
        env: codex.workerEnv(queues.queueUrl, join(tmp, 'work-aws-key'), { AWS_ENDPOINT_URL_SQS: gate.endpoint, AWS_ACCESS_KEY_ID: 'AKIAWRONGWRONGWRONG1', AWS_SECRET_ACCESS_KEY: 'wrong-secret-never-printed' }),
        timeoutMs: 30_000,
      });
      expect(r.code).toBe(78);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(gate.refused()).toBeGreaterThan(0);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/refused the credentials \(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or the instance\/task role\): .*InvalidClientTokenId|security token/);
      expect(r.stdout + r.stderr).not.toContain('wrong-secret-never-printed');
      expect(await codex.depth(queues.queueUrl)).toEqual(EMPTY);
    } finally {
      await gate.close();
    }
  }, 60_000);
});

