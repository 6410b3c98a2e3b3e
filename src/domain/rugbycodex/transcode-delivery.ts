// What one delivery of a transcode message does, decided from the row as it stands (gather
// facts → decide here → act, as the stereo trigger does). The same message can come again
// (complete-upload called twice, SQS redelivery, the reconciler), other workers take from the
// same queue, and complete-upload may have moved the asset back at any moment: whatever the
// interleaving, the job is encoded once and its asset ends as the job says.
import type { CheckedJob, TranscodeAsset } from './transcode-job.js';
import { holderOf, isFresh } from './transcode-hold.js';

/** Where a claim moves the job from; the adapter's conditional write is exactly this. */
export type ClaimFrom =
  | { readonly state: 'queued' }
  /** Taking over a running job, or encoding a succeeded one again: only if started_at is still the one read. */
  | { readonly state: 'running' | 'succeeded'; readonly startedAt: string | null };

export type Delivery =
  /** Nothing to do: the message is acked. */
  | { readonly action: 'ack'; readonly reason: string }
  /** A failed job whose asset was moved back to `uploaded`: say failed again, then ack. */
  | { readonly action: 'refail' }
  /** A succeeded job whose asset is no longer playable: restore it if the output is there, else encode again from `from`. */
  | { readonly action: 'restore'; readonly from: ClaimFrom }
  | { readonly action: 'claim'; readonly from: ClaimFrom; readonly why: string };

/**
 * complete-upload writes `uploaded` after it sends the message, so a restore can land before
 * that write: look again this long after, and restore again, up to RESTORE_ROUNDS times.
 */
export const RESTORE_RECHECK_SECONDS = 5;
export const RESTORE_ROUNDS = 3;

export interface DeliveryFacts {
  readonly job: CheckedJob;
  /** The SQS message id of this delivery. */
  readonly messageId: string;
  readonly nowMs: number;
  readonly staleSeconds?: number;
}

/** The asset as the frontend lists it: playable. */
export function isPlayable(asset: Pick<TranscodeAsset, 'processingStage' | 'status' | 'streamingReady'>): boolean {
  return asset.processingStage === 'complete' && asset.status === 'ready' && asset.streamingReady;
}

export function decideDelivery({ job, messageId, nowMs, staleSeconds }: DeliveryFacts): Delivery {
  switch (job.state) {
    case 'canceled':
      return { action: 'ack', reason: 'the job was canceled' };
    case 'failed':
      return job.asset.processingStage === 'uploaded' ? { action: 'refail' } : { action: 'ack', reason: 'the job already failed' };
    case 'succeeded':
      return isPlayable(job.asset)
        ? { action: 'ack', reason: 'the job already succeeded' }
        : { action: 'restore', from: { state: 'succeeded', startedAt: job.startedAt } };
    case 'queued':
      return { action: 'claim', from: { state: 'queued' }, why: 'queued' };
    case 'running': {
      const holder = holderOf(job.payload);
      const from = { state: 'running', startedAt: job.startedAt } as const;
      // The holder's own message back: it died, or lost its lease to an SQS outage.
      if (holder?.messageId === messageId) return { action: 'claim', from, why: 'its holder is gone (its message came back)' };
      if (isFresh(job.updatedAt, nowMs, staleSeconds)) {
        return { action: 'ack', reason: `another delivery holds it${holder ? ` (${holder.worker})` : ''}; its own message comes back if it stops` };
      }
      return { action: 'claim', from, why: 'its holder stopped refreshing it' };
    }
  }
}
