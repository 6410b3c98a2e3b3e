// The transcode role's cost (issue 4), in one run, on a generated 1080p30 clip:
// (a) the whole job — SQS message in fauxqs, raw video from fauxqs S3, the real role via
//     runWorkers --once, PostgREST stand-in for Supabase, ladder and poster uploaded back —
//     against plain ffmpeg with exactly the same ladder arguments on the local file
//     (default 1080/720/480/360 ladder, 6 s segments). Goal: job wall ≤ 1.05× ffmpeg wall.
// (b) CPU time (user+sys) of the one-process ladder against three separate ffmpeg passes,
//     one per rung, each decoding the source itself (1080/720/480). Goal: ≤ 0.85×.
// CPU time is that of the reaped children of this process (/proc/self/stat cutime+cstime),
// so it counts ffmpeg's every thread. The clip (testsrc2 + sine, libx264) is cached in the
// OS temp dir between runs; BENCH_TRANSCODE_SECONDS (default 60) sets its length.
import { register } from 'tsx/esm/api';

register();
const { spawn, spawnSync } = await import('node:child_process');
const { existsSync, readFileSync, rmSync } = await import('node:fs');
const { mkdir, mkdtemp, rename, rm, stat } = await import('node:fs/promises');
const { tmpdir } = await import('node:os');
const { join } = await import('node:path');
const { performance } = await import('node:perf_hooks');
const { randomUUID } = await import('node:crypto');
const { SQSClient, CreateQueueCommand, SendMessageCommand, GetQueueAttributesCommand } = await import('@aws-sdk/client-sqs');
const { S3Client, CreateBucketCommand, HeadObjectCommand } = await import('@aws-sdk/client-s3');
const { S3ObjectStore } = await import('../../src/adapters/storage/s3.ts');
const { startFauxqs, awsTestClientConfig } = await import('../helpers/servers.ts');
const { startPostgrestStandin } = await import('../helpers/postgrest-standin.ts');
const { seedTranscodeRows } = await import('../helpers/rugbycodex.ts');
const { MEDIA_COLUMNS } = await import('../helpers/media-columns.ts');
const { buildLadderArgs, chooseRungs, DEFAULT_RUNG_HEIGHTS } = await import('../../src/domain/hls-ladder.ts');
const { cachedHwDecode, locateFfmpeg, probe } = await import('../../src/runtime/ffmpeg/index.ts');
const { loadConfig } = await import('../../src/runtime/config/load.ts');
const { runWorkers } = await import('../../src/commands/run.ts');
const { productionPorts } = await import('../../src/cli.ts');
const { roleDefinition } = await import('../../roles/index.ts');

const SECONDS = Number(process.env.BENCH_TRANSCODE_SECONDS ?? 60);
if (!Number.isFinite(SECONDS) || SECONDS < 2) throw new Error(`BENCH_TRANSCODE_SECONDS must be a number ≥ 2, got ${process.env.BENCH_TRANSCODE_SECONDS}`);
const TRIALS = Number(process.env.BENCH_TRANSCODE_TRIALS ?? 2);
if (!Number.isInteger(TRIALS) || TRIALS < 1) throw new Error(`BENCH_TRANSCODE_TRIALS must be a whole number ≥ 1, got ${process.env.BENCH_TRANSCODE_TRIALS}`);
const SEGMENT_SECONDS = 6;
const SEGMENT_TYPE = 'ts';
const CPU_RUNGS = [1080, 720, 480];
const GOAL_JOB = 1.05;
const GOAL_CPU = 0.85;
const SERVICE_KEY = 'bench-service-role-key';

// ---- cleanup on every path, Ctrl-C included ---------------------------------------------
const cleanups = [];
let running = null; // the ffmpeg child in progress, if any
let partial = null; // a source being generated
const onSignal = (sig) => {
  running?.kill('SIGKILL');
  if (partial) rmSync(partial, { force: true });
  for (const dir of cleanups.filter((c) => typeof c === 'string')) rmSync(dir, { recursive: true, force: true });
  process.stderr.write(`\ntranscode bench: ${sig}, temp files removed\n`);
  process.exit(130);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

// ---- CPU time of reaped children ---------------------------------------------------------
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;
/** user+sys seconds of every child this process has waited for (fields 16 and 17 of stat). */
function childCpuSeconds() {
  const text = readFileSync('/proc/self/stat', 'utf8');
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' '); // rest[0] is field 3
  return (Number(rest[13]) + Number(rest[14])) / CLK_TCK;
}
const ownCpuSeconds = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };

