// The transcode role's cost (issue 4, RUGBYCODEX.md), in one run, on a generated 1080p30 clip:
// (a) the whole job — the live message {job_id, media_id, org_id, type} in fauxqs SQS, the raw
//     video in fauxqs S3 (the asset's bucket, `rugbycodex`; fauxqs in its own process, so its
//     CPU is told apart from the role's), the real role via runWorkers
//     --once, the PostgREST stand-in on real PostgreSQL holding the `jobs` / `media_assets`
//     rows, the ladder and the storyboard uploaded under {base}{media_id}/streaming/ — against
//     plain ffmpeg with exactly the same arguments on the local file: the HLS_RENDITIONS
//     ladder (default 1080/720/480/360, 6 s segments) with the storyboard branch the role adds
//     (buildLadderArgs storyboardTileHeight = tileHeight() of the top rung). The role's own
//     ffmpeg arguments (its debug `ffmpeg_start` line) are checked to be these, paths and the
//     loopback input's options aside.
//     Goal: job wall ≤ 1.05× ffmpeg wall (ABBA trials, medians).
// (b) CPU time (user+sys) of the one-process ladder (1080/720/480 + storyboard branch) against
//     separate ffmpeg passes, each decoding the source itself: one per rung, plus one for the
//     storyboard with the ladder's own storyboard chain. Goal: ≤ 0.85×.
// (c) The storyboard's cost: the HLS_RENDITIONS ladder with and without its storyboard branch
//     (the "with" runs are (a)'s plain ffmpeg runs, each next to a "without" run in ABBA
//     order), and the Python worker's way — a second full decode after the encode
//     (ffmpeg -i input -vf fps=1/6,scale=320:H,tile=5x5 -vsync vfr thumbnails/storyboard_%03d.jpg).
// (d) Encode cost per rung count (HLS_RENDITIONS = 1080,720,480,360 / 1080,720,480 / 720,480 /
//     720), one-process ladder with the storyboard, so a Jetson operator can trade quality for
//     encode time. A row with the ladder of (a) or (b) reuses its runs (same arguments).
// At the defaults this takes 11–13 minutes on this 2-core machine, so (c) and (d) keep
// BENCH_TRANSCODE_TRIALS trials; BENCH_TRANSCODE_CD_TRIALS=1 runs them once each.
// CPU time is that of the reaped children of this process (/proc/self/stat cutime+cstime),
// so it counts ffmpeg's every thread. The clip (testsrc2 + sine, libx264) is cached in the
// OS temp dir between runs; BENCH_TRANSCODE_SECONDS (default 60) sets its length and
// BENCH_TRANSCODE_TRIALS (default 2) the ABBA trials of (a), (c) and (d).
import { register } from 'tsx/esm/api';

register();
const { spawn, spawnSync } = await import('node:child_process');
const { existsSync, readFileSync, rmSync } = await import('node:fs');
const { mkdir, mkdtemp, readdir, rename, rm, stat } = await import('node:fs/promises');
const { tmpdir } = await import('node:os');
const { join } = await import('node:path');
const { performance } = await import('node:perf_hooks');
const { randomUUID } = await import('node:crypto');
const { SQSClient, CreateQueueCommand, SendMessageCommand, GetQueueAttributesCommand } = await import('@aws-sdk/client-sqs');
const { S3Client, CreateBucketCommand, HeadObjectCommand, ListObjectsV2Command } = await import('@aws-sdk/client-s3');
const { S3ObjectStore } = await import('../../src/adapters/storage/s3.ts');
const { awsTestClientConfig } = await import('../helpers/servers.ts');
const { startPostgrestStandin } = await import('../helpers/postgrest-standin.ts');
const { BUCKET, liveMessage, seedTranscodeRows } = await import('../helpers/rugbycodex.ts');
const { buildLadderArgs, chooseRungs, copyableAudioBps, DEFAULT_RUNG_HEIGHTS, defaultRungCount } = await import('../../src/domain/rugbycodex/hls-ladder.ts');
const { SHEET_PATTERN, TILE_WIDTH, VTT_NAME, sheetName, storyboardFilter, tileHeight } = await import('../../src/domain/rugbycodex/storyboard.ts');
const { THUMBNAILS_FOLDER, streamingLayout } = await import('../../src/domain/rugbycodex/streaming-layout.ts');
const { cachedHwDecode, locateFfmpeg, probe } = await import('../../src/runtime/ffmpeg/index.ts');
const { SOURCE_INPUT_ARGS } = await import('../../src/runtime/progressive-source/progressive-source.ts');
const { loadConfig } = await import('../../src/runtime/config/load.ts');
const { runWorkers } = await import('../../src/commands/run.ts');
const { productionPorts } = await import('../../src/wiring/production-ports.ts');
const { roleDefinition } = await import('../../roles/index.ts');

