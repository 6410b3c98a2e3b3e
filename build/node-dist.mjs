// Official Node binaries for the executable (and for running the tests on the same major),
// fetched from the npm registry (`node-linux-<arch>` packages) and cached outside git.
// Every binary handed out matches the checksums pinned in build/node-pins.mjs: the tarball
// before it is unpacked, bin/node on every use, from the cache as well.
//   node build/node-dist.mjs [arch]      path of the verified binary (fetched when missing)
//   node build/node-dist.mjs --pin VER   checksums of VER for both arches, for node-pins.mjs
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, renameSync, rmSync, readdirSync, statSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { NODE_PINS } from './node-pins.mjs';

// 24.22.1 fixed a high-severity Brotli decoder bug and TLS/DNS issues; 24.22.3 is the
// newest 24.x on npm for both arches.
export const NODE_VERSION = '24.22.3';
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

/** Hex sha256 of a file, read in 1 MB pieces (the binaries are ~125 MB; callers are synchronous). */
export function fileSha256(file) {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(1 << 20);
  const fd = openSync(file, 'r');
  try {
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) hash.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/** npm's integrity string (`sha512-<base64>`) of a file, as `npm view … dist.integrity` prints it. */
function integrity(file) {
  return `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;
}

function pkg(arch, version) {
  return `node-linux-${arch}@${version}`;
}

/** Downloads the package with `npm pack` into a fresh folder; returns the folder and the tarball's path. */
function pack(arch, version) {
  const work = mkdtempSync(join(tmpdir(), 'rugbyworker-node-'));
  // `npm pack` works for a foreign platform where `npm install` refuses it.
  execFileSync('npm', ['pack', '--silent', pkg(arch, version)], { cwd: work, stdio: ['ignore', 'ignore', 'inherit'] });
  const tgz = readdirSync(work).find((f) => f.endsWith('.tgz'));
  if (!tgz) {
    rmSync(work, { recursive: true, force: true });
    throw new Error(`npm pack ${pkg(arch, version)} produced no tarball`);
  }
  return { work, tgz: join(work, tgz) };
}

function mismatch(arch, version, what, expected, actual, hint = '') {
  return new Error(`${pkg(arch, version)} ${what} does not match its pin in build/node-pins.mjs: expected ${expected}, actual ${actual}${hint}`);
}

// Binaries already checked in this process (path, size, mtime, inode): the build asks for
// each one several times and a hash costs ~0.3 s.
const verified = new Set();

function verifyBinary(bin, arch, version, pin, hint) {
  const st = statSync(bin);
  const key = `${bin}:${st.size}:${st.mtimeMs}:${st.ino}:${pin.node}`;
  if (verified.has(key)) return;
  const actual = fileSha256(bin);
  if (actual !== pin.node) throw mismatch(arch, version, 'bin/node sha256', pin.node, actual, hint);
  verified.add(key);
}

/**
 * Path of the cached `node` binary for an arch, downloading it with `npm pack` when missing;
 * throws (one line naming package, expected and actual hash) unless it matches its pin.
 * `pins` and `cache` are for the tests.
 */
export function nodeBinary(arch, version = NODE_VERSION, { pins = NODE_PINS, cache = cacheDir() } = {}) {
  const pin = pins[version]?.[arch];
  if (!pin?.node || !pin?.tarball) throw new Error(`${pkg(arch, version)} has no pinned checksums in build/node-pins.mjs (node build/node-dist.mjs --pin ${version})`);
  const dir = join(cache, 'node', `${version}-linux-${arch}`);
  const bin = join(dir, 'bin', 'node');
  if (existsSync(bin)) {
    verifyBinary(bin, arch, version, pin, ` (the cached ${bin}; remove ${dir} if the cache is damaged)`);
    return bin;
  }
  mkdirSync(join(cache, 'node'), { recursive: true });
  const { work, tgz } = pack(arch, version);
  try {
    const got = integrity(tgz);
    if (got !== pin.tarball) throw mismatch(arch, version, 'tarball integrity', pin.tarball, got, ' (not unpacked)');
    execFileSync('tar', ['-xzf', tgz], { cwd: work });
    const fresh = join(work, 'package', 'bin', 'node');
    if (!existsSync(fresh)) throw new Error(`${pkg(arch, version)} has no bin/node`);
    // Checked before it enters the cache, so the cache only ever holds a pinned binary.
    verifyBinary(fresh, arch, version, pin, ' (fresh from npm; not cached)');
    rmSync(dir, { recursive: true, force: true });
    renameSync(join(work, 'package'), dir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  verifyBinary(bin, arch, version, pin, '');
  return bin;
}

/**
 * The NODE_PINS entry for a version: both packages downloaded and hashed, each tarball's
 * integrity compared with the registry's own `dist.integrity` (fails when they differ).
 */
export function pinsFor(version) {
  const entry = {};
  for (const arch of ARCHES) {
    const registry = execFileSync('npm', ['view', pkg(arch, version), 'dist.integrity'], { encoding: 'utf8' }).trim();
    const { work, tgz } = pack(arch, version);
    try {
      const tarball = integrity(tgz);
      if (tarball !== registry) throw new Error(`${pkg(arch, version)}: downloaded tarball ${tarball} but the registry lists ${registry}`);
      execFileSync('tar', ['-xzf', tgz, 'package/bin/node'], { cwd: work });
      entry[arch] = { node: fileSha256(join(work, 'package', 'bin', 'node')), tarball };
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  return entry;
}

export function hostArch() {
  return process.arch === 'arm64' ? 'arm64' : 'x64';
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    if (process.argv[2] === '--pin') {
      const version = process.argv[3] ?? NODE_VERSION;
      console.log(`  '${version}': ${JSON.stringify(pinsFor(version), null, 2).replace(/\n/g, '\n  ')},`);
    } else {
      console.log(nodeBinary(process.argv[2] ?? hostArch()));
    }
  } catch (err) {
    console.error(`node-dist failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
