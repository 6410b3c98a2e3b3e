// What makes this worker degraded right now, for its compute_devices row: each dependency
// its roles cannot reach (what /health names) and each device condition (hardware decode
// that fell back to software).
import type { DeviceProblem } from '../../domain/compute-device.js';
import type { DependencyHealth } from '../dependency-health.js';
import { deviceConditions } from '../device-conditions.js';

export function deviceProblems(deps: Pick<DependencyHealth, 'down'>, now: number = Date.now()): DeviceProblem[] {
  return [
    ...deps.down().map((d) => ({ what: d.name, detail: `unreachable for ${Math.max(0, Math.round((now - d.since) / 1000))} s: ${d.detail}` })),
    ...deviceConditions().map((c) => ({ what: c.name, detail: c.detail })),
  ];
}
