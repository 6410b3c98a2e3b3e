import { afterEach, describe, expect, it } from '@jest/globals';
import { deviceProblems } from '../../src/runtime/device/problems.js';
import { clearDeviceCondition, HW_DECODE, setDeviceCondition } from '../../src/runtime/device-conditions.js';
import { createRedactor } from '../../src/runtime/logger/redact.js';

afterEach(() => clearDeviceCondition(HW_DECODE));

describe('deviceProblems', () => {
  it('each dependency down (for how long, why), then each device condition', () => {
    setDeviceCondition(HW_DECODE, '-c:v h264_nvv4l2dec failed, decoding in software: exited with code 1');
    const deps = { down: () => [{ name: 's3', since: 1_000, detail: 'read ECONNRESET' }] };
    expect(deviceProblems(deps, { now: 13_400 })).toEqual([
      { what: 's3', detail: 'unreachable for 12 s: read ECONNRESET' },
      { what: 'hardware decode', detail: '-c:v h264_nvv4l2dec failed, decoding in software: exited with code 1' },
    ]);
    expect(deviceProblems({ down: () => [] })).toEqual([{ what: 'hardware decode', detail: expect.any(String) }]);
  });

  it('takes the secrets out of what it says: last_error is read by every admin', () => {
    const deps = { down: () => [{ name: 'redis', since: 0, detail: 'connect ECONNREFUSED redis://:hunter2-pass@10.0.0.5:6379 with key sk_live_abcdef' }] };
    const [p] = deviceProblems(deps, { now: 0, redact: createRedactor(['sk_live_abcdef']) });
    expect(p?.detail).not.toMatch(/hunter2-pass|sk_live_abcdef/);
  });
});
