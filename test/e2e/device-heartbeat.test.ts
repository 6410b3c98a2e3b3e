// The device heartbeat in the executable, one transcode worker with RC_DEVICE_NAME on the
// RugbyCodex world (fauxqs S3/SQS, the PostgREST stand-in on PostgreSQL holding the live
// compute_devices table) and DEVICE_HEARTBEAT_SECONDS=1, S3 behind a fault proxy. In order:
// the row written at start-up and refreshed; a job timed; compute_devices black-holed (its
// requests never answered) while a second job runs, which takes about as long, the failure
// logged once; S3 reset until the row says degraded naming s3, online again once it is back;
// offline after SIGTERM.
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { locateFfmpeg } from '../../src/runtime/ffmpeg/index.js';
import { parseMeminfo, parseProcStat } from '../../src/domain/device-stats.js';
import { proxyEndpoint, type FaultProxy } from '../helpers/fault-proxy.js';
import { postgresSkipReason, type Row } from '../helpers/postgrest-standin.js';
import { makeClip, startRugbyCodex, type RugbyCodex } from '../helpers/rugbycodex.js';
import { expectTranscodedOnce } from '../helpers/transcode-checks.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process.js';

const skip = postgresSkipReason();
if (skip) console.warn(`device-heartbeat.test.ts skipped: ${skip}`);
const describeIfPostgres = skip ? describe.skip : describe;

let codex: RugbyCodex;
let proxy: FaultProxy & { endpoint: string };
let tmp: string;
let clip: string;

beforeAll(async () => {
  if (skip) return;
  const bins = await locateFfmpeg(process.env);
  tmp = await mkdtemp(join(tmpdir(), 'rw-device-'));
  clip = join(tmp, 'match.mp4');
  [codex] = await Promise.all([startRugbyCodex(), makeClip(bins.ffmpeg, clip, 4, '640x360')]);
  proxy = await proxyEndpoint(codex.fauxqs.endpoint);
}, 60_000);

