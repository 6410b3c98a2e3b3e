// Issue 12's "each dependency down for 30 s in the middle of a job", on the executable, for
// the stereo pipeline's roles: chunk, segment-infer and reassemble, each losing S3 or
// DynamoDB for 30 s while it has the job; segment-infer losing its HTTP inference server;
// and every role losing SQS. Each scenario is a pipeline of its own (one process running
// chunk,segment-infer,trigger,reassemble, its own queues and job, a fault proxy in front of
// the one dependency it loses), and the eight run side by side: 30 s of outage cost the
// suite once. Each asserts, for its job: completed once, final.mp4 there once with every
// frame of the source, one SegmentCompletion per segment, one reassembly triggered and
// done, no failure, every message on its first receive (an outage spends no receive), the
// queues and DLQs empty, no work file left, /health 503 naming the dependency during the
// outage and 200 after, and a clean exit.
// FAULTS_LOG_DIR=DIR keeps each worker's log lines there.
import { randomUUID } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { waitForExit } from '../helpers/binary.js';
import { startWorkerProcess, watchHealth, type HealthSample, type LogEvent } from '../helpers/worker-process.js';
import { proxyEndpoint, type FaultMode, type FaultProxy } from '../helpers/fault-proxy.js';
import { startInferenceHttpServer, type InferenceHttpServer } from '../helpers/inference-standin.js';
import { createStereoTables, type CreatedStereoTables } from '../helpers/stereo-tables.js';
import { INPUT, OUTPUT, s3Event, startStereoWorld, type Probe, type QueuePair, type StereoWorld } from '../helpers/stereo-world.js';
import { until } from '../helpers/wait.js';

const OUTAGE_MS = 30_000;

let w: StereoWorld;
let clip: string;
let source: Buffer;
let sourceProbe: Probe;
let inference: InferenceHttpServer;
const proxies: FaultProxy[] = [];
const table: string[] = [];

beforeAll(async () => {
  w = await startStereoWorld();
  clip = join(w.tmp, 'clip.mp4');
  await w.makeClip(clip, 4);
  source = await readFile(clip);
  sourceProbe = await w.probeVideo(clip);
  inference = await startInferenceHttpServer({ s3: w.s3 });
}, 60_000);

afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  await inference?.stop();
  await w?.stop();
  if (table.length) process.stdout.write(`\nfaults-outage-stereo:\n| scenario | jobs | lost | duplicated | time to recover |\n|---|---|---|---|---|\n${table.join('\n')}\n`);
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const pad = (n: number): string => String(n).padStart(5, '0');
const downIn = (samples: HealthSample[], dep: string): boolean => samples.some((s) => s.label.startsWith('503') && s.label.slice(4).split(',').includes(dep));

type Dep = 'sqs' | 's3' | 'dynamodb' | 'inference';

interface Scenario {
  name: string;
  dep: Dep;
  mode: FaultMode;
  /** The moment the outage starts: this line of the job. */
  when: (e: LogEvent) => boolean;
}

const started = (role: string) => (e: LogEvent): boolean => e.event_type === 'job_started' && e.role === role;
const inferring = (e: LogEvent): boolean => e.event_type === 'inference_started';

const SCENARIOS: Scenario[] = [
  { name: 'chunk-s3', dep: 's3', mode: { kind: 'reset' }, when: started('chunk') },
  { name: 'chunk-dynamodb', dep: 'dynamodb', mode: { kind: 'reset' }, when: started('chunk') },
  { name: 'infer-s3', dep: 's3', mode: { kind: 'reset' }, when: inferring },
  { name: 'infer-dynamodb', dep: 'dynamodb', mode: { kind: 'blackhole' }, when: inferring },
  { name: 'infer-inference', dep: 'inference', mode: { kind: 'reset' }, when: inferring },
  { name: 'reassemble-s3', dep: 's3', mode: { kind: 'reset' }, when: started('reassemble') },
  { name: 'reassemble-dynamodb', dep: 'dynamodb', mode: { kind: 'reset' }, when: started('reassemble') },
  { name: 'all-sqs', dep: 'sqs', mode: { kind: 'blackhole' }, when: inferring },
];

async function completionsOf(tables: CreatedStereoTables, jobId: string): Promise<Array<Record<string, unknown>>> {
  const r = await w.ddb.send(new QueryCommand({
    TableName: tables.segmentCompletions, KeyConditionExpression: 'job_id = :j', ExpressionAttributeValues: { ':j': jobId }, ConsistentRead: true,
  }));
  return r.Items ?? [];
}