const SECONDS = Number(process.env.BENCH_TRANSCODE_SECONDS ?? 60);
if (!Number.isFinite(SECONDS) || SECONDS < 2) throw new Error(`BENCH_TRANSCODE_SECONDS must be a number ≥ 2, got ${process.env.BENCH_TRANSCODE_SECONDS}`);
const TRIALS = Number(process.env.BENCH_TRANSCODE_TRIALS ?? 2);
if (!Number.isInteger(TRIALS) || TRIALS < 1) throw new Error(`BENCH_TRANSCODE_TRIALS must be a whole number ≥ 1, got ${process.env.BENCH_TRANSCODE_TRIALS}`);
const CD_TRIALS = Number(process.env.BENCH_TRANSCODE_CD_TRIALS ?? TRIALS);
if (!Number.isInteger(CD_TRIALS) || CD_TRIALS < 1 || CD_TRIALS > TRIALS) throw new Error(`BENCH_TRANSCODE_CD_TRIALS must be a whole number from 1 to BENCH_TRANSCODE_TRIALS, got ${process.env.BENCH_TRANSCODE_CD_TRIALS}`);
const trials = (n) => `${n} trial${n === 1 ? '' : 's'}`;
const SEGMENT_SECONDS = 6;
const SEGMENT_TYPE = 'ts';
const CPU_RUNGS = [1080, 720, 480];
// (d): a row with (a)'s or (b)'s ladder reuses their runs.
const RUNG_TABLE = [[1080, 720, 480, 360], [1080, 720, 480], [720, 480], [720]];
const GOAL_JOB = 1.05;
const GOAL_CPU = 0.85;
const SERVICE_KEY = 'bench-service-role-key';
// The role's settings, defaults only: the ladder the bench builds is the one the role builds.
const DEFAULTS = loadConfig({ env: {} });
// This machine encodes with libx264: the ladder the role builds by default here (its 1080p source fits every height).
const HEIGHTS = DEFAULTS.HLS_RENDITIONS ?? DEFAULT_RUNG_HEIGHTS.slice(0, defaultRungCount('libx264') ?? undefined);
if (DEFAULTS.HLS_SEGMENT_SECONDS !== SEGMENT_SECONDS || DEFAULTS.HLS_SEGMENT_TYPE !== SEGMENT_TYPE) {
  throw new Error(`the role's default segments are ${DEFAULTS.HLS_SEGMENT_SECONDS} s ${DEFAULTS.HLS_SEGMENT_TYPE}; the bench assumes ${SEGMENT_SECONDS} s ${SEGMENT_TYPE}`);
}

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

/** The storyboard tile height the role uses for these rungs (produce-ladder.ts: tileHeight of the top rung). */
const tilesFor = (rungs) => tileHeight(rungs[0].width, rungs[0].height);

/** The ladder's arguments as the role builds them; `storyboard` adds the storyboard branch. */
function ladderArgs(source, input, rungs, outDir, inputArgs, storyboard) {
  return [...GLOBAL_ARGS, ...buildLadderArgs({
    input, inputArgs, rungs, hasAudio: source.audio !== null, copyAudio: copyableAudioBps(source.audio) !== null, fps: source.video?.frameRate ?? null,
    segmentSeconds: SEGMENT_SECONDS, segmentType: SEGMENT_TYPE, outDir, preset: DEFAULTS.HLS_PRESET,
    videoStreamIndex: source.video?.index, audioStreamIndex: source.audio?.index,
    ...(storyboard ? { storyboardTileHeight: tilesFor(rungs) } : {}),
  })];
}

/** The storyboard alone, in a pass of its own: the ladder's storyboard chain and JPEG settings on a full decode. */
function storyboardPassArgs(source, input, tiles, outDir, inputArgs) {
  const videoIn = source.video?.index === undefined ? '0:v:0' : `0:${source.video.index}`;
  return [...GLOBAL_ARGS, '-y', ...inputArgs, '-i', input,
    '-filter_complex', `[${videoIn}]${storyboardFilter(SEGMENT_SECONDS, tiles)},settb=1,setpts=N,fps=1[sb]`,
    '-map', '[sb]', '-c:v', 'mjpeg', '-q:v', '4', '-start_number', '0', `${outDir}/${THUMBNAILS_FOLDER}/${SHEET_PATTERN}`];
}

