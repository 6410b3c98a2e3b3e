// Issue 12's "each dependency down for 30 s in the middle of a job", on the executable, for
// RugbyCodex's roles. The scenarios of a test run side by side (one worker each, its own
// queue and its own fault proxy in front of the one dependency it loses), so a 30 s outage
// costs the suite 30 s once, not once per dependency.
// - transcode: SQS black-holed (the lease outlasts it: heartbeats retried, the ack waits for
//   SQS), S3 resetting every connection, Supabase black-holed; each from the moment the job
//   has started. The job must finish after the service returns, on the same receive (attempt 1:
//   an outage spends no receive), with one `succeeded` write and no `failed` one, the player
//   folder whole, the queue and its DLQ empty, no work file left, /health 503 naming the
//   dependency during the outage and 200 after.
// - cleanup: S3 down from the start of a pass, Supabase cut in the middle of one (as the
//   first row is being marked): the rows stay pending, nothing is marked processed without
//   its folder gone, and the pass after the service returns finishes every row once.
// FAULTS_LOG_DIR=DIR keeps each worker's log lines there.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { locateFfmpeg } from '../../src/runtime/ffmpeg/index.js';
import { proxyEndpoint, type FaultMode, type FaultProxy } from '../helpers/fault-proxy.js';
import { BUCKET, EMPTY, makeClip, SERVICE_KEY, startRugbyCodex, type RugbyCodex } from '../helpers/rugbycodex.js';
import { startPostgrestStandin, type PostgrestStandin } from '../helpers/postgrest-standin.js';
import { countEvents, stateWrites, workFilesLeft } from '../helpers/transcode-checks.js';
import { startWorkerProcess, watchHealth, type HealthSample, type WorkerProcess } from '../helpers/worker-process.js';
import { until } from '../helpers/wait.js';

const OUTAGE_MS = 30_000;

let codex: RugbyCodex;
let tmp: string;
let clip: string;
const proxies: FaultProxy[] = [];
const table: string[] = [];

beforeAll(async () => {
  const bins = await locateFfmpeg(process.env);
  tmp = await mkdtemp(join(tmpdir(), 'rw-outage-'));
  clip = join(tmp, 'match.mp4');
  [codex] = await Promise.all([startRugbyCodex(), makeClip(bins.ffmpeg, clip, 8, '640x360')]);
}, 60_000);

afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  await codex?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
  if (table.length) process.stdout.write(`\nfaults-outage-rugbycodex:\n| scenario | jobs | lost | duplicated | time to recover |\n|---|---|---|---|---|\n${table.join('\n')}\n`);
});

