// The figures of the admin dashboard's devices widget, from the text Linux exposes them in
// (/proc/stat, /proc/meminfo, /sys thermal zones, a Jetson GPU's load and devfreq, the CUDA
// and NVIDIA driver files): parsing only. src/runtime/device/ reads the files. Every parser
// answers null for text it does not recognise: a board without the file has no such figure.

/** Jiffies since boot over all CPUs: busy (neither idle nor waiting on I/O) and total. */
export interface CpuTimes {
  readonly busy: number;
  readonly total: number;
}

/** /proc/stat: the aggregate `cpu` line, and the number of `cpuN` lines (logical CPUs online). */
export function parseProcStat(text: string): { times: CpuTimes | null; cores: number | null } {
  const lines = text.split('\n');
  const cores = lines.filter((l) => /^cpu\d+\s/.test(l)).length;
  const fields = /^cpu\s+(.*)$/m.exec(text)?.[1]?.trim().split(/\s+/).map(Number);
  let times: CpuTimes | null = null;
  // user nice system idle iowait irq softirq steal (guest time is already inside user and nice).
  if (fields && fields.length >= 4 && fields.every(Number.isFinite)) {
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
    const total = user + nice + system + idle + iowait + irq + softirq + steal;
    times = { busy: total - idle - iowait, total };
  }
  return { times, cores: cores > 0 ? cores : null };
}

/** Percent of CPU time busy between two /proc/stat readings (one decimal); null without two readings. */
export function cpuUtilization(before: CpuTimes | null, after: CpuTimes | null): number | null {
  if (!before || !after) return null;
  const total = after.total - before.total;
  if (total <= 0) return null;
  return percent((after.busy - before.busy) / total);
}

/** /proc/meminfo: total and used (total − available) in whole MiB; null without MemTotal. */
export function parseMeminfo(text: string): { totalMb: number; usedMb: number } | null {
  const kb = (name: string): number | null => {
    const m = new RegExp(`^${name}:\\s+(\\d+)\\s*kB`, 'm').exec(text);
    return m ? Number(m[1]) : null;
  };
  const total = kb('MemTotal');
  if (total === null) return null;
  // Kernels before 3.14 have no MemAvailable: free + page cache is what psutil counted then.
  const available = kb('MemAvailable') ?? (kb('MemFree') ?? 0) + (kb('Buffers') ?? 0) + (kb('Cached') ?? 0);
  return { totalMb: Math.floor(total / 1024), usedMb: Math.floor(Math.max(0, total - available) / 1024) };
}

/** A Jetson GPU's `load` file: per mille (0–1000) → percent. */
export function parseGpuLoad(text: string): number | null {
  const value = wholeNumber(text);
  return value === null || value > 1000 ? null : percent(value / 1000);
}

/**
 * A GPU's devfreq `cur_freq` / `max_freq` → percent: how hard DVFS is driving it, which is
 * what the Python heartbeat reported where the board has no `load` file.
 */
export function devfreqLoad(curFreq: string, maxFreq: string): number | null {
  const cur = wholeNumber(curFreq);
  const max = wholeNumber(maxFreq);
  return cur === null || max === null || max === 0 ? null : percent(cur / max);
}

export interface ThermalZone {
  /** The zone's `type` file, e.g. gpu-thermal (Orin), GPU-therm (Nano, Xavier), x86_pkg_temp. */
  readonly type: string;
  /** The zone's `temp` file: millidegrees Celsius. */
  readonly temp: string;
}

// The GPU first (what the Python heartbeat sent), then the hottest spot, the CPU, the SoC.
const ZONE_PREFERENCE = [/gpu/i, /^tj|junction/i, /cpu|x86_pkg/i, /soc/i];

/** One temperature for the widget, °C to one decimal: the preferred zone that reads sensibly, else the hottest; null without any. */
export function pickTemperature(zones: readonly ThermalZone[]): number | null {
  // Orin reports -256 °C from zones it has switched off; nothing real is below -40 or above 150.
  const valid = zones
    .map((z) => ({ type: z.type.trim(), celsius: /^-?\d+$/.test(z.temp.trim()) ? Number(z.temp.trim()) / 1000 : NaN }))
    .filter((z) => z.celsius > -40 && z.celsius < 150);
  const preferred = ZONE_PREFERENCE.map((re) => valid.find((z) => re.test(z.type))).find((z) => z !== undefined);
  const chosen = preferred ?? valid.reduce<(typeof valid)[number] | undefined>((hot, z) => (hot === undefined || z.celsius > hot.celsius ? z : hot), undefined);
  return chosen === undefined ? null : Math.round(chosen.celsius * 10) / 10;
}

/** /usr/local/cuda/version.json (CUDA 11.1+) or version.txt ("CUDA Version 10.2.89") → "12.2.140". */
export function parseCudaVersion(text: string): string | null {
  try {
    const json = JSON.parse(text) as { cuda?: { version?: unknown } };
    if (typeof json.cuda?.version === 'string' && /^\d+(\.\d+)+$/.test(json.cuda.version)) return json.cuda.version;
  } catch {
    // Not JSON: the older text file.
  }
  return /CUDA Version\s+(\d+(?:\.\d+)+)/.exec(text)?.[1] ?? null;
}

/** /proc/driver/nvidia/gpus/<bus id>/information → its "Model:" line, e.g. "Tesla T4". */
export function parseNvidiaGpuModel(text: string): string | null {
  const model = /^Model:\s*(.+)$/m.exec(text)?.[1]?.trim();
  return model ? model : null;
}

function wholeNumber(text: string): number | null {
  const t = text.trim();
  return /^\d+$/.test(t) ? Number(t) : null;
}

/** A fraction as a percent with one decimal, within 0–100. */
function percent(fraction: number): number {
  return Math.round(Math.min(1, Math.max(0, fraction)) * 1000) / 10;
}
