// The cleanup role's counters; every series exists at 0 from start-up.
import type { Counter } from 'prom-client';
import type { Metrics } from '../metrics.js';

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
    objectsDeleted: counter('cleanup_objects_deleted_total', 'Objects deleted from the media bucket by the cleanup role'),
    bytesDeleted: counter('cleanup_bytes_deleted_total', 'Bytes of the objects deleted by the cleanup role'),
    jobsCompleted: counter('cleanup_jobs_completed_total', 'media_cleanup_jobs rows marked processed'),
    jobsFailed: counter('cleanup_jobs_failed_total', 'media_cleanup_jobs rows left unprocessed with an error (retried next pass)'),
    coachAudioDeleted: counter('cleanup_coach_audio_deleted_total', 'segment_insight_audio_deletions rows completed (their coach.mp3 deleted)'),
    coachAudioFailed: counter('cleanup_coach_audio_failed_total', 'segment_insight_audio_deletions rows failed, or left pending with an error (retried next pass)'),
  };
}
