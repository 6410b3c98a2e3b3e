// The stereo pipeline's cost (issue 9, STEREO-SPOT.md) on the built executable, in one run:
// (a) chunk + segment-infer (stub) + reassemble, one `--role chunk,segment-infer,reassemble`
//     process, against bare FFmpeg on local files. Source: a BENCH_STEREO_MINUTES (10) minute
//     720p30 clip made here (testsrc2 + 440 Hz sine, libx264 ultrafast crf 28, a keyframe
//     every 2 s, AAC), split every BENCH_STEREO_SEGMENT_SEC (60; the role's default is 300,
//     which makes 2 segments of 10 minutes) seconds on both sides. Pipeline time: from the
//     source's ObjectCreated event sent to the chunking queue (the source already uploaded,
//     the worker idle and polling) to the reassemble role's `reassembly_completed` line
//     (final.mp4 uploaded, the job `completed`; both checked afterwards). Bare FFmpeg: the
//     split (`-c copy -map 0 -f segment -segment_time N -reset_timestamps 1`), a file copy of
//     each segment (what the stub does), the concat demuxer join (`-c copy -movflags
//     +faststart`). Trials ABBA (job, bare, bare, job, …), medians. Goal: ≤ 1.5× bare FFmpeg.
//     A third side, "S3 floor", does the same FFmpeg work with the S3 traffic any S3-based
//     pipeline must make, by hand in this process (source down, segments up, a server-side
//     copy each, outputs down, final.mp4 up; 4 transfers at a time, as the roles): the
//     pipeline against it is what the queues, tables, checks and role hand-offs cost, with
//     the stand-in's own throughput factored out.
// (b) Peak RSS of the worker while chunking and while reassembling a BENCH_STEREO_RSS_GB (4)
//     GiB source: a 245 Mbit/s clip (lossless x264 of testsrc2 + noise, a keyframe every 2 s,
//     AAC) joined to itself with the concat demuxer (-c copy) until big enough. The roles run
//     one process each, in turn (`--role chunk`, then `--role segment-infer`, then `--role
//     reassemble`), so each VmHWM (the kernel's peak RSS of the worker process, read before it
//     is stopped) is that role's alone; VmRSS is also sampled every 100 ms and split into the
//     steps around the FFmpeg/ffprobe children (download, ffmpeg, upload). FFmpeg and ffprobe
//     are child processes: NOT counted in the worker's figures (their own peak is printed
//     beside). Goal: ≤ 150 MB for chunk and for reassemble (segment-infer's stub copy printed
//     against the same goal).
// Stand-ins: fauxqs (SQS + S3) in a process of its own (test/bench/stereo-fauxqs.mjs: bodies up
// to 64 MiB: fauxqs takes 11 MiB, and a big file gets parts above the 5 MiB default), dynalite for the
// three tables of test/helpers/stereo-tables.ts. fauxqs sends no S3 notifications: the bench
// sends the source's event itself and, while a job runs, lists segments/{job}/ every 100 ms and
// sends one event per new segment to the video-worker queue (as the e2e test does). fauxqs
// keeps S3 objects in its heap; (b) keeps them in files instead (4 copies of a 4 GiB source
// would be ~16 GiB of heap), and deletes the source once chunked and the segments once
// inferred (nothing reads them again), so the stand-in holds at most two copies.
// Knobs: BENCH_STEREO_ONLY=time|rss (one of the two), BENCH_STEREO_MINUTES (10),
// BENCH_STEREO_RSS_GB (4, GiB), BENCH_STEREO_SEGMENT_SEC (60), BENCH_STEREO_TRIALS (2, for (a)),
// BENCH_STEREO_TMP (os.tmpdir(): the clips, the stand-in's files and the worker's WORK_DIR),
// BENCH_STEREO_TIME_STORE=memory|disk (fauxqs's store for (a), memory). Quick check:
// BENCH_STEREO_MINUTES=1 BENCH_STEREO_RSS_GB=0.3 BENCH_STEREO_SEGMENT_SEC=15 npm run bench -- stereo
// Every temp file (the 4 GiB ones too) goes on any exit, Ctrl-C included; the fauxqs process
// removes its own files when the bench is gone, however it ended.
// Cost at the defaults, estimated from 1, 3 minute and 0.3 GiB runs on this 2-core machine:
// (a) ~3 min (~1.5 min to encode the source, ~17 s a pipeline job, ~2.5 s a bare run), (b)
// ~5–6 min (making, counting and uploading 4 GiB, then ~60 MB/s per role through fauxqs).
// (b) needs 4.5 × the source + 1 GiB free in BENCH_STEREO_TMP (19 GiB for 4 GiB: the worker's
// source + segments beside the stand-in's source + segments), else it is skipped with the
// reason; (a)'s fauxqs heap grows to ~6× the 10-minute source (~2.5 GB).
import { register } from 'tsx/esm/api';

register();
const { spawn } = await import('node:child_process');
const { once } = await import('node:events');
const { existsSync, readFileSync, rmSync, statfsSync } = await import('node:fs');
const { copyFile, mkdir, mkdtemp, readdir, rm, stat, writeFile } = await import('node:fs/promises');
const { tmpdir } = await import('node:os');
const { dirname, join } = await import('node:path');
const { performance } = await import('node:perf_hooks');
const { createInterface } = await import('node:readline');
const { setTimeout: sleep } = await import('node:timers/promises');
const { fileURLToPath } = await import('node:url');
const { randomUUID } = await import('node:crypto');
const { CopyObjectCommand, CreateBucketCommand, DeleteObjectsCommand, HeadObjectCommand, ListObjectsV2Command } = await import('@aws-sdk/client-s3');
const { CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand, SQSClient } = await import('@aws-sdk/client-sqs');
const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
const { DynamoDBDocumentClient, GetCommand, PutCommand } = await import('@aws-sdk/lib-dynamodb');
const { S3ObjectStore, createS3Client } = await import('../../src/adapters/storage/s3.ts');
const { buildObjectCreatedEvent } = await import('../../src/domain/s3-event.ts');
const { locateFfmpeg, probe } = await import('../../src/runtime/ffmpeg/index.ts');
const { countFrames } = await import('../../roles/stereo/media.ts');
const { mapLimit } = await import('../../src/runtime/parallel.ts');
const { awsTestClientConfig, startDynalite } = await import('../helpers/servers.ts');
const { createStereoTables } = await import('../helpers/stereo-tables.ts');
const { cleanEnv, exeCommand, exePath } = await import('../helpers/binary.ts');

