// The transcode reconciler (issue 18 item 6), run by every transcode worker: a job whose
// message is lost gets it again (src/domain/rugbycodex/transcode-requeue.ts decides which). Every
// worker of the fleet runs it; the conditional markRequeued lets one of them send per job
// and period. A duplicate is harmless: the delivery decision acks it.
import type { Logger } from 'pino';
import type { MediaDb, Queue, RequeueCandidate } from '../../src/ports/index.js';
import type { Metrics } from '../../src/runtime/metrics.js';
import { requeueAction, type RequeueLimits } from '../../src/domain/rugbycodex/transcode-requeue.js';
import { transcodeMessageBody } from '../../src/domain/rugbycodex/transcode-message.js';
import { isAccessDenied } from '../../src/domain/aws-error-codes.js';
import { permissionName, permissionNeed } from '../../src/domain/sqs-permissions.js';

/** Jobs of each kind looked at per pass; the rest wait for the next one. */
const PER_PASS = 100;

/** Metric name (without METRIC_PREFIX), label `reason` (queued, orphaned). */
export const TRANSCODE_REQUEUED = 'transcode_requeued_total';

export interface Requeuer {
  /** One pass; false when it met trouble (the database or the queue). */
  pass(): Promise<boolean>;
}

export function createRequeuer(opts: { db: MediaDb; queue: Queue; limits: () => RequeueLimits; logger: Logger; metrics: Metrics; now?: () => number }): Requeuer {
  const { db, queue, logger } = opts;
  const now = opts.now ?? Date.now;
  const sent = opts.metrics.counter(TRANSCODE_REQUEUED, 'Transcode messages sent again by the reconciler: queued (never sent, or lost) or orphaned (running, its worker gone)', ['reason']);
  for (const reason of ['queued', 'orphaned']) sent.inc({ reason }, 0);
  let refused = false;

  async function requeue(job: RequeueCandidate, action: 'resend' | 'reset', at: string): Promise<void> {
    // One reconciler of the fleet takes it; the others see updated_at moved and skip.
    if (!(await db.markRequeued(job, at))) return;
    const reason = action === 'resend' ? 'queued' : 'orphaned';
    try {
      await queue.send(transcodeMessageBody({ jobId: job.jobId, mediaId: job.mediaId, orgId: job.orgId }));
    } catch (err) {
      if (!isAccessDenied(err)) throw err;
      refused = true;
      const permission = permissionName('SendMessage', queue.name);
      logger.warn({ event_type: 'transcode_requeue_refused', queue: queue.name, permission, err },
        `${permission} refused: the reconciler stops; ${permissionNeed('SendMessage', 'queue').cost}`);
      return;
    }
    sent.inc({ reason });
    logger.info({ event_type: 'transcode_requeued', job_id: job.jobId, reason, state: job.state, last_change: job.updatedAt },
      `transcode job ${job.jobId} ${reason === 'queued' ? `still queued since ${job.updatedAt}` : `running with no sign of its worker since ${job.updatedAt}`}: its message was sent again`);
  }

  return {
    async pass() {
      if (refused) return true;
      const t = now();
      const limits = opts.limits();
      const before = (seconds: number) => new Date(t - seconds * 1000).toISOString();
      try {
        const candidates = await db.requeueCandidates({ queuedBefore: before(limits.queuedSeconds), runningBefore: before(limits.orphanSeconds), limit: PER_PASS });
        for (const job of candidates) {
          const action = requeueAction(job, t, limits);
          if (action !== null && !refused) await requeue(job, action, new Date(t).toISOString());
        }
        return true;
      } catch (err) {
        logger.warn({ event_type: 'transcode_requeue_failed', err }, `transcode reconciler pass failed: ${(err as Error).message}`);
        return false;
      }
    },
  };
}
