// The artefacts of `npm run build`: both executables start and identify themselves,
// are the right ELF machine, are stripped, carry the SEA blob, and match SHA256SUMS.
import { describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execa } from 'execa';
import { join } from 'node:path';
import { NODE_VERSION } from '../../build/node-dist.mjs';
import { distDir, exePath, repoRoot, runExe, type Arch } from '../helpers/binary.js';

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
const ARCHES: Arch[] = ['x64', 'arm64'];
const EM_X86_64 = 0x3e;
const EM_AARCH64 = 0xb7;
const SENTINEL_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/** Names of an ELF64 little-endian file's sections. */
function sectionNames(elf: Buffer): string[] {
  const shoff = Number(elf.readBigUInt64LE(0x28));
  const shentsize = elf.readUInt16LE(0x3a);
  const shnum = elf.readUInt16LE(0x3c);
  const shstrndx = elf.readUInt16LE(0x3e);
  const strtabOff = Number(elf.readBigUInt64LE(shoff + shstrndx * shentsize + 0x18));
  const names: string[] = [];
  for (let i = 0; i < shnum; i++) {
    const nameOff = elf.readUInt32LE(shoff + i * shentsize);
    const start = strtabOff + nameOff;
    names.push(elf.toString('latin1', start, elf.indexOf(0, start)));
  }
  return names;
}

describe('built executables', () => {
  test.each(ARCHES)('dist/rugbyworker-linux-%s exists (run `npm run build`)', (arch) => {
    expect(existsSync(exePath(arch))).toBe(true);
  });

  test('x64 --version: version, commit, the pinned Node 24, arch; nothing on stderr; fast', async () => {
    const r = await runExe(['--version'], { arch: 'x64' });
    expect(r.stderr).toBe(''); // in particular no "Single executable application is an experimental feature"
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`rugbyworker ${pkg.version}`);
    expect(r.stdout).toMatch(/commit ([0-9a-f]{7,}|unknown)\b/);
    expect(r.stdout).toContain(`node v${NODE_VERSION} `); // the pinned Node (build/node-pins.mjs)
    // At least the release that fixed the Brotli decoder and TLS/DNS advisories (issue 20).
    const [major, minor, patch] = (/node v(\d+)\.(\d+)\.(\d+)/.exec(r.stdout) ?? []).slice(1).map(Number);
    expect(major === 24 && (minor! > 22 || (minor === 22 && patch! >= 1))).toBe(true);
    expect(r.stdout).toContain('linux-x64');
    // The SEA's execArgv is in force (bounded young generation, see build/node-dist.mjs).
    expect(r.stdout).toContain('[--max-semi-space-size=1]');
    expect(r.durationMs).toBeLessThan(1_500); // "well under a second"; slack for a loaded CI machine
  });

  test('arm64 --version under qemu-aarch64-static prints linux-arm64', async () => {
    const r = await runExe(['--version'], { arch: 'arm64', timeoutMs: 90_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`rugbyworker ${pkg.version}`);
    expect(r.stdout).toContain(`node v${NODE_VERSION} `); // the pinned Node (build/node-pins.mjs)
    expect(r.stdout).toContain('linux-arm64');
  }, 120_000);

  test('arm64 transcodes a clip under qemu: the Jetson binary runs the role and its FFmpeg', async () => {
    const work = mkdtempSync(join(tmpdir(), 'rw-arm64-'));
    try {
      const clip = join(work, 'clip.mp4');
      await execa('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-t', '4', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', clip]);
      const out = join(work, 'out');
      const r = await runExe(['transcode', clip, '--out', out, '--renditions', '360', '--segment-seconds', '2'], { arch: 'arm64', cwd: work, timeoutMs: 90_000 });
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
      expect(r.stdout.trimEnd().split('\n').at(-1)).toBe(join(out, 'index.m3u8'));
      const playlist = readFileSync(join(out, '360p', 'index.m3u8'), 'utf8');
      expect(playlist).toContain('#EXT-X-ENDLIST');
      expect(playlist.split('\n').filter((l) => l.endsWith('.ts'))).toHaveLength(2);
      expect(existsSync(join(out, 'thumbnails', 'storyboard.vtt'))).toBe(true);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 120_000);

  test.each([
    ['x64', EM_X86_64],
    ['arm64', EM_AARCH64],
  ] as const)('%s: ELF64 for the right machine, stripped, SEA blob injected', (arch, machine) => {
    const elf = readFileSync(exePath(arch));
    expect(elf.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(elf[4]).toBe(2); // ELFCLASS64
    expect(elf.readUInt16LE(18)).toBe(machine); // e_machine, bytes 18-19
    const sections = sectionNames(elf);
    expect(sections).toContain('.text');
    expect(sections).not.toContain('.symtab'); // stripped (before injection)
    expect(elf.includes(`${SENTINEL_FUSE}:1`)).toBe(true); // postject flips the fuse to :1
  });

  // The cache is V8's compiled bundle, accepted only under the flags it was made with: a
  // flag that changes them makes Node say it was rejected, which proves it is there (and the
  // empty stderr of --version above, that it is accepted as built, arm64's too).
  test.each(ARCHES)('%s carries a V8 code cache of the bundle', async (arch) => {
    const r = await runExe(['--version'], { arch, env: { NODE_OPTIONS: '--stack-trace-limit=11' }, timeoutMs: 90_000 });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('Code cache data rejected');
  }, 120_000);

  test('dist/SHA256SUMS lists both executables with their sha256', () => {
    const lines = readFileSync(join(distDir, 'SHA256SUMS'), 'utf8').trim().split('\n');
    const listed = new Map(lines.map((l) => {
      const m = /^([0-9a-f]{64}) {2}(\S+)$/.exec(l);
      expect(m).not.toBeNull();
      return [m?.[2] ?? '', m?.[1] ?? ''];
    }));
    expect([...listed.keys()].sort()).toEqual(ARCHES.map((a) => `rugbyworker-linux-${a}`).sort());
    for (const arch of ARCHES) {
      const sum = createHash('sha256').update(readFileSync(exePath(arch))).digest('hex');
      expect(listed.get(`rugbyworker-linux-${arch}`)).toBe(sum);
    }
  });
});
