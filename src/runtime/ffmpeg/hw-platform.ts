import type { HwProbeSources } from './hw-sources.js';

export const PLATFORM_FILES = {
  tegraRelease: '/etc/nv_tegra_release',
  compatible: '/proc/device-tree/compatible',
  model: '/proc/device-tree/model',
  nvidiaDriver: '/proc/driver/nvidia/version',
} as const;

export interface PlatformInfo {
  jetson: boolean;
  /** Orin Nano has no NVENC, whatever the encoder list says. */
  orinNano: boolean;
  /** e.g. "Jetson Orin Nano Developer Kit, L4T R36.3.0", "NVIDIA driver 550.54.14", "generic". */
  description: string;
  /** A Jetson, or NVIDIA's kernel driver is loaded: this machine has a GPU that can decode. */
  hasGpu: boolean;
}

/** Orin Nano module SKUs (p3767-0000/0001 are Orin NX, which has no NVENC either but is not claimed here). */
const ORIN_NANO_SKUS = ['nvidia,p3767-0003', 'nvidia,p3767-0004', 'nvidia,p3767-0005'];

export async function readPlatform(sources: Pick<HwProbeSources, 'readFile'>): Promise<PlatformInfo> {
  const [release, compatibleRaw, modelRaw, driver] = await Promise.all([
    sources.readFile(PLATFORM_FILES.tegraRelease),
    sources.readFile(PLATFORM_FILES.compatible),
    sources.readFile(PLATFORM_FILES.model),
    sources.readFile(PLATFORM_FILES.nvidiaDriver),
  ]);
  // Device-tree strings are NUL-separated and NUL-terminated.
  const compatible = (compatibleRaw ?? '').split('\0').map((s) => s.trim()).filter(Boolean);
  const model = (modelRaw ?? '').replace(/\0/g, '').trim();
  const tegra = compatible.find((c) => c.startsWith('nvidia,tegra'));
  const l4t = release === null ? null : parseL4t(release);
  const jetson = release !== null || tegra !== undefined || /jetson/i.test(model);
  const orinNano = /orin nano/i.test(model) || compatible.some((c) => ORIN_NANO_SKUS.includes(c));

  if (jetson) {
    const name = jetsonName(model, tegra, orinNano);
    return { jetson, orinNano, description: l4t ? `${name}, L4T ${l4t}` : name, hasGpu: true };
  }
  const driverVersion = driver ? /Kernel Module\s+(?:for \S+\s+)?(\d+(?:\.\d+)+)/.exec(driver)?.[1] : undefined;
  return { jetson, orinNano, description: driverVersion ? `NVIDIA driver ${driverVersion}` : 'generic', hasGpu: driver !== null };
}

/** "# R36 (release), REVISION: 3.0, GCID: …" → "R36.3.0". */
export function parseL4t(release: string): string | null {
  const match = /R(\d+)\s*\(release\),\s*REVISION:\s*([\d.]+)/.exec(release);
  return match ? `R${match[1]}.${match[2]}` : null;
}

function jetsonName(model: string, tegra: string | undefined, orinNano: boolean): string {
  // The model string need not say "Jetson" (Orin Nano on JetPack 6 does not).
  let name = model.replace(/^NVIDIA\s+/i, '');
  if (!name) name = orinNano ? 'Orin Nano' : tegra ? tegra.replace('nvidia,', '') : '';
  return /jetson/i.test(name) ? name : `Jetson ${name}`.trim();
}
