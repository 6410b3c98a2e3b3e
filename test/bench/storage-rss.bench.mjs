// Memory while moving a big object through S3: a child process uploads a 2 GB file with
// S3ObjectStore.upload (lib-storage multipart) to fauxqs and downloads it back with
// download (streamed to disk); this process samples the child's VmRSS every 50 ms and
// reads its VmHWM (kernel-kept peak) at the end. Goal (issue 3): peak RSS <= 150 MB.
// The adapter is bundled from src/ with esbuild, as the executable bundles it.
// Env: BENCH_STORAGE_GB (size, default 2), BENCH_STORAGE_PART_MB (default 10: fauxqs
// refuses bodies over 11 MiB, so the adapter's 16 MiB default cannot be used here),
// BENCH_STORAGE_QUEUE (parts in flight, default 4, the adapter's default).
// Runs the child twice: with Node's default V8 flags, and with the flags the executable
// runs with (EXEC_ARGV in build/node-dist.mjs: a 1 MB young-generation semi-space, which
// stops the socket-read churn of a download from growing the young generation).
// BENCH_STORAGE_NODE_FLAGS="--flag ..." replaces the second configuration.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { clearInterval, setInterval } from 'node:timers';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { buildApp } from 'fauxqs';
import { EXEC_ARGV } from '../../build/node-dist.mjs';

const root = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const GB = Number(process.env.BENCH_STORAGE_GB ?? 2);
const PART_MB = Number(process.env.BENCH_STORAGE_PART_MB ?? 10);
const QUEUE = Number(process.env.BENCH_STORAGE_QUEUE ?? 4);
const GOAL_RSS_MB = 150;
const SAMPLE_MS = 50;
const size = Math.round(GB * 1e9);
const MiB = 1024 * 1024;

// Runs in the child: the adapter exactly as roles use it, reporting each phase on stdout.
const CHILD = `
import { readFileSync } from 'node:fs';
import { S3ObjectStore, createS3Client } from './src/adapters/storage/s3.ts';
const { endpoint, bucket, file, back, partSizeBytes, queueSize } = JSON.parse(process.env.BENCH_ARGS);
const report = (m) => process.stdout.write(JSON.stringify(m) + '\\n');
const hwm = () => Number(/^VmHWM:\\s+(\\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
const client = createS3Client({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, forcePathStyle: true });
const store = new S3ObjectStore({ client, bucket, partSizeBytes, queueSize });
report({ phase: 'ready', hwm: hwm() });
let t = performance.now();
await store.upload(file, 'bench/big.bin', 'video/mp4');
report({ phase: 'uploaded', ms: performance.now() - t, hwm: hwm() });
t = performance.now();
await store.download('bench/big.bin', back);
report({ phase: 'downloaded', ms: performance.now() - t, hwm: hwm() });
client.destroy();
`;

function rssMB(pid) {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null; // exited between samples
  }
}

/** `bytes` of random-looking data: one random 8 MiB block, each copy stamped with its index. */
async function makeFile(file, bytes) {
  const block = randomBytes(8 * MiB);
  const out = createWriteStream(file);
  for (let offset = 0, i = 0; offset < bytes; offset += block.length, i++) {
    const chunk = Buffer.from(block.subarray(0, Math.min(block.length, bytes - offset)));
    if (chunk.length >= 8) chunk.writeBigUInt64LE(BigInt(i), 0);
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

async function sha256(file) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: MiB })) hash.update(chunk);
  return hash.digest('hex');
}

