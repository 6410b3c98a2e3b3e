// A reassembly's hold on its ReassemblyTriggered lock: reassembly_started_at rewritten every
// refreshSeconds (src/domain/stereo/reassembly-lock.ts), so a redelivered message can tell a
// dead holder from a live one. When a refresh finds the lock no longer ours (taken over after
// we stalled), `signal` aborts: the job stops rather than finish as a second reassembly.
import type { Logger } from 'pino';
import type { PipelineDb } from '../../src/ports/index.js';
import { unixSeconds } from '../../src/runtime/clock.js';
import { keepHold } from '../../src/runtime/keep-hold.js';

export interface LockHold {
  /** Aborts when the lock was taken over. */
  readonly signal: AbortSignal;
  /** The reassembly_started_at this holder last wrote (for a release of its own lock only). */
  current(): number;
  /** Stops refreshing; awaits a refresh in flight. */
  stop(): Promise<void>;
}

export function holdLock(opts: {
  db: Pick<PipelineDb, 'refreshLock'>; jobId: string; startedAt: number; refreshSeconds: number; logger: Logger; now?: () => number;
}): LockHold {
  const now = opts.now ?? unixSeconds;
  let current = opts.startedAt;
  const kept = keepHold({
    intervalSeconds: opts.refreshSeconds,
    async refresh() {
      const next = now();
      if (!(await opts.db.refreshLock(opts.jobId, current, next))) return false;
      current = next;
      return true;
    },
    lostError: () => {
      opts.logger.error({ event_type: 'reassembly_lock_lost' }, 'another reassembly took this job over; stopping');
      return new Error(`reassembly lock of job ${opts.jobId} was taken over`);
    },
    onRefreshFailed: (err) => opts.logger.warn({ event_type: 'reassembly_lock_refresh_failed', err }, `could not refresh the reassembly lock: ${(err as Error).message}`),
  });
  return { signal: kept.lost, current: () => current, stop: () => kept.stop() };
}
