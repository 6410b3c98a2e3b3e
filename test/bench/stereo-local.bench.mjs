// `rugbyworker stereo` (issue 10) on the built executable against the same FFmpeg work done
// by hand, in one run. Source: a BENCH_STEREO_LOCAL_SECONDS (120) second 720p30 clip made
// here (testsrc2 + 440 Hz sine, libx264 veryfast, a keyframe every 2 s, AAC). Both sides cut
// it every BENCH_STEREO_LOCAL_SEGMENT_SEC (20) seconds and make the sbs picture with the
// ffmpeg backend's filter, as many segments at once as there are cores:
// - stereo: `rugbyworker stereo SRC --mode sbs --out F --segment-seconds N` (chunk, segment-
//   infer, trigger, reassemble with their fs buckets, memory queues and tables), wall time
//   from spawn to exit; peak RSS of the worker (VmHWM, read every 100 ms until it exits) and
//   of the worker plus its FFmpeg children (VmRSS summed over the process tree, sampled).
// - by hand: the split (splitArgs), naiveStereoArgs on each segment, the frame-exact join
//   (ffconcat with each segment's duration, concatArgs) on local files, nothing else.
// Trials alternate (stereo, by hand, by hand, stereo, …); medians; both outputs must have the
// source's frame count. Knobs: BENCH_STEREO_LOCAL_SECONDS, BENCH_STEREO_LOCAL_SEGMENT_SEC,
// BENCH_STEREO_LOCAL_TRIALS (1), BENCH_STEREO_LOCAL_TMP (os.tmpdir()). Quick check:
// BENCH_STEREO_LOCAL_SECONDS=10 BENCH_STEREO_LOCAL_SEGMENT_SEC=4 npm run bench -- stereo-local
import { register } from 'tsx/esm/api';

register();
const { spawn } = await import('node:child_process');
const { readFileSync, readdirSync, rmSync } = await import('node:fs');
const { mkdir, mkdtemp, readdir, writeFile } = await import('node:fs/promises');
const { availableParallelism, tmpdir } = await import('node:os');
const { join } = await import('node:path');
const { performance } = await import('node:perf_hooks');
const { concatArgs, ffconcatList, naiveStereoArgs, passthroughFramesArgs, splitArgs } = await import('../../src/domain/stereo/media-args.ts');
const { ffmpegVersion, locateFfmpeg, runFfmpeg } = await import('../../src/runtime/ffmpeg/index.ts');
const { countFrames } = await import('../../roles/stereo/media.ts');
const { mapLimit } = await import('../../src/runtime/parallel.ts');
const { cleanEnv, exeCommand } = await import('../helpers/binary.ts');

const SECONDS = Number(process.env.BENCH_STEREO_LOCAL_SECONDS ?? 120);
const SEGMENT = Number(process.env.BENCH_STEREO_LOCAL_SEGMENT_SEC ?? 20);
const TRIALS = Number(process.env.BENCH_STEREO_LOCAL_TRIALS ?? 1);
const CORES = availableParallelism();
const MB = 1e6;

const work = await mkdtemp(join(process.env.BENCH_STEREO_LOCAL_TMP ?? tmpdir(), 'rw-bench-stereo-local-'));
const cleanup = () => rmSync(work, { recursive: true, force: true });
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

const ffmpeg = await locateFfmpeg({ PATH: process.env.PATH });
const passthrough = passthroughFramesArgs(await ffmpegVersion(ffmpeg.ffmpeg));
const source = join(work, 'source-720p.mp4');
console.log(`making a ${SECONDS} s 720p30 source …`);
await runFfmpeg(ffmpeg.ffmpeg, [
  '-y', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
  '-t', String(SECONDS), '-c:v', 'libx264', '-preset', 'veryfast', '-g', '60', '-pix_fmt', 'yuv420p', '-c:a', 'aac', source,
]);
const sourceFrames = (await countFrames(ffmpeg.ffprobe, source)).frames;

/** VmHWM and VmRSS of a pid in bytes; null once it is gone. */
function memOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { hwm: kb('VmHWM'), rss: kb('VmRSS') };
  } catch {
    return null;
  }
}

