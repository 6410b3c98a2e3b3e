// `npm run demo`: the main job on the embedded default, no cloud account needed.
// Until the transcode role lands this is `rugbyworker doctor` in local mode, which
// finds ffmpeg, reports the hardware-decode verdict and encodes a real test clip.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostArch } from './node-dist.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const exe = join(root, 'dist', `rugbyworker-linux-${hostArch()}`);
const step = (cmd, args) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

step('bash', [join(root, 'build', 'ensure-system.sh'), 'ffmpeg']);
if (!existsSync(exe)) step(process.execPath, [join(root, 'build', 'build.mjs')]);
console.log(`\n$ ${exe} doctor\n`);
step(exe, ['doctor']);
