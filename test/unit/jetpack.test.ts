import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { jetpackRelease, jetsonGpuModel } from '../../src/domain/jetpack.js';
import { parseL4t } from '../../src/runtime/ffmpeg/index.js';

const fixture = (board: string, file: string): string => readFileSync(fileURLToPath(new URL(`../fixtures/hw/${board}/${file}`, import.meta.url)), 'utf8');

describe('jetpackRelease', () => {
  it.each([
    ['jetson-nano-jp4', { jetpackVersion: '4.6.1', cudaVersion: '10.2' }],
    ['orin-nano-jp5', { jetpackVersion: '5.1.2', cudaVersion: '11.4' }],
    ['orin-nano-jp6', { jetpackVersion: '6.0', cudaVersion: '12.2' }],
  ])('%s: the L4T of /etc/nv_tegra_release → its JetPack and CUDA', (board, release) => {
    const l4t = parseL4t(fixture(board, 'nv_tegra_release'));
    expect(l4t).not.toBeNull();
    expect(jetpackRelease(l4t!)).toEqual(release);
  });

  it('an L4T the table does not know is reported as itself, with no CUDA guessed', () => {
    expect(jetpackRelease('R36.9.1')).toEqual({ jetpackVersion: 'L4T R36.9.1', cudaVersion: null });
  });
});

describe('jetsonGpuModel', () => {
  it('the integrated GPU of the SoC in /proc/device-tree/compatible', () => {
    expect(jetsonGpuModel(fixture('orin-nano-jp6', 'compatible'))).toBe('NVIDIA Ampere (Orin, tegra234)');
    expect(jetsonGpuModel(fixture('jetson-nano-jp4', 'compatible'))).toBe('NVIDIA Maxwell (Nano/TX1, tegra210)');
    expect(jetsonGpuModel('nvidia,p9999\0nvidia,tegra264\0')).toBe('NVIDIA tegra264');
  });

  it('null for a board that is not a Tegra', () => {
    expect(jetsonGpuModel('raspberrypi,4-model-b\0brcm,bcm2711\0')).toBeNull();
    expect(jetsonGpuModel('')).toBeNull();
  });
});
