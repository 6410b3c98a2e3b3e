// The transcode worker's hardware on /metrics: the start-up verdicts (which decoder and
// encoder it uses) and whether either has fallen back to software on a machine that has the
// hardware (the device conditions the device row reports as degraded), read at each scrape.
import type { Metrics } from '../../src/runtime/metrics.js';
import { deviceConditions, HW_DECODE, HW_ENCODE } from '../../src/runtime/device-conditions.js';

/** Metric names (without METRIC_PREFIX), label `stage` (decode, encode); hardware_info adds `method`. */
export const HARDWARE_METRICS = {
  info: 'hardware_info',
  degraded: 'hardware_degraded',
} as const;

export interface HardwareVerdicts {
  /** HwVerdict.kind: jetson, nvidia, or none (software). */
  decode: 'jetson' | 'nvidia' | 'none';
  /** EncodeVerdict.encoder: libx264, h264_nvenc, h264_nvv4l2enc, h264_nvmpi. */
  encoder: string;
}

export function reportHardware(metrics: Metrics, v: HardwareVerdicts): void {
  const info = metrics.gauge(HARDWARE_METRICS.info, 'The start-up verdict, value 1: decode method (jetson, nvidia, software) and encoder (libx264, h264_nvenc, h264_nvv4l2enc, h264_nvmpi)', ['stage', 'method']);
  info.reset();
  info.set({ stage: 'decode', method: v.decode === 'none' ? 'software' : v.decode }, 1);
  info.set({ stage: 'encode', method: v.encoder }, 1);
  metrics.gauge(HARDWARE_METRICS.degraded, '1 while decode or encode runs in software on a machine whose hardware failed (the device row says degraded), else 0', ['stage'], (g) => {
    const set = new Set(deviceConditions().map((c) => c.name));
    g.set({ stage: 'decode' }, set.has(HW_DECODE) ? 1 : 0);
    g.set({ stage: 'encode' }, set.has(HW_ENCODE) ? 1 : 0);
  });
}
