import { describe, expect, it } from '@jest/globals';
import {
  cpuUtilization, devfreqLoad, parseCudaVersion, parseGpuLoad, parseMeminfo, parseNvidiaGpuModel, parseProcStat, pickTemperature,
} from '../../src/domain/device-stats.js';

// /proc/stat of a 6-core Orin Nano (JetPack 6), then 15 s later.
const STAT_BEFORE = `cpu  10000 200 3000 80000 1000 100 50 0 0 0
cpu0 2000 40 500 13000 200 20 10 0 0 0
cpu1 1600 30 500 13400 150 20 10 0 0 0
cpu2 1600 30 500 13400 150 20 10 0 0 0
cpu3 1600 30 500 13400 150 20 10 0 0 0
cpu4 1600 30 500 13400 150 10 5 0 0 0
cpu5 1600 40 500 13400 200 10 5 0 0 0
intr 123456 0 0
ctxt 987654
btime 1732440000
processes 4242
`;
const STAT_AFTER = STAT_BEFORE.replace(/^cpu {2}.*$/m, 'cpu  10600 200 3200 80750 1050 120 60 20 0 0');

describe('parseProcStat / cpuUtilization', () => {
  it('reads busy and total jiffies from the aggregate line, and one core per cpuN line', () => {
    // total = user+nice+system+idle+iowait+irq+softirq+steal; busy leaves out idle and iowait.
    expect(parseProcStat(STAT_BEFORE)).toEqual({ times: { busy: 13350, total: 94350 }, cores: 6 });
  });

  it('is the busy share of the time between two readings, one decimal', () => {
    const a = parseProcStat(STAT_BEFORE).times;
    const b = parseProcStat(STAT_AFTER).times;
    // busy +600+200+20+10+20 = 850 of total +1650.
    expect(cpuUtilization(a, b)).toBe(51.5);
  });

  it('is null without an earlier reading, or when no time passed; never outside 0–100', () => {
    const a = parseProcStat(STAT_BEFORE).times;
    expect(cpuUtilization(null, a)).toBeNull();
    expect(cpuUtilization(a, a)).toBeNull();
    expect(cpuUtilization({ busy: 0, total: 0 }, { busy: 10, total: 5 })).toBe(100);
  });

  it('knows nothing from text that is not /proc/stat', () => {
    expect(parseProcStat('')).toEqual({ times: null, cores: null });
    expect(parseProcStat('cpu  a b c d')).toEqual({ times: null, cores: null });
  });
});

describe('parseMeminfo', () => {
  it('total and used (total − MemAvailable) in whole MiB', () => {
    const text = 'MemTotal:        7834512 kB\nMemFree:          512000 kB\nMemAvailable:    5120000 kB\nBuffers:           20480 kB\nCached:          3000000 kB\n';
    expect(parseMeminfo(text)).toEqual({ totalMb: 7650, usedMb: 2650 });
  });

  it('without MemAvailable (kernels before 3.14): free, buffers and page cache count as available', () => {
    expect(parseMeminfo('MemTotal: 4096000 kB\nMemFree: 1024000 kB\nBuffers: 102400 kB\nCached: 1024000 kB\n')).toEqual({ totalMb: 4000, usedMb: 1900 });
  });

  it('null without MemTotal', () => {
    expect(parseMeminfo('MemFree: 1 kB\n')).toBeNull();
  });
});

describe('GPU load', () => {
  it('a Jetson load file is per mille', () => {
    expect(parseGpuLoad('453\n')).toBe(45.3);
    expect(parseGpuLoad('0')).toBe(0);
    expect(parseGpuLoad('1000')).toBe(100);
  });

  it('refuses what is not a per-mille count', () => {
    for (const t of ['', 'N/A', '-1', '1001', '45.3']) expect(parseGpuLoad(t)).toBeNull();
  });

  it('devfreq: current over maximum frequency, as the Python heartbeat reported it', () => {
    expect(devfreqLoad('306000000\n', '918000000\n')).toBe(33.3);
    expect(devfreqLoad('918000000', '918000000')).toBe(100);
    expect(devfreqLoad('1', '0')).toBeNull();
    expect(devfreqLoad('x', '918000000')).toBeNull();
  });
});

describe('pickTemperature', () => {
  const orin = [
    { type: 'cpu-thermal', temp: '48312' }, { type: 'gpu-thermal', temp: '46781' }, { type: 'cv0-thermal', temp: '-256000' },
    { type: 'soc0-thermal', temp: '47000' }, { type: 'tj-thermal', temp: '49125' },
  ];

  it('the GPU zone first, as the Python heartbeat sent, in °C with one decimal', () => {
    expect(pickTemperature(orin)).toBe(46.8);
    expect(pickTemperature([{ type: 'CPU-therm', temp: '41000' }, { type: 'GPU-therm', temp: '39500\n' }])).toBe(39.5);
  });

  it('then the junction, the CPU, the SoC; otherwise the hottest zone that reads sensibly', () => {
    expect(pickTemperature(orin.filter((z) => z.type !== 'gpu-thermal'))).toBe(49.1);
    expect(pickTemperature([{ type: 'soc0-thermal', temp: '47000' }, { type: 'x86_pkg_temp', temp: '52000' }])).toBe(52);
    expect(pickTemperature([{ type: 'acpitz', temp: '27800' }, { type: 'iwlwifi_1', temp: '35000' }])).toBe(35);
  });

  it('skips switched-off zones (-256 °C on Orin) and unreadable ones; null without any', () => {
    expect(pickTemperature([{ type: 'gpu-thermal', temp: '-256000' }, { type: 'cpu-thermal', temp: '' }, { type: 'soc0-thermal', temp: '45500' }])).toBe(45.5);
    expect(pickTemperature([{ type: 'gpu-thermal', temp: 'x' }])).toBeNull();
    expect(pickTemperature([])).toBeNull();
  });
});

describe('parseCudaVersion / parseNvidiaGpuModel', () => {
  it('reads version.json (CUDA 11.1+) and the older version.txt', () => {
    expect(parseCudaVersion('{"cuda" : {"name" : "CUDA SDK", "version" : "12.2.140"}, "cuda_cudart" : {"version" : "12.2.140"}}')).toBe('12.2.140');
    expect(parseCudaVersion('CUDA Version 10.2.89\n')).toBe('10.2.89');
    expect(parseCudaVersion('{"cuda": {}}')).toBeNull();
    expect(parseCudaVersion('')).toBeNull();
  });

  it('the model line of the NVIDIA driver\'s GPU information', () => {
    const info = 'Model: \t\t Tesla T4\nIRQ:   \t\t 37\nGPU UUID: \t GPU-1b2c\nVideo BIOS: \t 90.04.96.00.02\nBus Type: \t PCIe\n';
    expect(parseNvidiaGpuModel(info)).toBe('Tesla T4');
    expect(parseNvidiaGpuModel('IRQ: 37\n')).toBeNull();
  });
});
