// `npm test`: system packages (build/ensure-system.sh), the executables (build/build.mjs,
// skipped with --no-build: the e2e tests run them), then jest on the same Node 24 the
// executable embeds. Other arguments go to jest, e.g. `npm test -- --selectProjects unit`.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostArch, nodeBinary } from './node-dist.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const args = process.argv.slice(2);
const noBuild = args.includes('--no-build');
const jestArgs = args.filter((a) => a !== '--no-build');

function step(cmd, argv, env = process.env) {
  const r = spawnSync(cmd, argv, { cwd: root, stdio: 'inherit', env });
  if (r.error) {
    console.error(`${cmd}: ${r.error.message}`);
    process.exit(1);
  }
  if (r.status !== 0) process.exit(r.status ?? 1);
}

step('bash', [join(root, 'build', 'ensure-system.sh')]);
if (!noBuild) step(process.execPath, [join(root, 'build', 'build.mjs')]);

let node;
try {
  node = nodeBinary(hostArch());
} catch (err) {
  console.error(`test failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
console.log(`jest on Node ${version} (${node})`);

// Node 24 first on PATH, so anything the tests spawn as `node` is the same Node.
const env = { ...process.env, PATH: `${dirname(node)}:${process.env.PATH ?? ''}` };
const r = spawnSync(node, [
  '--experimental-vm-modules', '--disable-warning=ExperimentalWarning',
  join(root, 'node_modules', 'jest', 'bin', 'jest.js'),
  '-c', join(root, 'test', 'jest.config.mjs'),
  ...jestArgs,
], { cwd: root, stdio: 'inherit', env });
if (r.error) console.error(`jest: ${r.error.message}`);
process.exitCode = r.status ?? 1;
