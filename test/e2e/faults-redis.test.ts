// Redis faults on the main job, on the shipped executable: the transcode role with
// QUEUE_BACKEND=redis (stream rugbyworker:transcode) against fauxqs (S3) and the PostgREST
// stand-in, Redis being Debian's redis-server (test/helpers/servers.ts). Each scenario
// asserts its own "nothing lost, nothing duplicated": every job succeeded exactly once (one
// `running`, one `succeeded` write, attempt 1, one transcode_completed), the player folder
// complete, the stream drained (depth 0, no pending entry in the consumer group), the worker
// healthy and exiting 0 on SIGTERM, no work files left. Heartbeats every second, so an
// outage spans several of them. Each scenario prints one line of numbers (jobs, lost,
// duplicated, time to recover); FAULTS_LOG_DIR=DIR keeps each worker's log lines there.
import { appendFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { RedisStreamQueue } from '../../src/adapters/queue/redis-streams.js';
import { locateFfmpeg } from '../../src/runtime/ffmpeg/index.js';
import { spawnExe, waitForExit, waitForHttp } from '../helpers/binary.js';
import { proxyEndpoint } from '../helpers/fault-proxy.js';
import { freePort, startRedis } from '../helpers/servers.js';
import { BUCKET, makeClip, startRugbyCodex, type RugbyCodex, type Upload } from '../helpers/rugbycodex.js';
import type { Row } from '../helpers/postgrest-standin.js';

type LogEvent = Record<string, unknown> & { event_type?: string; event?: string; job_id?: string };

const STREAM = 'rugbyworker:transcode';
const GROUP = 'rugbyworker';

let codex: RugbyCodex;
let tmp: string;
let clip: string;

beforeAll(async () => {
  const bins = await locateFfmpeg(process.env);
  tmp = await mkdtemp(join(tmpdir(), 'rw-faults-redis-'));
  clip = join(tmp, 'match.mp4');
  [codex] = await Promise.all([startRugbyCodex(), makeClip(bins.ffmpeg, clip, 8, '640x360')]);
}, 60_000);

afterAll(async () => {
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

async function startWorker(redisUrl: string, name: string, extra: Record<string, string> = {}): Promise<Worker> {
  const workDir = join(tmp, `work-${name}`);
  const port = await freePort();
  const env = codex.workerEnv('', workDir, {
    QUEUE_BACKEND: 'redis', REDIS_URL: redisUrl, CONCURRENCY: '1',
    HEARTBEAT_INTERVAL_SECONDS: '1', HEARTBEAT_EXTENSION_SECONDS: '10', HLS_RENDITIONS: '360',
    HEALTH_PORT: String(port), LOG_LEVEL: 'info', ...extra,
  });
  const child = spawnExe(['--role', 'transcode', '--concurrency', '1'], { env });
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
      e.at_ms = Date.now();
      events.push(e);
      if (process.env.FAULTS_LOG_DIR) appendFileSync(join(process.env.FAULTS_LOG_DIR, `${name}.jsonl`), `${line}\n`);
      for (const w of waiters.splice(0)) { if (w.pred(e)) w.resolve(e); else waiters.push(w); }
    }
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    if (process.env.FAULTS_LOG_DIR) appendFileSync(join(process.env.FAULTS_LOG_DIR, `${name}.stderr`), chunk);
  });
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
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode ?? child.signalCode;
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

interface HealthSample { at: number; label: string }

/** Samples /health every 100 ms until `until` settles; the distinct answers seen, in order, with when each began. */
async function watchHealth(w: Worker, until: Promise<unknown>): Promise<HealthSample[]> {
  const seen: HealthSample[] = [];
  let done = false;
  void until.finally(() => { done = true; }).catch(() => undefined);
  while (!done) {
    const h = await healthOf(w).catch(() => ({ status: 0, failing: [] as string[] }));
    const label = `${h.status}${h.failing.length ? ` ${h.failing.join(',')}` : ''}`;
    if (seen.at(-1)?.label !== label) seen.push({ at: Date.now(), label });
    await new Promise((r) => setTimeout(r, 100));
  }
  return seen;
}

const stateWrites = (table: string, id: string): Row[] =>
  codex.standin.requests.filter((r) => r.method === 'PATCH' && r.table === table && r.query.id === `eq.${id}` && (r.status ?? 0) < 300)
    .map((r) => r.body as Row).filter((b) => 'state' in b);

const count = (w: Worker, type: string, job: string): number => w.events.filter((e) => e.event_type === type && e.job_id === job).length;

/** Exactly once: one running and one succeeded write, attempt 1, one start, one completion, the whole player folder. */
async function expectDoneOnce(w: Worker, u: Upload): Promise<void> {
  expect(stateWrites('jobs', u.job).map((b) => b.state)).toEqual(['running', 'succeeded']);
  expect(await codex.standin.row('jobs', u.job)).toMatchObject({ state: 'succeeded', attempt: 1, progress: 1 });
  expect(await codex.standin.row('media_assets', u.asset)).toMatchObject({ status: 'ready', processing_stage: 'complete', streaming_ready: true });
  expect(count(w, 'transcode_completed', u.job)).toBe(1);
  expect(count(w, 'job_started', u.job)).toBe(1);
  const listed = await codex.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: u.streaming }));
  const keys = (listed.Contents ?? []).map((o) => o.Key!.slice(u.streaming.length)).sort();
  expect(keys).toEqual(expect.arrayContaining(['index.m3u8', '360p/index.m3u8', 'thumbnails/storyboard.vtt']));
  expect(keys.filter((k) => k.endsWith('.ts'))).toHaveLength(4); // 8 s in 2 s segments
}