async function proxyTo(endpoint: string): Promise<FaultProxy & { endpoint: string }> {
  const p = await proxyEndpoint(endpoint);
  proxies.push(p);
  return p;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const downIn = (samples: HealthSample[], dep: string): boolean => samples.some((s) => s.label.startsWith('503') && s.label.slice(4).split(',').includes(dep));

type Dep = 'sqs' | 's3' | 'supabase';
const MODES: Record<Dep, FaultMode> = { sqs: { kind: 'blackhole' }, s3: { kind: 'reset' }, supabase: { kind: 'blackhole' } };

describe('each dependency down for 30 s in the middle of a job', () => {
  it('transcode: SQS, S3 and Supabase each down 30 s mid-job (side by side): every job succeeded once, on its first receive', async () => {
    const results = await Promise.all((['sqs', 's3', 'supabase'] as const).map(async (dep) => {
      const queues = await codex.createQueues({ visibilitySeconds: 30, maxReceives: 3 });
      const u = await codex.seedUpload(clip);
      const proxy = await proxyTo(dep === 'supabase' ? codex.standin.url : codex.fauxqs.endpoint);
      const workDir = join(tmp, `work-transcode-${dep}`);
      const via: Record<string, string> = { [{ sqs: 'AWS_ENDPOINT_URL_SQS', s3: 'AWS_ENDPOINT_URL_S3', supabase: 'SUPABASE_URL' }[dep]]: proxy.endpoint };
      // The lease (45 s, as the live .env's SQS_VISIBILITY_TIMEOUT and the extensions) outlasts
      // a 30 s SQS outage: the heartbeat may keep retrying through it.
      const w = await startWorkerProcess(['--role', 'transcode'], codex.workerEnv(queues.queueUrl, workDir, {
        ...via, SQS_VISIBILITY_TIMEOUT: '45', HEARTBEAT_INTERVAL_SECONDS: '2', HEARTBEAT_EXTENSION_SECONDS: '45', HLS_RENDITIONS: '360',
        // The device heartbeat beside the job: through Supabase's outage it fails too, and must not hold the job up.
        ...(dep === 'supabase' ? { RC_DEVICE_NAME: `outage-${u.job}`, DEVICE_HEARTBEAT_SECONDS: '1' } : {}),
      }), `outage-transcode-${dep}`);
      try {
        await codex.sqs.send(new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: u.body }));
        await w.waitFor((e) => e.event_type === 'transcode_started' && e.job_id === u.job, 60_000);
        proxy.set(MODES[dep]);
        const back = sleep(OUTAGE_MS).then(() => { proxy.set({ kind: 'pass' }); return Date.now(); });
        const end = back.then(() => w.waitFor((e) => ['job_succeeded', 'job_failed', 'job_lease_lost'].includes(String(e.event_type)) && e.job_id === u.job, 90_000));
        const health = await watchHealth(w.health, end.then(() => sleep(300)));
        const ended = await end;
        const recovered = (ended.at_ms! - await back) / 1000;
        return { dep, u, w, queues, workDir, health, ended, recovered };
      } catch (err) {
        proxy.set({ kind: 'pass' });
        throw new Error(`${dep}: ${(err as Error).message}\nstderr: ${w.stderr().slice(-1500)}`, { cause: err });
      } finally {
        proxy.set({ kind: 'pass' });
      }
    }));

    for (const { dep, u, w, queues, workDir, health, ended, recovered } of results) {
      const of = (type: string): number => countEvents(w.events, type, u.job);
      const writes = stateWrites(codex, 'jobs', u.job).map((b) => b.state);
      const waits = of('job_waiting');
      const retriedBeats = w.events.filter((e) => e.event_type === 'heartbeat_retry').length;
      table.push(`| transcode, ${dep} ${MODES[dep].kind} 30 s from transcode_started | 1 | 0 | 0 (attempt 1; writes ${writes.join(', ')}; ${waits} tries waited out, ${retriedBeats} heartbeats retried) | ${recovered.toFixed(1)} s from the service's return to job_succeeded |`);

      expect([dep, ended.event_type]).toEqual([dep, 'job_succeeded']);
      // Done once, and the outage spent no receive: the first receive finished it.
      expect([dep, await codex.standin.row('jobs', u.job)]).toEqual([dep, expect.objectContaining({ state: 'succeeded', attempt: 1, progress: 1 })]);
      expect([dep, writes.filter((s) => s === 'succeeded').length, writes.at(-1), writes.filter((s) => s !== 'running' && s !== 'succeeded')]).toEqual([dep, 1, 'succeeded', []]);
      expect(await codex.standin.row('media_assets', u.asset)).toMatchObject({ status: 'ready', processing_stage: 'complete', streaming_ready: true });
      expect([dep, of('transcode_completed'), of('job_started'), of('job_retry'), of('job_failed')]).toEqual([dep, 1, 1, 0, 0]);
      const listed = await codex.s3.send(new ListObjectsV2Command({ Bucket: u.bucket, Prefix: u.streaming }));
      const keys = (listed.Contents ?? []).map((o) => o.Key!.slice(u.streaming.length));
      expect(keys).toEqual(expect.arrayContaining(['index.m3u8', '360p/index.m3u8', 'thumbnails/storyboard.vtt']));
      expect(keys.filter((k) => k.endsWith('.ts'))).toHaveLength(4);
      expect([dep, await codex.depth(queues.queueUrl), await codex.depth(queues.dlqUrl!)]).toEqual([dep, EMPTY, EMPTY]);
      // What kept the job: SQS, the heartbeat retried within the lease; S3 and Supabase, the engine waited the outage out.
      if (dep === 'sqs') expect(retriedBeats).toBeGreaterThan(0);
      else expect([dep, waits > 0]).toEqual([dep, true]);
      expect(w.events.filter((e) => e.event_type === 'heartbeat_failed')).toEqual([]);
      expect([dep, downIn(health, dep), health.at(-1)?.label]).toEqual([dep, true, '200']);
      expect(await w.stop()).toBe(0);
      if (dep === 'supabase') {
        // Its writes failed through the outage, logged once, and went on after it; the clean stop recorded the device offline.
        expect([w.events.filter((e) => e.event_type === 'device_heartbeat_failed').length, w.events.some((e) => e.event_type === 'device_heartbeat_resumed')]).toEqual([1, true]);
        expect((await codex.standin.rows('compute_devices')).find((d) => d.name === `outage-${u.job}`)).toMatchObject({ status: 'offline' });
      }
      expect(w.stderr()).toBe('');
      expect(await workFilesLeft(workDir)).toEqual([]);
    }
  }, 200_000);

  it('cleanup: S3 down 30 s from the start of a pass, Supabase cut 30 s mid-pass (side by side): every folder deleted once, every row marked once', async () => {
    const results = await Promise.all((['s3', 'supabase'] as const).map(async (dep) => {
      // Its own media_cleanup_jobs (another database on the same PostgreSQL): a cleanup worker takes every pending row.
      const standin: PostgrestStandin = await startPostgrestStandin({ apiKey: SERVICE_KEY, postgres: codex.standin.cluster });
      const proxy = await proxyTo(dep === 's3' ? codex.fauxqs.endpoint : standin.url);
      const org = randomUUID();
      const assets = [randomUUID(), randomUUID(), randomUUID()];
      const base = `orgs/${org}/uploads/`;
      for (const a of assets) {
        for (const f of ['raw/match.mp4', 'streaming/index.m3u8', 'streaming/360p/seg_00000.ts']) {
          await codex.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${base}${a}/${f}`, Body: 'x' }));
        }
      }
      const sibling = `${base}keep-me/raw/other.mp4`;
      await codex.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: sibling, Body: 'x' }));
      const ids = assets.map(() => randomUUID());
      const seedRows = async (): Promise<void> => {
        for (const [i, a] of assets.entries()) {
          await standin.seed('media_cleanup_jobs', { id: ids[i], media_asset_id: a, bucket: BUCKET, storage_path: `${base}${a}/raw/match.mp4`, created_at: `2026-11-24T0${i}:00:00.000Z` });
        }
      };
      let outageStart = 0;
      const down = (): void => { proxy.set(dep === 's3' ? { kind: 'reset' } : { kind: 'blackhole' }); outageStart = Date.now(); };
      if (dep === 's3') {
        await seedRows();
        down();
      } else {
        // Cut as the first row's "processed" mark arrives: its folder is gone, the mark's answer never comes.
        standin.onRequest((req) => { if (req.method === 'PATCH' && req.table === 'media_cleanup_jobs' && outageStart === 0) down(); });
        await seedRows();
      }
      const env: Record<string, string> = {
        AWS_ENDPOINT_URL: codex.fauxqs.endpoint, ...(dep === 's3' ? { AWS_ENDPOINT_URL_S3: proxy.endpoint } : {}), AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', SUPABASE_URL: dep === 's3' ? standin.url : proxy.endpoint, SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY,
        CLEANUP_INTERVAL_SECONDS: '3',
      };
      const w: WorkerProcess = await startWorkerProcess(['--role', 'cleanup'], env, `outage-cleanup-${dep}`);
      const rows = (): Promise<Array<Record<string, unknown> | undefined>> => Promise.all(ids.map((id) => standin.row('media_cleanup_jobs', id)));
      try {
        await until(`${dep}: the outage`, 30_000, () => outageStart > 0, { everyMs: 50 });
        const back = sleep(Math.max(0, outageStart + OUTAGE_MS - Date.now())).then(() => {
          // Mid-outage: nothing marked processed that still has its folder.
          return rows().then(async (during) => {
            const left = await codex.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: base }));
            proxy.set({ kind: 'pass' });
            return { at: Date.now(), during, left: (left.Contents ?? []).map((o) => o.Key!) };
          });
        });
        const done = back.then(async () => {
          await until(`${dep}: every row processed after the outage`, 60_000, async () => (await rows()).every((r) => r?.processed_at != null), { everyMs: 100, diag: () => dep });
          return Date.now();
        });
        const health = await watchHealth(w.health, done.then(() => sleep(3_500)));
        const { at, during, left } = await back;
        return { dep, standin, w, ids, base, sibling, assets, health, during, left, recovered: (await done - at) / 1000 };
      } finally {
        standin.onRequest(null);
        proxy.set({ kind: 'pass' });
      }
    }));

    for (const { dep, standin, w, ids, base, sibling, assets, health, during, left, recovered } of results) {
      try {
        // During the outage: a row marked processed only once its folder had gone.
        for (const [i, r] of during.entries()) {
          if (r?.processed_at != null) expect([dep, left.filter((k) => k.startsWith(`${base}${assets[i]}/`))]).toEqual([dep, []]);
        }
        expect([dep, during.some((r) => r?.processed_at == null)]).toEqual([dep, true]);
        for (const id of ids) expect(await standin.row('media_cleanup_jobs', id)).toMatchObject({ processed_at: expect.any(String), error: null });
        const keys = ((await codex.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: base }))).Contents ?? []).map((o) => o.Key!);
        expect([dep, keys]).toEqual([dep, [sibling]]);
        // Each row marked processed once (the conditional PATCH on processed_at is null).
        const marks = ids.map((id) => standin.requests.filter((r) => r.method === 'PATCH' && r.query.id === `eq.${id}` && (r.status ?? 0) < 300 && (r.body as { processed_at?: unknown }).processed_at).length);
        expect([dep, marks]).toEqual([dep, [1, 1, 1]]);
        expect([dep, downIn(health, dep), health.at(-1)?.label]).toEqual([dep, true, '200']);
        const passes = w.events.filter((e) => e.event_type === 'cleanup_pass_completed').length;
        table.push(`| cleanup, ${dep} ${dep === 's3' ? 'reset from the pass start' : 'black-holed at the first mark'} 30 s | 3 rows | 0 | 0 (each row marked once, its 3 objects gone, sibling kept; ${passes} passes) | ${recovered.toFixed(1)} s from the service's return to every row processed |`);
        // A pass that failed some rows still exits 0 on SIGTERM: the rows are done now.
        expect(await w.stop()).toBe(0);
      } finally {
        await w.stop();
        await standin.stop();
      }
    }
  }, 150_000);
});