/** The Python worker's storyboard: a second full decode after the encode (its exact filter and -vsync). */
function pythonStoryboardArgs(input, tiles, outDir) {
  return [...GLOBAL_ARGS, '-y', '-i', input, '-vf', `fps=1/${SEGMENT_SECONDS},scale=${TILE_WIDTH}:${tiles},tile=5x5`, '-vsync', 'vfr',
    `${outDir}/${THUMBNAILS_FOLDER}/storyboard_%03d.jpg`];
}

/** A fresh output folder (with thumbnails/: FFmpeg's image muxer makes no folder), run, count the sheets, remove. */
async function timedInDir(ffmpeg, dir, argsFor) {
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, THUMBNAILS_FOLDER), { recursive: true });
  try {
    const r = await runFfmpegTimed(ffmpeg, argsFor(dir));
    const sheets = (await readdir(join(dir, THUMBNAILS_FOLDER))).filter((f) => /^storyboard_\d+\.jpg$/.test(f)).length;
    return { ...r, sheets };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The role's ladder arguments with its input and output folder written as placeholders, to
 * compare with the plain run's; without the options of the role's loopback input (the plain
 * run reads the file).
 */
function normalizedLadder(args) {
  const at = args.indexOf('-i') - SOURCE_INPUT_ARGS.length;
  if (at >= 0 && SOURCE_INPUT_ARGS.every((a, i) => args[at + i] === a)) args = [...args.slice(0, at), ...args.slice(at + SOURCE_INPUT_ARGS.length)];
  const input = args[args.indexOf('-i') + 1];
  const segs = args[args.indexOf('-hls_segment_filename') + 1];
  const outDir = segs.slice(0, segs.indexOf('/%v/'));
  return args.map((a) => a.split(outDir).join('<out>').split(input).join('<input>'));
}

// ---- (a) the whole job through fauxqs + the PostgREST stand-in ------------------------------
/** fauxqs in its own process (test/bench/fauxqs-process.mjs); cpu() is its user+sys seconds so far. */
async function startFauxqsProcess() {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'fauxqs-process.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => { out += d; if (out.includes('\n')) resolve(Number(out.trim())); });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`fauxqs process exited ${code}`)));
  });
  const cpu = () => {
    const rest = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
    const f = rest.slice(rest.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  };
  return {
    endpoint: `http://127.0.0.1:${port}`, cpu,
    async stop() { child.removeAllListeners('exit'); child.kill(); await new Promise((r) => child.once('close', r)); },
  };
}