const benchDir = dirname(fileURLToPath(import.meta.url));
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

// ---- knobs -----------------------------------------------------------------------------------
const num = (name, dflt, ok) => {
  const raw = process.env[name];
  const v = raw === undefined || raw === '' ? dflt : Number(raw);
  if (!Number.isFinite(v) || !ok(v)) throw new Error(`${name}: bad value ${raw}`);
  return v;
};
const MINUTES = num('BENCH_STEREO_MINUTES', 10, (v) => v > 0 && v <= 120);
const RSS_GB = num('BENCH_STEREO_RSS_GB', 4, (v) => v > 0 && v <= 64);
const SEGMENT = num('BENCH_STEREO_SEGMENT_SEC', 60, (v) => v >= 1 && v <= 86400);
const TRIALS = num('BENCH_STEREO_TRIALS', 2, (v) => Number.isInteger(v) && v >= 1);
const ONLY = process.env.BENCH_STEREO_ONLY || '';
if (!['', 'time', 'rss'].includes(ONLY)) throw new Error(`BENCH_STEREO_ONLY must be time or rss, got ${ONLY}`);
const TMP = process.env.BENCH_STEREO_TMP || tmpdir();
const TIME_STORE = process.env.BENCH_STEREO_TIME_STORE || 'memory';
if (!['memory', 'disk'].includes(TIME_STORE)) throw new Error(`BENCH_STEREO_TIME_STORE must be memory or disk, got ${TIME_STORE}`);
const GOAL_RATIO = 1.5;
const GOAL_RSS_MB = 150;
const SAMPLE_MS = 100;
const PART = 5 * MiB; // the executable's S3 part size; the bench uploads the sources the same way
const INPUT = 'stereo-input';
const OUTPUT = 'stereo-output';
const ROLES_ALL = ['chunk', 'segment-infer', 'reassemble'];

// ---- cleanup on every path ---------------------------------------------------------------------
const temps = new Set(); // directories removed at the end, whatever happens
const children = new Set(); // processes of ours still running
function cleanupNow() {
  for (const c of children) { try { c.kill('SIGKILL'); } catch { /* gone */ } }
  for (const d of temps) rmSync(d, { recursive: true, force: true });
}
const onSignal = (sig) => {
  cleanupNow();
  process.stderr.write(`\nstereo bench: ${sig}, processes stopped and temp files removed\n`);
  process.exit(130);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
process.on('exit', cleanupNow);

async function tempDir(prefix) {
  await mkdir(TMP, { recursive: true });
  const d = await mkdtemp(join(TMP, prefix));
  temps.add(d);
  return d;
}
async function dropTemp(d) {
  await rm(d, { recursive: true, force: true });
  temps.delete(d);
}

// ---- small helpers -----------------------------------------------------------------------------
const median = (xs) => { const v = [...xs].sort((a, b) => a - b); const m = Math.floor(v.length / 2); return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2; };
const s1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '—');
const s2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : '—');
const mb = (bytes) => (bytes / 1e6).toFixed(0);
const verdict = (ok) => (ok ? 'met' : 'NOT met');

function statusKB(pid, field) {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null; // exited
  }
}
const statusMB = (pid, field) => { const kb = statusKB(pid, field); return kb === null ? NaN : kb / 1024; };

/** Direct children of `pid` (their command name and VmRSS), from /proc. */
function childProcs(pid) {
  let list;
  try { list = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim(); } catch { return []; }
  if (!list) return [];
  return list.split(/\s+/).map((c) => {
    let comm = '?';
    try { comm = readFileSync(`/proc/${c}/comm`, 'utf8').trim(); } catch { /* gone */ }
    return { pid: Number(c), comm, rssMB: statusMB(c, 'VmRSS') };
  });
}

/** Runs a command to completion; its wall seconds. Throws with the stderr tail on failure. */
function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], ...opts });
    children.add(child);
    let tail = '';
    child.stderr.on('data', (d) => { tail = (tail + d).slice(-3000); });
    child.on('error', (err) => { children.delete(child); reject(err); });
    child.on('close', (code, signal) => {
      children.delete(child);
      if (code === 0) resolve((performance.now() - t0) / 1000);
      else reject(new Error(`${cmd} ${args.slice(0, 6).join(' ')} … exited ${signal ?? code}: ${tail.trim().split('\n').slice(-4).join(' | ')}`));
    });
  });
}
const ffmpeg = (bins, args) => run(bins.ffmpeg, ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args]);

// ---- the stand-ins -----------------------------------------------------------------------------
/** fauxqs in its own process; `disk`: a directory for the objects instead of its heap. */
async function startFauxqsProcess(disk) {
  const child = spawn(process.execPath, [join(benchDir, 'stereo-fauxqs.mjs')], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, STEREO_FAUXQS_DISK: disk ?? '' },
  });
  children.add(child);
  const exited = once(child, 'exit');
  const first = once(createInterface({ input: child.stdout }), 'line');
  const [line] = await Promise.race([first, exited.then(([code]) => { throw new Error(`fauxqs process exited (${code}) before listening`); })]);
  const { port } = JSON.parse(line);
  let peak = 0;
  const hwm = () => { const v = statusMB(child.pid, 'VmHWM'); if (Number.isFinite(v)) peak = Math.max(peak, v); return peak; };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    pid: child.pid,
    hwm,
    rss: () => statusMB(child.pid, 'VmRSS'),
    async stop() {
      hwm();
      child.kill('SIGTERM');
      await exited;
      children.delete(child);
    },
  };
}