/** Runs ffmpeg to completion (stdout drained, stderr tail kept); wall and CPU seconds. */
function runFfmpegTimed(ffmpeg, args) {
  return new Promise((resolve, reject) => {
    const cpu0 = childCpuSeconds();
    const t0 = performance.now();
    const child = spawn(ffmpeg, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    running = child;
    let tail = '';
    child.stdout.resume();
    child.stderr.on('data', (d) => { tail = (tail + d).slice(-3000); });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      running = null;
      const wall = (performance.now() - t0) / 1000;
      const cpu = childCpuSeconds() - cpu0;
      if (code !== 0) reject(new Error(`ffmpeg exited ${signal ?? code}: ${tail.trim().split('\n').slice(-5).join(' | ')}`));
      else resolve({ wall, cpu });
    });
  });
}

// The global arguments runFfmpeg (src/runtime/ffmpeg/run.ts) puts before the ladder's.
const GLOBAL_ARGS = ['-hide_banner', '-nostdin', '-progress', 'pipe:1', '-nostats'];

// ---- the source clip -----------------------------------------------------------------------
async function ensureSource(ffmpegBin, ffprobeBin) {
  const file = join(tmpdir(), `rugbyworker-bench-1080p30-${SECONDS}s.mp4`);
  if (existsSync(file)) {
    const p = await probe(ffprobeBin, file).catch(() => null);
    if (p?.video?.height === 1080 && p.audio && Math.abs((p.durationSeconds ?? 0) - SECONDS) < 1) return { file, cached: true };
    await rm(file, { force: true });
  }
  partial = `${file}.part-${process.pid}.mp4`;
  process.stdout.write(`generating the ${SECONDS} s 1080p30 source clip (cached afterwards) ... `);
  const t0 = performance.now();
  await runFfmpegTimed(ffmpegBin, [
    '-hide_banner', '-nostdin', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=1920x1080:rate=30:duration=${SECONDS}`,
    '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${SECONDS}`,
    '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-g', '60',
    '-c:a', 'aac', '-b:a', '128k', '-ac', '2', '-shortest', '-movflags', '+faststart', partial,
  ]);
  await rename(partial, file);
  partial = null;
  console.log(`${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return { file, cached: false };
}

function ladderArgs(source, input, rungs, outDir, inputArgs) {
  return [...GLOBAL_ARGS, ...buildLadderArgs({
    input, inputArgs, rungs, hasAudio: source.audio !== null, fps: source.video?.frameRate ?? null,
    segmentSeconds: SEGMENT_SECONDS, segmentType: SEGMENT_TYPE, outDir,
    videoStreamIndex: source.video?.index, audioStreamIndex: source.audio?.index,
  })];
}

// ---- (a) the whole job through fauxqs + the PostgREST stand-in ------------------------------
async function runWholeJob(sourceFile, workRoot) {
  const fauxqs = await startFauxqs();
  const standin = await startPostgrestStandin({ apiKey: SERVICE_KEY, schema: MEDIA_COLUMNS });
  const aws = awsTestClientConfig(fauxqs.endpoint);
  const sqs = new SQSClient(aws);
  const s3 = new S3Client(aws);
  try {
    const bucket = 'bench-media';
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `bench-transcode-${process.pid}`, Attributes: { VisibilityTimeout: '300' } }));
    const org = randomUUID();
    const asset = randomUUID();
    const job = randomUUID();
    const key = `orgs/${org}/uploads/${asset}/raw/match.mp4`;
    // Multipart in 8 MiB parts: fauxqs takes at most 11 MiB per request.
    await new S3ObjectStore({ client: s3, bucket, partSizeBytes: 8 * 1024 * 1024 }).upload(sourceFile, key, 'video/mp4');
    seedTranscodeRows(standin, { asset, org, job, key }, new Date().toISOString());
    const config = loadConfig({
      env: {
        QUEUE_BACKEND: 'sqs', SQS_QUEUE_URL: QueueUrl, SQS_LONG_POLL_WAIT_SECONDS: '0',
        AWS_ENDPOINT_URL: fauxqs.endpoint, AWS_REGION: aws.region, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test',
        BUCKET_NAME: bucket, SUPABASE_URL: standin.url, SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY,
        HLS_SEGMENT_SECONDS: String(SEGMENT_SECONDS), HLS_SEGMENT_TYPE: SEGMENT_TYPE, WORK_DIR: workRoot, LOG_LEVEL: 'info',
        FFMPEG_PATH: process.env.FFMPEG_PATH, FFPROBE_PATH: process.env.FFPROBE_PATH,
      },
    });

    // Every log line is timed as it is written, for the phase breakdown.
    const marks = {};
    const lines = [];
    const logOutput = {
      write(chunk) {
        const now = performance.now();
        for (const line of String(chunk).split('\n')) {
          if (!line) continue;
          lines.push(line);
          if (lines.length > 200) lines.shift();
          let ev;
          try { ev = JSON.parse(line); } catch { continue; }
          const name = ev.event_type === 'transcode_progress' ? `progress:${ev.phase}` : ev.event_type;
          if (name && marks[name] === undefined) marks[name] = now;
        }
        return true;
      },
    };

    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: JSON.stringify({ job_id: job, media_asset_id: asset, key }) }));
    const cpu0 = childCpuSeconds();
    const own0 = ownCpuSeconds();
    const t0 = performance.now();
    const code = await runWorkers({
      roles: [roleDefinition('transcode')], config, once: true, instanceId: 'bench-transcode',
      ports: (logger) => productionPorts(config, logger), logOutput,
    });
    const wall = (performance.now() - t0) / 1000;
    const cpu = childCpuSeconds() - cpu0;
    const ownCpu = ownCpuSeconds() - own0;

    const jobRow = standin.row('transcode_jobs', job);
    const assetRow = standin.row('media_assets', asset);
    const master = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: `orgs/${org}/uploads/${asset}/streaming/master.m3u8` })).catch(() => null);
    const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
    const left = Number(attrs.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(attrs.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
    if (code !== 0 || jobRow?.status !== 'completed' || assetRow?.status !== 'ready' || !master || left !== 0) {
      throw new Error(
        `the job did not finish cleanly (exit ${code}, job ${jobRow?.status} ${jobRow?.error_code ?? ''}, asset ${assetRow?.status}, master ${master ? 'present' : 'missing'}, ${left} messages left)\n`
        + lines.slice(-15).join('\n'),
      );
    }
    const since = (a, b) => (marks[a] !== undefined && marks[b] !== undefined ? (marks[b] - marks[a]) / 1000 : NaN);
    const phases = {
      startup: (marks.transcode_started - t0) / 1000,
      download: since('transcode_started', 'progress:transcoding'),
      ladder: since('progress:transcoding', 'progress:uploading'),
      finish: since('progress:uploading', 'transcode_completed'),
      shutdown: (t0 + wall * 1000 - marks.transcode_completed) / 1000,
    };
    return { wall, cpu, ownCpu, phases, renditions: (assetRow.renditions ?? []).map((r) => r.name) };
  } finally {
    sqs.destroy();
    s3.destroy();
    await standin.stop();
    await fauxqs.stop();
  }
}

// ---- main ----------------------------------------------------------------------------------
const bins = await locateFfmpeg({ FFMPEG_PATH: process.env.FFMPEG_PATH, FFPROBE_PATH: process.env.FFPROBE_PATH, PATH: process.env.PATH });
console.log(`transcode: ${SECONDS} s 1080p30 clip, ${SEGMENT_SECONDS} s segments; (a) 4-rung job via fauxqs vs plain ffmpeg, (b) one-pass vs three passes CPU.`);
console.log(`This encodes the clip ${2 * TRIALS}+1+3 times: several minutes for 60 s on 2 cores (BENCH_TRANSCODE_SECONDS=10 for a quick check).`);
const root = await mkdtemp(join(tmpdir(), 'rugbyworker-bench-transcode-'));
cleanups.push(root);
try {
  const { file: sourceFile, cached } = await ensureSource(bins.ffmpeg, bins.ffprobe);
  const source = await probe(bins.ffprobe, sourceFile);
  const size = (await stat(sourceFile)).size;
  console.log(`source ${sourceFile}${cached ? ' (cached)' : ''}: ${source.video.width}x${source.video.height} ${source.video.frameRate} fps, `
    + `${source.durationSeconds?.toFixed(1)} s, ${(size / 1e6).toFixed(1)} MB; CPU clock ${CLK_TCK} Hz`);
  const dimsOf = { width: source.video.width, height: source.video.height, rotation: source.video.rotation ?? null };

  // (a) in ABBA order (job, plain, plain, job, …) so a noisy neighbour on this shared
  // machine weighs on both sides alike; the medians are compared. The job runs first, so
  // its wall time includes the role's own hardware detection (once per worker process).
  const hw = await cachedHwDecode(bins); // the verdict the role uses (cached per binary)
  const inputArgs = source.video?.codecName === 'h264' ? hw.h264InputArgs : [];
  const rungs4 = chooseRungs(dimsOf, DEFAULT_RUNG_HEIGHTS);
  const jobs = [];
  const plains = [];
  const runJob = async () => {
    process.stdout.write('(a) whole job via fauxqs SQS+S3 and the PostgREST stand-in ... ');
    const jobDir = join(root, 'work');
    const r = await runWholeJob(sourceFile, jobDir);
    console.log(`${r.wall.toFixed(1)} s (${r.renditions.join('/')})`);
    await rm(jobDir, { recursive: true, force: true });
    jobs.push(r);
  };
  const runPlain = async () => {
    const plainDir = join(root, 'plain');
    await mkdir(plainDir);
    process.stdout.write(`(a) plain ffmpeg, ${rungs4.map((r) => r.name).join('/')}, ${hw.kind === 'none' ? 'software' : hw.kind} decode ... `);
    const r = await runFfmpegTimed(bins.ffmpeg, ladderArgs(source, sourceFile, rungs4, plainDir, inputArgs));
    console.log(`${r.wall.toFixed(1)} s`);
    await rm(plainDir, { recursive: true, force: true });
    plains.push(r);
  };
  for (let t = 0; t < TRIALS; t++) {
    if (t % 2 === 0) { await runJob(); await runPlain(); } else { await runPlain(); await runJob(); }
  }
  const median = (xs) => { const v = [...xs].sort((a, b) => a - b); const m = Math.floor(v.length / 2); return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2; };
  const whole = { ...jobs[0], wall: median(jobs.map((j) => j.wall)), cpu: median(jobs.map((j) => j.cpu)), ownCpu: median(jobs.map((j) => j.ownCpu)) };
  const plain = { wall: median(plains.map((p) => p.wall)), cpu: median(plains.map((p) => p.cpu)) };

  // (b) the 3-rung ladder in one process, then one process per rung.
  const rungs3 = chooseRungs(dimsOf, CPU_RUNGS);
  const oneDir = join(root, 'one-pass');
  await mkdir(oneDir);
  process.stdout.write(`(b) one pass, ${rungs3.map((r) => r.name).join('/')} ... `);
  const one = await runFfmpegTimed(bins.ffmpeg, ladderArgs(source, sourceFile, rungs3, oneDir, inputArgs));
  console.log(`${one.cpu.toFixed(1)} s CPU`);
  await rm(oneDir, { recursive: true, force: true });
  const passes = [];
  for (const rung of rungs3) {
    const dir = join(root, `pass-${rung.name}`);
    await mkdir(dir);
    process.stdout.write(`(b) separate pass ${rung.name} ... `);
    const r = await runFfmpegTimed(bins.ffmpeg, ladderArgs(source, sourceFile, [rung], dir, inputArgs));
    console.log(`${r.cpu.toFixed(1)} s CPU`);
    passes.push(r);
    await rm(dir, { recursive: true, force: true });
  }
  const three = { wall: passes.reduce((s, p) => s + p.wall, 0), cpu: passes.reduce((s, p) => s + p.cpu, 0) };

  const jobRatio = whole.wall / plain.wall;
  const cpuRatio = one.cpu / three.cpu;
  const verdict = (ok) => (ok ? 'PASS' : 'MISS');
  const row = (label, wall, cpu, ratio = '', goal = '', result = '') =>
    console.log(`${label.padEnd(58)}${wall.padStart(9)}${cpu.padStart(10)}${ratio.padStart(9)}${goal.padStart(9)}  ${result}`);
  console.log('');
  row('', 'wall s', 'cpu s', 'ratio', 'goal');
  row(`(a) plain ffmpeg, ${rungs4.length} rungs, local file (median of ${TRIALS})`, plain.wall.toFixed(1), plain.cpu.toFixed(1));
  row(`(a) whole job: SQS → S3 → role → S3 + DB (median of ${TRIALS})`, whole.wall.toFixed(1), (whole.cpu + whole.ownCpu).toFixed(1),
    `${jobRatio.toFixed(3)}x`, `<=${GOAL_JOB}x`, verdict(jobRatio <= GOAL_JOB));
  row(`(b) three passes, one per rung (${rungs3.map((r) => r.name).join(', ')})`, three.wall.toFixed(1), three.cpu.toFixed(1));
  row(`(b) one pass, ${rungs3.length}-rung ladder`, one.wall.toFixed(1), one.cpu.toFixed(1),
    `${cpuRatio.toFixed(3)}x`, `<=${GOAL_CPU}x`, verdict(cpuRatio <= GOAL_CPU));
  const p = whole.phases;
  console.log(`\njob breakdown (s): startup ${p.startup.toFixed(2)}, download+probe ${p.download.toFixed(2)}, ffmpeg ladder+live upload ${p.ladder.toFixed(2)}, `
    + `poster+upload+db ${p.finish.toFixed(2)}, shutdown ${p.shutdown.toFixed(2)}`);
  console.log(`job CPU (s): ffmpeg/ffprobe children ${whole.cpu.toFixed(1)}, this process (role + fauxqs + PostgREST stand-in) ${whole.ownCpu.toFixed(1)}`);
} finally {
  await rm(root, { recursive: true, force: true });
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}
