// `npm run check:gpu` (issue 19): the BUILT executable's hardware decode and encode, for real.
// On a machine with an NVIDIA GPU or a Jetson: `rugbyworker doctor`, then `rugbyworker
// transcode` of a generated H.264 clip with HLS_ENCODER=auto and again with libx264, printing
// each verdict (decoder, encoder, why), what the job really used, and the speed (FFmpeg
// seconds against video seconds); exit 1 when a transcode fails or hardware the machine has
// went unused. Without a GPU it says so in one line, still runs the software path once (its
// verdicts and speed printed the same way), and exits 0 if that worked.
// Options: --seconds N (clip length), --size WxH (clip size).
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { hostArch } from './node-dist.mjs';

const run = promisify(execFile);
const root = dirname(dirname(fileURLToPath(import.meta.url)));
const exe = join(root, 'dist', `rugbyworker-linux-${hostArch()}`);
const ffmpeg = process.env.FFMPEG_PATH || 'ffmpeg';

function option(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

function onPath(cmd) {
  try {
    execFileSync('sh', ['-c', `command -v "${cmd}"`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** What says this machine has an NVIDIA GPU: device nodes, nvidia-smi, Jetson platform files. */
function gpuSigns() {
  const devices = readdirSync('/dev').filter((n) => n.startsWith('nvidia'));
  let compatible = '';
  try { compatible = readFileSync('/proc/device-tree/compatible', 'latin1'); } catch { /* not a device-tree board */ }
  const jetson = existsSync('/etc/nv_tegra_release') || compatible.includes('nvidia,tegra');
  return { devices, smi: onPath('nvidia-smi'), jetson };
}

/** The executable with a clean environment (no developer AWS_* leaking in), never rejecting. */
async function rugbyworker(args, env, cwd) {
  try {
    const r = await run(exe, args, { cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, maxBuffer: 64 * 1024 * 1024, timeout: 3_600_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    return { code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '', stderr: err.stderr ?? String(err) };
  }
}

function events(stdout) {
  return stdout.split('\n').flatMap((line) => {
    try {
      const e = JSON.parse(line);
      return e && typeof e === 'object' ? [e] : [];
    } catch {
      return [];
    }
  });
}

/** Decoder arguments (before -i) and video encoder (the -c:v after -i) of an ffmpeg run. */
function ffmpegChoice(args) {
  const input = args.indexOf('-i');
  const decode = args.slice(0, input).filter((a, i, all) => ['-hwaccel', '-c:v'].includes(a) || ['-hwaccel', '-c:v'].includes(all[i - 1]));
  return { decode: decode.join(' ') || 'software', encoder: args[args.indexOf('-c:v', input) + 1] };
}

async function transcode(label, clip, work, env) {
  const out = join(work, `out-${label.replace(/\W+/g, '-')}`);
  const r = await rugbyworker(['transcode', clip, '--out', out], { LOG_LEVEL: 'debug', ...env }, work);
  const ev = events(r.stdout);
  const of = (type) => ev.filter((e) => e.event_type === type);
  const ready = of('transcode_ready')[0] ?? {};
  const done = of('transcode_completed')[0];
  const ffmpegSeconds = [...of('ffmpeg_done'), ...of('ffmpeg_failed')].reduce((s, e) => s + (e.elapsed_ms ?? 0), 0) / 1000;
  console.log(`\n[${label}] rugbyworker transcode ${clip} --out ${out}${Object.keys(env).length ? `   (${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')})` : ''}`);
  console.log(`  decode verdict:  ${ready.decode ?? '?'}: ${ready.reason ?? '(no transcode_ready event)'}`);
  console.log(`  encode verdict:  ${ready.encoder ?? '?'}: ${ready.encode_reason ?? '(no transcode_ready event)'}`);
  for (const e of of('ffmpeg_start')) {
    const c = ffmpegChoice(e.args ?? []);
    console.log(`  ffmpeg run:      decode ${c.decode}, encode ${c.encoder}`);
  }
  for (const e of [...of('hw_decode_fallback'), ...of('hw_encode_fallback'), ...of('hw_encode_skipped')]) {
    console.log(`  ${e.event_type}: ${e.decoder ?? e.encoder}: ${e.error ?? e.reason}`);
  }
  if (r.code !== 0 || !done) {
    console.log(`  FAILED (exit ${r.code}): ${r.stderr.trim().split('\n').at(-1) ?? ''}`);
    return { ok: false, ready };
  }
  const video = done.video_seconds;
  console.log(`  used:            ${done.hardware_decode ? 'hardware' : 'software'} decode, ${done.encoder} encode; renditions ${done.renditions.join(', ')}`);
  console.log(`  speed:           ffmpeg ${ffmpegSeconds.toFixed(1)} s (job ${done.duration_seconds} s) for ${video} s of video = ${(video / ffmpegSeconds).toFixed(2)}x real time`);
  return { ok: true, ready, done };
}

async function main() {
  const signs = gpuSigns();
  const gpu = signs.devices.length > 0 || signs.smi || signs.jetson;
  if (!gpu) console.log('check:gpu: no GPU here (no /dev/nvidia*, no nvidia-smi, not a Jetson): running the software path once');
  else console.log(`check:gpu: GPU signs: ${[signs.devices.length ? `/dev/${signs.devices.join(', /dev/')}` : '', signs.smi ? 'nvidia-smi' : '', signs.jetson ? 'Jetson' : ''].filter(Boolean).join('; ')}`);

  if (!existsSync(exe)) {
    console.log(`${exe} is missing: building`);
    execFileSync(process.execPath, [join(root, 'build', 'build.mjs')], { cwd: root, stdio: 'inherit' });
  }
  const seconds = Number(option('--seconds', gpu ? '30' : '4'));
  const size = option('--size', gpu ? '1920x1080' : '1280x720');
  const work = await mkdtemp(join(tmpdir(), 'rugbyworker-check-gpu-'));
  try {
    const version = await rugbyworker(['--version'], {}, work);
    console.log(`executable: ${exe} (${version.stdout.trim()})`);
    if (signs.smi) {
      const smi = await run('nvidia-smi', ['--query-gpu=name,driver_version', '--format=csv,noheader']).catch((err) => ({ stdout: `nvidia-smi failed: ${err.message}` }));
      console.log(`nvidia-smi: ${smi.stdout.trim()}`);
    }
    const clip = join(work, 'clip.mp4');
    await run(ffmpeg, [
      '-hide_banner', '-nostdin', '-v', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=30:duration=${seconds}`,
      '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`,
      '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-y', clip,
    ]);
    console.log(`clip: ${size}, 30 fps, ${seconds} s, H.264/AAC`);

    const doctor = await rugbyworker(['doctor'], {}, work);
    console.log('\nrugbyworker doctor:');
    for (const line of doctor.stdout.split('\n').filter((l) => /^. (hardware (de|en)code|ffmpeg):/.test(l))) console.log(`  ${line}`);

    const first = await transcode(gpu ? 'auto' : 'software', clip, work, {});
    if (!gpu) return first.ok ? 0 : 1;

    const x264 = await transcode('libx264 for comparison', clip, work, { HLS_ENCODER: 'libx264' });
    const problems = [];
    if (!first.ok || !x264.ok) problems.push('a transcode failed');
    if (first.ready.decode === 'none') problems.push(`hardware decode unused: ${first.ready.reason}`);
    // An Orin Nano has no encoder: libx264 is right there.
    if (first.ready.encoder === 'libx264' && !/has no hardware encoder/.test(first.ready.encode_reason ?? '')) problems.push(`hardware encode unused: ${first.ready.encode_reason}`);
    if (first.done && first.done.encoder !== first.ready.encoder) problems.push(`the job fell back from ${first.ready.encoder} to ${first.done.encoder}`);
    console.log(problems.length === 0 ? '\ncheck:gpu: ✓ the GPU paths work' : `\ncheck:gpu: ✗ ${problems.join('; ')}`);
    return problems.length === 0 ? 0 : 1;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

main().then((code) => { process.exitCode = code; }, (err) => {
  console.error(`check:gpu: ${err.stack ?? err}`);
  process.exitCode = 1;
});