/** fauxqs + dynalite, the buckets, the three tables, the three queues (Terraform's visibility timeouts, DLQs after 5 receives). */
async function startWorld(disk) {
  const [fauxqs, dynalite] = await Promise.all([startFauxqsProcess(disk), startDynalite()]);
  const aws = awsTestClientConfig(fauxqs.endpoint);
  const s3 = createS3Client(aws);
  const sqs = new SQSClient(aws);
  const ddbClient = new DynamoDBClient(awsTestClientConfig(dynalite.endpoint));
  const ddb = DynamoDBDocumentClient.from(ddbClient);
  await Promise.all([INPUT, OUTPUT].map((Bucket) => s3.send(new CreateBucketCommand({ Bucket }))));
  const tables = await createStereoTables(ddbClient);
  const queue = async (name, visibility) => {
    const dlq = (await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }))).QueueUrl;
    const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ['QueueArn'] }))).Attributes.QueueArn;
    return (await sqs.send(new CreateQueueCommand({
      QueueName: name,
      Attributes: { VisibilityTimeout: String(visibility), RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: 5 }) },
    }))).QueueUrl;
  };
  const [chunking, videoWorker, reassembly] = await Promise.all([
    queue('stereo-spot-chunking', 900), queue('stereo-spot-video-worker', 1800), queue('stereo-spot-reassembly', 600),
  ]);
  const input = new S3ObjectStore({ client: s3, bucket: INPUT, partSizeBytes: PART });
  const output = new S3ObjectStore({ client: s3, bucket: OUTPUT, partSizeBytes: PART });

  const event = (bucket, key, size) => JSON.stringify(buildObjectCreatedEvent({
    bucket, key, size, eTag: randomUUID().replaceAll('-', ''), region: 'us-east-1', time: new Date(),
    sequencer: Date.now().toString(16).toUpperCase().padStart(16, '0'), configurationId: 'tf-s3-queue',
  }));
  async function list(bucket, prefix) {
    const out = [];
    let token;
    do {
      const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of r.Contents ?? []) out.push({ key: o.Key, size: o.Size ?? 0 });
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  return {
    fauxqs, tables, s3, ddb, dynamoEndpoint: dynalite.endpoint, input, output,
    queues: { chunking, videoWorker, reassembly },
    /** The Jobs item as the web UI creates it. */
    async createJob(jobId) {
      await ddb.send(new PutCommand({ TableName: tables.jobs, Item: { job_id: jobId, mode: 'sbs', status: 'created', created_at: Math.floor(Date.now() / 1000) } }));
    },
    getJob: async (jobId) => (await ddb.send(new GetCommand({ TableName: tables.jobs, Key: { job_id: jobId }, ConsistentRead: true }))).Item,
    /** input/{job}/source.mp4 uploaded (not notified); seconds. */
    async uploadSource(jobId, file) {
      const t0 = performance.now();
      await input.upload(file, `input/${jobId}/source.mp4`, 'video/mp4');
      return (performance.now() - t0) / 1000;
    },
    /** What S3 sends the chunking queue for the source. */
    async notifySource(jobId, size) {
      await sqs.send(new SendMessageCommand({ QueueUrl: chunking, MessageBody: event(INPUT, `input/${jobId}/source.mp4`, size) }));
    },
    /** S3 → video-worker notifications, emulated: one event per new segments/{job}/ object. */
    forwardSegments(jobId) {
      const sent = new Set();
      let on = true;
      const loop = (async () => {
        while (on) {
          for (const o of await list(INPUT, `segments/${jobId}/`)) {
            if (sent.has(o.key)) continue;
            sent.add(o.key);
            await sqs.send(new SendMessageCommand({ QueueUrl: videoWorker, MessageBody: event(INPUT, o.key, o.size) }));
          }
          await sleep(SAMPLE_MS);
        }
      })();
      return { sent: () => sent.size, async stop() { on = false; await loop; } };
    },
    head: (bucket, key) => s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then((h) => h, () => null),
    /** Every object under `prefix`, deleted (frees the stand-in's memory or disk). */
    async deletePrefix(bucket, prefix) {
      const keys = (await list(bucket, prefix)).map((o) => ({ Key: o.key }));
      for (let i = 0; i < keys.length; i += 1000) await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.slice(i, i + 1000), Quiet: true } }));
      return keys.length;
    },
    async stop() {
      s3.destroy();
      sqs.destroy();
      ddbClient.destroy();
      await Promise.all([fauxqs.stop(), dynalite.stop()]);
    },
  };
}

