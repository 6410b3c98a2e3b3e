// `npm run build`: dist/bundle.cjs, then one Node SEA executable per arch
// (dist/rugbyworker-linux-x64, dist/rugbyworker-linux-arm64) and dist/SHA256SUMS, and the
// reassembly-trigger Lambda's dist/lambda/reassembly-trigger.zip (build/lambda.mjs).
// Recipe (see ../shared/PLATFORM.md "Single executable"):
//   bundle -> per arch: a SEA blob made by that arch's own Node 24 (arm64's under
//   qemu-aarch64-static on an x64 host), carrying a V8 code cache of the bundle -> copy the
//   cached official Node binary, strip it (before injection: stripping afterwards
//   segfaults), inject the blob with postject.
// Runs on the system Node (20); the Node 24 binaries come from build/node-dist.mjs.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { bundle, outfile as bundleFile, gitCommit, packageVersion } from '../esbuild.config.mjs';
import { ARCHES, NODE_VERSION, hostArch, nodeBinary, EXEC_ARGV } from './node-dist.mjs';
import { buildLambda } from './lambda.mjs';
import { sha256, size } from './files.mjs';

const run = promisify(execFile);
const root = dirname(dirname(fileURLToPath(import.meta.url)));
const dist = join(root, 'dist');
const SENTINEL_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const postjectCli = join(root, 'node_modules', 'postject', 'dist', 'cli.js');
// Files the executable reads with `sea.getAsset(key)`: node_modules is not there at run time.
// hls.min.js: the `--serve` player page's hls.js (roles/transcode/serve/player-assets.ts).
const SEA_ASSETS = {
  'hls.min.js': join(root, 'node_modules', 'hls.js', 'dist', 'hls.min.js'),
};

// strip tool per target arch, and the apt package that provides it.
const STRIP = {
  x64: { tool: 'strip', pkg: 'binutils' },
  arm64: { tool: 'aarch64-linux-gnu-strip', pkg: 'binutils-aarch64-linux-gnu' },
};
// What runs arm64's Node on an x64 host, to make its blob (the packages that give it).
const QEMU_ARM64 = { tool: 'qemu-aarch64-static', sysroot: '/usr/aarch64-linux-gnu', pkgs: ['qemu-user-static', 'libc6-arm64-cross', 'libstdc++6-arm64-cross'] };

export function exeName(arch) {
  return `rugbyworker-linux-${arch}`;
}

