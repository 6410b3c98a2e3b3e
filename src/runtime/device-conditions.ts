// What is wrong with this worker's device right now, beyond the services it calls (those are
// DependencyHealth's): one process-wide list of named conditions, set and cleared by the code
// that notices them (hardware decode or encode that fell back to software), read by the device
// heartbeat, which reports the device degraded while any is set.

export interface DeviceCondition {
  readonly name: string;
  readonly detail: string;
  /** ms since the epoch when it was first set (setting it again keeps the time). */
  readonly since: number;
}

const conditions = new Map<string, DeviceCondition>();

/** Sets (or updates the detail of) a condition. */
export function setDeviceCondition(name: string, detail: string, now: number = Date.now()): void {
  conditions.set(name, { name, detail, since: conditions.get(name)?.since ?? now });
}

export function clearDeviceCondition(name: string): void {
  conditions.delete(name);
}

/** The conditions set now, by name. */
export function deviceConditions(): DeviceCondition[] {
  return [...conditions.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The hardware decode condition: named once, for the ladder (fallback, success) and the start-up verdict. */
export const HW_DECODE = 'hardware decode';
/** The hardware encode condition: a GPU whose encoder failed its test encode, or failed a job (libx264 until restart). */
export const HW_ENCODE = 'hardware encode';