// ---- the worker --------------------------------------------------------------------------------
/** The executable running `roles`; its log lines parsed and timed on arrival, its RSS sampled. */
async function startWorker(world, roles, workDir) {
  const env = {
    QUEUE_BACKEND: 'sqs', AWS_REGION: 'us-east-1',
    // Not 'test': the logger masks secret values wherever they appear.
    AWS_ACCESS_KEY_ID: 'AKIDSTEREOBENCH', AWS_SECRET_ACCESS_KEY: 'stereo-bench-secret-access-key',
    AWS_ENDPOINT_URL: world.fauxqs.endpoint, AWS_ENDPOINT_URL_DYNAMODB: world.dynamoEndpoint, S3_FORCE_PATH_STYLE: 'true',
    CHUNKING_QUEUE_URL: world.queues.chunking, VIDEO_WORKER_QUEUE_URL: world.queues.videoWorker, REASSEMBLY_QUEUE_URL: world.queues.reassembly,
    INPUT_BUCKET_NAME: INPUT, OUTPUT_BUCKET_NAME: OUTPUT,
    JOBS_TABLE_NAME: world.tables.jobs, SEGMENT_COMPLETIONS_TABLE_NAME: world.tables.segmentCompletions, REASSEMBLY_TRIGGERED_TABLE_NAME: world.tables.reassemblyTriggered,
    INFERENCE_BACKEND: 'stub', CHUNK_SEGMENT_DURATION_SEC: String(SEGMENT),
    SQS_LONG_POLL_WAIT_SECONDS: '2', WORK_DIR: workDir, SHUTDOWN_GRACE_SECONDS: '10',
    FFMPEG_PATH: process.env.FFMPEG_PATH, FFPROBE_PATH: process.env.FFPROBE_PATH,
  };
  const { file, args } = exeCommand();
  const child = spawn(file, [...args, '--role', roles.join(',')], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const events = [];
  const tail = [];
  let stderr = '';
  createInterface({ input: child.stdout }).on('line', (line) => {
    const at = performance.now();
    tail.push(line);
    if (tail.length > 40) tail.shift();
    try { events.push({ at, ...JSON.parse(line) }); } catch { /* not JSON */ }
  });
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
  let exit = null;
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => { exit = code ?? signal; children.delete(child); resolve(exit); }));
  const samples = [];
  let hwmMB = NaN;
  const timer = setInterval(() => {
    const rss = statusMB(child.pid, 'VmRSS');
    if (!Number.isFinite(rss)) return;
    const kids = childProcs(child.pid);
    samples.push({ at: performance.now(), rss, kids });
    const h = statusMB(child.pid, 'VmHWM');
    if (Number.isFinite(h)) hwmMB = h;
  }, SAMPLE_MS);
  const diag = () => `stderr: ${stderr.trim().slice(-1500)}\nlast log lines:\n${tail.slice(-15).join('\n')}`;

  const worker = {
    pid: child.pid, events, samples,
    /** The first event (after index `from`) matching `pred`; fails on the worker's exit, a failure event of `jobId`, or the timeout. */
    async waitFor(what, pred, { from = 0, jobId, timeoutMs }) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        for (let i = from; i < events.length; i++) {
          const e = events[i];
          if (pred(e)) return e;
          if (jobId !== undefined && e.job_id === jobId && ['chunking_failed', 'segment_failed', 'job_failed', 'job_crashed'].includes(e.event_type)) {
            throw new Error(`waiting for ${what}: ${e.event_type}: ${e.error_message ?? e.reason ?? e.msg}\n${diag()}`);
          }
        }
        if (exit !== null) throw new Error(`waiting for ${what}: the worker exited (${exit})\n${diag()}`);
        if (performance.now() > deadline) throw new Error(`waiting for ${what}: timed out after ${timeoutMs / 1000} s\n${diag()}`);
        await sleep(20);
      }
    },
    count: (pred) => events.filter(pred).length,
    /** VmHWM of the whole life, read while it still runs; then SIGTERM and the exit. */
    async stop() {
      const h = statusMB(child.pid, 'VmHWM');
      if (Number.isFinite(h)) hwmMB = h;
      clearInterval(timer);
      if (exit === null) child.kill('SIGTERM');
      const code = await Promise.race([exited, sleep(30_000).then(() => 'timeout')]);
      if (code === 'timeout') { child.kill('SIGKILL'); await exited; }
      return { hwmMB, exit: code, diag: diag() };
    },
  };
  // Each role says it is consuming before anything is sent.
  for (const role of roles) await worker.waitFor(`${role} consuming`, (e) => e.event_type === 'consumer_started' && e.role === role, { timeoutMs: 30_000 });
  return worker;
}

/** The worker's VmRSS samples in [t0, t1], split around its FFmpeg/ffprobe children: before the first, while any runs, after the last. */
function stepPeaks(samples, t0, t1) {
  const inWindow = samples.filter((s) => s.at >= t0 && s.at <= t1);
  const media = (s) => s.kids.some((k) => k.comm === 'ffmpeg' || k.comm === 'ffprobe' || k.comm === 'setpriv');
  const first = inWindow.findIndex(media);
  const last = inWindow.findLastIndex(media);
  const peak = (xs) => (xs.length ? Math.max(...xs.map((s) => s.rss)) : NaN);
  const kidPeak = inWindow.reduce((m, s) => Math.max(m, ...s.kids.map((k) => (Number.isFinite(k.rssMB) ? k.rssMB : 0))), 0);
  const span = (xs) => (xs.length ? (xs.at(-1).at - xs[0].at) / 1000 + SAMPLE_MS / 1000 : 0);
  if (first < 0) return { before: { peak: peak(inWindow), secs: span(inWindow) }, media: { peak: NaN, secs: 0 }, after: { peak: NaN, secs: 0 }, kidPeak, samples: inWindow.length };
  const parts = [inWindow.slice(0, first), inWindow.slice(first, last + 1), inWindow.slice(last + 1)];
  const [before, during, after] = parts.map((xs) => ({ peak: peak(xs), secs: span(xs) }));
  return { before, media: during, after, kidPeak, samples: inWindow.length };
}

// ---- sources -----------------------------------------------------------------------------------
async function makeTimeSource(bins, dir) {
  const file = join(dir, 'source.mp4');
  const secs = Math.round(MINUTES * 60);
  const wall = await ffmpeg(bins, [
    '-f', 'lavfi', '-i', `testsrc2=size=1280x720:rate=30:duration=${secs}`,
    '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${secs}`,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '28', '-pix_fmt', 'yuv420p', '-g', '60', '-keyint_min', '60', '-sc_threshold', '0',
    '-c:a', 'aac', '-b:a', '128k', '-ac', '2', '-shortest', '-movflags', '+faststart', file,
  ]);
  return { file, wall };
}

