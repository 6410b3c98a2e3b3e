// Official Node binaries for the executable (and for running the tests on the same major),
// fetched from the npm registry (`node-linux-<arch>` packages) and cached outside git.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, readdirSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

export const NODE_VERSION = '24.21.0';
export const ARCHES = ['x64', 'arm64'];
// V8 flags the executable always runs with (SEA `execArgv`). A 1 MB young generation
// keeps streaming I/O from growing RSS: a 2 GB S3 download peaked at 160 MB with the
// default and 116 MB with this (test/bench/storage-rss.bench.mjs).
export const EXEC_ARGV = ['--max-semi-space-size=1'];

export function cacheDir() {
  const base = process.env.RUGBYWORKER_CACHE_DIR
    ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'rugbyworker');
  return base;
}

/** Path of the cached `node` binary for an arch, downloading it with `npm pack` when missing. */
export function nodeBinary(arch, version = NODE_VERSION) {
  const dir = join(cacheDir(), 'node', `${version}-linux-${arch}`);
  const bin = join(dir, 'bin', 'node');
  if (existsSync(bin)) return bin;
  mkdirSync(join(cacheDir(), 'node'), { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'rugbyworker-node-'));
  try {
    // `npm pack` works for a foreign platform where `npm install` refuses it.
    execFileSync('npm', ['pack', '--silent', `node-linux-${arch}@${version}`], { cwd: work, stdio: ['ignore', 'ignore', 'inherit'] });
    const tgz = readdirSync(work).find((f) => f.endsWith('.tgz'));
    if (!tgz) throw new Error(`npm pack node-linux-${arch}@${version} produced no tarball`);
    execFileSync('tar', ['-xzf', tgz], { cwd: work });
    rmSync(dir, { recursive: true, force: true });
    renameSync(join(work, 'package'), dir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (!existsSync(bin)) throw new Error(`node-linux-${arch}@${version} has no bin/node`);
  return bin;
}

export function hostArch() {
  return process.arch === 'arm64' ? 'arm64' : 'x64';
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(nodeBinary(process.argv[2] ?? hostArch()));
}
