// readDeviceFacts over a board's files (the hardware-decode fixtures of test/fixtures/hw/ for
// the platform files, the /proc and /sys text inline): what an Orin Nano, a desktop NVIDIA
// machine and a plain VM report.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { DEVICE_FILES, readDeviceFacts, type DeviceSources } from '../../src/runtime/device/facts.js';
import { PLATFORM_FILES } from '../../src/runtime/ffmpeg/index.js';

const fixture = (board: string, file: string): string => readFileSync(fileURLToPath(new URL(`../fixtures/hw/${board}/${file}`, import.meta.url)), 'utf8');

const STAT = (busy: number, idle: number): string => `cpu  ${busy} 0 0 ${idle} 0 0 0 0 0 0\ncpu0 1 0 0 1 0 0 0 0 0 0\ncpu1 1 0 0 1 0 0 0 0 0 0\ncpu2 1 0 0 1 0 0 0 0 0 0\ncpu3 1 0 0 1 0 0 0 0 0 0\ncpu4 1 0 0 1 0 0 0 0 0 0\ncpu5 1 0 0 1 0 0 0 0 0 0\n`;
const MEMINFO = 'MemTotal:        7834512 kB\nMemFree:          512000 kB\nMemAvailable:    5120000 kB\n';

function sources(files: Record<string, string>, dirs: Record<string, string[]> = {}): DeviceSources {
  return {
    readFile: async (path) => files[path] ?? null,
    listDir: async (path) => dirs[path] ?? [],
    hostname: () => 'orin-a',
  };
}

const orin = (more: Record<string, string> = {}, stat = STAT(1000, 9000)): DeviceSources => sources({
  [DEVICE_FILES.procStat]: stat,
  [DEVICE_FILES.meminfo]: MEMINFO,
  [PLATFORM_FILES.tegraRelease]: fixture('orin-nano-jp6', 'nv_tegra_release'),
  [PLATFORM_FILES.compatible]: fixture('orin-nano-jp6', 'compatible'),
  [PLATFORM_FILES.model]: fixture('orin-nano-jp6', 'model'),
  '/sys/class/thermal/thermal_zone0/type': 'cpu-thermal\n', '/sys/class/thermal/thermal_zone0/temp': '48312\n',
  '/sys/class/thermal/thermal_zone1/type': 'gpu-thermal\n', '/sys/class/thermal/thermal_zone1/temp': '46781\n',
  '/sys/class/thermal/thermal_zone2/type': 'cv0-thermal\n', '/sys/class/thermal/thermal_zone2/temp': '-256000\n',
  ...more,
}, {
  [DEVICE_FILES.thermal]: ['cooling_device0', 'thermal_zone0', 'thermal_zone1', 'thermal_zone2'],
  [DEVICE_FILES.devfreq]: ['15340000.vic', '17000000.gpu'],
});

describe('readDeviceFacts', () => {
  it('an Orin Nano on JetPack 6: cores, memory, GPU temperature, the GPU from the SoC, JetPack and its CUDA; the CPU figure from the second reading', async () => {
    const first = await readDeviceFacts(orin({ '/sys/devices/platform/bus@0/17000000.gpu/load': '250\n' }), null);
    expect(first.facts).toEqual({
      hostname: 'orin-a', cpuCores: 6, memoryTotalMb: 7650, memoryUsedMb: 2650, cpuUtilization: null, gpuUtilization: 25, temperatureC: 46.8,
      gpuModel: 'NVIDIA Ampere (Orin, tegra234)', cudaVersion: '12.2', jetpackVersion: '6.0',
    });
    const second = await readDeviceFacts(orin({}, STAT(1600, 9400)), first.cpu);
    // 600 busy of 1000 jiffies.
    expect(second.facts.cpuUtilization).toBe(60);
  });

  it('the CUDA the board has installed wins over the JetPack table', async () => {
    const r = await readDeviceFacts(orin({ '/usr/local/cuda/version.json': '{"cuda": {"name": "CUDA SDK", "version": "12.2.140"}}' }), null);
    expect(r.facts.cudaVersion).toBe('12.2.140');
  });

  it('GPU load without a load file: the devfreq device\'s load, else its cur/max frequency as the Python heartbeat read it', async () => {
    const viaDeviceLoad = await readDeviceFacts(orin({ '/sys/class/devfreq/17000000.gpu/device/load': '730' }), null);
    expect(viaDeviceLoad.facts.gpuUtilization).toBe(73);
    const viaFrequency = await readDeviceFacts(orin({ '/sys/class/devfreq/17000000.gpu/cur_freq': '306000000', '/sys/class/devfreq/17000000.gpu/max_freq': '918000000' }), null);
    expect(viaFrequency.facts.gpuUtilization).toBe(33.3);
    expect((await readDeviceFacts(orin(), null)).facts.gpuUtilization).toBeNull();
  });

  it('a desktop NVIDIA machine: the driver\'s GPU model, its CUDA toolkit; no JetPack, no GPU load', async () => {
    const r = await readDeviceFacts(sources({
      [DEVICE_FILES.procStat]: STAT(1, 1), [DEVICE_FILES.meminfo]: MEMINFO,
      [PLATFORM_FILES.nvidiaDriver]: fixture('desktop-nvidia', 'nvidia_version'),
      '/proc/driver/nvidia/gpus/0000:00:1e.0/information': 'Model: \t\t Tesla T4\nIRQ: \t\t 37\n',
      '/usr/local/cuda/version.txt': 'CUDA Version 12.4.131\n',
    }, { [DEVICE_FILES.nvidiaGpus]: ['0000:00:1e.0'] }), null);
    expect(r.facts).toMatchObject({ gpuModel: 'Tesla T4', cudaVersion: '12.4.131', jetpackVersion: null, gpuUtilization: null, cpuCores: 6 });
  });

  it('a VM without a GPU: no GPU model, and a CUDA toolkit on disk is not reported; no thermal zone, no temperature', async () => {
    const r = await readDeviceFacts(sources({
      [DEVICE_FILES.procStat]: STAT(1, 1), [DEVICE_FILES.meminfo]: MEMINFO, '/usr/local/cuda/version.json': '{"cuda": {"version": "13.0.48"}}',
    }), null);
    expect(r.facts).toEqual({
      hostname: 'orin-a', cpuCores: 6, memoryTotalMb: 7650, memoryUsedMb: 2650, cpuUtilization: null, gpuUtilization: null, temperatureC: null,
      gpuModel: null, cudaVersion: null, jetpackVersion: null,
    });
  });

  it('no /proc at all (not Linux): every figure null, never an error', async () => {
    const r = await readDeviceFacts(sources({}), null);
    expect(r).toEqual({ cpu: null, facts: expect.objectContaining({ cpuCores: null, memoryTotalMb: null, memoryUsedMb: null, cpuUtilization: null }) });
  });
});
