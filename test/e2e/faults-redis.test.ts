// Redis faults on the main job, on the shipped executable: the transcode role with
// QUEUE_BACKEND=redis (stream rugbyworker:transcode) against fauxqs (S3) and the PostgREST
// stand-in, Redis being Debian's redis-server (test/helpers/servers.ts). Each scenario
// asserts its own "nothing lost, nothing duplicated": every job succeeded exactly once (one
// `running`, one `succeeded` write, attempt 1, one transcode_completed), the player folder
// complete, the stream drained (depth 0, no pending entry in the consumer group), the worker
// healthy and exiting 0 on SIGTERM, no work files left. Heartbeats every second, so an
// outage spans several of them (the 30 s one: a 45 s lease). Each scenario prints one line of numbers (jobs, lost,
// duplicated, time to recover); FAULTS_LOG_DIR=DIR keeps each worker's log lines there.
import { appendFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { RedisStreamQueue } from '../../src/adapters/queue/redis-streams.js';
import { locateFfmpeg } from '../../src/runtime/ffmpeg/index.js';
import { waitForHttp } from '../helpers/binary.js';
import { proxyEndpoint } from '../helpers/fault-proxy.js';
import { startRedis } from '../helpers/servers.js';
import { makeClip, startRugbyCodex, type RugbyCodex, type Upload } from '../helpers/rugbycodex.js';
import { countEvents, expectTranscodedOnce, stateWrites, workFilesLeft } from '../helpers/transcode-checks.js';
import { healthOf, startWorkerProcess, watchHealth, type HealthSample, type WorkerProcess } from '../helpers/worker-process.js';

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

type Worker = WorkerProcess & { workDir: string };

async function startWorker(redisUrl: string, name: string, extra: Record<string, string> = {}): Promise<Worker> {
  const workDir = join(tmp, `work-${name}`);
  const env = codex.workerEnv('', workDir, {
    QUEUE_BACKEND: 'redis', REDIS_URL: redisUrl, CONCURRENCY: '1',
    HEARTBEAT_INTERVAL_SECONDS: '1', HEARTBEAT_EXTENSION_SECONDS: '10', HLS_RENDITIONS: '360', ...extra,
  });
  return Object.assign(await startWorkerProcess(['--role', 'transcode', '--concurrency', '1'], env, name), { workDir });
}

const count = (w: Worker, type: string, job: string): number => countEvents(w.events, type, job);

interface Tally { jobs: number; lost: number; duplicated: number; detail: Record<string, unknown> }

/** Lost: not ending succeeded; duplicated: completed or written succeeded more than once. */
async function tally(w: Worker, uploads: readonly Upload[]): Promise<Tally> {
  let lost = 0;
  let duplicated = 0;
  const detail: Record<string, unknown> = {};
  for (const u of uploads) {
    const row = await codex.standin.row('jobs', u.job);
    const writes = stateWrites(codex, 'jobs', u.job).map((b) => b.state);
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
      const seen = await watchHealth(worker.health, allDone);
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
      for (const u of uploads) await expectTranscodedOnce(codex, worker.events, u);
      expect(worker.events.filter((e) => e.event_type === 'job_lease_lost')).toEqual([]);
      expect(worker.events.filter((e) => e.event_type === 'heartbeat_failed')).toEqual([]);
      expect(group).toEqual({ groups: [GROUP], pending: 0 });
      expect(depth).toEqual({ visible: 0, inflight: 0, dlq: 0 });
      expect(seen.at(-1)?.label).toBe('200');
      expect((await healthOf(worker.health)).status).toBe(200);
    } finally {
      const code = await w?.stop();
      await queue.close();
      await redis.stop();
      if (w) expect(code).toBe(0);
    }
    expect(await workFilesLeft(w!.workDir)).toEqual([]);
  }, 200_000);

  it('Redis unreachable for 30 s mid-job through the fault proxy: /health 503 naming redis, then 200; the job done once, nothing pending', async () => {
    const redis = await startRedis();
    const proxy = await proxyEndpoint(redis.url);
    const queue = openQueue(redis.url);
    let w: Worker | undefined;
    try {
      const u = await codex.seedUpload(clip);
      await queue.send(u.body);
      // A lease of 45 s outlasts the outage: the heartbeat retries through it, the ack waits for Redis.
      w = await startWorker(proxy.endpoint, 'proxy', { HEARTBEAT_INTERVAL_SECONDS: '2', HEARTBEAT_EXTENSION_SECONDS: '45' });
      const worker = w;
      await worker.waitFor((e) => e.event_type === 'job_started' && e.job_id === u.job, 60_000);
      const down = Date.now();
      proxy.set({ kind: 'reset' });
      let up = 0;
      const outage = new Promise((r) => setTimeout(r, 30_000)).then(() => { proxy.set({ kind: 'pass' }); up = Date.now(); });
      const done = outage.then(() => worker.waitFor((e) => e.event_type === 'job_succeeded' && e.job_id === u.job, 120_000))
        .then(() => waitForHttp(worker.health, 20_000, { status: 200 }));
      const seen = await watchHealth(worker.health, done);
      await done;
      const succeeded = worker.events.find((e) => e.event_type === 'job_succeeded' && e.job_id === u.job);
      const health503 = seen.find((s) => s.label === '503 redis');
      const t = await tally(worker, [u]);
      const group = await groupState(redis.url);
      const depth = await queue.depth();
      report('proxy-reset-30s', {
        ...t, outageMs: up - down, resets: proxy.stats().resets, ...leaseNumbers(worker, u.job, up, 45),
        heartbeatRetries: worker.events.filter((e) => e.event_type === 'heartbeat_retry').length,
        recoverToJobSucceededMs: succeeded ? Number(succeeded.at_ms) - up : null,
        recoverToHealth200Ms: recoverToHealth200(seen, up),
        firstHealth503AfterMs: health503 ? health503.at - down : null,
        health: seen.map((s) => s.label), group, depth,
        redisEvents: worker.events.filter((e) => String(e.event ?? '').startsWith('redis_') || String(e.event_type ?? '').startsWith('dependency_') || e.event_type === 'heartbeat_retry' || e.event_type === 'heartbeat_failed' || e.event_type === 'job_lease_lost').map((e) => e.event ?? e.event_type),
      });
      expect(up - down).toBeGreaterThanOrEqual(30_000);
      expect(proxy.stats().resets).toBeGreaterThan(0);
      expect(seen.map((s) => s.label)).toContain('503 redis');
      expect(seen.at(-1)?.label).toBe('200');
      expect(t.lost).toBe(0);
      expect(t.duplicated).toBe(0);
      await expectTranscodedOnce(codex, worker.events, u);
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
    expect(await workFilesLeft(w!.workDir)).toEqual([]);
  }, 150_000);
});
