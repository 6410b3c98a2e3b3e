// Start-up cost: the executable against `node dist/bundle.cjs` on the same Node 24 and against
// bare Node doing the least the same job needs, side by side in one run (alternating, so all
// see the same machine load).
//   --version         spawn until exit; bare Node: `node -e 0`. Goal (issue 21) <= 100 ms.
//   --role transcode  spawn until the first 200 from /health (polled every 5 ms), on fauxqs SQS
//                     (its own process) and a Supabase stand-in answering the start-up ping;
//                     bare Node: an HTTP server answering 200. Goal (issue 21) <= 150 ms.
//   --role none       the same, no role; then idle RSS = VmRSS 2 s after healthy.
//                     Goals (issue 2): <= 150 ms, idle RSS <= 90 MB.
// Env: BENCH_N (runs each, default 15), RUGBYWORKER_NODE (Node binary for the bundle).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer as createHttpServer, request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { EXEC_ARGV, hostArch, nodeBinary } from '../../build/node-dist.mjs';

const root = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const N = Number(process.env.BENCH_N ?? 15);
const GOAL = { version: 100, transcode: 150, none: 150, rss: 90 };
const IDLE_MS = 2000;
const exe = join(root, 'dist', `rugbyworker-linux-${hostArch()}`);
const bundle = join(root, 'dist', 'bundle.cjs');
const node = process.env.RUGBYWORKER_NODE ?? nodeBinary(hostArch());
const baseEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function healthStatus(port) {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/health', agent: false, timeout: 1000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** A /proc/<pid>/status memory field (VmRSS, RssAnon, RssFile) in MB. */
function statusMB(pid, field) {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no ${field} for ${pid}`);
  return Number(m[1]) / 1024;
}

/** Spawn until exit 0; milliseconds. */
function timeToExit(cmd, args) {
  const started = performance.now();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: baseEnv });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}: ${String(r.stderr).trim()}`);
  return performance.now() - started;
}

/** Spawn, poll /health every 5 ms until 200; with `idle`, wait that long and read RSS; SIGTERM, wait for exit. */
async function timeToHealthy(cmd, args, { env = {}, idleMs = 0 } = {}) {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(cmd, args(port), { stdio: ['ignore', 'ignore', 'pipe'], env: { ...baseEnv, ...env } });
  let stderr = '';
  child.stderr.on('data', (c) => { stderr += c; });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  let gone = null;
  void exited.then((c) => { gone = c; });
  try {
    for (;;) {
      if (gone !== null) throw new Error(`${cmd} exited (${gone}) before /health answered: ${stderr.trim()}`);
      if (await healthStatus(port) === 200) break;
      if (performance.now() - started > 15_000) throw new Error(`${cmd}: /health not 200 after 15 s: ${stderr.trim()}`);
      await sleep(5);
    }
    const ms = performance.now() - started;
    if (idleMs === 0) return { ms };
    await sleep(idleMs);
    return { ms, rss: statusMB(child.pid, 'VmRSS'), anon: statusMB(child.pid, 'RssAnon') };
  } finally {
    if (gone === null) child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  }
}

