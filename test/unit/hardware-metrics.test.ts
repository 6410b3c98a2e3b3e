// hardware_info (the start-up verdicts) and hardware_degraded (the device conditions, read at
// each scrape) on /metrics.
import { afterEach, describe, expect, it } from '@jest/globals';
import { Metrics } from '../../src/runtime/metrics.js';
import { reportHardware } from '../../roles/transcode/hardware-metrics.js';
import { clearDeviceCondition, HW_DECODE, HW_ENCODE, setDeviceCondition } from '../../src/runtime/device-conditions.js';

const lines = async (m: Metrics, name: string): Promise<string[]> =>
  (await m.prometheus()).split('\n').filter((l) => l.startsWith(`rugbyworker_${name}{`)).sort();

afterEach(() => {
  clearDeviceCondition(HW_DECODE);
  clearDeviceCondition(HW_ENCODE);
});

describe('reportHardware', () => {
  it('gives the verdicts as info series and says degraded while a fallback condition is set', async () => {
    const m = new Metrics({ instanceId: 't', defaultMetrics: false });
    reportHardware(m, { decode: 'jetson', encoder: 'libx264' });
    expect(await lines(m, 'hardware_info')).toEqual(['rugbyworker_hardware_info{stage="decode",method="jetson"} 1', 'rugbyworker_hardware_info{stage="encode",method="libx264"} 1']);
    expect(await lines(m, 'hardware_degraded')).toEqual(['rugbyworker_hardware_degraded{stage="decode"} 0', 'rugbyworker_hardware_degraded{stage="encode"} 0']);
    setDeviceCondition(HW_DECODE, 'h264_nvv4l2dec failed, decoding in software');
    expect(await lines(m, 'hardware_degraded')).toEqual(['rugbyworker_hardware_degraded{stage="decode"} 1', 'rugbyworker_hardware_degraded{stage="encode"} 0']);
    clearDeviceCondition(HW_DECODE);
    setDeviceCondition(HW_ENCODE, 'h264_nvenc failed a job');
    expect(await lines(m, 'hardware_degraded')).toEqual(['rugbyworker_hardware_degraded{stage="decode"} 0', 'rugbyworker_hardware_degraded{stage="encode"} 1']);
  });

  it('names software decode so', async () => {
    const m = new Metrics({ instanceId: 't', defaultMetrics: false });
    reportHardware(m, { decode: 'none', encoder: 'h264_nvenc' });
    expect(await lines(m, 'hardware_info')).toEqual(['rugbyworker_hardware_info{stage="decode",method="software"} 1', 'rugbyworker_hardware_info{stage="encode",method="h264_nvenc"} 1']);
  });
});
