// `npm run demo [-- FILE]`: the main job on the embedded default, no cloud account needed.
// Builds the executable when missing, makes a short sample clip with ffmpeg when no file is
// given, and runs `rugbyworker transcode FILE --out dist/demo-hls`: the transcode role itself
// with an in-process queue, a directory bucket and an in-memory database.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostArch } from './node-dist.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const exe = join(root, 'dist', `rugbyworker-linux-${hostArch()}`);
const out = join(root, 'dist', 'demo-hls');
const step = (cmd, args) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

step('bash', [join(root, 'build', 'ensure-system.sh'), 'ffmpeg']);
if (!existsSync(exe)) step(process.execPath, [join(root, 'build', 'build.mjs')]);

let file = process.argv[2] ? resolve(process.argv[2]) : null;
if (!file) {
  const dir = join(tmpdir(), 'rugbyworker-demo');
  mkdirSync(dir, { recursive: true });
  file = join(dir, 'sample-1080p-20s.mp4');
  if (!existsSync(file)) {
    console.log(`making a 20 s 1080p sample clip: ${file}`);
    step('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440',
      '-t', '20', '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-y', file]);
  }
}
console.log(`\n$ ${exe} transcode ${file} --out ${out}\n`);
step(exe, ['transcode', file, '--out', out]);
console.log(`\nwatch it: ${exe} transcode ${file} --out ${out} --serve   (then open the printed URL)`);
