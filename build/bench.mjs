// `npm run bench`: runs each test/bench/*.bench.mjs in name order (or only those named:
// `npm run bench -- startup`), each as its own process on the Node 24 the executable
// embeds, and exits non-zero if any of them fails. Builds first when dist/ is missing
// (`--build` forces a build).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostArch, nodeBinary } from './node-dist.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const benchDir = join(root, 'test', 'bench');
const args = process.argv.slice(2);
const forceBuild = args.includes('--build');
const wanted = args.filter((a) => !a.startsWith('--')).map((a) => basename(a).replace(/\.bench\.mjs$/, ''));

const all = readdirSync(benchDir).filter((f) => f.endsWith('.bench.mjs')).sort();
const names = all.map((f) => f.replace(/\.bench\.mjs$/, ''));
const unknown = wanted.filter((w) => !names.includes(w));
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(', ')}; available: ${names.join(', ')}`);
  process.exit(2);
}
const chosen = wanted.length > 0 ? all.filter((f) => wanted.includes(f.replace(/\.bench\.mjs$/, ''))) : all;

const built = ['bundle.cjs', `rugbyworker-linux-${hostArch()}`].every((f) => existsSync(join(root, 'dist', f)));
if (forceBuild || !built) {
  const r = spawnSync(process.execPath, [join(root, 'build', 'build.mjs')], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const node = nodeBinary(hostArch());
const env = { ...process.env, PATH: `${dirname(node)}:${process.env.PATH ?? ''}`, RUGBYWORKER_NODE: node };
const failed = [];
for (const file of chosen) {
  console.log(`\n=== ${file} ===`);
  const r = spawnSync(node, [join(benchDir, file)], { cwd: root, stdio: 'inherit', env });
  if (r.status !== 0) failed.push(file);
}
if (failed.length > 0) {
  console.error(`\nbenchmarks failed: ${failed.join(', ')}`);
  process.exitCode = 1;
}
