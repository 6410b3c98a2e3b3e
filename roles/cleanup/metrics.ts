// The cleanup role's counters; every series exists at 0 from start-up.
import type { Counter } from 'prom-client';
import type { Metrics } from '../../src/runtime/metrics.js';

/** Metric names (without METRIC_PREFIX), no labels. */
export const CLEANUP_METRICS = {
  objectsDeleted: 'cleanup_objects_deleted_total',
  bytesDeleted: 'cleanup_bytes_deleted_total',
  jobsCompleted: 'cleanup_jobs_completed_total',
  jobsFailed: 'cleanup_jobs_failed_total',
  coachAudioDeleted: 'cleanup_coach_audio_deleted_total',
  coachAudioFailed: 'cleanup_coach_audio_failed_total',
} as const;

export interface CleanupMetrics {
  objectsDeleted: Counter<string>;
  bytesDeleted: Counter<string>;
  jobsCompleted: Counter<string>;
  jobsFailed: Counter<string>;
  coachAudioDeleted: Counter<string>;
  coachAudioFailed: Counter<string>;
}

export function cleanupMetrics(metrics: Metrics): CleanupMetrics {
  const counter = (name: string, help: string): Counter<string> => {
    const c = metrics.counter(name, help);
    c.inc(0);
    return c;
  };
  return {
    objectsDeleted: counter(CLEANUP_METRICS.objectsDeleted, 'Objects deleted from the media bucket by the cleanup role'),
    bytesDeleted: counter(CLEANUP_METRICS.bytesDeleted, 'Bytes of the objects deleted by the cleanup role'),
    jobsCompleted: counter(CLEANUP_METRICS.jobsCompleted, 'media_cleanup_jobs rows marked processed'),
    jobsFailed: counter(CLEANUP_METRICS.jobsFailed, 'media_cleanup_jobs rows left unprocessed with an error (retried next pass)'),
    coachAudioDeleted: counter(CLEANUP_METRICS.coachAudioDeleted, 'segment_insight_audio_deletions rows completed (their coach.mp3 deleted)'),
    coachAudioFailed: counter(CLEANUP_METRICS.coachAudioFailed, 'segment_insight_audio_deletions rows failed, or left pending with an error (retried next pass)'),
  };
}