interface Tally { jobs: number; lost: number; duplicated: number; detail: Record<string, unknown> }

/** Lost: not ending succeeded; duplicated: completed or written succeeded more than once. */
async function tally(w: Worker, uploads: readonly Upload[]): Promise<Tally> {
  let lost = 0;
  let duplicated = 0;
  const detail: Record<string, unknown> = {};
  for (const u of uploads) {
    const row = await codex.standin.row('jobs', u.job);
    const writes = stateWrites('jobs', u.job).map((b) => b.state);
    const completed = count(w, 'transcode_completed', u.job);
    if (row?.state !== 'succeeded') lost++;
    if (completed > 1 || writes.filter((s) => s === 'succeeded').length > 1) duplicated++;
    detail[u.job.slice(0, 8)] = { state: row?.state, attempt: row?.attempt, writes, started: count(w, 'job_started', u.job), completed };
  }
  return { jobs: uploads.length, lost, duplicated, detail };
}

/** Longest stretch (ms) without a lease extension while the job ran, and how close the heartbeat's own lease came to running out (ms left at the first extension after `up`). */
function leaseNumbers(w: Worker, job: string, up: number, extensionSeconds = 10): { longestGapMs: number; leaseLeftAtRecoveryMs: number | null } {
  const beats = w.events.filter((e) => e.job_id === job && ['heartbeat_started', 'heartbeat_extended', 'heartbeat_stopped'].includes(String(e.event_type))).map((e) => Number(e.at_ms));
  let longestGapMs = 0;
  for (let i = 1; i < beats.length; i++) longestGapMs = Math.max(longestGapMs, beats[i]! - beats[i - 1]!);
  const before = w.events.filter((e) => e.job_id === job && ['heartbeat_started', 'heartbeat_extended'].includes(String(e.event_type)) && Number(e.at_ms) < up).at(-1);
  const after = w.events.find((e) => e.job_id === job && e.event_type === 'heartbeat_extended' && Number(e.at_ms) >= up);
  return { longestGapMs, leaseLeftAtRecoveryMs: before && after ? Number(before.at_ms) + extensionSeconds * 1000 - Number(after.at_ms) : null };
}

