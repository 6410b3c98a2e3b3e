// Progress the way MediaConvert reports it: a phase, a percent and a speed, in the log as
// `transcode_progress`, and saved at most every 5 s, as the Python worker did: the encode's
// own percent (what the frontend shows as media_assets.transcode_progress) and the whole
// job's (jobs.progress).
import type { Logger } from 'pino';

export type TranscodePhase = 'downloading' | 'transcoding' | 'uploading';

/** Share of the whole job each phase covers, so the percent only moves forward. */
const SPAN: Record<TranscodePhase, [number, number]> = {
  downloading: [0, 10],
  transcoding: [10, 95],
  uploading: [95, 99],
};

export interface SavedProgress {
  /** The encode alone, 0–100. */
  encodePercent: number;
  /** The whole job (download, encode, upload), 0–1. */
  jobFraction: number;
}

export interface ProgressReporter {
  report(phase: TranscodePhase, phasePercent: number | null, speed?: number | null): void;
  /** The percent last reported. */
  readonly percent: number;
}

export function createProgressReporter(opts: {
  logger: Logger;
  save: (progress: SavedProgress) => Promise<void>;
  /** Least time between two saves (default 5 s). */
  intervalMs?: number;
  /** Least time between two transcode_progress events within a phase (default: intervalMs). */
  logIntervalMs?: number;
  now?: () => number;
}): ProgressReporter {
  const interval = opts.intervalMs ?? 5_000;
  const logInterval = opts.logIntervalMs ?? interval;
  const now = opts.now ?? Date.now;
  let lastLog = -Infinity;
  let lastSave = -Infinity;
  let lastPhase: TranscodePhase | null = null;
  let percent = 0;
  let encodePercent = 0;
  let saving = false;
  return {
    get percent() { return percent; },
    report(phase, phasePercent, speed = null) {
      const [from, to] = SPAN[phase];
      const within = Math.min(100, Math.max(0, phasePercent ?? 0));
      const p = Math.floor(from + ((to - from) * within) / 100);
      percent = Math.max(percent, p);
      if (phase === 'transcoding') encodePercent = Math.max(encodePercent, Math.floor(within));
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
        opts.save({ encodePercent, jobFraction: percent / 100 })
          .catch((err: unknown) => opts.logger.warn({ event_type: 'transcode_progress_not_saved', err }, 'could not save progress'))
          .finally(() => { saving = false; });
      }
    },
  };
}