async function jobOf(tables: CreatedStereoTables, jobId: string): Promise<Record<string, unknown> | undefined> {
  return (await w.ddb.send(new GetCommand({ TableName: tables.jobs, Key: { job_id: jobId }, ConsistentRead: true }))).Item;
}

async function runScenario(s: Scenario) {
  const queue = (q: string): Promise<QueuePair> => w.createQueue(`outage-${s.name}-${q}`, 10, 5);
  const [chunking, videoWorker, reassembly] = await Promise.all([queue('chunking'), queue('video-worker'), queue('reassembly')]);
  const target = { sqs: w.fauxqs.endpoint, s3: w.fauxqs.endpoint, dynamodb: w.dynalite.endpoint, inference: inference.url }[s.dep];
  const proxy = await proxyEndpoint(target);
  proxies.push(proxy);
  // Tables of its own: a trigger reconciler takes every job of its tables, and one pipeline's
  // must not send another's job to its own reassembly queue.
  const tables = await createStereoTables(w.ddbClient, `outage-${s.name}`);
  const jobId = randomUUID();
  const now = Math.floor(Date.now() / 1000);
  await w.ddb.send(new PutCommand({ TableName: tables.jobs, Item: { job_id: jobId, mode: 'sbs', status: 'created', created_at: now } }));
  const workDir = join(w.tmp, `work-${s.name}`);
  const via = {
    sqs: { AWS_ENDPOINT_URL_SQS: proxy.endpoint }, s3: { AWS_ENDPOINT_URL_S3: proxy.endpoint }, dynamodb: { AWS_ENDPOINT_URL_DYNAMODB: proxy.endpoint },
    inference: { INFERENCE_BACKEND: 'http', INFERENCE_HTTP_URL: proxy.endpoint },
  }[s.dep] as Record<string, string>;
  // Leases of 45 s: a 30 s SQS outage is within them (heartbeats retried), as with the live 5 min.
  const env = w.workerEnv({ chunking: chunking.url, videoWorker: videoWorker.url, reassembly: reassembly.url }, {
    CHUNK_SEGMENT_DURATION_SEC: '1', TRIGGER_INTERVAL_SECONDS: '2', HEARTBEAT_INTERVAL_SECONDS: '2', HEARTBEAT_EXTENSION_SECONDS: '45',
    WORK_DIR: workDir, SHUTDOWN_GRACE_SECONDS: '10', LOG_LEVEL: 'info',
    JOBS_TABLE_NAME: tables.jobs, SEGMENT_COMPLETIONS_TABLE_NAME: tables.segmentCompletions, REASSEMBLY_TRIGGERED_TABLE_NAME: tables.reassemblyTriggered, ...via,
  });
  const x = await startWorkerProcess(['--role', 'chunk,segment-infer,trigger,reassemble'], env, `outage-${s.name}`);
  const emulator = w.notifySegments(videoWorker.url, `segments/${jobId}/`);
  const diag = (): string => `${s.name} stderr: ${x.stderr().slice(-1500)}\nlast events:\n${x.events.slice(-25).map((e) => JSON.stringify(e).slice(0, 400)).join('\n')}`;
  try {
    await w.putObject(INPUT, `input/${jobId}/source.mp4`, source);
    await w.send(chunking.url, s3Event(INPUT, `input/${jobId}/source.mp4`, source.length));
    await x.waitFor((e) => s.when(e) && e.job_id === jobId, 60_000).catch((err: unknown) => { throw new Error(`${(err as Error).message}\n${diag()}`); });
    proxy.set(s.mode);
    const back = sleep(OUTAGE_MS).then(() => { proxy.set({ kind: 'pass' }); return Date.now(); });
    const completed = back.then(() => until(`${s.name}: the job completed`, 90_000, async () => ((await jobOf(tables, jobId))?.status === 'completed' ? Date.now() : undefined), diag));
    const health = await watchHealth(x.health, completed.then(() => until(`${s.name}: /health 200`, 20_000, async () => (await fetch(x.health)).status === 200 || undefined).catch(() => undefined)));
    const recovered = (await completed - await back) / 1000;
    await until(`${s.name}: the queues idle`, 30_000, async () => {
      for (const q of [chunking, videoWorker, reassembly]) if ((await w.depth(q.url)) + (await w.depth(q.dlq)) > 0) return undefined;
      return true;
    }, diag);
    return { s, x, tables, jobId, now, workDir, health, recovered, notified: emulator.notified };
  } finally {
    proxy.set({ kind: 'pass' });
    await emulator.stop();
  }
}