async function runWholeJob(sourceFile, workRoot, expectedArgs) {
  const fauxqs = await startFauxqsProcess();
  const standin = await startPostgrestStandin({ apiKey: SERVICE_KEY });
  const aws = awsTestClientConfig(fauxqs.endpoint);
  const sqs = new SQSClient(aws);
  const s3 = new S3Client(aws);
  let pgCpu = NaN;
  try {
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `bench-transcode-${process.pid}`, Attributes: { VisibilityTimeout: '300' } }));
    const org = randomUUID();
    const asset = randomUUID();
    const job = randomUUID();
    const key = `orgs/${org}/uploads/${asset}/raw/match.mp4`;
    // Multipart in 8 MiB parts: fauxqs takes at most 11 MiB per request.
    await new S3ObjectStore({ client: s3, bucket: BUCKET, partSizeBytes: 8 * 1024 * 1024 }).upload(sourceFile, key, 'video/mp4');
    // The rows complete-upload leaves: asset uploaded in the default bucket, base orgs/{org}/uploads/, job queued.
    await seedTranscodeRows(standin, { asset, org, job, key }, new Date().toISOString());
    const layout = streamingLayout({ baseOrgStoragePath: `orgs/${org}/uploads/`, orgId: org, mediaId: asset });
    if (!layout.ok) throw new Error(layout.reason);
    const { prefix, playlistKey, thumbnailsPrefix } = layout.layout;
    const config = loadConfig({
      env: {
        QUEUE_BACKEND: 'sqs', SQS_TRANSCODE_QUEUE_URL: QueueUrl, SQS_LONG_POLL_WAIT_SECONDS: '0',
        AWS_ENDPOINT_URL: fauxqs.endpoint, AWS_REGION: aws.region, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test',
        SUPABASE_URL: standin.url, SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY,
        HLS_SEGMENT_SECONDS: String(SEGMENT_SECONDS), HLS_SEGMENT_TYPE: SEGMENT_TYPE, WORK_DIR: workRoot,
        // debug: the role's ffmpeg_start (its exact arguments) and ffmpeg_done lines; a few dozen lines more.
        LOG_LEVEL: 'debug',
        FFMPEG_PATH: process.env.FFMPEG_PATH, FFPROBE_PATH: process.env.FFPROBE_PATH,
      },
    });
    if ((config.HLS_RENDITIONS ?? HEIGHTS).join(',') !== HEIGHTS.join(',')) throw new Error(`the job's HLS_RENDITIONS ${config.HLS_RENDITIONS} differ from the bench's ${HEIGHTS}`);

    // Every log line is timed as it is written, for the phase breakdown.
    const marks = {};
    const lines = [];
    let ladderStart = null;
    const logOutput = {
      write(chunk) {
        const now = performance.now();
        for (const line of String(chunk).split('\n')) {
          if (!line) continue;
          lines.push(line);
          if (lines.length > 200) lines.shift();
          let ev;
          try { ev = JSON.parse(line); } catch { continue; }
          let name = ev.event_type === 'transcode_progress' ? `progress:${ev.phase}` : ev.event_type;
          if (name === 'ffmpeg_start' && Array.isArray(ev.args) && ev.args.includes('-master_pl_name')) { name = 'ladder_start'; ladderStart = ev.args; }
          if (name === 'ffmpeg_done' && marks.ladder_start !== undefined && marks.ladder_done === undefined) name = 'ladder_done';
          if (name && marks[name] === undefined) marks[name] = now;
        }
        return true;
      },
    };

    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: liveMessage({ job, asset, org }) }));
    const cpu0 = childCpuSeconds();
    const own0 = ownCpuSeconds();
    const s30 = fauxqs.cpu();
    const t0 = performance.now();
    const code = await runWorkers({
      roles: [roleDefinition('transcode')], config, once: true, instanceId: 'bench-transcode',
      ports: (logger) => productionPorts(config, logger), logOutput,
    });
    const wall = (performance.now() - t0) / 1000;
    const cpu = childCpuSeconds() - cpu0;
    const ownCpu = ownCpuSeconds() - own0;
    const s3Cpu = fauxqs.cpu() - s30;

    const jobRow = await standin.row('jobs', job);
    const assetRow = await standin.row('media_assets', asset);
    const head = (Key) => s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key })).then(() => true, () => false);
    const present = { playlist: await head(playlistKey), sheet: await head(`${thumbnailsPrefix}${sheetName(0)}`), vtt: await head(`${thumbnailsPrefix}${VTT_NAME}`) };
    let objects = 0;
    let token;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, ContinuationToken: token }));
      objects += page.KeyCount ?? page.Contents?.length ?? 0;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
    const left = Number(attrs.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(attrs.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
    const finished = code === 0 && jobRow?.state === 'succeeded' && assetRow?.status === 'ready' && assetRow?.processing_stage === 'complete'
      && assetRow?.streaming_ready === true && assetRow?.thumbnail_vtt_path === `${thumbnailsPrefix}${VTT_NAME}`
      && present.playlist && present.sheet && present.vtt && left === 0;
    if (!finished) {
      throw new Error(
        `the job did not finish cleanly (exit ${code}, job ${jobRow?.state} ${jobRow?.error_code ?? ''} ${jobRow?.error_message ?? ''}, `
        + `asset ${assetRow?.status}/${assetRow?.processing_stage} streaming_ready ${assetRow?.streaming_ready} vtt ${assetRow?.thumbnail_vtt_path}, `
        + `index.m3u8 ${present.playlist ? 'present' : 'missing'}, sheet ${present.sheet ? 'present' : 'missing'}, vtt ${present.vtt ? 'present' : 'missing'}, ${left} messages left)\n`
        + lines.slice(-15).join('\n'),
      );
    }
    // Exactly the plain run's arguments, input and output folder aside.
    if (!ladderStart) throw new Error('the role logged no ffmpeg_start for the ladder (LOG_LEVEL=debug)');
    const got = normalizedLadder(ladderStart);
    const want = normalizedLadder(expectedArgs);
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      const at = got.findIndex((a, i) => a !== want[i]);
      throw new Error(`the role's ffmpeg arguments differ from the plain run's at ${at}: role ${JSON.stringify(got.slice(at, at + 6))} vs bench ${JSON.stringify(want.slice(at, at + 6))}`);
    }
    const since = (a, b) => (marks[a] !== undefined && marks[b] !== undefined ? (marks[b] - marks[a]) / 1000 : NaN);
    const phases = {
      startup: (marks.transcode_started - t0) / 1000,
      download: since('transcode_started', 'progress:transcoding'),
      setup: since('progress:transcoding', 'ladder_start'),
      ffmpeg: since('ladder_start', 'ladder_done'),
      tail: since('ladder_done', 'hls_upload_finished'),
      db: since('hls_upload_finished', 'transcode_completed'),
      shutdown: (t0 + wall * 1000 - marks.transcode_completed) / 1000,
    };
    const storyboard = { frames: assetRow.thumbnail_frame_count, width: assetRow.thumbnail_width, height: assetRow.thumbnail_height };
    return { wall, cpu, ownCpu, s3Cpu, phases, objects, storyboard, renditions: (jobRow.result?.renditions ?? []).map((r) => r.name), get pgCpu() { return pgCpu; } };
  } finally {
    sqs.destroy();
    s3.destroy();
    // PostgreSQL is a child process: its whole life's CPU (start, seeding, the job's requests) is counted when it is reaped.
    const pg0 = childCpuSeconds();
    await standin.stop();
    pgCpu = childCpuSeconds() - pg0;
    await fauxqs.stop();
  }
}

