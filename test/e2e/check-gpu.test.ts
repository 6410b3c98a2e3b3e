// `npm run check:gpu` (issue 19) on this machine, which has no GPU: one line says so, the
// built executable's software path still runs once with its verdicts and speed, exit 0.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { exePath, repoRoot } from '../helpers/binary.js';

const hasGpu = readdirSync('/dev').some((n) => n.startsWith('nvidia')) || existsSync('/etc/nv_tegra_release');

describe('npm run check:gpu', () => {
  (hasGpu ? it.skip : it)('without a GPU: says so in one line, runs the software path once, prints the verdicts and the speed, exits 0', async () => {
    expect(existsSync(exePath())).toBe(true);
    const r = await execa(process.execPath, [join(repoRoot, 'build', 'check-gpu.mjs'), '--seconds', '2', '--size', '640x360'], { reject: false, timeout: 120_000 });
    expect({ code: r.exitCode, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('check:gpu: no GPU here (no /dev/nvidia*, no nvidia-smi, not a Jetson): running the software path once');
    expect(r.stdout).toMatch(/^ {2}✓ hardware encode: libx264 \(software encode\); /m);
    expect(r.stdout).toMatch(/^ {2}✓ hardware decode: software decode; /m);
    // One transcode, in software, with both verdicts and the speed.
    expect(lines.filter((l) => l.includes('rugbyworker transcode'))).toHaveLength(1);
    expect(r.stdout).toMatch(/^ {2}encode verdict: {2}libx264: /m);
    expect(r.stdout).toMatch(/^ {2}used: {12}software decode, libx264 encode; renditions 360p$/m);
    expect(r.stdout).toMatch(/^ {2}speed: {11}ffmpeg \d+\.\d s \(job [\d.]+ s\) for 2 s of video = \d+\.\d\dx real time$/m);
  }, 150_000);
});