/** The pid and every descendant (through /proc/<pid>/task/<tid>/children). */
function tree(pid) {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      for (const tid of readdirSync(`/proc/${out[i]}/task`)) {
        const kids = readFileSync(`/proc/${out[i]}/task/${tid}/children`, 'utf8').trim();
        if (kids) out.push(...kids.split(/\s+/).map(Number));
      }
    } catch { /* gone meanwhile */ }
  }
  return out;
}

async function viaStereo(trial) {
  const tmp = join(work, `stereo-tmp-${trial}`);
  await mkdir(tmp);
  const out = join(work, `stereo-${trial}.mp4`);
  const { file, args } = exeCommand();
  const started = performance.now();
  const child = spawn(file, [...args, 'stereo', source, '--mode', 'sbs', '--out', out, '--segment-seconds', String(SEGMENT)], {
    env: cleanEnv({ TMPDIR: tmp }), stdio: ['ignore', 'ignore', 'inherit'],
  });
  let worker = 0;
  let total = 0;
  const sampler = setInterval(() => {
    const own = memOf(child.pid);
    if (own) worker = Math.max(worker, own.hwm);
    total = Math.max(total, tree(child.pid).reduce((s, pid) => s + (memOf(pid)?.rss ?? 0), 0));
  }, 100);
  const code = await new Promise((resolve) => child.once('exit', (c, s) => resolve(c ?? s)));
  clearInterval(sampler);
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`rugbyworker stereo exited ${code}`);
  if ((await readdir(tmp)).length > 0) throw new Error(`rugbyworker stereo left files in ${tmp}`);
  return { seconds, frames: (await countFrames(ffmpeg.ffprobe, out)).frames, worker, total };
}

async function byHand(trial) {
  const dir = join(work, `hand-${trial}`);
  const segments = join(dir, 'segments');
  await mkdir(segments, { recursive: true });
  const started = performance.now();
  await runFfmpeg(ffmpeg.ffmpeg, splitArgs({ input: source, outDir: segments, segmentSeconds: SEGMENT }));
  const parts = (await readdir(segments)).sort().map((f) => join(segments, f));
  const outs = await mapLimit(parts, CORES, async (part, i) => {
    const output = join(dir, `stereo_${String(i).padStart(5, '0')}.mp4`);
    await runFfmpeg(ffmpeg.ffmpeg, naiveStereoArgs({ input: part, output, mode: 'sbs', passthrough }));
    return output;
  });
  const counts = await Promise.all(outs.map((f) => countFrames(ffmpeg.ffprobe, f)));
  const list = join(dir, 'parts.ffconcat');
  await writeFile(list, ffconcatList(outs.map((file, i) => ({ file, durationSeconds: counts[i].durationSeconds }))));
  const final = join(dir, 'final.mp4');
  await runFfmpeg(ffmpeg.ffmpeg, concatArgs({ list, output: final }));
  const seconds = (performance.now() - started) / 1000;
  return { seconds, frames: (await countFrames(ffmpeg.ffprobe, final)).frames };
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const stereo = [];
const hand = [];
for (let t = 0; t < TRIALS; t++) {
  // ABBA: neither side always runs on a warmer cache.
  const order = t % 2 === 0 ? [viaStereo, byHand] : [byHand, viaStereo];
  for (const side of order) {
    const r = await side(t);
    if (r.frames !== sourceFrames) throw new Error(`${side.name}: ${r.frames} frames, the source ${sourceFrames}`);
    (side === viaStereo ? stereo : hand).push(r);
    console.log(`trial ${t + 1} ${side === viaStereo ? 'stereo ' : 'by hand'}: ${r.seconds.toFixed(1)} s`);
  }
}
const s = median(stereo.map((r) => r.seconds));
const h = median(hand.map((r) => r.seconds));
console.log(`\n${SECONDS} s 720p30 source, ${SEGMENT} s segments, sbs, ${CORES} at once, ${TRIALS} trial(s), ${sourceFrames} frames on both sides`);
console.log(`  rugbyworker stereo  ${s.toFixed(1)} s`);
console.log(`  by hand (ffmpeg)    ${h.toFixed(1)} s`);
console.log(`  ratio               ${(s / h).toFixed(2)}x`);
console.log(`  peak RSS: worker ${(Math.max(...stereo.map((r) => r.worker)) / MB).toFixed(1)} MB (VmHWM), worker + FFmpeg children ${(Math.max(...stereo.map((r) => r.total)) / MB).toFixed(1)} MB (sampled)`);