// ---- main ----------------------------------------------------------------------------------
const bins = await locateFfmpeg({ FFMPEG_PATH: process.env.FFMPEG_PATH, FFPROBE_PATH: process.env.FFPROBE_PATH, PATH: process.env.PATH });
console.log(`transcode: ${SECONDS} s 1080p30 clip, ${SEGMENT_SECONDS} s segments, storyboard in the ladder's pass; (a) the ${HEIGHTS.join('/')} job via fauxqs vs plain ffmpeg, `
  + '(b) one-pass vs separate passes CPU, (c) the storyboard\'s cost, (d) cost per rung count.');
console.log(`This encodes the clip ${2 * TRIALS} + ${CD_TRIALS} + 4 + ${(RUNG_TABLE.length - 2) * CD_TRIALS} times and decodes it ${1 + CD_TRIALS} more: `
  + `about 13 minutes for 60 s on 2 cores at the defaults ((c) and (d): ${trials(CD_TRIALS)}; BENCH_TRANSCODE_CD_TRIALS=1 saves about 2.5; `
  + 'BENCH_TRANSCODE_SECONDS=10 for a quick check).');
const benchStart = performance.now();
const root = await mkdtemp(join(tmpdir(), 'rugbyworker-bench-transcode-'));
cleanups.push(root);
try {
  const { file: sourceFile, cached } = await ensureSource(bins.ffmpeg, bins.ffprobe);
  const source = await probe(bins.ffprobe, sourceFile);
  const size = (await stat(sourceFile)).size;
  console.log(`source ${sourceFile}${cached ? ' (cached)' : ''}: ${source.video.width}x${source.video.height} ${source.video.frameRate} fps, `
    + `${source.durationSeconds?.toFixed(1)} s, ${(size / 1e6).toFixed(1)} MB; CPU clock ${CLK_TCK} Hz`);
  const dimsOf = { width: source.video.width, height: source.video.height, rotation: source.video.rotation ?? null };
  const median = (xs) => { const v = [...xs].sort((a, b) => a - b); const m = Math.floor(v.length / 2); return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2; };
  const medianRun = (runs) => ({ wall: median(runs.map((r) => r.wall)), cpu: median(runs.map((r) => r.cpu)), sheets: runs[0]?.sheets ?? 0 });

  // (a) in ABBA order (job, plain, plain, job, …) so a noisy neighbour on this shared
  // machine weighs on both sides alike; the medians are compared. The job runs first, so
  // its wall time includes the role's own hardware detection (once per worker process).
  // (c)'s ladder without the storyboard runs next to the plain run of each of its trials
  // (job, plain, bare, bare, plain, job, …).
  const hw = await cachedHwDecode(bins); // the verdict the role uses (cached per binary)
  const inputArgs = source.video?.codecName === 'h264' ? hw.h264InputArgs : [];
  const decode = hw.kind === 'none' ? 'software' : hw.kind;
  const ladder = chooseRungs(dimsOf, HEIGHTS);
  const names = (rungs) => rungs.map((r) => r.name).join('/');
  const tiles = tilesFor(ladder);
  const plainArgs = (dir) => ladderArgs(source, sourceFile, ladder, dir, inputArgs, true);
  const jobs = [];
  const plains = [];
  const bares = [];
  const runJob = async () => {
    process.stdout.write('(a) whole job via fauxqs SQS+S3 and the PostgREST stand-in ... ');
    const jobDir = join(root, 'work');
    const r = await runWholeJob(sourceFile, jobDir, plainArgs(join(root, 'plain')));
    console.log(`${r.wall.toFixed(1)} s (${r.renditions.join('/')}, ${r.objects} objects, storyboard ${r.storyboard.frames} × ${r.storyboard.width}x${r.storyboard.height})`);
    await rm(jobDir, { recursive: true, force: true });
    jobs.push(r);
  };
  const runPlain = async () => {
    process.stdout.write(`(a) plain ffmpeg, ${names(ladder)} + storyboard, ${decode} decode ... `);
    const r = await timedInDir(bins.ffmpeg, join(root, 'plain'), plainArgs);
    console.log(`${r.wall.toFixed(1)} s`);
    plains.push(r);
  };
  const runBare = async () => {
    process.stdout.write(`(c) plain ffmpeg, ${names(ladder)} without the storyboard ... `);
    const r = await timedInDir(bins.ffmpeg, join(root, 'bare'), (dir) => ladderArgs(source, sourceFile, ladder, dir, inputArgs, false));
    console.log(`${r.wall.toFixed(1)} s`);
    bares.push(r);
  };
  for (let t = 0; t < TRIALS; t++) {
    const bareToo = t < CD_TRIALS;
    if (t % 2 === 0) { await runJob(); await runPlain(); if (bareToo) await runBare(); } else { if (bareToo) await runBare(); await runPlain(); await runJob(); }
  }
  const whole = {
    ...jobs[0], wall: median(jobs.map((j) => j.wall)), cpu: median(jobs.map((j) => j.cpu)), ownCpu: median(jobs.map((j) => j.ownCpu)),
    pgCpu: median(jobs.map((j) => j.pgCpu)),
    s3Cpu: median(jobs.map((j) => j.s3Cpu)),
    phases: Object.fromEntries(Object.keys(jobs[0].phases).map((k) => [k, median(jobs.map((j) => j.phases[k]))])),
  };
  const plain = medianRun(plains);
  const bare = medianRun(bares);

  // (b) the 3-rung ladder with the storyboard in one process, then one process per rung and one for the storyboard.
  const rungs3 = chooseRungs(dimsOf, CPU_RUNGS);
  process.stdout.write(`(b) one pass, ${names(rungs3)} + storyboard ... `);
  const one = await timedInDir(bins.ffmpeg, join(root, 'one-pass'), (dir) => ladderArgs(source, sourceFile, rungs3, dir, inputArgs, true));
  console.log(`${one.cpu.toFixed(1)} s CPU, ${one.wall.toFixed(1)} s`);
  const passes = [];
  for (const rung of rungs3) {
    process.stdout.write(`(b) separate pass ${rung.name} ... `);
    const r = await timedInDir(bins.ffmpeg, join(root, `pass-${rung.name}`), (dir) => ladderArgs(source, sourceFile, [rung], dir, inputArgs, false));
    console.log(`${r.cpu.toFixed(1)} s CPU`);
    passes.push(r);
  }
  process.stdout.write('(b) separate pass, storyboard alone (the ladder\'s storyboard chain) ... ');
  const sbPass = await timedInDir(bins.ffmpeg, join(root, 'pass-storyboard'), (dir) => storyboardPassArgs(source, sourceFile, tilesFor(rungs3), dir, inputArgs));
  console.log(`${sbPass.cpu.toFixed(1)} s CPU`);
  passes.push(sbPass);
  const separate = { wall: passes.reduce((s, p) => s + p.wall, 0), cpu: passes.reduce((s, p) => s + p.cpu, 0) };

  // (c) the Python worker's storyboard: a second full decode after the encode.
  const pythons = [];
  for (let t = 0; t < CD_TRIALS; t++) {
    process.stdout.write('(c) the Python worker\'s storyboard pass (fps=1/6,scale,tile -vsync vfr) ... ');
    const r = await timedInDir(bins.ffmpeg, join(root, 'python-storyboard'), (dir) => pythonStoryboardArgs(sourceFile, tiles, dir));
    console.log(`${r.wall.toFixed(1)} s, ${r.sheets} sheet${r.sheets === 1 ? '' : 's'} (the ladder's branch made ${plain.sheets})`);
    pythons.push(r);
  }
  const python = medianRun(pythons);

  // (d) the ladder (with the storyboard) per rung count; a row with (a)'s or (b)'s ladder reuses their runs.
  const perCount = RUNG_TABLE.map((heights) => ({ heights, rungs: chooseRungs(dimsOf, heights), runs: [] }));
  const own = [];
  for (const row of perCount) {
    if (row.heights.join(',') === HEIGHTS.join(',')) Object.assign(row, plain, { from: `(a)'s plain runs, median of ${TRIALS}` });
    else if (row.heights.join(',') === CPU_RUNGS.join(',')) Object.assign(row, one, { from: '(b)\'s one pass, 1 run' });
    else own.push(row);
  }
  // ABBA over the rows of their own (720p/480p, 720p, 720p, 720p/480p, …).
  for (let t = 0; t < CD_TRIALS; t++) {
    for (const row of t % 2 === 0 ? own : [...own].reverse()) {
      process.stdout.write(`(d) one pass, ${names(row.rungs)} + storyboard ... `);
      const r = await timedInDir(bins.ffmpeg, join(root, `count-${row.rungs.length}`), (dir) => ladderArgs(source, sourceFile, row.rungs, dir, inputArgs, true));
      console.log(`${r.wall.toFixed(1)} s`);
      row.runs.push(r);
    }
  }
  for (const row of own) Object.assign(row, medianRun(row.runs), { from: CD_TRIALS === 1 ? '1 run' : `median of ${CD_TRIALS}` });

  // ---- report ----
  const jobRatio = whole.wall / plain.wall;
  const cpuRatio = one.cpu / separate.cpu;
  const verdict = (ok) => (ok ? 'met' : 'NOT met');
  const row = (label, wall, cpu, ratio = '', goal = '', result = '') =>
    console.log(`${label.padEnd(66)}${wall.padStart(9)}${cpu.padStart(10)}${ratio.padStart(9)}${goal.padStart(9)}  ${result}`);
  console.log('');
  row('', 'wall s', 'cpu s', 'ratio', 'goal');
  row(`(a) plain ffmpeg, ${ladder.length} rungs + storyboard, local file (median of ${TRIALS})`, plain.wall.toFixed(1), plain.cpu.toFixed(1));
  row(`(a) whole job: SQS → S3 → role → S3 + DB (median of ${TRIALS})`, whole.wall.toFixed(1), (whole.cpu + whole.ownCpu).toFixed(1),
    `${jobRatio.toFixed(3)}x`, `<=${GOAL_JOB}x`, verdict(jobRatio <= GOAL_JOB));
  row(`(b) separate passes: ${rungs3.map((r) => r.name).join(', ')}, storyboard (each decodes)`, separate.wall.toFixed(1), separate.cpu.toFixed(1));
  row(`(b) one pass, ${rungs3.length}-rung ladder + storyboard branch`, one.wall.toFixed(1), one.cpu.toFixed(1),
    `${cpuRatio.toFixed(3)}x`, `<=${GOAL_CPU}x`, verdict(cpuRatio <= GOAL_CPU));
  console.log(`goal (a) job wall <= ${GOAL_JOB}x plain ffmpeg wall: ${jobRatio.toFixed(3)}x, ${verdict(jobRatio <= GOAL_JOB)}`);
  console.log(`goal (b) one-pass CPU <= ${GOAL_CPU}x separate passes (3 rung passes + 1 storyboard pass, like for like): ${cpuRatio.toFixed(3)}x, ${verdict(cpuRatio <= GOAL_CPU)}`);

  const p = whole.phases;
  console.log(`\njob breakdown (s, medians): startup ${p.startup.toFixed(2)}, download+probe ${p.download.toFixed(2)}, setup ${p.setup.toFixed(2)}, `
    + `ffmpeg ladder+storyboard with live upload ${p.ffmpeg.toFixed(2)}, upload tail+vtt ${p.tail.toFixed(2)}, db ${p.db.toFixed(2)}, shutdown ${p.shutdown.toFixed(2)}`);
  const outside = p.startup + p.download + p.setup + p.tail + p.db + p.shutdown;
  console.log(`job time outside its ffmpeg: ${outside.toFixed(2)} s (${(100 * outside / plain.wall).toFixed(1)} % of plain ffmpeg wall); `
    + `the job's ffmpeg (live upload to fauxqs beside it) against plain ffmpeg: ${(p.ffmpeg / plain.wall).toFixed(3)}x wall`);
  console.log(`job CPU (s): ffmpeg/ffprobe children ${whole.cpu.toFixed(1)}, this process (role + PostgREST stand-in) ${whole.ownCpu.toFixed(1)}, `
    + `fauxqs in its own process (SQS, and S3 receiving the uploads; remote in production) ${whole.s3Cpu.toFixed(1)}, `
    + `the stand-in's PostgreSQL (whole life, not in the job's figure) ${whole.pgCpu.toFixed(1)}`);
  console.log(`the role's ladder ffmpeg arguments = the plain run's (input and output folder aside): checked on each of the ${TRIALS} jobs`);

  // (c)
  const dWall = plain.wall - bare.wall;
  const dCpu = plain.cpu - bare.cpu;
  console.log(`\n(c) the storyboard's cost (${names(ladder)} ladder; "without" and the Python pass: ${trials(CD_TRIALS)}, medians; `
    + `"with" = (a)'s plain runs, median of ${TRIALS})`);
  row('', 'wall s', 'cpu s', 'ratio', '');
  row('ladder without the storyboard branch', bare.wall.toFixed(1), bare.cpu.toFixed(1));
  row('ladder with the storyboard branch (what the role runs)', plain.wall.toFixed(1), plain.cpu.toFixed(1),
    `${(plain.cpu / bare.cpu).toFixed(3)}x`, '', `CPU; wall ${(plain.wall / bare.wall).toFixed(3)}x`);
  row('  the branch\'s cost: with − without', dWall.toFixed(1), dCpu.toFixed(1));
  row('Python worker\'s way: second full decode after the encode', python.wall.toFixed(1), python.cpu.toFixed(1));
  row('  ladder without + Python pass (the Python worker\'s order)', (bare.wall + python.wall).toFixed(1), (bare.cpu + python.cpu).toFixed(1),
    `${((bare.cpu + python.cpu) / bare.cpu).toFixed(3)}x`, '', `CPU; wall ${((bare.wall + python.wall) / bare.wall).toFixed(3)}x`);
  // CPU is the firm figure here; wall on this shared machine swings by more than the branch
  // costs, so a branch that "saves" wall (without slower than with) is counted as costing none.
  const branchCpu = Math.max(0, dCpu);
  const branchWall = Math.max(0, dWall);
  const savedCpu = python.cpu - branchCpu;
  const savedWall = python.wall - branchWall;
  const noise = ' (negative: the runs without it took more, noise larger than the effect; counted as 0)';
  console.log(`closing note: in the ladder's own pass the storyboard costs ${dCpu.toFixed(1)} s CPU (${(100 * dCpu / bare.cpu).toFixed(1)} % of the ladder's CPU)${dCpu < 0 ? noise : ''} `
    + `and ${dWall.toFixed(1)} s wall${dWall < 0 ? noise : ''} per ${SECONDS} s of 1080p video; `
    + `the Python worker's second decode costs ${python.cpu.toFixed(1)} s CPU and ${python.wall.toFixed(1)} s wall after the encode. `
    + `Doing it in the same pass saves ${savedCpu.toFixed(1)} s CPU (${(100 * savedCpu / (bare.cpu + python.cpu)).toFixed(1)} % of encode + second pass) `
    + `and about ${savedWall.toFixed(1)} s wall (${(100 * savedWall / (bare.wall + python.wall)).toFixed(1)} %) per ${SECONDS} s of video.`);

  // (d)
  console.log(`\n(d) encode cost per rung count: one-process ladder + storyboard, ${SECONDS} s 1080p30 clip, ${decode} decode, libx264 ${DEFAULTS.HLS_PRESET}`);
  const top = perCount[0];
  console.log(`${'HLS_RENDITIONS'.padEnd(18)}${'rungs'.padEnd(22)}${'wall s'.padStart(8)}${'cpu s'.padStart(8)}${'x realtime'.padStart(12)}${'cpu ÷ row 1'.padStart(13)}  from`);
  for (const r of perCount) {
    console.log(`${r.heights.join(',').padEnd(18)}${names(r.rungs).padEnd(22)}${r.wall.toFixed(1).padStart(8)}${r.cpu.toFixed(1).padStart(8)}`
      + `${(SECONDS / r.wall).toFixed(2).padStart(12)}${(r.cpu / top.cpu).toFixed(2).padStart(13)}  ${r.from}`);
  }
  console.log(`(${trials(CD_TRIALS)} for the rows not taken from (a) or (b); "x realtime" = video seconds per wall second on this machine, not on a Jetson)`);
  console.log(`\ntranscode bench: ${((performance.now() - benchStart) / 60000).toFixed(1)} minutes`);
} finally {
  await rm(root, { recursive: true, force: true });
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}
