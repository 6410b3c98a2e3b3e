// The transcode reconciler's decision (issue 18 item 6): a job whose message is lost is sent
// again. Lost means: `queued` for longer than complete-upload could still be about to send it
// (SQS was down when complete-upload ran), or `running` with its holder gone for longer than
// any of its messages could still be in flight (a worker killed on the last receive leaves
// no `failed` write and its message in the DLQ). A second message is harmless: the delivery
// decision acks a duplicate of a held or finished job.
import { isFresh } from './transcode-hold.js';
import { LARGEST_INITIAL_TIMEOUT_SECONDS } from './lease-timeouts.js';

export interface RequeueCandidate {
  readonly jobId: string;
  readonly mediaId: string;
  readonly orgId: string;
  readonly state: 'queued' | 'running';
  readonly updatedAt: string;
  readonly startedAt: string | null;
}

export interface RequeueLimits {
  /** TRANSCODE_REQUEUE_MINUTES, in seconds. */
  readonly queuedSeconds: number;
  readonly orphanSeconds: number;
}

/** resend: send the message again (queued); reset: back to queued, then send (running, holder gone). */
export type RequeueAction = 'resend' | 'reset' | null;

export function requeueAction(job: RequeueCandidate, nowMs: number, limits: RequeueLimits): RequeueAction {
  if (job.state === 'queued') return isFresh(job.updatedAt, nowMs, limits.queuedSeconds) ? null : 'resend';
  return isFresh(job.updatedAt, nowMs, limits.orphanSeconds) ? null : 'reset';
}

/**
 * How long a running job's holder must have been silent before no message of it can be in
 * flight: every receive may hold a message for the longest of the receive's visibility and
 * the lease the worker sized from the video, and the queue gives it maxReceiveCount receives.
 */
export function orphanSeconds(opts: { visibilitySeconds: number; extensionSeconds: number; maxReceiveCount: number | null }): number {
  const perReceive = Math.max(opts.visibilitySeconds, opts.extensionSeconds, LARGEST_INITIAL_TIMEOUT_SECONDS);
  return perReceive * Math.max(1, opts.maxReceiveCount ?? 1);
}