/** ≥ `bytes` of 720p H.264 + AAC: a short lossless clip of noise, joined to itself with the concat demuxer. */
async function makeBigSource(bins, dir, bytes) {
  const t0 = performance.now();
  // ~30 MB per second of video: clip length ~1/6 of the whole, even (keyframes every 2 s), 2–24 s.
  const clipSecs = Math.min(24, Math.max(2, 2 * Math.round(bytes / 30e6 / 6 / 2)));
  const clip = join(dir, 'clip.mp4');
  await ffmpeg(bins, [
    '-f', 'lavfi', '-i', `testsrc2=size=1280x720:rate=30:duration=${clipSecs},noise=alls=12:allf=t`,
    '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${clipSecs}`,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-pix_fmt', 'yuv420p', '-g', '60', '-keyint_min', '60', '-sc_threshold', '0',
    '-c:a', 'aac', '-b:a', '128k', '-ac', '2', '-shortest', clip,
  ]);
  const clipSize = (await stat(clip)).size;
  const copies = Math.max(1, Math.ceil(bytes / clipSize));
  const list = join(dir, 'clips.txt');
  await writeFile(list, `${Array.from({ length: copies }, () => `file '${clip}'`).join('\n')}\n`);
  const file = join(dir, 'big.mp4');
  await ffmpeg(bins, ['-f', 'concat', '-safe', '0', '-i', list, '-map', '0', '-c', 'copy', file]);
  await rm(clip);
  await rm(list);
  return { file, size: (await stat(file)).size, clipSecs, clipSize, copies, wall: (performance.now() - t0) / 1000 };
}

