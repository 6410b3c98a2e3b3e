// Progress the way MediaConvert reports it: a phase, a percent and a speed, in the log as
// `transcode_progress` and in transcode_jobs.progress, each at most every 10 s.
import type { Logger } from 'pino';

export type TranscodePhase = 'downloading' | 'transcoding' | 'uploading';

/** Share of the whole job each phase covers, so the percent only moves forward. */
const SPAN: Record<TranscodePhase, [number, number]> = {
  downloading: [0, 10],
  transcoding: [10, 95],
  uploading: [95, 99],
};

export interface ProgressReporter {
  report(phase: TranscodePhase, phasePercent: number | null, speed?: number | null): void;
  /** The percent last reported. */
  readonly percent: number;
}

export function createProgressReporter(opts: {
  logger: Logger;
  save: (percent: number) => Promise<void>;
  /** Least time between two transcode_jobs.progress writes. */
  intervalMs?: number;
  /** Least time between two transcode_progress events within a phase (default: intervalMs). */
  logIntervalMs?: number;
  now?: () => number;
}): ProgressReporter {
  const interval = opts.intervalMs ?? 10_000;
  const logInterval = opts.logIntervalMs ?? interval;
  const now = opts.now ?? Date.now;
  let lastLog = -Infinity;
  let lastSave = -Infinity;
  let lastPhase: TranscodePhase | null = null;
  let percent = 0;
  let saving = false;
  return {
    get percent() { return percent; },
    report(phase, phasePercent, speed = null) {
      const [from, to] = SPAN[phase];
      const p = Math.floor(from + ((to - from) * Math.min(100, Math.max(0, phasePercent ?? 0))) / 100);
      percent = Math.max(percent, p);
      const t = now();
      if (phase !== lastPhase || t - lastLog >= logInterval) {
        lastLog = t;
        lastPhase = phase;
        opts.logger.info({ event_type: 'transcode_progress', phase, percent, speed }, `${phase} ${percent}%${speed ? ` at ${speed}x` : ''}`);
      }
      if (t - lastSave >= interval && !saving) {
        lastSave = t;
        saving = true;
        // Progress is best effort: a failed write is logged, never fails the job.
        opts.save(percent)
          .catch((err: unknown) => opts.logger.warn({ event_type: 'transcode_progress_not_saved', err }, 'could not save progress'))
          .finally(() => { saving = false; });
      }
    },
  };
}