afterAll(async () => {
  codex?.standin.onRequest(null);
  await proxy?.close();
  await codex?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls until `pred` holds for the device's row (undefined before the first beat); resolves that row. */
async function rowWhen(name: string, pred: (row: Row | undefined) => boolean, timeoutMs = 20_000): Promise<Row> {
  let row: Row | undefined;
  for (const until = Date.now() + timeoutMs; Date.now() < until; await sleep(100)) {
    row = (await codex.standin.rows('compute_devices')).find((d) => d.name === name);
    if (pred(row)) return row!;
  }
  throw new Error(`compute_devices row ${name} never matched; last: ${JSON.stringify(row)}`);
}

describeIfPostgres('device heartbeat (compute_devices) of the executable', () => {
  it('written at start-up and every second; a black-holed compute_devices does not delay a job; degraded while S3 is down, online after; offline after SIGTERM', async () => {
    const name = `jetson-${randomUUID().slice(0, 8)}`;
    const queues = await codex.createQueues({ visibilitySeconds: 30 });
    const w: WorkerProcess = await startWorkerProcess(['--role', 'transcode'], codex.workerEnv(queues.queueUrl, join(tmp, 'work'), {
      RC_DEVICE_NAME: name, DEVICE_HEARTBEAT_SECONDS: '1', AWS_ENDPOINT_URL_S3: proxy.endpoint, HLS_RENDITIONS: '360',
    }), 'device-heartbeat');
    let holding = false;
    const held: Array<() => void> = [];
    try {
      // At start-up: online, with this machine's figures; the admin's device_type left at its default.
      const first = await rowWhen(name, (r) => r !== undefined);
      const meminfo = parseMeminfo(await readFile('/proc/meminfo', 'utf8'))!;
      expect(first).toMatchObject({
        status: 'online', hostname: hostname(), device_type: 'jetson_orin', last_error: null,
        cpu_cores: parseProcStat(await readFile('/proc/stat', 'utf8')).cores, memory_total_mb: meminfo.totalMb,
        memory_used_mb: expect.any(Number), jetpack_version: null, gpu_model: null, cuda_version: null,
      });
      // Refreshed: a later beat, now with the CPU share measured since the first.
      const second = await rowWhen(name, (r) => Date.parse(String(r?.last_heartbeat_at)) > Date.parse(String(first.last_heartbeat_at)));
      expect(second).toMatchObject({ status: 'online', cpu_utilization: expect.any(Number), id: first.id, created_at: first.created_at });

      // A job with the heartbeat answered, then one while every compute_devices request hangs.
      const timeJob = async (): Promise<number> => {
        const u = await codex.seedUpload(clip);
        const sent = Date.now();
        await codex.sqs.send(new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: u.body }));
        const done = await w.waitFor((e) => (e.event_type === 'job_succeeded' || e.event_type === 'job_failed') && e.job_id === u.job, 60_000);
        expect([u.job, done.event_type]).toEqual([u.job, 'job_succeeded']);
        await expectTranscodedOnce(codex, w.events, u, 2);
        return done.at_ms! - sent;
      };
      const answered = await timeJob();
      codex.standin.onRequest(async (req) => {
        if (req.table !== 'compute_devices' || !holding) return;
        await new Promise<void>((resolve) => held.push(resolve));
        throw new Error('black-holed by device-heartbeat.test.ts');
      });
      holding = true;
      const blackHoled = await timeJob();
      // The hanging write is cut off after 10 s: one warning for the whole outage, then released.
      await w.waitFor((e) => e.event_type === 'device_heartbeat_failed', 20_000);
      await sleep(1_500);
      holding = false;
      for (const release of held.splice(0)) release();
      await w.waitFor((e) => e.event_type === 'device_heartbeat_resumed', 20_000);
      expect(w.events.filter((e) => e.event_type === 'device_heartbeat_failed')).toHaveLength(1);
      process.stdout.write(`\ndevice-heartbeat: transcode job ${answered} ms with the heartbeat answered, ${blackHoled} ms with compute_devices black-holed\n`);
      expect(blackHoled).toBeLessThan(answered * 1.5 + 3_000);

      // S3 resets every connection while a job wants it: degraded, naming s3; online once it is back.
      proxy.set({ kind: 'reset' });
      const u = await codex.seedUpload(clip);
      await codex.sqs.send(new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: u.body }));
      const degraded = await rowWhen(name, (r) => r?.status === 'degraded' && /^s3: unreachable for \d+ s: /.test(String(r.last_error)));
      expect(degraded.last_error).not.toContain('\n');
      proxy.set({ kind: 'pass' });
      await w.waitFor((e) => e.event_type === 'job_succeeded' && e.job_id === u.job, 60_000);
      const online = await rowWhen(name, (r) => r?.status === 'online');
      expect(online.last_error).toBeNull();
      expect(w.events.filter((e) => e.event_type === 'device_status').map((e) => e.status)).toEqual(expect.arrayContaining(['online', 'degraded']));

      // A clean stop: offline, the error cleared, the figures kept.
      expect(await w.stop()).toBe(0);
      const stopped = await rowWhen(name, (r) => r?.status === 'offline', 2_000);
      expect(stopped).toMatchObject({ last_error: null, hostname: hostname(), cpu_cores: first.cpu_cores });
      expect(Date.parse(String(stopped.last_heartbeat_at))).toBeGreaterThan(Date.parse(String(online.last_heartbeat_at)));
      expect(w.events.find((e) => e.event_type === 'device_heartbeat_stopped')).toBeDefined();
      // Every write PostgreSQL saw it accepted (the held ones aside).
      const writes = codex.standin.requests.filter((r) => r.table === 'compute_devices');
      expect(writes.filter((r) => r.status !== 201 && r.status !== 500).map((r) => [r.status, r.body])).toEqual([]);
      expect(w.stderr()).toBe('');
    } finally {
      holding = false;
      for (const release of held.splice(0)) release();
      codex.standin.onRequest(null);
      proxy.set({ kind: 'pass' });
      await w.stop();
    }
  }, 150_000);
});
