// What makes this worker degraded right now, for its compute_devices row: each dependency
// its roles cannot reach (what /health names) and each device condition (hardware decode
// that fell back to software). The details are error texts bound for a table the admins read:
// `redact` takes the secrets out of them, as the logger does for log lines.
import type { DeviceProblem } from '../../domain/compute-device.js';
import type { DependencyHealth } from '../dependency-health.js';
import { deviceConditions } from '../device-conditions.js';

export function deviceProblems(deps: Pick<DependencyHealth, 'down'>, opts: { redact?: (text: string) => string; now?: number } = {}): DeviceProblem[] {
  const now = opts.now ?? Date.now();
  const redact = opts.redact ?? ((text: string) => text);
  return [
    ...deps.down().map((d) => ({ what: d.name, detail: redact(`unreachable for ${Math.max(0, Math.round((now - d.since) / 1000))} s: ${d.detail}`) })),
    ...deviceConditions().map((c) => ({ what: c.name, detail: redact(c.detail) })),
  ];
}
