// Cold start and idle memory: the executable against `node dist/bundle.cjs` on the same
// Node 24, side by side in one run (alternating, so both see the same machine load).
// Cold start = spawn until the first 200 from /health (polled every 5 ms); idle RSS =
// VmRSS 2 s after healthy. Goals (issue 2): cold start <= 150 ms, idle RSS <= 90 MB.
// Env: BENCH_N (runs each, default 15), RUGBYWORKER_NODE (Node binary for the bundle).
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { EXEC_ARGV, hostArch, nodeBinary } from '../../build/node-dist.mjs';

const root = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const N = Number(process.env.BENCH_N ?? 15);
const GOAL_START_MS = 150;
const GOAL_RSS_MB = 90;
const IDLE_MS = 2000;
const exe = join(root, 'dist', `rugbyworker-linux-${hostArch()}`);
const bundle = join(root, 'dist', 'bundle.cjs');
const node = process.env.RUGBYWORKER_NODE ?? nodeBinary(hostArch());

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

/** One run: spawn, poll /health every 5 ms until 200, wait 2 s, read RSS, SIGTERM, wait for exit. */
async function once(cmd, args) {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(cmd, [...args, '--role', 'none', '--health-port', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
  });
  let stderr = '';
  child.stderr.on('data', (c) => { stderr += c; });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  let gone = null;
  void exited.then((c) => { gone = c; });
  try {
    for (;;) {
      if (gone !== null) throw new Error(`${cmd} exited (${gone}) before /health answered: ${stderr.trim()}`);
      if (await healthStatus(port) === 200) break;
      if (performance.now() - started > 15_000) throw new Error(`${cmd}: /health not 200 after 15 s`);
      await sleep(5);
    }
    const startMs = performance.now() - started;
    await sleep(IDLE_MS);
    return { startMs, rss: statusMB(child.pid, 'VmRSS'), anon: statusMB(child.pid, 'RssAnon') };
  } finally {
    if (gone === null) child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  }
}

function quantile(values, q) {
  const s = [...values].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
  return s[i];
}

const subjects = [
  { name: 'executable', cmd: exe, args: [], start: [], rss: [], anon: [] },
  { name: 'node bundle.cjs', cmd: node, args: [...EXEC_ARGV, bundle], start: [], rss: [], anon: [] },
];

console.log(`startup: ${N} alternating runs each, /health polled every 5 ms, RSS ${IDLE_MS / 1000} s after healthy`);
console.log(`  executable: ${exe}`);
console.log(`  bundle:     ${node} ${bundle}`);
// A just-built executable sits wholly in the page cache, and the kernel's fault-around
// then maps far more of it into the process than a deployed binary gets (measured:
// +15 MB RssFile). Evict both binaries, then one untimed warm-up each, so both are
// measured as on a running machine: the pages they use cached, the rest not.
for (const file of [exe, node, bundle]) spawnSync('dd', [`if=${file}`, 'iflag=nocache', 'count=0', 'status=none']);
for (const s of subjects) await once(s.cmd, s.args);
for (let i = 0; i < N; i++) {
  for (const s of (i % 2 === 0 ? subjects : [...subjects].reverse())) {
    const r = await once(s.cmd, s.args);
    s.start.push(r.startMs);
    s.rss.push(r.rss);
    s.anon.push(r.anon);
  }
  process.stdout.write('.');
}
process.stdout.write('\n\n');

const [a, b] = subjects;
const row = (label, cells) => console.log(label.padEnd(24) + cells.map((c) => String(c).padStart(16)).join(''));
const f = (v, d = 1) => v.toFixed(d);
row('', [a.name, b.name, 'exe / bundle', 'goal', 'executable']);
const metrics = [
  ['cold start median (ms)', (s) => quantile(s.start, 0.5), GOAL_START_MS],
  ['cold start p90 (ms)', (s) => quantile(s.start, 0.9), GOAL_START_MS],
  ['idle RSS median (MB)', (s) => quantile(s.rss, 0.5), GOAL_RSS_MB],
  ['idle RSS p90 (MB)', (s) => quantile(s.rss, 0.9), GOAL_RSS_MB],
];
for (const [label, get, goal] of metrics) {
  const va = get(a);
  const vb = get(b);
  row(label, [f(va), f(vb), `${f(va / vb, 2)}x`, `<= ${goal}`, va <= goal ? 'PASS' : 'MISS']);
}
// RSS = anonymous (heap, V8) + file-backed (pages of the binary itself, shared page cache).
const anonA = quantile(a.anon, 0.5);
const anonB = quantile(b.anon, 0.5);
row('  of which anon (MB)', [f(anonA), f(anonB), `${f(anonA / anonB, 2)}x`, '', '']);
console.log('');
for (const arch of ['x64', 'arm64']) {
  const file = join(root, 'dist', `rugbyworker-linux-${arch}`);
  let size = 'not built';
  try { size = `${(statSync(file).size / 1e6).toFixed(1)} MB`; } catch { /* not built */ }
  console.log(`size dist/rugbyworker-linux-${arch}: ${size}`);
}
console.log(`size dist/bundle.cjs: ${(statSync(bundle).size / 1e3).toFixed(1)} kB`);
