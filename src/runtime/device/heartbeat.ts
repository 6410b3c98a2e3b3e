// The device heartbeat (RUGBYCODEX.md: compute_devices, which the admin dashboard shows
// offline after 60 s without a beat): this worker's row upserted every interval, and once
// more, offline, when it stops cleanly. Its own timer, awaited by nothing a job does; each
// write time-limited and never two at once; a failed write logged once per outage and the
// next one tried on schedule. So an unreachable Supabase never delays a job.
import type { Logger } from 'pino';
import type { ComputeDeviceRow, MediaDb, Service } from '../../ports/index.js';
import { deviceRow, deviceStatus, type ComputeDeviceStatus, type DeviceProblem } from '../../domain/compute-device.js';
import type { CpuTimes } from '../../domain/device-stats.js';
import { readDeviceFacts, type DeviceSources } from './facts.js';
import { describeError } from '../../domain/describe-error.js';

/** Longest a beat's write may take: a hung request must not keep the next beats from trying. */
export const DEVICE_WRITE_TIMEOUT_MS = 10_000;
/** Longest the offline beat of a stop may take (1 s once the shutdown grace has run out). */
export const DEVICE_STOP_WRITE_MS = 3_000;
const DEVICE_LATE_STOP_WRITE_MS = 1_000;

export interface DeviceHeartbeatOptions {
  /** RC_DEVICE_NAME: the row's name. */
  name: string;
  intervalMs: number;
  db: Pick<MediaDb, 'upsertComputeDevice'>;
  /** What makes the device degraded now (dependencies down, device conditions). */
  problems: () => DeviceProblem[];
  sources: DeviceSources;
  logger: Logger;
  now?: () => Date;
  writeTimeoutMs?: number;
}

/** Starts beating at once (not awaited) and every interval; the returned service's stop writes the offline beat. */
export function startDeviceHeartbeat(opts: DeviceHeartbeatOptions): Service {
  const now = opts.now ?? (() => new Date());
  const log = opts.logger.child({ device_name: opts.name });
  const writeTimeoutMs = opts.writeTimeoutMs ?? DEVICE_WRITE_TIMEOUT_MS;
  let previousCpu: CpuTimes | null = null;
  let inFlight: { done: Promise<void>; abort: AbortController } | null = null;
  let stopping = false;
  let outage: { since: number; failed: number } | null = null;
  let lastStatus: ComputeDeviceStatus | null = null;

  async function write(row: ComputeDeviceRow, abort: AbortController, ms: number): Promise<void> {
    const timer = setTimeout(() => abort.abort(new Error(`no answer in ${ms / 1000} s`)), ms);
    try {
      // Raced too, so even an adapter that ignored the signal could not hold the beat.
      await Promise.race([opts.db.upsertComputeDevice(row, { signal: abort.signal }), rejectOnAbort(abort.signal)]);
    } finally {
      clearTimeout(timer);
    }
  }

  async function beat(abort: AbortController): Promise<void> {
    try {
      const reading = await readDeviceFacts(opts.sources, previousCpu);
      previousCpu = reading.cpu ?? previousCpu;
      const state = deviceStatus(opts.problems());
      await write(deviceRow(opts.name, now(), state, reading.facts), abort, writeTimeoutMs);
      if (outage) {
        log.info({ event_type: 'device_heartbeat_resumed', failed_beats: outage.failed, down_seconds: (Date.now() - outage.since) / 1000 }, 'device heartbeat written again');
        outage = null;
      }
      if (state.status !== lastStatus) {
        log.info({ event_type: 'device_status', status: state.status, last_error: state.lastError }, `device ${opts.name} is ${state.status}${state.lastError ? `: ${state.lastError}` : ''}`);
        lastStatus = state.status;
      }
      log.debug({ event_type: 'device_heartbeat', status: state.status }, 'device heartbeat written');
    } catch (err) {
      if (stopping) return; // aborted for the offline beat
      if (outage) {
        outage.failed++;
        return;
      }
      outage = { since: Date.now(), failed: 1 };
      log.warn({ event_type: 'device_heartbeat_failed', err, error_message: describeError(err) }, `device heartbeat not written (logged once until one is): ${describeError(err)}`);
    }
  }

  function tick(): void {
    if (stopping || inFlight) return; // the last write is still trying: never two at once
    const abort = new AbortController();
    const done = beat(abort).finally(() => { inFlight = null; });
    inFlight = { done, abort };
  }

  log.info({ event_type: 'device_heartbeat_started', interval_seconds: opts.intervalMs / 1000 }, `device heartbeat for ${opts.name} every ${opts.intervalMs / 1000} s`);
  tick();
  const timer = setInterval(tick, opts.intervalMs);
  timer.unref();

  return {
    name: 'device-heartbeat',
    async stop(deadline) {
      stopping = true;
      clearInterval(timer);
      // An online beat still in flight must not land after the offline one.
      if (inFlight) {
        inFlight.abort.abort(new Error('stopping'));
        await inFlight.done;
      }
      const abort = new AbortController();
      const onDeadline = (): void => abort.abort(new Error('shutdown grace expired'));
      deadline.addEventListener('abort', onDeadline, { once: true });
      try {
        await write(deviceRow(opts.name, now(), deviceStatus([], { stopping: true })), abort, deadline.aborted ? DEVICE_LATE_STOP_WRITE_MS : DEVICE_STOP_WRITE_MS);
        log.info({ event_type: 'device_heartbeat_stopped', status: 'offline' }, `device ${opts.name} recorded offline`);
      } catch (err) {
        log.warn({ event_type: 'device_heartbeat_failed', err, error_message: describeError(err), final: true }, `device ${opts.name} not recorded offline: ${describeError(err)}`);
      } finally {
        deadline.removeEventListener('abort', onDeadline);
      }
    },
  };
}

function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const fail = (): void => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}
