// Issue 23's proof: Debian's Prometheus (build/ensure-system.sh installs it) on 127.0.0.1,
// scraping the built executable's /metrics every second and loading the committed
// deploy/prometheus rules, while two workers run real jobs: `--role transcode,cleanup` takes
// a transcode through fauxqs and the PostgREST stand-in, and the stereo roles take a job
// through fauxqs and dynalite. Then every query of every panel of the committed
// deploy/grafana dashboards, every variable, every recording rule and every part of every
// alert is asked of Prometheus's HTTP API, and each must return series: a misspelt metric or
// label, or a metric the executable does not export, fails here. The rules load with no
// error, no alert fires on this healthy run, and the numbers are the jobs' own.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { waitForExit, waitForHttp } from '../helpers/binary.js';
import { freePort } from '../helpers/servers.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process.js';
import { makeClip, startRugbyCodex, type RugbyCodex } from '../helpers/rugbycodex.js';
import { INPUT, s3Event, startStereoWorld, type StereoWorld } from '../helpers/stereo-world.js';
import { until } from '../helpers/wait.js';
import { DEPLOY_DIR, RULES_FILE } from '../../build/monitoring.js';
import { ALERT_RULES, RECORDING_RULES } from '../../build/monitoring/rules.js';
import { DASHBOARDS } from '../../build/monitoring/dashboards.js';
import { JOB } from '../../build/monitoring/names.js';

interface Series { metric: Record<string, string>; value: [number, string] }
interface GrafanaDashboard { uid: string; panels: Array<{ type: string; title: string; targets?: Array<{ expr: string; refId: string }> }>; templating: { list: Array<{ type: string; name: string; query: string }> } }

let codex: RugbyCodex;
let w: StereoWorld;
let tmp: string;
let prometheus: ChildProcess | undefined;
let promUrl: string;
let promLog = '';
const workers: WorkerProcess[] = [];

async function query(expr: string): Promise<{ status: string; error?: string; result: Series[] }> {
  const r = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = await r.json() as { status: string; error?: string; data?: { resultType: string; result: Series[] } };
  return { status: body.status, ...(body.error ? { error: body.error } : {}), result: body.data?.resultType === 'vector' ? body.data.result : [] };
}

/** Series of `expr` as `labels=value` lines, for readable failures. */
const shown = (s: Series[]): string[] => s.map((x) => `${JSON.stringify(x.metric)}=${x.value[1]}`);
const values = async (expr: string): Promise<number[]> => (await query(expr)).result.map((s) => Number(s.value[1]));

/** Grafana's variables as "All" would send them, and its interval macros. */
function asGrafanaSends(expr: string): string {
  const out = expr.replaceAll('$__rate_interval', '15s').replaceAll('$role', '.*').replaceAll('$instance', '.*');
  if (out.includes('$')) throw new Error(`a variable the test does not know in ${expr}`);
  return out;
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'rw-monitoring-'));
  [codex, w] = await Promise.all([startRugbyCodex(), startStereoWorld()]);
}, 60_000);

