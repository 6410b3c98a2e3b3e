// Issue 12's faults on the main job, on the shipped executable: the transcode role against
// fauxqs (SQS, S3) and the PostgREST stand-in, each behind its own fault proxy
// (test/helpers/fault-proxy.ts). Each scenario asserts its own "nothing lost, nothing
// duplicated": every job succeeded exactly once (one `running`, one `succeeded` write,
// attempt 1, one transcode_completed), the player folder complete, the queue empty, no
// work files left, the worker alive, and /health 503 naming the dependency while it is
// down, 200 after. Heartbeats every second, so an outage spans several of them.
// FAULTS_LOG_DIR=DIR keeps each worker's log lines there, for looking into a failure.
import { appendFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { locateFfmpeg } from '../../src/runtime/ffmpeg/index.js';
import { runExe, spawnExe, waitForExit, waitForHttp } from '../helpers/binary.js';
import { startCredentialGate } from '../helpers/aws-credential-gate.js';
import { proxyEndpoint, type FaultProxy } from '../helpers/fault-proxy.js';
import { freePort } from '../helpers/servers.js';
import { BUCKET, EMPTY, makeClip, startRugbyCodex, type RugbyCodex, type Upload } from '../helpers/rugbycodex.js';
import type { Row } from '../helpers/postgrest-standin.js';

type LogEvent = Record<string, unknown> & { event_type?: string; job_id?: string };

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

interface Worker {
  child: ChildProcess;
  events: LogEvent[];
  health: string;
  workDir: string;
  waitFor(pred: (e: LogEvent) => boolean, timeoutMs?: number): Promise<LogEvent>;
  stop(): Promise<number | NodeJS.Signals | null>;
}

async function startWorker(queueUrl: string, name: string, extra: Record<string, string> = {}): Promise<Worker> {
  const workDir = join(tmp, `work-${name}`);
  const port = await freePort();
  const env = codex.workerEnv(queueUrl, workDir, {
    AWS_ENDPOINT_URL_SQS: sqsProxy.endpoint, AWS_ENDPOINT_URL_S3: s3Proxy.endpoint, SUPABASE_URL: dbProxy.endpoint,
    HEARTBEAT_INTERVAL_SECONDS: '1', HEARTBEAT_EXTENSION_SECONDS: '10', HLS_RENDITIONS: '360',
    HEALTH_PORT: String(port), LOG_LEVEL: 'info', ...extra,
  });
  const child = spawnExe(['--role', 'transcode'], { env });
  const events: LogEvent[] = [];
  const waiters: Array<{ pred: (e: LogEvent) => boolean; resolve: (e: LogEvent) => void }> = [];
  let buf = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    buf += chunk;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let e: LogEvent;
      try { e = JSON.parse(line) as LogEvent; } catch { continue; }
      events.push(e);
      if (process.env.FAULTS_LOG_DIR) appendFileSync(join(process.env.FAULTS_LOG_DIR, `${name}.jsonl`), `${line}\n`);
      for (const w of waiters.splice(0)) { if (w.pred(e)) w.resolve(e); else waiters.push(w); }
    }
  });
  child.stderr!.resume();
  const health = `http://127.0.0.1:${port}/health`;
  await waitForHttp(health, 15_000);
  return {
    child, events, health, workDir,
    waitFor(pred, timeoutMs = 60_000) {
      const found = events.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no matching event in ${timeoutMs} ms; last: ${JSON.stringify(events.slice(-5))}`)), timeoutMs);
        waiters.push({ pred, resolve: (e) => { clearTimeout(t); resolve(e); } });
      });
    },
    async stop() {
      child.kill('SIGTERM');
      return waitForExit(child, 30_000);
    },
  };
}

async function healthOf(w: Worker): Promise<{ status: number; failing: string[] }> {
  const r = await fetch(w.health);
  const body = await r.json() as { failing?: Array<{ name: string }> };
  return { status: r.status, failing: (body.failing ?? []).map((f) => f.name) };
}

/** Samples /health until `until` resolves; the distinct answers seen, in order. */
async function watchHealth(w: Worker, until: Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  let done = false;
  void until.finally(() => { done = true; });
  while (!done) {
    const h = await healthOf(w).catch(() => ({ status: 0, failing: [] as string[] }));
    const label = `${h.status}${h.failing.length ? ` ${h.failing.join(',')}` : ''}`;
    if (seen.at(-1) !== label) seen.push(label);
    await new Promise((r) => setTimeout(r, 200));
  }
  return seen;
}

const stateWrites = (table: string, id: string): Row[] =>
  codex.standin.requests.filter((r) => r.method === 'PATCH' && r.table === table && r.query.id === `eq.${id}` && (r.status ?? 0) < 300)
    .map((r) => r.body as Row).filter((b) => 'state' in b);

/** Exactly once: one running and one succeeded write, attempt 1, one completion, the whole player folder. */
async function expectDoneOnce(w: Worker, u: Upload): Promise<void> {
  expect(stateWrites('jobs', u.job).map((b) => b.state)).toEqual(['running', 'succeeded']);
  expect(await codex.standin.row('jobs', u.job)).toMatchObject({ state: 'succeeded', attempt: 1, progress: 1 });
  expect(await codex.standin.row('media_assets', u.asset)).toMatchObject({ status: 'ready', processing_stage: 'complete', streaming_ready: true });
  expect(w.events.filter((e) => e.event_type === 'transcode_completed' && e.job_id === u.job)).toHaveLength(1);
  expect(w.events.filter((e) => e.event_type === 'job_started' && e.job_id === u.job)).toHaveLength(1);
  const listed = await codex.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: u.streaming }));
  const keys = (listed.Contents ?? []).map((o) => o.Key!.slice(u.streaming.length)).sort();
  expect(keys).toEqual(expect.arrayContaining(['index.m3u8', '360p/index.m3u8', 'thumbnails/storyboard.vtt']));
  expect(keys.filter((k) => k.endsWith('.ts'))).toHaveLength(4); // 8 s in 2 s segments
}

async function workFilesLeft(w: Worker): Promise<string[]> {
  return (await readdir(w.workDir, { recursive: true }).catch(() => [] as string[])).filter((f) => !f.startsWith('.'));
}

describe('faults during a transcode', () => {
  it('SQS unreachable for 6 s mid-job, within the lease: heartbeats retried, the job finishes once, /health names sqs', async () => {
    const queues = await codex.createQueues({ visibilitySeconds: 30 });
    const u = await codex.seedUpload(clip);
    const w = await startWorker(queues.queueUrl, 'sqs');
    try {
      await codex.sqs.send(new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: u.body }));
      await w.waitFor((e) => e.event_type === 'job_started');
      sqsProxy.set({ kind: 'reset' });
      const outage = new Promise((r) => setTimeout(r, 6_000)).then(() => sqsProxy.set({ kind: 'pass' }));
      const seen = await watchHealth(w, outage.then(() => w.waitFor((e) => e.event_type === 'job_succeeded' && e.job_id === u.job)));
      expect(seen).toContain('503 sqs');
      expect(seen.at(-1)).toBe('200');
      await expectDoneOnce(w, u);
      expect(w.events.filter((e) => e.event_type === 'heartbeat_retry').length).toBeGreaterThan(0);
      expect(w.events.filter((e) => e.event_type === 'heartbeat_failed')).toEqual([]);
      expect(await codex.depth(queues.queueUrl)).toEqual(EMPTY);
    } finally {
      sqsProxy.set({ kind: 'pass' });
      expect(await w.stop()).toBe(0);
    }
    expect(await workFilesLeft(w)).toEqual([]);
  }, 120_000);

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
      expect(stateWrites('jobs', u.job).map((b) => b.state)).toEqual(['running', 'running', 'succeeded']);
      expect(await codex.standin.row('jobs', u.job)).toMatchObject({ state: 'succeeded', attempt: 2 });
      expect(w.events.filter((e) => e.event_type === 'transcode_completed' && e.job_id === u.job)).toHaveLength(1);
      expect(await codex.depth(queues.queueUrl)).toEqual(EMPTY);
    } finally {
      sqsProxy.set({ kind: 'pass' });
      expect(await w.stop()).toBe(0);
    }
    expect(await workFilesLeft(w)).toEqual([]);
  }, 150_000);

  it('Supabase refusing connections mid-job: /health names supabase while it is down; the job still ends succeeded once', async () => {
    const queues = await codex.createQueues({ visibilitySeconds: 30 });
    const u = await codex.seedUpload(clip);
    const w = await startWorker(queues.queueUrl, 'db');
    try {
      await codex.sqs.send(new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: u.body }));
      await w.waitFor((e) => e.event_type === 'transcode_started');
      dbProxy.set({ kind: 'reset' });
      await waitForHttp(w.health, 30_000, { status: 503 });
      expect((await healthOf(w)).failing).toEqual(['supabase']);
      await new Promise((r) => setTimeout(r, 3_000));
      dbProxy.set({ kind: 'pass' });
      await w.waitFor((e) => e.event_type === 'job_succeeded' && e.job_id === u.job, 90_000);
      await waitForHttp(w.health, 10_000, { status: 200 });
      expect(stateWrites('jobs', u.job).filter((b) => b.state === 'succeeded')).toHaveLength(1);
      expect(await codex.standin.row('jobs', u.job)).toMatchObject({ state: 'succeeded', progress: 1 });
      expect(await codex.standin.row('media_assets', u.asset)).toMatchObject({ status: 'ready', processing_stage: 'complete', streaming_ready: true });
      expect(await codex.depth(queues.queueUrl)).toEqual(EMPTY);
    } finally {
      dbProxy.set({ kind: 'pass' });
      expect(await w.stop()).toBe(0);
    }
    expect(await workFilesLeft(w)).toEqual([]);
  }, 150_000);

  it('S3 connections reset during the download and during the uploads: the job finishes once, output complete', async () => {
    const queues = await codex.createQueues({ visibilitySeconds: 30 });
    const u = await codex.seedUpload(clip);
    const w = await startWorker(queues.queueUrl, 's3');
    try {
      s3Proxy.resetAfter(100_000, 'down');
      await codex.sqs.send(new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: u.body }));
      // The download (after transcode_started) is cut after 100 kB; then the uploads after 30 kB.
      for (const until = Date.now() + 30_000; s3Proxy.stats().resets === 0 && Date.now() < until;) await new Promise((r) => setTimeout(r, 20));
      const afterDownload = s3Proxy.stats().resets;
      expect(afterDownload).toBeGreaterThanOrEqual(1);
      s3Proxy.resetAfter(30_000, 'up');
      const end = await w.waitFor((e) => ['job_succeeded', 'job_failed', 'job_retry', 'job_lease_lost'].includes(String(e.event_type)) && e.job_id === u.job, 90_000);
      expect(end.event_type).toBe('job_succeeded');
      expect(s3Proxy.stats().resets).toBeGreaterThan(afterDownload);
      await expectDoneOnce(w, u);
      expect(await codex.depth(queues.queueUrl)).toEqual(EMPTY);
    } finally {
      expect(await w.stop()).toBe(0);
    }
    expect(await workFilesLeft(w)).toEqual([]);
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