function hasCommand(cmd) {
  try {
    execFileSync('sh', ['-c', `command -v "${cmd}"`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Makes sure each strip tool exists: installs its package through ensure-system.sh, else fails in one line. */
function ensureStripTools(arches) {
  const missing = arches.map((a) => STRIP[a]).filter((s) => !hasCommand(s.tool));
  if (missing.length === 0) return;
  const pkgs = missing.map((s) => s.pkg);
  try {
    execFileSync('bash', [join(root, 'build', 'ensure-system.sh'), ...pkgs], { stdio: 'inherit' });
  } catch {
    // reported below
  }
  const still = missing.filter((s) => !hasCommand(s.tool));
  if (still.length > 0) {
    throw new Error(still.map((s) => `${s.tool} not found: install apt package ${s.pkg}`).join('; '));
  }
}

/**
 * The command that runs `arch`'s Node 24 here, or null when none can. A SEA's code cache is
 * V8's compiled bundle: only the same binary accepts it (an x64-made cache in the arm64
 * executable is rejected with a warning at every start), so each arch makes its own blob.
 */
function nodeRunner(arch) {
  if (arch === hostArch()) return { cmd: nodeBinary(arch), args: [] };
  if (arch !== 'arm64') return null;
  const present = () => hasCommand(QEMU_ARM64.tool) && existsSync(join(QEMU_ARM64.sysroot, 'lib', 'libstdc++.so.6'));
  if (!present()) {
    try {
      execFileSync('bash', [join(root, 'build', 'ensure-system.sh'), ...QEMU_ARM64.pkgs], { stdio: 'inherit' });
    } catch {
      // said below
    }
    if (!present()) return null;
  }
  return { cmd: QEMU_ARM64.tool, args: ['-L', QEMU_ARM64.sysroot, nodeBinary(arch)] };
}

/**
 * Writes `arch`'s SEA blob into `work`. With a V8 code cache the bundle is not compiled at
 * start-up (issue 21: --version 86 -> 33 ms); without a way to run that arch's Node, the
 * blob has none (same behaviour, the compile paid at each start) and the build says so.
 */
async function makeBlob(arch, work, log) {
  const blob = join(work, `sea-prep-${arch}.blob`);
  const seaConfig = join(work, `sea-config-${arch}.json`);
  const runner = nodeRunner(arch);
  if (!runner) log(`  ${arch}: no way to run its Node on this host, so its blob has no code cache`);
  await writeFile(seaConfig, JSON.stringify({
    main: bundleFile,
    output: blob,
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    useCodeCache: runner !== null,
    execArgv: EXEC_ARGV,
    assets: SEA_ASSETS,
  }, null, 2));
  const { cmd, args } = runner ?? { cmd: nodeBinary(hostArch()), args: [] };
  await run(cmd, [...args, '--experimental-sea-config', seaConfig], { cwd: work });
  return blob;
}

/** Copies the arch's Node binary into `work`, strips it, injects the blob; returns the finished path. */
async function makeExecutable(arch, blob, work) {
  const target = join(work, exeName(arch));
  await copyFile(nodeBinary(arch), target);
  await chmod(target, 0o755);
  await run(STRIP[arch].tool, [target]);
  await run(process.execPath, [postjectCli, target, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SENTINEL_FUSE]);
  await chmod(target, 0o755);
  return target;
}

export async function build({ arches = ARCHES, log = console.log } = {}) {
  const t0 = Date.now();
  const lap = (what, since) => log(`  ${what.padEnd(34)} ${((Date.now() - since) / 1000).toFixed(1)} s`);
  ensureStripTools(arches);
  log(`rugbyworker ${packageVersion()} (commit ${gitCommit()}), Node ${NODE_VERSION}, ${arches.join(' + ')}`);

  // Fetched once into the cache (npm pack), then reused; each checked against its pin in
  // build/node-pins.mjs first, so a changed binary fails the build before dist/ is touched.
  let t = Date.now();
  for (const arch of arches) nodeBinary(arch);
  lap(`Node ${NODE_VERSION} (cache, sha256 pinned)`, t);

  await mkdir(dist, { recursive: true });
  t = Date.now();
  await bundle();
  lap('bundle (esbuild)', t);

  // The Lambda zip is made while the executables are; awaited before the summary.
  const lambdaStarted = Date.now();
  const lambda = buildLambda().then(() => lap('lambda zip (alongside)', lambdaStarted), (err) => err);

  const work = await mkdtemp(join(dist, '.build-'));
  try {
    // One blob per arch, each made by the Node it will run in (its code cache is that V8's).
    t = Date.now();
    const blobs = await Promise.all(arches.map((arch) => makeBlob(arch, work, log)));
    lap('SEA blobs (code cache per arch)', t);

    t = Date.now();
    const built = await Promise.all(arches.map((arch, i) => makeExecutable(arch, blobs[i], work)));
    lap('strip + inject (parallel)', t);

    const sums = [];
    for (const file of built) {
      const final = join(dist, basename(file));
      await rename(file, final);
      sums.push(`${await sha256(final)}  ${basename(final)}\n`);
    }
    await writeFile(join(dist, 'SHA256SUMS'), sums.join(''));
  } finally {
    await rm(work, { recursive: true, force: true });
  }

  const lambdaFailed = await lambda;
  if (lambdaFailed) throw lambdaFailed;

  log('');
  for (const name of ['bundle.cjs', ...arches.map(exeName), 'SHA256SUMS', 'lambda/reassembly-trigger.zip']) {
    const { size: bytes } = await stat(join(dist, name));
    log(`  dist/${name.padEnd(26)} ${size(bytes).padStart(9)}`);
  }
  log(`built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  build().catch((err) => {
    console.error(`build failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  });
}
