// Time to ready (README "Time to ready"): what a coach waits on, from the transcode message's
// send to the asset ready, and where that time went. The phases overlap by design (FFmpeg
// reads the source while it downloads and segments go up while it encodes), so they do not
// add up to the whole: each says how long that part ran.
import type { Metrics } from '../../src/runtime/metrics.js';

/** Metric names (without METRIC_PREFIX); the phase histogram has label `phase`. */
export const TRANSCODE_METRICS = {
  timeToReady: 'transcode_time_to_ready_seconds',
  phase: 'transcode_phase_seconds',
} as const;

/**
 * queued: the send to this delivery's start of work (queue wait, earlier tries included);
 * download: the whole source onto the work disk; encode: FFmpeg over the ladder, every try;
 * upload: the uploads still going once FFmpeg ended; finish: the rows that publish the asset.
 */
export const TRANSCODE_PHASES = ['queued', 'download', 'encode', 'upload', 'finish'] as const;
export type TranscodePhase = (typeof TRANSCODE_PHASES)[number];

export interface TranscodeMetrics {
  /** A job that made its asset ready: the whole wait and each phase (a phase left out was not measured). */
  ready(seconds: number, phases: Partial<Record<TranscodePhase, number>>): void;
}

export function transcodeMetrics(metrics: Metrics): TranscodeMetrics {
  const whole = metrics.histogram(TRANSCODE_METRICS.timeToReady, 'Seconds from the transcode message\'s send to its asset ready, per job made ready');
  const phase = metrics.histogram(TRANSCODE_METRICS.phase, 'Seconds of each phase of a transcode made ready (queued, download, encode, upload, finish; they overlap)', ['phase']);
  // At 0 from the start: the first job after a start would otherwise be rate()'s baseline and never show.
  for (const p of TRANSCODE_PHASES) phase.zero({ phase: p });
  return {
    ready(seconds, phases) {
      whole.observe(Math.max(0, seconds));
      for (const p of TRANSCODE_PHASES) {
        const s = phases[p];
        if (s !== undefined) phase.observe({ phase: p }, Math.max(0, s));
      }
    },
  };
}