/** fauxqs (the SQS stand-in) in its own process, so its CPU is not the worker's. */
async function startFauxqs() {
  const child = spawn(node, [join(root, 'test', 'bench', 'fauxqs-process.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    child.stdout.once('data', (c) => resolve(Number(String(c).trim())));
    child.once('exit', (code) => reject(new Error(`fauxqs process exited ${code}`)));
  });
  return { endpoint: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}

/** Answers every request 200 `[]`: the role's start-up ping (select id from jobs limit 1) and any later select. */
async function startSupabaseStandin() {
  const server = createHttpServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' });
    res.end('[]');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, stop: () => server.close() };
}

const quantile = (values, q) => {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
};

const fauxqs = await startFauxqs();
const supabase = await startSupabaseStandin();
const workDir = mkdtempSync(join(tmpdir(), 'rw-startup-bench-'));
try {
  const aws = { endpoint: fauxqs.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  const { QueueUrl } = await new SQSClient(aws).send(new CreateQueueCommand({ QueueName: `bench-startup-${process.pid}` }));
  const transcodeEnv = {
    QUEUE_BACKEND: 'sqs', SQS_TRANSCODE_QUEUE_URL: QueueUrl, AWS_ENDPOINT_URL: fauxqs.endpoint, AWS_REGION: aws.region,
    AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', SUPABASE_URL: supabase.url, SUPABASE_SERVICE_ROLE_KEY: 'bench',
    WORK_DIR: workDir, LOG_LEVEL: 'warn',
  };
  const worker = (lead, role) => (port) => [...lead, '--role', role, '--health-port', String(port)];
  const bareServer = "require('http').createServer((q,r)=>r.end('ok')).listen(Number(process.argv[1]),'127.0.0.1')";
  const subjects = [
    { name: 'executable', cmd: exe, args: [] },
    { name: 'node bundle.cjs', cmd: node, args: [...EXEC_ARGV, bundle] },
  ];
  const bare = { name: 'bare node' };
  const measures = [
    { key: 'version', label: '--version (ms)', goal: GOAL.version,
      run: (s) => timeToExit(s.cmd, [...s.args, '--version']), bare: () => timeToExit(node, ['-e', '0']) },
    { key: 'transcode', label: '--role transcode (ms)', goal: GOAL.transcode,
      run: async (s) => (await timeToHealthy(s.cmd, worker(s.args, 'transcode'), { env: transcodeEnv })).ms,
      bare: async () => (await timeToHealthy(node, (port) => ['-e', bareServer, String(port)])).ms },
    { key: 'none', label: '--role none (ms)', goal: GOAL.none,
      run: async (s) => {
        const r = await timeToHealthy(s.cmd, worker(s.args, 'none'), { idleMs: IDLE_MS });
        (s.rss ??= []).push(r.rss);
        (s.anon ??= []).push(r.anon);
        return r.ms;
      } },
  ];

  console.log(`startup: ${N} alternating runs each; /health polled every 5 ms; RSS ${IDLE_MS / 1000} s after healthy (--role none)`);
  console.log(`  executable: ${exe}`);
  console.log(`  bundle:     ${node} ${bundle}`);
  // A just-built executable sits wholly in the page cache, and the kernel's fault-around
  // then maps far more of it into the process than a deployed binary gets (measured:
  // +15 MB RssFile). Evict the binaries, then one untimed warm-up each, so all are
  // measured as on a running machine: the pages they use cached, the rest not.
  for (const file of [exe, node, bundle]) spawnSync('dd', [`if=${file}`, 'iflag=nocache', 'count=0', 'status=none']);
  for (const m of measures) {
    for (const s of subjects) await m.run(s);
    if (m.bare) await m.bare();
  }
  for (let i = 0; i < N; i++) {
    for (const m of measures) {
      const all = [...subjects, bare];
      for (const s of i % 2 === 0 ? all : all.reverse()) {
        if (s === bare && !m.bare) continue;
        const ms = s === bare ? await m.bare() : await m.run(s);
        ((s[m.key] ??= [])).push(ms);
      }
    }
    process.stdout.write('.');
  }
  process.stdout.write('\n\n');

  const [a, b] = subjects;
  const f = (v, d = 1) => (v === undefined ? '' : v.toFixed(d));
  const row = (label, cells) => console.log(label.padEnd(26) + cells.map((c) => String(c).padStart(16)).join(''));
  const spread = (v) => `${f(quantile(v, 0))}-${f(quantile(v, 1))}`;
  row('', [a.name, b.name, bare.name, 'goal', 'executable']);
  for (const m of measures) {
    const med = (s) => (s[m.key] ? quantile(s[m.key], 0.5) : undefined);
    row(`${m.label} median`, [f(med(a)), f(med(b)), f(med(bare)), `<= ${m.goal}`, med(a) <= m.goal ? 'PASS' : 'MISS']);
    row('  p90', [f(quantile(a[m.key], 0.9)), f(quantile(b[m.key], 0.9)), bare[m.key] ? f(quantile(bare[m.key], 0.9)) : '', '', '']);
    row('  min-max', [spread(a[m.key]), spread(b[m.key]), bare[m.key] ? spread(bare[m.key]) : '', '', '']);
  }
  for (const [label, get] of [['idle RSS median (MB)', (s) => quantile(s.rss, 0.5)], ['idle RSS p90 (MB)', (s) => quantile(s.rss, 0.9)]]) {
    row(label, [f(get(a)), f(get(b)), '', `<= ${GOAL.rss}`, get(a) <= GOAL.rss ? 'PASS' : 'MISS']);
  }
  // RSS = anonymous (heap, V8) + file-backed (pages of the binary itself, shared page cache).
  row('  of which anon (MB)', [f(quantile(a.anon, 0.5)), f(quantile(b.anon, 0.5)), '', '', '']);
  console.log('');
  for (const arch of ['x64', 'arm64']) {
    const file = join(root, 'dist', `rugbyworker-linux-${arch}`);
    let size = 'not built';
    try { size = `${(statSync(file).size / 1e6).toFixed(1)} MB`; } catch { /* not built */ }
    console.log(`size dist/rugbyworker-linux-${arch}: ${size}`);
  }
  console.log(`size dist/bundle.cjs: ${(statSync(bundle).size / 1e3).toFixed(1)} kB`);
} finally {
  fauxqs.stop();
  supabase.stop();
  rmSync(workDir, { recursive: true, force: true });
}
