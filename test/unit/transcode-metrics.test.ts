import { describe, expect, it } from '@jest/globals';
import { Metrics } from '../../src/runtime/metrics.js';
import { TRANSCODE_METRICS, transcodeMetrics } from '../../roles/transcode/metrics.js';

describe('transcodeMetrics', () => {
  it('observes the whole time to ready and each phase measured (a clock skew never goes negative)', async () => {
    const m = new Metrics({ instanceId: 't', defaultMetrics: false });
    const t = transcodeMetrics(m);
    t.ready(42, { queued: -0.5, download: 3, encode: 30, upload: 2, finish: 0.2 });
    t.ready(20, { queued: 1, encode: 15, upload: 1, finish: 0.1 });
    const json = await m.json();
    expect(json.durations[TRANSCODE_METRICS.timeToReady]).toMatchObject({ count: 2, sum: 62 });
    const text = await m.prometheus();
    const count = (phase: string): number => Number(new RegExp(`^rugbyworker_${TRANSCODE_METRICS.phase}_count\\{phase="${phase}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    expect(['queued', 'download', 'encode', 'upload', 'finish'].map(count)).toEqual([2, 1, 2, 2, 2]);
    expect(text).toMatch(new RegExp(`^rugbyworker_${TRANSCODE_METRICS.phase}_sum\\{phase="queued"\\} 1$`, 'm'));
  });
});