/** From `up` to the first 200 after the last non-200 answer; 0 when /health never left 200. */
function recoverToHealth200(seen: readonly HealthSample[], up: number): number | null {
  const lastBad = seen.map((s) => s.label !== '200').lastIndexOf(true);
  if (lastBad < 0) return 0;
  const ok = seen[lastBad + 1];
  return ok ? Math.max(0, ok.at - up) : null;
}

function report(scenario: string, numbers: Record<string, unknown>): void {
  const line = `faults-redis ${scenario}: ${JSON.stringify(numbers)}`;
  process.stdout.write(`${line}\n`);
  if (process.env.FAULTS_LOG_DIR) appendFileSync(join(process.env.FAULTS_LOG_DIR, 'numbers.txt'), `${line}\n`);
}

/** The group's pending entries (XPENDING summary) and whether the group exists (XINFO GROUPS). */
async function groupState(url: string): Promise<{ groups: string[]; pending: number }> {
  const raw = new Redis(url, { maxRetriesPerRequest: 2 });
  try {
    const groups = (await raw.call('XINFO', 'GROUPS', STREAM)) as unknown[][];
    const names = groups.map((g) => { const i = g.indexOf('name'); return String(g[i + 1]); });
    const pending = (await raw.call('XPENDING', STREAM, GROUP)) as [number, ...unknown[]];
    return { groups: names, pending: Number(pending[0]) };
  } finally {
    raw.disconnect();
  }
}

function openQueue(url: string): RedisStreamQueue {
  return new RedisStreamQueue({ url, stream: STREAM, logger: pino({ level: 'silent' }) });
}

async function workFilesLeft(w: Worker): Promise<string[]> {
  return (await readdir(w.workDir, { recursive: true }).catch(() => [] as string[])).filter((f) => !f.startsWith('.'));
}

