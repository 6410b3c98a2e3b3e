// The stereo roles' own series, beside the engine's per-role ones (messages, jobs, queue lag):
// segments each role handled and the jobs it finished. One name each, label `role`, so one
// dashboard panel covers chunk, segment-infer and reassemble. The names are exported for
// deploy/ (dashboards and alert rules are generated from them).
import type { Counter, Histogram } from 'prom-client';
import type { Metrics } from '../../src/runtime/metrics.js';

/** Metric names (without METRIC_PREFIX). */
export const STEREO_METRICS = {
  /** Label `role`. */
  segments: 'segments_total',
  /** Labels `role`, `outcome` (StereoJobOutcome). */
  jobs: 'stereo_jobs_total',
  /** Label `backend` (stub, ffmpeg, sagemaker, http). */
  inferenceSeconds: 'inference_seconds',
} as const;

export type StereoJobOutcome = 'chunked' | 'completed' | 'failed';

export interface StereoMetrics {
  /** Segments made (chunk), converted (segment-infer) or joined (reassemble). */
  segments: Counter.Internal;
  jobs(outcome: StereoJobOutcome): Counter.Internal;
}

export function stereoMetrics(metrics: Metrics, role: string, outcomes: readonly StereoJobOutcome[]): StereoMetrics {
  const segments = metrics.counter(STEREO_METRICS.segments, 'Stereo segments made (chunk), converted (segment-infer) or joined (reassemble)', ['role']).labels({ role });
  const jobs = metrics.counter(STEREO_METRICS.jobs, 'Stereo jobs chunked, completed or failed by this role', ['role', 'outcome']);
  segments.inc(0);
  // At 0 from the start, so dashboards show the role before its first job.
  for (const outcome of outcomes) jobs.labels({ role, outcome }).inc(0);
  return { segments, jobs: (outcome) => jobs.labels({ role, outcome }) };
}

/** segment-infer's seconds of inference per segment with `backend`, at 0 from the start (the first segment is no rate() baseline). */
export function inferenceSeconds(metrics: Metrics, backend: string): Histogram.Internal<string> {
  const h = metrics.histogram(STEREO_METRICS.inferenceSeconds, 'Seconds of inference per segment', ['backend']);
  h.zero({ backend });
  return h.labels({ backend });
}