async function runChild(bundle, args, flags) {
  const child = spawn(process.execPath, [...flags, bundle], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', BENCH_ARGS: JSON.stringify(args) },
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  let phase = 'start';
  const peak = { start: 0, upload: 0, download: 0 };
  const times = {};
  let hwm = 0;
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    const m = JSON.parse(line);
    hwm = Math.max(hwm, m.hwm);
    if (m.phase === 'ready') phase = 'upload';
    if (m.phase === 'uploaded') { times.upload = m.ms; phase = 'download'; }
    if (m.phase === 'downloaded') { times.download = m.ms; phase = 'done'; }
  });
  const timer = setInterval(() => {
    const rss = rssMB(child.pid);
    if (rss !== null && phase in peak) peak[phase] = Math.max(peak[phase], rss);
  }, SAMPLE_MS);
  const code = await exited;
  clearInterval(timer);
  if (code !== 0 || phase !== 'done') throw new Error(`child exited (${code}) in phase ${phase}`);
  return { peak, times, hwm };
}

const work = await mkdtemp(join(tmpdir(), 'rugbyworker-bench-storage-'));
const app = buildApp({ logger: false });
try {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const endpoint = `http://127.0.0.1:${app.server.address().port}`;
  const bucket = 'bench';
  const created = await fetch(`${endpoint}/${bucket}`, { method: 'PUT' });
  if (!created.ok) throw new Error(`CreateBucket: HTTP ${created.status}`);

  const bundle = join(work, 'child.mjs');
  await build({
    stdin: { contents: CHILD, resolveDir: root, loader: 'ts', sourcefile: 'storage-rss-child.ts' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    outfile: bundle,
    logLevel: 'error',
    // Some SDK dependencies still call require() for Node built-ins.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });

  const file = join(work, 'big.bin');
  const back = join(work, 'back.bin');
  let t = performance.now();
  await makeFile(file, size);
  console.log(`storage-rss: ${(size / 1e9).toFixed(2)} GB file made in ${((performance.now() - t) / 1000).toFixed(1)} s; ` +
    `parts ${PART_MB} MiB x ${QUEUE} in flight; fauxqs at ${endpoint}; VmRSS sampled every ${SAMPLE_MS} ms`);

  const configs = [[], (process.env.BENCH_STORAGE_NODE_FLAGS?.split(' ').filter(Boolean) ?? EXEC_ARGV)];
  const results = [];
  let intact = true;
  for (const flags of configs) {
    await rm(back, { force: true });
    const r = await runChild(bundle, { endpoint, bucket, file, back, partSizeBytes: PART_MB * MiB, queueSize: QUEUE }, flags);
    t = performance.now();
    const [a, b, backSize] = await Promise.all([sha256(file), sha256(back), stat(back).then((x) => x.size)]);
    const same = a === b && backSize === size;
    intact &&= same;
    console.log(`node ${flags.join(' ') || '(default flags)'}: round trip verified by sha256 in ${((performance.now() - t) / 1000).toFixed(1)} s: ${same ? 'identical' : 'DIFFERENT'}`);
    results.push({ name: flags.join(' ') || 'default flags', ...r });
  }
  console.log('');

  const mbps = (ms) => (size / 1e6 / (ms / 1000)).toFixed(0);
  const verdict = (mb) => `${mb.toFixed(1)} ${mb <= GOAL_RSS_MB ? 'PASS' : 'MISS'}`;
  const row = (label, cells) => console.log(label.padEnd(30) + cells.map((c) => String(c).padStart(26)).join(''));
  row(`goal: peak RSS <= ${GOAL_RSS_MB} MB`, results.map((r) => r.name));
  row('peak RSS, upload (MB)', results.map((r) => verdict(r.peak.upload)));
  row('peak RSS, download (MB)', results.map((r) => verdict(r.peak.download)));
  row('VmHWM, whole child (MB)', results.map((r) => verdict(r.hwm)));
  row('RSS before first byte (MB)', results.map((r) => r.peak.start.toFixed(1)));
  row('upload (MB/s)', results.map((r) => `${mbps(r.times.upload)} (${(r.times.upload / 1000).toFixed(1)} s)`));
  row('download (MB/s)', results.map((r) => `${mbps(r.times.download)} (${(r.times.download / 1000).toFixed(1)} s)`));
  if (!intact) process.exitCode = 1;
} finally {
  await app.close();
  await rm(work, { recursive: true, force: true });
}
