// The device heartbeat's timing and failure rules, on the memory MediaDb with a 50 ms
// interval: the first beat at once, then every interval; degraded while a problem lasts; a
// write that hangs is cut off and never overlapped, a failure logged once per outage; the stop
// aborts a beat in flight and writes offline, bounded in time.
import { afterEach, describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { MemoryMediaDb } from '../../src/adapters/db/memory.js';
import type { DeviceProblem } from '../../src/domain/compute-device.js';
import type { ComputeDeviceRow, MediaDb, Service } from '../../src/ports/index.js';
import { startDeviceHeartbeat } from '../../src/runtime/device/heartbeat.js';
import type { DeviceSources } from '../../src/runtime/device/facts.js';

type Line = Record<string, unknown> & { event_type?: string };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const SOURCES: DeviceSources = {
  readFile: async (path) => ({ '/proc/stat': 'cpu  10 0 0 90 0 0 0 0 0 0\ncpu0 10 0 0 90 0 0 0 0 0 0\n', '/proc/meminfo': 'MemTotal: 2048000 kB\nMemAvailable: 1024000 kB\n' }[path] ?? null),
  listDir: async () => [],
  hostname: () => 'host-1',
};

let running: Service | undefined;
afterEach(async () => {
  await running?.stop(AbortSignal.abort());
  running = undefined;
});

function start(db: Pick<MediaDb, 'upsertComputeDevice'>, problems: () => DeviceProblem[] = () => [], writeTimeoutMs?: number) {
  const lines: Line[] = [];
  const logger = pino({ level: 'debug' }, { write(s: string) { lines.push(JSON.parse(s) as Line); } });
  running = startDeviceHeartbeat({ name: 'jetson-1', intervalMs: 50, db, problems, sources: SOURCES, logger, ...(writeTimeoutMs ? { writeTimeoutMs } : {}) });
  return { service: running, lines, of: (type: string) => lines.filter((l) => l.event_type === type) };
}

/** The memory db, recording each upsert (time and row); `hang` makes the next writes never answer. */
function recordingDb() {
  const db = new MemoryMediaDb();
  const writes: Array<{ at: number; row: ComputeDeviceRow; settled: boolean; ok?: boolean; overlapped: boolean }> = [];
  let hang = false;
  return {
    db, writes,
    hang: (on: boolean) => { hang = on; },
    upsertComputeDevice(row: ComputeDeviceRow, opts?: { signal?: AbortSignal }): Promise<void> {
      const w: (typeof writes)[number] = { at: Date.now(), row, settled: false, overlapped: writes.some((x) => !x.settled) };
      writes.push(w);
      // A hung request: only the signal ends it (as supabase-js's abortSignal does).
      const p = hang ? new Promise<void>((_, reject) => opts?.signal?.addEventListener('abort', () => reject(new Error('AbortError: aborted')), { once: true })) : db.upsertComputeDevice(row, opts);
      return p.then(() => { w.settled = true; w.ok = true; }, (err: unknown) => { w.settled = true; w.ok = false; throw err; });
    },
  };
}

describe('startDeviceHeartbeat', () => {
  it('writes the row at once, without being awaited, then every interval with a later last_heartbeat_at', async () => {
    const rec = recordingDb();
    const t0 = Date.now();
    const { of } = start(rec);
    expect(rec.writes).toHaveLength(0); // started, not yet written: nothing waits for it
    await sleep(180);
    expect(rec.writes.length).toBeGreaterThanOrEqual(3);
    expect(rec.writes[0]!.at - t0).toBeLessThan(40);
    const times = rec.writes.map((w) => Date.parse(w.row.lastHeartbeatAt));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(times.at(-1)!).toBeGreaterThan(times[0]!);
    expect(rec.db.computeDevice('jetson-1')).toMatchObject({ status: 'online', lastError: null, hostname: 'host-1', cpuCores: 1, memoryTotalMb: 2000, memoryUsedMb: 1000 });
    expect(of('device_status')).toEqual([expect.objectContaining({ status: 'online', device_name: 'jetson-1' })]);
  });

  it('degraded with the problems while they last, online again after', async () => {
    const rec = recordingDb();
    let problems: DeviceProblem[] = [];
    const { of } = start(rec, () => problems);
    await sleep(70);
    problems = [{ what: 's3', detail: 'unreachable for 3 s: read ECONNRESET' }];
    await sleep(120);
    expect(rec.db.computeDevice('jetson-1')).toMatchObject({ status: 'degraded', lastError: 's3: unreachable for 3 s: read ECONNRESET' });
    problems = [];
    await sleep(120);
    expect(rec.db.computeDevice('jetson-1')).toMatchObject({ status: 'online', lastError: null });
    expect(of('device_status').map((l) => l.status)).toEqual(['online', 'degraded', 'online']);
  });

  it('a write that hangs is cut off at the write timeout and never overlapped; the failure is logged once per outage; the next beat is tried on schedule', async () => {
    const rec = recordingDb();
    rec.hang(true);
    const { of } = start(rec, () => [], 120);
    await sleep(400);
    // One write at a time: each started only once the previous was cut off.
    expect(rec.writes.map((w) => w.overlapped)).not.toContain(true);
    expect(rec.writes.length).toBeGreaterThanOrEqual(2);
    expect(rec.writes.length).toBeLessThanOrEqual(4);
    expect(rec.writes.every((w) => w.ok !== true)).toBe(true);
    expect(of('device_heartbeat_failed')).toHaveLength(1);
    expect(of('device_heartbeat_failed')[0]).toMatchObject({ level: 40, error_message: expect.stringMatching(/no answer in 0.12 s/) });
    rec.hang(false);
    await sleep(250);
    expect(rec.writes.at(-1)?.ok).toBe(true);
    expect(of('device_heartbeat_resumed')).toEqual([expect.objectContaining({ failed_beats: expect.any(Number) })]);
    expect(of('device_heartbeat_failed')).toHaveLength(1);
    expect(rec.db.computeDevice('jetson-1')).toMatchObject({ status: 'online' });
  });

  it('stop: aborts the beat in flight, then writes offline (no figures); nothing after it', async () => {
    const rec = recordingDb();
    const { service, of } = start(rec);
    await sleep(70);
    rec.hang(true);
    await sleep(60); // a beat is now hanging
    rec.hang(false);
    await service.stop(new AbortController().signal);
    running = undefined;
    const last = rec.writes.at(-1)!;
    expect(last.row).toEqual({ name: 'jetson-1', status: 'offline', lastHeartbeatAt: expect.any(String), updatedAt: last.row.lastHeartbeatAt, lastError: null });
    expect(last.overlapped).toBe(false);
    expect(rec.db.computeDevice('jetson-1')).toMatchObject({ status: 'offline', hostname: 'host-1' });
    const count = rec.writes.length;
    await sleep(150);
    expect(rec.writes).toHaveLength(count);
    expect(of('device_heartbeat_stopped')).toHaveLength(1);
    expect(of('device_heartbeat_failed')).toEqual([]);
  });

  it('the offline write is bounded: 1 s once the shutdown grace has expired, even against a database that never answers nor heeds the signal', async () => {
    const never = { upsertComputeDevice: (): Promise<void> => new Promise<void>(() => undefined) };
    const { service, of } = start(never);
    await sleep(20);
    const t = Date.now();
    await service.stop(AbortSignal.abort());
    running = undefined;
    expect(Date.now() - t).toBeGreaterThanOrEqual(950);
    expect(Date.now() - t).toBeLessThan(1500);
    expect(of('device_heartbeat_failed')).toEqual([expect.objectContaining({ final: true, error_message: expect.stringMatching(/no answer in 1 s/) })]);
  });
});
