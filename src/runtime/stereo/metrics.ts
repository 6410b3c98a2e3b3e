// The stereo roles' own series, beside the engine's per-role ones (messages, jobs, queue lag):
// segments each role handled and the jobs it finished. One name each, label `role`, so one
// dashboard panel covers chunk, segment-infer and reassemble.
import type { Counter } from 'prom-client';
import type { Metrics } from '../metrics.js';

export type StereoJobOutcome = 'chunked' | 'completed' | 'failed';

export interface StereoMetrics {
  /** Segments made (chunk), converted (segment-infer) or joined (reassemble). */
  segments: Counter.Internal;
  jobs(outcome: StereoJobOutcome): Counter.Internal;
}

export function stereoMetrics(metrics: Metrics, role: string, outcomes: readonly StereoJobOutcome[]): StereoMetrics {
  const segments = metrics.counter('segments_total', 'Stereo segments made (chunk), converted (segment-infer) or joined (reassemble)', ['role']).labels({ role });
  const jobs = metrics.counter('stereo_jobs_total', 'Stereo jobs chunked, completed or failed by this role', ['role', 'outcome']);
  segments.inc(0);
  // At 0 from the start, so dashboards show the role before its first job.
  for (const outcome of outcomes) jobs.labels({ role, outcome }).inc(0);
  return { segments, jobs: (outcome) => jobs.labels({ role, outcome }) };
}
