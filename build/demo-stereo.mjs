// `npm run demo:stereo [-- FILE] [-- --mode anaglyph]`: the stereo pipeline on a laptop, no
// cloud account needed. Builds the executable when missing, makes a short sample clip with
// ffmpeg when no file is given, and runs `rugbyworker stereo FILE --mode sbs --out
// dist/demo-stereo-sbs.mp4`: chunk, segment-infer (the ffmpeg backend's naive stereo),
// trigger and reassemble in one process with in-process queues, directory buckets and
// in-memory tables.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostArch } from './node-dist.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const exe = join(root, 'dist', `rugbyworker-linux-${hostArch()}`);
const step = (cmd, args) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

const args = process.argv.slice(2);
const modeAt = args.indexOf('--mode');
const mode = modeAt >= 0 ? args.splice(modeAt, 2)[1] : 'sbs';
const out = join(root, 'dist', `demo-stereo-${mode}.mp4`);

step('bash', [join(root, 'build', 'ensure-system.sh'), 'ffmpeg']);
if (!existsSync(exe)) step(process.execPath, [join(root, 'build', 'build.mjs')]);

let file = args[0] ? resolve(args[0]) : null;
const segmentArgs = [];
if (!file) {
  const dir = join(tmpdir(), 'rugbyworker-demo');
  mkdirSync(dir, { recursive: true });
  file = join(dir, 'sample-720p-20s.mp4');
  if (!existsSync(file)) {
    console.log(`making a 20 s 720p sample clip: ${file}`);
    // A keyframe every 2 s, so the 5 s segments below cut where asked.
    step('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440',
      '-t', '20', '-c:v', 'libx264', '-preset', 'veryfast', '-g', '60', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-y', file]);
  }
  // Four segments of the sample, inferred in parallel (a real source keeps CHUNK_SEGMENT_DURATION_SEC, 300 s).
  segmentArgs.push('--segment-seconds', '5');
}
const run = ['stereo', file, '--mode', mode, '--out', out, ...segmentArgs];
console.log(`\n$ ${exe} ${run.join(' ')}\n`);
step(exe, run);
console.log(`\nwatch it: ffplay ${out}   (or open it in a browser or any video player${mode === 'sbs' ? '; a VR or 3D TV player shows the two halves as one 3D picture' : ', with red/cyan glasses'})`);