describe('each dependency down for 30 s in the middle of a stereo job', () => {
  it('chunk, segment-infer and reassemble each losing S3 or DynamoDB, segment-infer its inference server, every role SQS: each job completed once', async () => {
    const results = await Promise.all(SCENARIOS.map(runScenario));

    for (const { s, x, tables, jobId, now, workDir, health, recovered, notified } of results) {
      const of = (type: string): LogEvent[] => x.events.filter((e) => e.event_type === type && e.job_id === jobId);
      const job = (await jobOf(tables, jobId))!;
      const total = job.total_segments as number;
      const perSegment = new Map<number, number>();
      for (const e of of('segment_completed')) perSegment.set(Number(e.segment_index), (perSegment.get(Number(e.segment_index)) ?? 0) + 1);
      const redone = [...perSegment.values()].reduce((n, c) => n + c - 1, 0);
      const waits = of('job_waiting').length;
      const beats = x.events.filter((e) => e.event_type === 'heartbeat_retry').length;
      const receives = x.events.filter((e) => e.event_type === 'job_started' && e.job_id === jobId).map((e) => Number(e.receive_count));
      table.push(`| ${s.name}: ${s.dep} ${s.mode.kind} 30 s | 1 (${total} segments) | 0 | 0 (final.mp4 once; ${redone} segment inferences redone, ${waits} tries waited out, ${beats} heartbeats retried, max receive ${Math.max(...receives)}) | ${recovered.toFixed(1)} s from the service's return to completed |`);

      expect([s.name, job]).toEqual([s.name, { job_id: jobId, mode: 'sbs', status: 'completed', created_at: now, total_segments: expect.any(Number), completed_at: expect.any(Number) }]);
      expect(total).toBe(4);
      const completions = await completionsOf(tables, jobId);
      expect([s.name, completions.map((c) => c.segment_index)]).toEqual([s.name, [0, 1, 2, 3]]);
      for (const c of completions) {
        expect(c).toEqual({ job_id: jobId, segment_index: c.segment_index, total_segments: total,
          output_s3_uri: `s3://${OUTPUT}/jobs/${jobId}/segments/${c.segment_index as number}.mp4`, completed_at: expect.any(Number) });
      }
      const outKeys = (await w.listKeys(OUTPUT, `jobs/${jobId}/`)).map((o) => o.key);
      expect([s.name, outKeys.sort()]).toEqual([s.name, [`jobs/${jobId}/final.mp4`, ...[0, 1, 2, 3].map((i) => `jobs/${jobId}/segments/${i}.mp4`)].sort()]);
      const segKeys = (await w.listKeys(INPUT, `segments/${jobId}/`)).map((o) => o.key);
      expect(segKeys).toEqual([0, 1, 2, 3].map((i) => `segments/${jobId}/${pad(i)}_${pad(total)}_sbs.mp4`));
      expect([...notified.keys()].sort()).toEqual(segKeys);
      const finalFile = join(w.tmp, `final-${s.name}.mp4`);
      await writeFile(finalFile, await (await w.s3.send(new GetObjectCommand({ Bucket: OUTPUT, Key: `jobs/${jobId}/final.mp4` }))).Body!.transformToByteArray());
      expect([s.name, (await w.probeVideo(finalFile)).frames]).toEqual([s.name, sourceProbe.frames]);

      // Once: chunked once, one reassembly triggered and completed, nothing failed, every
      // message done on its first receive.
      expect([s.name, of('chunking_completed').length, of('reassembly_triggered').length, of('reassembly_completed').length]).toEqual([s.name, 1, 1, 1]);
      expect([s.name, [...perSegment.keys()].sort()]).toEqual([s.name, [0, 1, 2, 3]]);
      expect([s.name, of('segment_failed'), of('job_failed'), of('job_retry'), of('job_lease_lost')]).toEqual([s.name, [], [], [], []]);
      expect([s.name, receives.filter((n) => n !== 1)]).toEqual([s.name, []]);
      expect(x.events.filter((e) => e.event_type === 'heartbeat_failed')).toEqual([]);
      expect([s.name, downIn(health, s.dep), health.at(-1)?.label]).toEqual([s.name, true, '200']);

      x.child.kill('SIGTERM');
      expect([s.name, await waitForExit(x.child, 30_000)]).toEqual([s.name, 0]);
      expect([s.name, x.stderr()]).toEqual([s.name, '']);
      expect([s.name, existsSync(workDir) ? await readdir(workDir, { recursive: true }) : []]).toEqual([s.name, []]);
    }
  }, 240_000);
});
