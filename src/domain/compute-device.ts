// This worker's row of the admin dashboard's devices widget (RUGBYCODEX.md "The other
// actors": compute_devices; the widget shows a device offline when last_heartbeat_at is
// older than 60 s). Which status, what last_error says, and which fields a beat sends; the
// MediaDb adapter owns the column names.

export type ComputeDeviceStatus = 'online' | 'degraded' | 'offline';

/** Something that makes this worker work worse than it should: a dependency down, a device condition. */
export interface DeviceProblem {
  /** e.g. "s3", "hardware decode". */
  readonly what: string;
  readonly detail: string;
}

/** last_error is shown in a table cell: one line, bounded. */
const MAX_ERROR = 500;

/**
 * online with nothing wrong; degraded, saying what, while anything is; offline once the
 * worker is stopping cleanly (its last beat), whatever was wrong.
 */
export function deviceStatus(problems: readonly DeviceProblem[], opts: { stopping?: boolean } = {}): { status: ComputeDeviceStatus; lastError: string | null } {
  if (opts.stopping) return { status: 'offline', lastError: null };
  if (problems.length === 0) return { status: 'online', lastError: null };
  const text = problems.map((p) => `${p.what}: ${p.detail}`).join('; ').replace(/\s*[\r\n]+\s*/g, ' ').trim();
  return { status: 'degraded', lastError: text.length > MAX_ERROR ? `${text.slice(0, MAX_ERROR - 1)}…` : text };
}

/** What this machine is and how busy it is, as read at one beat; null where the board does not tell. */
export interface DeviceFacts {
  readonly hostname: string;
  readonly cpuCores: number | null;
  readonly memoryTotalMb: number | null;
  readonly memoryUsedMb: number | null;
  readonly cpuUtilization: number | null;
  readonly gpuUtilization: number | null;
  readonly temperatureC: number | null;
  readonly gpuModel: string | null;
  readonly cudaVersion: string | null;
  readonly jetpackVersion: string | null;
}

/**
 * The fields one upsert sends, nothing else (an upsert sets only what it sends, so the rest of
 * the row keeps its value): never device_type, which the admin sets; the measurements always
 * (null where the board has none, so no stale figure lingers); what the board is (GPU model,
 * CUDA, JetPack) only when known, so a value the admin typed in is not erased; none of the
 * figures on the offline beat of a stop, which keeps the last ones.
 */
export interface ComputeDeviceRow {
  readonly name: string;
  readonly status: ComputeDeviceStatus;
  readonly lastHeartbeatAt: string;
  readonly updatedAt: string;
  readonly lastError: string | null;
  readonly hostname?: string;
  readonly cpuCores?: number | null;
  readonly memoryTotalMb?: number | null;
  readonly memoryUsedMb?: number | null;
  readonly cpuUtilization?: number | null;
  readonly gpuUtilization?: number | null;
  readonly temperatureC?: number | null;
  readonly gpuModel?: string;
  readonly cudaVersion?: string;
  readonly jetpackVersion?: string;
}

export function deviceRow(name: string, at: Date, state: { status: ComputeDeviceStatus; lastError: string | null }, facts?: DeviceFacts): ComputeDeviceRow {
  const when = at.toISOString();
  const row: ComputeDeviceRow = { name, status: state.status, lastHeartbeatAt: when, updatedAt: when, lastError: state.lastError };
  if (!facts) return row;
  return {
    ...row,
    hostname: facts.hostname,
    cpuCores: facts.cpuCores,
    memoryTotalMb: facts.memoryTotalMb,
    memoryUsedMb: facts.memoryUsedMb,
    cpuUtilization: facts.cpuUtilization,
    gpuUtilization: facts.gpuUtilization,
    temperatureC: facts.temperatureC,
    ...(facts.gpuModel !== null && { gpuModel: facts.gpuModel }),
    ...(facts.cudaVersion !== null && { cudaVersion: facts.cudaVersion }),
    ...(facts.jetpackVersion !== null && { jetpackVersion: facts.jetpackVersion }),
  };
}