// ---- (a) ---------------------------------------------------------------------------------------
/** Bare FFmpeg on local files: split, a copy per segment, concat. */
async function bareTrial(bins, source, dir) {
  const work = join(dir, 'bare');
  await rm(work, { recursive: true, force: true });
  await mkdir(work);
  try {
    const t0 = performance.now();
    await ffmpeg(bins, ['-i', source, '-c', 'copy', '-map', '0', '-f', 'segment', '-segment_time', String(SEGMENT), '-reset_timestamps', '1', join(work, 'seg%05d.mp4')]);
    const t1 = performance.now();
    const segs = (await readdir(work)).filter((f) => /^seg\d+\.mp4$/.test(f)).sort();
    const outs = [];
    for (const [i, f] of segs.entries()) {
      const out = join(work, `out_${String(i).padStart(5, '0')}.mp4`);
      await copyFile(join(work, f), out);
      outs.push(out);
    }
    const t2 = performance.now();
    const list = join(work, 'list.txt');
    await writeFile(list, `${outs.map((o) => `file '${o}'`).join('\n')}\n`);
    await ffmpeg(bins, ['-f', 'concat', '-safe', '0', '-i', list, '-c', 'copy', '-movflags', '+faststart', join(work, 'final.mp4')]);
    const t3 = performance.now();
    return { wall: (t3 - t0) / 1000, split: (t1 - t0) / 1000, copy: (t2 - t1) / 1000, concat: (t3 - t2) / 1000, segments: segs.length };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The bare FFmpeg work plus the S3 transfers a pipeline cannot avoid, by hand (the source already uploaded, not timed). */
async function floorTrial(world, bins, source, dir) {
  const id = `floor-${randomUUID()}`;
  const work = join(dir, 'floor');
  await rm(work, { recursive: true, force: true });
  await mkdir(work);
  await world.uploadSource(id, source);
  try {
    const t0 = performance.now();
    const local = join(work, 'source.mp4');
    await world.input.download(`input/${id}/source.mp4`, local);
    await ffmpeg(bins, ['-i', local, '-c', 'copy', '-map', '0', '-f', 'segment', '-segment_time', String(SEGMENT), '-reset_timestamps', '1', join(work, 'seg%05d.mp4')]);
    const segs = (await readdir(work)).filter((f) => /^seg\d+\.mp4$/.test(f)).sort();
    const keys = segs.map((_, i) => `segments/${id}/${String(i).padStart(5, '0')}_${String(segs.length).padStart(5, '0')}_sbs.mp4`);
    await mapLimit(segs, 4, (f, i) => world.input.upload(join(work, f), keys[i], 'video/mp4'));
    await mapLimit(keys, 4, (k, i) => world.s3.send(new CopyObjectCommand({
      Bucket: OUTPUT, Key: `jobs/${id}/segments/${i}.mp4`, CopySource: `${INPUT}/${k}`, ContentType: 'video/mp4', MetadataDirective: 'REPLACE',
    })));
    const outs = await mapLimit(keys, 4, async (_, i) => {
      const out = join(work, `out_${String(i).padStart(5, '0')}.mp4`);
      await world.output.download(`jobs/${id}/segments/${i}.mp4`, out);
      return out;
    });
    const list = join(work, 'list.txt');
    await writeFile(list, `${outs.map((o) => `file '${o}'`).join('\n')}\n`);
    await ffmpeg(bins, ['-f', 'concat', '-safe', '0', '-i', list, '-c', 'copy', '-movflags', '+faststart', join(work, 'final.mp4')]);
    await world.output.upload(join(work, 'final.mp4'), `jobs/${id}/final.mp4`, 'video/mp4');
    return { wall: (performance.now() - t0) / 1000, segments: segs.length };
  } finally {
    await rm(work, { recursive: true, force: true });
    for (const [bucket, prefix] of [[INPUT, `input/${id}/`], [INPUT, `segments/${id}/`], [OUTPUT, `jobs/${id}/`]]) await world.deletePrefix(bucket, prefix);
  }
}

/** One job through the running three-role worker: the source's event → reassembly_completed. */
async function jobTrial(world, worker, source, sourceSize, sourceFrames) {
  const jobId = randomUUID();
  await world.createJob(jobId);
  const upload = await world.uploadSource(jobId, source);
  const forward = world.forwardSegments(jobId);
  const from = worker.events.length;
  const timeoutMs = 120_000 + MINUTES * 60_000;
  try {
    const t0 = performance.now();
    await world.notifySource(jobId, sourceSize);
    const done = await worker.waitFor('reassembly_completed', (e) => e.event_type === 'reassembly_completed' && e.job_id === jobId, { from, jobId, timeoutMs });
    const wall = (done.at - t0) / 1000;
    const mine = worker.events.slice(from).filter((e) => e.job_id === jobId);
    const at = (type, pick = 'first', role) => {
      const xs = mine.filter((e) => e.event_type === type && (role === undefined || e.role === role));
      const e = pick === 'first' ? xs[0] : xs.at(-1);
      return e ? (e.at - t0) / 1000 : NaN;
    };
    const job = await world.getJob(jobId);
    const final = await world.head(OUTPUT, `jobs/${jobId}/final.mp4`);
    const total = mine.find((e) => e.event_type === 'chunking_completed')?.total_segments;
    if (job?.status !== 'completed' || !final || job.total_segments !== total) {
      throw new Error(`job ${jobId}: status ${job?.status}, total_segments ${job?.total_segments} (chunking said ${total}), final.mp4 ${final ? 'present' : 'missing'}`);
    }
    if (done.frames !== sourceFrames) throw new Error(`job ${jobId}: final.mp4 has ${done.frames} frames, the source ${sourceFrames}`);
    return {
      wall, upload, segments: total, finalBytes: final.ContentLength,
      phases: {
        started: at('job_started', 'first', 'chunk'),
        chunked: at('chunking_completed'),
        firstSegment: at('segment_completed'),
        lastSegment: at('segment_completed', 'last'),
        triggered: at('reassembly_triggered'),
        reassemblyStarted: at('job_started', 'first', 'reassemble'),
        done: wall,
      },
      retries: mine.filter((e) => e.event_type === 'job_retry').length,
    };
  } finally {
    await forward.stop();
    for (const [bucket, prefix] of [[INPUT, `input/${jobId}/`], [INPUT, `segments/${jobId}/`], [OUTPUT, `jobs/${jobId}/`]]) await world.deletePrefix(bucket, prefix);
  }
}

async function measureTime(bins) {
  console.log(`\n(a) chunk + segment-infer (stub) + reassemble vs bare FFmpeg: ${MINUTES} min 720p30 source, ${SEGMENT} s segments, ${TRIALS} trial${TRIALS === 1 ? '' : 's'} each (ABBA), fauxqs S3 in ${TIME_STORE}`);
  const dir = await tempDir('rugbyworker-bench-stereo-time-');
  let world;
  let worker;
  try {
    process.stdout.write(`generating the ${MINUTES} min source (libx264 ultrafast crf 28) ... `);
    const src = await makeTimeSource(bins, dir);
    const size = (await stat(src.file)).size;
    const info = await probe(bins.ffprobe, src.file);
    const frames = (await countFrames(bins.ffprobe, src.file)).frames;
    console.log(`${s1(src.wall)} s: ${mb(size)} MB, ${s1(info.durationSeconds)} s, ${frames} frames, ${info.video.width}x${info.video.height}`);

    world = await startWorld(TIME_STORE === 'disk' ? join(dir, 'fauxqs') : null);
    worker = await startWorker(world, ROLES_ALL, join(dir, 'work'));
    const jobs = [];
    const bares = [];
    const floors = [];
    const runJob = async () => {
      process.stdout.write('(a) pipeline: source event → completed ... ');
      const r = await jobTrial(world, worker, src.file, size, frames);
      console.log(`${s2(r.wall)} s (${r.segments} segments; chunked at ${s2(r.phases.chunked)} s, last segment at ${s2(r.phases.lastSegment)} s, reassembly from ${s2(r.phases.reassemblyStarted)} s)`);
      jobs.push(r);
    };
    const runBare = async () => {
      process.stdout.write('(a) bare ffmpeg: split + copy + concat ... ');
      const r = await bareTrial(bins, src.file, dir);
      console.log(`${s2(r.wall)} s (${r.segments} segments; split ${s2(r.split)}, copy ${s2(r.copy)}, concat ${s2(r.concat)})`);
      bares.push(r);
    };
    const runFloor = async () => {
      process.stdout.write('(a) S3 floor: the same FFmpeg work + the unavoidable S3 transfers, by hand ... ');
      const r = await floorTrial(world, bins, src.file, dir);
      console.log(`${s2(r.wall)} s (${r.segments} segments)`);
      floors.push(r);
    };
    for (let t = 0; t < TRIALS; t++) {
      if (t % 2 === 0) { await runJob(); await runBare(); await runFloor(); } else { await runFloor(); await runBare(); await runJob(); }
    }
    const stopped = await worker.stop();
    worker = null;
    const fauxqsPeak = world.fauxqs.hwm();

    const job = median(jobs.map((j) => j.wall));
    const bare = median(bares.map((b) => b.wall));
    const ratio = job / bare;
    const floor = median(floors.map((f) => f.wall));
    const ph = (k) => median(jobs.map((j) => j.phases[k]));
    if (jobs[0].segments !== bares[0].segments) console.log(`note: the role made ${jobs[0].segments} segments, the bare split ${bares[0].segments}`);
    console.log('');
    const row = (label, secs, r = '', goal = '', res = '') => console.log(`${label.padEnd(70)}${secs.padStart(9)}${r.padStart(9)}${goal.padStart(9)}  ${res}`);
    row('', 'wall s', 'ratio', 'goal');
    row(`(a) bare ffmpeg, local files: split + copy + concat (median of ${TRIALS})`, s2(bare));
    row(`(a) pipeline, source event → completed (median of ${TRIALS})`, s2(job), `${ratio.toFixed(2)}x`, `<=${GOAL_RATIO}x`, verdict(ratio <= GOAL_RATIO));
    row(`(a) S3 floor: bare ffmpeg + the transfers, by hand (median of ${TRIALS})`, s2(floor), `${(floor / bare).toFixed(2)}x`);
    row('(a) pipeline vs the S3 floor (the orchestration\'s own cost)', '', `${(job / floor).toFixed(2)}x`);
    console.log(`bare ffmpeg (medians): split ${s2(median(bares.map((b) => b.split)))} s, copy ${s2(median(bares.map((b) => b.copy)))} s, concat ${s2(median(bares.map((b) => b.concat)))} s`);
    console.log(`pipeline (medians, s from the source event): chunk job started ${s2(ph('started'))}, chunking_completed ${s2(ph('chunked'))}, `
      + `first segment_completed ${s2(ph('firstSegment'))}, last ${s2(ph('lastSegment'))}, reassembly_triggered ${s2(ph('triggered'))}, `
      + `reassemble job started ${s2(ph('reassemblyStarted'))}, reassembly_completed ${s2(ph('done'))}`);
    console.log(`  i.e. chunk ${s2(ph('chunked'))} s (download, probe, split, upload ${mb(size)} MB), inference after chunking ${s2(ph('lastSegment') - ph('chunked'))} s, `
      + `reassembly ${s2(ph('done') - ph('reassemblyStarted'))} s (download, count frames, concat, check, upload); retries ${jobs.reduce((s, j) => s + j.retries, 0)}`);
    console.log(`source upload to the stand-in before each job (not timed): ${s2(median(jobs.map((j) => j.upload)))} s; in the pipeline the whole source crosses S3 `
      + 'four times more (chunk down, segments up, reassembly down, final.mp4 up; the stub copies server-side), in the bare run never');
    console.log(`worker (3 roles, one process) VmHWM ${s1(stopped.hwmMB)} MB; fauxqs process VmHWM ${s1(fauxqsPeak)} MB (objects in ${TIME_STORE === 'memory' ? 'its heap' : 'files'})`);
    return { ratio, job, bare, floor, hwm: stopped.hwmMB };
  } finally {
    if (worker) await worker.stop();
    if (world) await world.stop();
    await dropTemp(dir);
  }
}

// ---- (b) ---------------------------------------------------------------------------------------
async function measureRss(bins) {
  const bytes = Math.round(RSS_GB * GiB);
  console.log(`\n(b) peak RSS of the worker while chunking and while reassembling a ${RSS_GB} GiB source (${SEGMENT} s segments), one process per role`);
  // On disk at the worst moment: the stand-in's source and segments and the worker's source
  // and segments while chunking (4×); the stand-in's outputs and final.mp4 and the worker's
  // parts and final.mp4 while reassembling (4×); plus the clip and slack.
  const need = 4.5 * bytes + GiB;
  await mkdir(TMP, { recursive: true });
  const fs = statfsSync(TMP);
  const free = fs.bavail * fs.bsize;
  if (free < need) {
    console.log(`(b) skipped: ${(free / GiB).toFixed(1)} GiB free in ${TMP}, ${(need / GiB).toFixed(1)} GiB needed (4 copies of the source at once + slack); `
      + 'BENCH_STEREO_TMP=<dir> for another disk, BENCH_STEREO_RSS_GB for a smaller source');
    return { skipped: true };
  }
  const dir = await tempDir('rugbyworker-bench-stereo-rss-');
  let world;
  let worker;
  try {
    process.stdout.write(`making the ${RSS_GB} GiB source (${(free / GiB).toFixed(0)} GiB free in ${TMP}) ... `);
    const big = await makeBigSource(bins, dir, bytes);
    const frames = (await countFrames(bins.ffprobe, big.file)).frames;
    const info = await probe(bins.ffprobe, big.file);
    console.log(`${s1(big.wall)} s: ${(big.size / GiB).toFixed(2)} GiB = ${big.copies} × a ${big.clipSecs} s clip of ${mb(big.clipSize)} MB; `
      + `${s1(info.durationSeconds)} s, ${frames} frames, ${((big.size * 8) / info.durationSeconds / 1e6).toFixed(0)} Mbit/s`);

    world = await startWorld(join(dir, 'fauxqs'));
    const jobId = randomUUID();
    await world.createJob(jobId);
    const upload = await world.uploadSource(jobId, big.file);
    await rm(big.file); // the stand-in has it; the disk is needed for the worker's copies
    console.log(`source uploaded to the stand-in (files) in ${s1(upload)} s (${mb(big.size / upload)} MB/s); local copy removed`);
    const forward = world.forwardSegments(jobId);
    const timeoutMs = 120_000 + RSS_GB * 600_000;
    const workDir = join(dir, 'work');
    const results = {};
    try {
      // chunk
      worker = await startWorker(world, ['chunk'], workDir);
      let t0 = performance.now();
      await world.notifySource(jobId, big.size);
      const chunked = await worker.waitFor('chunking_completed', (e) => e.event_type === 'chunking_completed' && e.job_id === jobId, { jobId, timeoutMs });
      const total = chunked.total_segments;
      results.chunk = { ...(await worker.stop()), secs: (chunked.at - t0) / 1000, steps: stepPeaks(worker.samples, t0, chunked.at), idle: worker.samples.find((s) => s.at < t0)?.rss };
      worker = null;
      for (let t = performance.now(); forward.sent() < total; await sleep(50)) {
        if (performance.now() - t > 30_000) throw new Error(`${forward.sent()} of ${total} segment events forwarded`);
      }
      await world.deletePrefix(INPUT, `input/${jobId}/`); // read once, by chunk

      // segment-infer (stub: each segment streamed from the input bucket to the output bucket)
      worker = await startWorker(world, ['segment-infer'], workDir);
      t0 = performance.now();
      await worker.waitFor(`${total} segment_completed`, () => worker.count((e) => e.event_type === 'segment_completed' && e.job_id === jobId) >= total, { jobId, timeoutMs });
      const triggered = await worker.waitFor('reassembly_triggered', (e) => e.event_type === 'reassembly_triggered' && e.job_id === jobId, { jobId, timeoutMs: 30_000 });
      results.infer = { ...(await worker.stop()), secs: (triggered.at - t0) / 1000, steps: stepPeaks(worker.samples, t0, triggered.at) };
      worker = null;
      await world.deletePrefix(INPUT, `segments/${jobId}/`); // read once, by the stub

      // reassemble
      worker = await startWorker(world, ['reassemble'], workDir);
      t0 = performance.now();
      const done = await worker.waitFor('reassembly_completed', (e) => e.event_type === 'reassembly_completed' && e.job_id === jobId, { jobId, timeoutMs });
      results.reassemble = { ...(await worker.stop()), secs: (done.at - t0) / 1000, steps: stepPeaks(worker.samples, t0, done.at) };
      worker = null;
      const job = await world.getJob(jobId);
      const final = await world.head(OUTPUT, `jobs/${jobId}/final.mp4`);
      if (job?.status !== 'completed' || !final) throw new Error(`job ${jobId}: status ${job?.status}, final.mp4 ${final ? 'present' : 'missing'}`);
      if (done.frames !== frames) throw new Error(`final.mp4 has ${done.frames} frames, the source ${frames}`);
      results.total = total;
      results.finalBytes = final.ContentLength;
    } finally {
      await forward.stop();
    }
    const fauxqsPeak = world.fauxqs.hwm();

    console.log('');
    console.log(`${''.padEnd(48)}${'VmHWM MB'.padStart(10)}${'goal'.padStart(8)}  ${'result'.padEnd(9)}${'wall s'.padStart(8)}   peak VmRSS by step (MB, s)`);
    const line = (label, r, names, judged) => {
      const st = r.steps;
      const steps = [[names[0], st.before], [names[1], st.media], [names[2], st.after]]
        .filter(([, x]) => x.secs > 0).map(([n, x]) => `${n} ${s1(x.peak)} (${s1(x.secs)} s)`).join(', ');
      console.log(`${label.padEnd(48)}${s1(r.hwmMB).padStart(10)}${`<=${GOAL_RSS_MB}`.padStart(8)}  ${(judged ? verdict(r.hwmMB <= GOAL_RSS_MB) : '(info)').padEnd(9)}${s1(r.secs).padStart(8)}   ${steps}`);
    };
    line('(b) chunk (--role chunk)', results.chunk, ['download', 'probe+split', 'upload'], true);
    line('    segment-infer, stub (--role segment-infer)', results.infer, ['copy', 'ffmpeg', 'after'], false);
    line('(b) reassemble (--role reassemble)', results.reassemble, ['download', 'count+concat+check', 'upload'], true);
    console.log(`${results.total} segment${results.total === 1 ? '' : 's'}; final.mp4 ${(results.finalBytes / GiB).toFixed(2)} GiB, ${frames} frames (checked); chunk worker idle before the job ${s1(results.chunk.idle)} MB`);
    console.log(`VmHWM = the worker process's own peak (kernel high-water mark, whole life, startup included). FFmpeg/ffprobe are child processes, not counted: `
      + `their peak VmRSS seen ${s1(results.chunk.steps.kidPeak)} MB while chunking, ${s1(results.reassemble.steps.kidPeak)} MB while reassembling.`);
    console.log(`throughput: chunk ${mb(big.size / results.chunk.secs)} MB/s, stub copy ${mb(big.size / results.infer.secs)} MB/s, reassemble ${mb(big.size / results.reassemble.secs)} MB/s (source bytes per wall second)`);
    console.log(`fauxqs process (objects in files, bodies up to 64 MiB a request) VmHWM ${s1(fauxqsPeak)} MB`);
    return { chunk: results.chunk.hwmMB, reassemble: results.reassemble.hwmMB, infer: results.infer.hwmMB };
  } finally {
    if (worker) await worker.stop();
    if (world) await world.stop();
    await dropTemp(dir);
  }
}

// ---- main --------------------------------------------------------------------------------------
if (!existsSync(exePath())) throw new Error(`${exePath()} is missing: npm run build`);
const bins = await locateFfmpeg({ FFMPEG_PATH: process.env.FFMPEG_PATH, FFPROBE_PATH: process.env.FFPROBE_PATH, PATH: process.env.PATH });
console.log(`stereo: ${ONLY === 'rss' ? '' : `(a) ${MINUTES} min 720p, `}${ONLY === 'time' ? '' : `(b) ${RSS_GB} GiB, `}${SEGMENT} s segments, the executable ${exePath()}, INFERENCE_BACKEND=stub`);
const benchStart = performance.now();
const summary = [];
try {
  if (ONLY !== 'rss') {
    const a = await measureTime(bins);
    summary.push(`goal (a) pipeline <= ${GOAL_RATIO}x bare ffmpeg: ${a.ratio.toFixed(2)}x (${s2(a.job)} s vs ${s2(a.bare)} s), ${verdict(a.ratio <= GOAL_RATIO)}; `
      + `vs the S3 floor (same FFmpeg + transfers by hand, ${s2(a.floor)} s): ${(a.job / a.floor).toFixed(2)}x`);
  }
  if (ONLY !== 'time') {
    const b = await measureRss(bins);
    if (b.skipped) summary.push('goal (b): skipped (disk)');
    else {
      summary.push(`goal (b) chunk worker peak RSS <= ${GOAL_RSS_MB} MB: ${s1(b.chunk)} MB, ${verdict(b.chunk <= GOAL_RSS_MB)}`);
      summary.push(`goal (b) reassemble worker peak RSS <= ${GOAL_RSS_MB} MB: ${s1(b.reassemble)} MB, ${verdict(b.reassemble <= GOAL_RSS_MB)}`);
      summary.push(`(b) segment-infer (stub) worker peak RSS: ${s1(b.infer)} MB (${b.infer <= GOAL_RSS_MB ? 'within' : 'over'} ${GOAL_RSS_MB} MB)`);
    }
  }
  console.log('');
  for (const l of summary) console.log(l);
  console.log(`stereo bench: ${((performance.now() - benchStart) / 60000).toFixed(1)} minutes`);
} finally {
  cleanupNow();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}
