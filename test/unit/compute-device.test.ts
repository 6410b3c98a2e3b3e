import { describe, expect, it } from '@jest/globals';
import { deviceRow, deviceStatus, type DeviceFacts } from '../../src/domain/compute-device.js';

const AT = new Date('2026-12-07T18:00:15.250Z');
const FACTS: DeviceFacts = {
  hostname: 'orin-a', cpuCores: 6, memoryTotalMb: 7650, memoryUsedMb: 2650, cpuUtilization: 51.5, gpuUtilization: null, temperatureC: 46.8,
  gpuModel: 'NVIDIA Ampere (Orin, tegra234)', cudaVersion: null, jetpackVersion: '6.0',
};

describe('deviceStatus', () => {
  it('online with nothing wrong', () => {
    expect(deviceStatus([])).toEqual({ status: 'online', lastError: null });
  });

  it('degraded while anything is wrong, last_error saying each thing on one line', () => {
    expect(deviceStatus([
      { what: 's3', detail: 'unreachable for 12 s: read ECONNRESET' },
      { what: 'hardware decode', detail: 'h264_nvv4l2dec failed;\nsoftware decode in use' },
    ])).toEqual({ status: 'degraded', lastError: 's3: unreachable for 12 s: read ECONNRESET; hardware decode: h264_nvv4l2dec failed; software decode in use' });
  });

  it('bounds last_error', () => {
    const r = deviceStatus([{ what: 'supabase', detail: 'x'.repeat(2000) }]);
    expect(r.lastError).toHaveLength(500);
    expect(r.lastError?.endsWith('…')).toBe(true);
  });

  it('offline on the last beat of a clean stop, whatever was wrong', () => {
    expect(deviceStatus([{ what: 's3', detail: 'down' }], { stopping: true })).toEqual({ status: 'offline', lastError: null });
  });
});

describe('deviceRow', () => {
  it('a beat sends the status, the time (heartbeat and updated_at), the error and every measurement; never the device type', () => {
    const row = deviceRow('jetson-1', AT, { status: 'degraded', lastError: 's3: down' }, FACTS);
    expect(row).toEqual({
      name: 'jetson-1', status: 'degraded', lastHeartbeatAt: '2026-12-07T18:00:15.250Z', updatedAt: '2026-12-07T18:00:15.250Z', lastError: 's3: down',
      hostname: 'orin-a', cpuCores: 6, memoryTotalMb: 7650, memoryUsedMb: 2650, cpuUtilization: 51.5, gpuUtilization: null, temperatureC: 46.8,
      gpuModel: 'NVIDIA Ampere (Orin, tegra234)', jetpackVersion: '6.0',
    });
    expect(Object.keys(row)).not.toContain('deviceType');
  });

  it('a measurement the board lacks is sent as null (no stale figure lingers); an unknown GPU model, CUDA or JetPack is not sent (the admin\'s value stays)', () => {
    const row = deviceRow('jetson-1', AT, { status: 'online', lastError: null }, { ...FACTS, gpuModel: null, jetpackVersion: null, temperatureC: null });
    expect(row).toMatchObject({ temperatureC: null, gpuUtilization: null, lastError: null });
    expect(Object.keys(row)).not.toEqual(expect.arrayContaining(['gpuModel']));
    expect('cudaVersion' in row || 'jetpackVersion' in row || 'gpuModel' in row).toBe(false);
  });

  it('the offline beat of a stop sends only the status, the time and a cleared error: the row keeps its last figures', () => {
    expect(deviceRow('jetson-1', AT, { status: 'offline', lastError: null })).toEqual({
      name: 'jetson-1', status: 'offline', lastHeartbeatAt: '2026-12-07T18:00:15.250Z', updatedAt: '2026-12-07T18:00:15.250Z', lastError: null,
    });
  });
});