describe('Redis faults during a transcode (QUEUE_BACKEND=redis)', () => {
  it('Redis restarted (AOF) during a drain of 3 jobs: each done once, the group kept with nothing pending, /health 200', async () => {
    const redis = await startRedis({ appendonly: true });
    const queue = openQueue(redis.url);
    let w: Worker | undefined;
    try {
      const uploads = [await codex.seedUpload(clip), await codex.seedUpload(clip), await codex.seedUpload(clip)];
      for (const u of uploads) await queue.send(u.body);
      expect(await queue.depth()).toEqual({ visible: 3, inflight: 0, dlq: 0 });
      w = await startWorker(redis.url, 'restart');
      const worker = w;
      const first = await worker.waitFor((e) => e.event_type === 'job_started', 60_000);
      const down = Date.now();
      await redis.restart();
      const up = Date.now();
      const allDone = Promise.all(uploads.map((u) => worker.waitFor((e) => e.event_type === 'job_succeeded' && e.job_id === u.job, 150_000)));
      const seen = await watchHealth(worker, allDone);
      await allDone;
      await waitForHttp(worker.health, 15_000, { status: 200 });
      const nextSucceeded = worker.events.find((e) => e.event_type === 'job_succeeded' && Number(e.at_ms) >= up);
      const t = await tally(worker, uploads);
      const group = await groupState(redis.url);
      const depth = await queue.depth();
      report('restart', {
        ...t, restartMs: up - down, firstJob: first.job_id, ...leaseNumbers(worker, String(first.job_id), up),
        recoverToJobSucceededMs: nextSucceeded ? Number(nextSucceeded.at_ms) - up : null,
        recoverToHealth200Ms: recoverToHealth200(seen, up),
        health: seen.map((s) => s.label), group, depth,
        redisEvents: worker.events.filter((e) => String(e.event ?? '').startsWith('redis_') || String(e.event_type ?? '').startsWith('dependency_') || e.event_type === 'heartbeat_retry' || e.event_type === 'heartbeat_failed' || e.event_type === 'job_lease_lost').map((e) => e.event ?? e.event_type),
      });
      expect(t.lost).toBe(0);
      expect(t.duplicated).toBe(0);
      for (const u of uploads) await expectDoneOnce(worker, u);
      expect(worker.events.filter((e) => e.event_type === 'job_lease_lost')).toEqual([]);
      expect(worker.events.filter((e) => e.event_type === 'heartbeat_failed')).toEqual([]);
      expect(group).toEqual({ groups: [GROUP], pending: 0 });
      expect(depth).toEqual({ visible: 0, inflight: 0, dlq: 0 });
      expect(seen.at(-1)?.label).toBe('200');
      expect((await healthOf(worker)).status).toBe(200);
    } finally {
      const code = await w?.stop();
      await queue.close();
      await redis.stop();
      if (w) expect(code).toBe(0);
    }
    expect(await workFilesLeft(w!)).toEqual([]);
  }, 200_000);

  it('Redis unreachable for 5 s mid-job through the fault proxy: /health 503 naming redis, then 200; the job done once, nothing pending', async () => {
    const redis = await startRedis();
    const proxy = await proxyEndpoint(redis.url);
    const queue = openQueue(redis.url);
    let w: Worker | undefined;
    try {
      const u = await codex.seedUpload(clip);
      await queue.send(u.body);
      w = await startWorker(proxy.endpoint, 'proxy');
      const worker = w;
      await worker.waitFor((e) => e.event_type === 'job_started' && e.job_id === u.job, 60_000);
      const down = Date.now();
      proxy.set({ kind: 'reset' });
      let up = 0;
      const outage = new Promise((r) => setTimeout(r, 5_000)).then(() => { proxy.set({ kind: 'pass' }); up = Date.now(); });
      const done = outage.then(() => worker.waitFor((e) => e.event_type === 'job_succeeded' && e.job_id === u.job, 120_000))
        .then(() => waitForHttp(worker.health, 20_000, { status: 200 }));
      const seen = await watchHealth(worker, done);
      await done;
      const succeeded = worker.events.find((e) => e.event_type === 'job_succeeded' && e.job_id === u.job);
      const health503 = seen.find((s) => s.label === '503 redis');
      const t = await tally(worker, [u]);
      const group = await groupState(redis.url);
      const depth = await queue.depth();
      report('proxy-reset-5s', {
        ...t, outageMs: up - down, resets: proxy.stats().resets, ...leaseNumbers(worker, u.job, up),
        heartbeatRetries: worker.events.filter((e) => e.event_type === 'heartbeat_retry').length,
        recoverToJobSucceededMs: succeeded ? Number(succeeded.at_ms) - up : null,
        recoverToHealth200Ms: recoverToHealth200(seen, up),
        firstHealth503AfterMs: health503 ? health503.at - down : null,
        health: seen.map((s) => s.label), group, depth,
        redisEvents: worker.events.filter((e) => String(e.event ?? '').startsWith('redis_') || String(e.event_type ?? '').startsWith('dependency_') || e.event_type === 'heartbeat_retry' || e.event_type === 'heartbeat_failed' || e.event_type === 'job_lease_lost').map((e) => e.event ?? e.event_type),
      });
      expect(up - down).toBeGreaterThanOrEqual(5_000);
      expect(proxy.stats().resets).toBeGreaterThan(0);
      expect(seen.map((s) => s.label)).toContain('503 redis');
      expect(seen.at(-1)?.label).toBe('200');
      expect(t.lost).toBe(0);
      expect(t.duplicated).toBe(0);
      await expectDoneOnce(worker, u);
      expect(worker.events.filter((e) => e.event_type === 'job_lease_lost')).toEqual([]);
      expect(group).toEqual({ groups: [GROUP], pending: 0 });
      expect(depth).toEqual({ visible: 0, inflight: 0, dlq: 0 });
    } finally {
      proxy.set({ kind: 'pass' });
      const code = await w?.stop();
      await queue.close();
      await proxy.close();
      await redis.stop();
      if (w) expect(code).toBe(0);
    }
    expect(await workFilesLeft(w!)).toEqual([]);
  }, 150_000);
});