afterAll(async () => {
  await Promise.all(workers.map((x) => x.stop().catch(() => undefined)));
  if (prometheus && prometheus.exitCode === null) {
    prometheus.kill('SIGTERM');
    await waitForExit(prometheus, 15_000).catch(() => prometheus?.kill('SIGKILL'));
  }
  await Promise.all([codex?.stop(), w?.stop()]);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('the dashboards and rules on a real Prometheus scraping the executable', () => {
  it('every panel, variable, recording rule and alert part returns series while real jobs run', async () => {
    // --- a transcode: one upload, the worker with the cleanup role beside it ---
    const clip = join(tmp, 'match.mp4');
    const stereoClip = join(w.tmp, 'clip.mp4');
    await Promise.all([makeClip(w.bins.ffmpeg, clip, 4, '640x360'), w.makeClip(stereoClip, 3)]);
    const queues = await codex.createQueues({ visibilitySeconds: 60 });
    const upload = await codex.seedUpload(clip);
    const transcoder = await startWorkerProcess(['--role', 'transcode,cleanup'], codex.workerEnv(queues.queueUrl, join(tmp, 'work'), { RC_DEVICE_NAME: '' }), 'monitoring-transcode');
    workers.push(transcoder);

    // --- a stereo job: chunk → segment-infer → reassemble, the trigger reconciler beside them ---
    const [chunking, videoWorker, reassembly] = await Promise.all(['chunking', 'video-worker', 'reassembly'].map((q) => w.createQueue(`monitoring-${q}`, 30, 3)));
    const env = w.workerEnv({ chunking: chunking!.url, videoWorker: videoWorker!.url, reassembly: reassembly!.url }, {
      CHUNK_SEGMENT_DURATION_SEC: '1', TRIGGER_INTERVAL_SECONDS: '2', HEARTBEAT_INTERVAL_SECONDS: '1', HEARTBEAT_EXTENSION_SECONDS: '10', WORK_DIR: join(w.tmp, 'work'),
    });
    const stereo = await startWorkerProcess(['--role', 'chunk,segment-infer,trigger,reassemble'], env, 'monitoring-stereo');
    workers.push(stereo);

    // --- Prometheus: every second, both workers, the committed rules ---
    const promPort = await freePort();
    promUrl = `http://127.0.0.1:${promPort}`;
    const targets = workers.map((x) => new URL(x.health).host);
    await writeFile(join(tmp, 'prometheus.yml'), JSON.stringify({
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      rule_files: [join(DEPLOY_DIR, 'prometheus', RULES_FILE)],
      scrape_configs: [{ job_name: JOB, static_configs: [{ targets }] }],
    }));
    prometheus = spawn('prometheus', [
      `--config.file=${join(tmp, 'prometheus.yml')}`, `--storage.tsdb.path=${join(tmp, 'tsdb')}`, `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    prometheus.stdout!.setEncoding('utf8').on('data', (c: string) => { promLog += c; });
    prometheus.stderr!.setEncoding('utf8').on('data', (c: string) => { promLog += c; });
    await waitForHttp(`${promUrl}/-/ready`, 20_000, { status: 200 });
    // Both scraped before any job: a counter first seen after its job has no increase to show.
    await until('both workers scraped', 20_000, async () => (await values(`count_over_time(up{job="${JOB}"}[1m]) >= 2`)).length === 2 || undefined, () => promLog);

    const diag = (): string => `prometheus: ${promLog.slice(-1500)}\ntranscode: ${transcoder.events.slice(-8).map((e) => JSON.stringify(e).slice(0, 300)).join('\n')}\nstereo: ${stereo.events.slice(-8).map((e) => JSON.stringify(e).slice(0, 300)).join('\n')}`;
    const jobId = randomUUID();
    const emulator = w.notifySegments(videoWorker!.url, `segments/${jobId}/`);
    try {
      await codex.sqs.send(new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: upload.body }));
      await w.ddb.send(new PutCommand({ TableName: w.tables.jobs, Item: { job_id: jobId, mode: 'sbs', status: 'created', created_at: Math.floor(Date.now() / 1000) } }));
      const source = await readFile(stereoClip);
      await w.putObject(INPUT, `input/${jobId}/source.mp4`, source);
      await w.send(chunking!.url, s3Event(INPUT, `input/${jobId}/source.mp4`, source.length));

      await transcoder.waitFor((e) => e.event_type === 'transcode_completed', 60_000);
      await until('the stereo job completed', 60_000, async () => (await w.getJob(jobId))?.status === 'completed' || undefined, diag);
      const segments = Number((await w.getJob(jobId))!.total_segments);

      // Prometheus has scraped the finished jobs, and the rules have recorded from them.
      let seen = '';
      await until('the jobs scraped and recorded', 30_000, async () => {
        // The success is counted at the ack, after the time to ready: a scrape can fall between.
        const [ready, succeeded, joined, recorded] = await Promise.all([
          values('rugbyworker_transcode_time_to_ready_seconds_count'),
          values('sum(rugbyworker_jobs_succeeded_total{role="transcode"})'),
          values('rugbyworker_stereo_jobs_total{role="reassemble",outcome="completed"}'),
          values('sum(le:rugbyworker_transcode_time_to_ready_seconds_bucket:rate1h)'),
        ]);
        seen = `time to ready count ${ready.join()}, transcodes succeeded ${succeeded.join()}, reassemblies ${joined.join()}, recorded ${recorded.join()}`;
        return (ready[0] === 1 && succeeded[0] === 1 && joined[0] === 1 && (recorded[0] ?? 0) > 0) || undefined;
      }, () => `${seen}\n${diag()}`);

      // --- the numbers are the jobs' own ---
      expect(shown((await query('rugbyworker_transcode_phase_seconds_count')).result).map((s) => s.replace(/^.*"phase":"([a-z]+)".*=/, '$1=')).sort())
        .toEqual(['download=1', 'encode=1', 'finish=1', 'queued=1', 'upload=1']);
      expect(await values('sum(rugbyworker_jobs_succeeded_total{role="transcode"})')).toEqual([1]);
      expect(await values('sum(rugbyworker_segments_total{role="segment-infer"})')).toEqual([segments]);
      expect(await values('sum(rugbyworker_inference_seconds_count{backend="stub"})')).toEqual([segments]);
      expect((await query('rugbyworker_hardware_info')).result.map((s) => `${s.metric.stage}=${s.metric.method}`).sort()).toEqual(['decode=software', 'encode=libx264']);
      expect((await query('count by (instance) (rugbyworker_role_info)')).result.map((s) => Number(s.value[1])).sort()).toEqual([2, 4]);
      expect((await query(`rugbyworker_queue_messages{role="transcode"}`)).result.map((s) => `${s.metric.state}=${s.value[1]}`).sort()).toEqual(['dead_letter=0', 'in_flight=0', 'visible=0']);
      // The transcode's lease follows its source's size (one extension at least), the stereo jobs' a 1 s heartbeat.
      expect((await values('sum(rugbyworker_heartbeat_extensions_total)'))[0]).toBeGreaterThan(0);

      // --- the rules loaded and evaluate without error ---
      const rules = await (await fetch(`${promUrl}/api/v1/rules`)).json() as { data: { groups: Array<{ name: string; rules: Array<{ name: string; health: string; lastError?: string; state?: string }> }> } };
      const loaded = rules.data.groups.flatMap((g) => g.rules);
      expect(loaded.map((r) => r.name).sort()).toEqual([...RECORDING_RULES.map((r) => r.record), ...ALERT_RULES.map((a) => a.alert)].sort());
      expect(loaded.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`)).toEqual([]);
      expect(loaded.filter((r) => r.state === 'firing').map((r) => r.name)).toEqual([]);

      // --- every expression returns series ---
      const empty: string[] = [];
      const check = async (where: string, expr: string): Promise<Series[]> => {
        const r = await query(expr);
        if (r.status !== 'success' || r.result.length === 0) empty.push(`${where}: ${expr} → ${r.status}${r.error ? ` ${r.error}` : ' (no series)'}`);
        return r.result;
      };
      let asked = 0;
      for (const d of DASHBOARDS) {
        const json = JSON.parse(await readFile(join(DEPLOY_DIR, 'grafana', d.file), 'utf8')) as GrafanaDashboard;
        for (const v of json.templating.list.filter((x) => x.type !== 'datasource')) {
          const m = /^label_values\((.+), ([a-z_]+)\)$/.exec(v.query);
          expect({ variable: v.name, query: v.query, parsed: m !== null }).toEqual({ variable: v.name, query: v.query, parsed: true });
          const found = await check(`${json.uid} $${v.name}`, asGrafanaSends(m![1]!));
          expect(found.every((s) => typeof s.metric[m![2]!] === 'string')).toBe(true);
          asked++;
        }
        for (const p of json.panels.filter((x) => x.type !== 'row')) {
          expect({ panel: p.title, queries: p.targets?.length ?? 0 }).toEqual({ panel: p.title, queries: expect.any(Number) });
          for (const t of p.targets!) { await check(`${json.uid} "${p.title}" ${t.refId}`, asGrafanaSends(t.expr)); asked++; }
        }
      }
      for (const r of RECORDING_RULES) { await check(`recording ${r.record}`, r.record); asked++; }
      for (const a of ALERT_RULES) {
        for (const part of a.parts) { await check(`${a.alert} part`, part); asked++; }
        // The alert itself is valid PromQL (and, all being well, empty).
        const whole = await query(a.expr);
        expect({ alert: a.alert, status: whole.status, error: whole.error }).toEqual({ alert: a.alert, status: 'success', error: undefined });
      }
      expect(empty).toEqual([]);
      console.log(`monitoring: ${asked} expressions returned series`);
    } finally {
      await emulator.stop();
    }
  }, 110_000);
});
