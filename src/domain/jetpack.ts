// What a Jetson runs, in the words the admin dashboard uses: the JetPack release of its L4T
// (from /etc/nv_tegra_release, read by src/runtime/ffmpeg/hw-platform.ts parseL4t), the CUDA
// that JetPack ships, and its GPU from the device tree's SoC. NVIDIA's release notes pair
// each JetPack with one L4T; an L4T not in this table is reported as itself.

interface JetPackRelease {
  readonly jetpack: string;
  readonly cuda: string;
}

const BY_L4T: Readonly<Record<string, JetPackRelease>> = {
  'R32.4.3': { jetpack: '4.4', cuda: '10.2' },
  'R32.4.4': { jetpack: '4.4.1', cuda: '10.2' },
  'R32.5.0': { jetpack: '4.5', cuda: '10.2' },
  'R32.5.1': { jetpack: '4.5.1', cuda: '10.2' },
  'R32.6.1': { jetpack: '4.6', cuda: '10.2' },
  'R32.7.1': { jetpack: '4.6.1', cuda: '10.2' },
  'R32.7.2': { jetpack: '4.6.2', cuda: '10.2' },
  'R32.7.3': { jetpack: '4.6.3', cuda: '10.2' },
  'R32.7.4': { jetpack: '4.6.4', cuda: '10.2' },
  'R32.7.5': { jetpack: '4.6.5', cuda: '10.2' },
  'R34.1.0': { jetpack: '5.0 DP', cuda: '11.4' },
  'R34.1.1': { jetpack: '5.0.1 DP', cuda: '11.4' },
  'R35.1.0': { jetpack: '5.0.2', cuda: '11.4' },
  'R35.2.1': { jetpack: '5.1', cuda: '11.4' },
  'R35.3.1': { jetpack: '5.1.1', cuda: '11.4' },
  'R35.4.1': { jetpack: '5.1.2', cuda: '11.4' },
  'R35.5.0': { jetpack: '5.1.3', cuda: '11.4' },
  'R35.6.0': { jetpack: '5.1.4', cuda: '11.4' },
  'R36.2.0': { jetpack: '6.0 DP', cuda: '12.2' },
  'R36.3.0': { jetpack: '6.0', cuda: '12.2' },
  'R36.4.0': { jetpack: '6.1', cuda: '12.6' },
  'R36.4.3': { jetpack: '6.2', cuda: '12.6' },
};

/**
 * "R36.3.0" → { jetpackVersion: "6.0", cudaVersion: "12.2" }; an L4T the table does not know
 * → "L4T R36.9.0" and no CUDA (better the true release than a guessed JetPack).
 */
export function jetpackRelease(l4t: string): { jetpackVersion: string; cudaVersion: string | null } {
  const known = BY_L4T[l4t];
  return known ? { jetpackVersion: known.jetpack, cudaVersion: known.cuda } : { jetpackVersion: `L4T ${l4t}`, cudaVersion: null };
}

const GPU_BY_SOC: Readonly<Record<string, string>> = {
  tegra234: 'NVIDIA Ampere (Orin, tegra234)',
  tegra194: 'NVIDIA Volta (Xavier, tegra194)',
  tegra186: 'NVIDIA Pascal (TX2, tegra186)',
  tegra210: 'NVIDIA Maxwell (Nano/TX1, tegra210)',
};

/** The integrated GPU of a Jetson from /proc/device-tree/compatible (NUL-separated); null for another SoC. */
export function jetsonGpuModel(compatible: string): string | null {
  const soc = compatible.split('\0').map((s) => s.trim()).find((s) => s.startsWith('nvidia,tegra'))?.slice('nvidia,'.length);
  return soc === undefined ? null : GPU_BY_SOC[soc] ?? `NVIDIA ${soc}`;
}
