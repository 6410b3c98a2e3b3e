// What the device heartbeat reports about this machine, read from the files Linux and a
// Jetson expose (the parsing is src/domain/device-stats.ts and jetpack.ts; the platform
// files are read as hardware decode detection reads them). A file that is absent is a figure
// the board does not have: null, never an error.
import { readdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { DeviceFacts } from '../../domain/compute-device.js';
import {
  cpuUtilization, devfreqLoad, parseCudaVersion, parseGpuLoad, parseMeminfo, parseNvidiaGpuModel, parseProcStat, pickTemperature,
  type CpuTimes, type ThermalZone,
} from '../../domain/device-stats.js';
import { jetpackRelease, jetsonGpuModel } from '../../domain/jetpack.js';
import { parseL4t, PLATFORM_FILES, readPlatform } from '../ffmpeg/hw-platform.js';
import { readTextFile } from '../ffmpeg/hw-sources.js';

/** Everything the facts are read from, so tests can feed a board's files. */
export interface DeviceSources {
  /** The file's text, or null when absent or unreadable. */
  readFile(path: string): Promise<string | null>;
  /** A directory's entry names, or [] when it is absent. */
  listDir(path: string): Promise<string[]>;
  hostname(): string;
}

export function systemDeviceSources(): DeviceSources {
  return {
    readFile: readTextFile,
    listDir: (path) => readdir(path).catch(() => []),
    hostname,
  };
}

export const DEVICE_FILES = {
  procStat: '/proc/stat',
  meminfo: '/proc/meminfo',
  thermal: '/sys/class/thermal',
  devfreq: '/sys/class/devfreq',
  nvidiaGpus: '/proc/driver/nvidia/gpus',
  cudaVersion: ['/usr/local/cuda/version.json', '/usr/local/cuda/version.txt'],
  // A Jetson GPU's load (per mille), where each JetPack generation puts it.
  gpuLoad: [
    '/sys/devices/gpu.0/load',
    '/sys/devices/platform/gpu.0/load',
    '/sys/devices/platform/bus@0/17000000.gpu/load',
    '/sys/devices/platform/17000000.ga10b/load',
    '/sys/devices/17000000.ga10b/load',
  ],
} as const;

/** devfreq entries that are a Jetson's GPU (17000000.gpu / .ga10b on Orin, 57000000.gpu on Nano, gv11b on Xavier). */
const GPU_DEVFREQ = /gpu|ga10b|gv11b|gp10b|gm20b/i;

export interface FactsReading {
  readonly facts: DeviceFacts;
  /** This reading's CPU times: the next reading's CPU figure is measured from them. */
  readonly cpu: CpuTimes | null;
}

/** One reading of the machine; `previousCpu` (the last reading's) gives the CPU busy share since then. */
export async function readDeviceFacts(sources: DeviceSources, previousCpu: CpuTimes | null): Promise<FactsReading> {
  const [stat, meminfo, platform, temperatureC] = await Promise.all([
    sources.readFile(DEVICE_FILES.procStat),
    sources.readFile(DEVICE_FILES.meminfo),
    readPlatform(sources),
    readTemperature(sources),
  ]);
  const cpu = stat === null ? { times: null, cores: null } : parseProcStat(stat);
  const memory = meminfo === null ? null : parseMeminfo(meminfo);
  const jetson = platform.jetson ? await readJetson(sources) : null;
  const gpuModel = jetson?.gpuModel ?? (platform.hasGpu ? await readNvidiaGpuModel(sources) : null);
  // CUDA only where there is a GPU to run it: a toolkit on a machine without one says nothing.
  const cudaVersion = platform.hasGpu ? (await firstParsed(sources, DEVICE_FILES.cudaVersion, parseCudaVersion)) ?? jetson?.cudaVersion ?? null : null;
  return {
    cpu: cpu.times,
    facts: {
      hostname: sources.hostname(),
      cpuCores: cpu.cores,
      memoryTotalMb: memory?.totalMb ?? null,
      memoryUsedMb: memory?.usedMb ?? null,
      cpuUtilization: cpuUtilization(previousCpu, cpu.times),
      gpuUtilization: jetson?.gpuUtilization ?? null,
      temperatureC,
      gpuModel,
      cudaVersion,
      jetpackVersion: jetson?.jetpackVersion ?? null,
    },
  };
}

async function readJetson(sources: DeviceSources): Promise<{ gpuModel: string | null; gpuUtilization: number | null; jetpackVersion: string | null; cudaVersion: string | null }> {
  const [release, compatible, gpuUtilization] = await Promise.all([
    sources.readFile(PLATFORM_FILES.tegraRelease),
    sources.readFile(PLATFORM_FILES.compatible),
    readJetsonGpuLoad(sources),
  ]);
  const l4t = release === null ? null : parseL4t(release);
  const jetpack = l4t === null ? null : jetpackRelease(l4t);
  return {
    gpuModel: compatible === null ? null : jetsonGpuModel(compatible),
    gpuUtilization,
    jetpackVersion: jetpack?.jetpackVersion ?? null,
    cudaVersion: jetpack?.cudaVersion ?? null,
  };
}

/** The GPU's load file where the JetPack has one, else its devfreq load or cur/max frequency (the Python heartbeat's way). */
async function readJetsonGpuLoad(sources: DeviceSources): Promise<number | null> {
  const load = await firstParsed(sources, DEVICE_FILES.gpuLoad, parseGpuLoad);
  if (load !== null) return load;
  for (const entry of (await sources.listDir(DEVICE_FILES.devfreq)).filter((e) => GPU_DEVFREQ.test(e)).sort()) {
    const dir = `${DEVICE_FILES.devfreq}/${entry}`;
    const [deviceLoad, cur, max] = await Promise.all([
      sources.readFile(`${dir}/device/load`), sources.readFile(`${dir}/cur_freq`), sources.readFile(`${dir}/max_freq`),
    ]);
    const value = (deviceLoad === null ? null : parseGpuLoad(deviceLoad)) ?? (cur === null || max === null ? null : devfreqLoad(cur, max));
    if (value !== null) return value;
  }
  return null;
}

async function readTemperature(sources: DeviceSources): Promise<number | null> {
  const zones = (await sources.listDir(DEVICE_FILES.thermal)).filter((e) => /^thermal_zone\d+$/.test(e));
  const read = await Promise.all(zones.map(async (zone): Promise<ThermalZone | null> => {
    const [type, temp] = await Promise.all([sources.readFile(`${DEVICE_FILES.thermal}/${zone}/type`), sources.readFile(`${DEVICE_FILES.thermal}/${zone}/temp`)]);
    return type === null || temp === null ? null : { type, temp };
  }));
  return pickTemperature(read.filter((z): z is ThermalZone => z !== null));
}

/** The first GPU the NVIDIA driver lists (a g4dn's Tesla T4). */
async function readNvidiaGpuModel(sources: DeviceSources): Promise<string | null> {
  const [first] = (await sources.listDir(DEVICE_FILES.nvidiaGpus)).sort();
  if (first === undefined) return null;
  const info = await sources.readFile(`${DEVICE_FILES.nvidiaGpus}/${first}/information`);
  return info === null ? null : parseNvidiaGpuModel(info);
}

/** The first of `paths` that exists and parses. */
async function firstParsed<T>(sources: DeviceSources, paths: readonly string[], parse: (text: string) => T | null): Promise<T | null> {
  for (const path of paths) {
    const text = await sources.readFile(path);
    const value = text === null ? null : parse(text);
    if (value !== null) return value;
  }
  return null;
}
