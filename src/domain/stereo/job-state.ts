// The stereo Job lifecycle (STEREO-SPOT.md "Resources" and "What each step does", DESIGN
// §4): the only place that decides which status writes are legal (the PipelineDb adapters
// turn `statusesBefore` into conditional updates) and what each step does with a job in a
// given status.
//
// We write created → chunking_in_progress → chunking_complete → completed, and failed.
// Newer stereo-spot deployments (its main after ecba15e, whose web UI reads the same table)
// also use ingesting (a URL ingest: created → ingesting → created once the source is
// uploaded), reassembling (its trigger's mark after sending the reassembly message) and
// deleted (a soft delete: the item stays, the objects go). We read those, never write them.
import { WRITABLE_STATUSES, type FOREIGN_STATUSES, type WritableStatus } from './records.js';

export type ForeignStatus = (typeof FOREIGN_STATUSES)[number];
export type KnownStatus = WritableStatus | ForeignStatus;

/** Every status a Jobs item may hold, in lifecycle order (the newer upstream enum's order). */
export const KNOWN_STATUSES: readonly KnownStatus[] = [
  'created', 'ingesting', 'chunking_in_progress', 'chunking_complete', 'reassembling', 'completed', 'failed', 'deleted',
];

const NEXT: Readonly<Record<KnownStatus, readonly WritableStatus[]>> = {
  created: ['chunking_in_progress', 'failed'],
  // The ingester owns the job until it puts it back to created.
  ingesting: [],
  // → itself: a redelivered chunking message after the worker died mid-split. Upstream
  // also writes chunking_in_progress → created when the source download fails; we do not
  // need to, since a redelivery may start from chunking_in_progress.
  chunking_in_progress: ['chunking_in_progress', 'chunking_complete', 'failed'],
  chunking_complete: ['completed', 'failed'],
  // A newer trigger's mark: the reassembly it asked for finishes it like any other.
  reassembling: ['completed', 'failed'],
  completed: [],
  failed: [],
  deleted: [],
};

export function isKnownStatus(status: unknown): status is KnownStatus {
  return typeof status === 'string' && Object.hasOwn(NEXT, status);
}

export function isWritableStatus(status: unknown): status is WritableStatus {
  return typeof status === 'string' && (WRITABLE_STATUSES as readonly string[]).includes(status);
}

/** Nothing more happens to the job: completed, failed, deleted. */
export function isTerminal(status: string): boolean {
  return status === 'completed' || status === 'failed' || status === 'deleted';
}

/** Whether we may write `to` over `from`. `to` must be a status we write; an unknown `from` allows nothing. */
export function canBecome(from: string, to: string): boolean {
  if (!isKnownStatus(from) || !isWritableStatus(to)) return false;
  return NEXT[from].includes(to);
}

/** The statuses a write of `to` is conditioned on (`status IN (…)`), lifecycle order. [] for created: we never write it. */
export function statusesBefore(to: WritableStatus): KnownStatus[] {
  return KNOWN_STATUSES.filter((from) => canBecome(from, to));
}

/**
 * What each step does with the job it found. `status` is the Jobs item's status, or null
 * when there is no item. All acks and releases are the role's; these only name the case:
 * - start / process: do the work.
 * - done: the work is already done (or further on): ack, nothing to do.
 * - skip: a status this step must not touch (terminal, or owned by someone else, or one
 *   we do not know): ack and leave the item as it is.
 * - retry: not yet: release the message for a later delivery (the queue's redrive policy
 *   dead-letters it after maxReceiveCount).
 */
export type ChunkDecision = 'start' | 'done' | 'skip' | 'retry';
export type SegmentDecision = 'process' | 'skip' | 'retry';
export type ReassemblyDecision = 'start' | 'done' | 'skip' | 'retry';

/**
 * A chunking event (source uploaded). Upstream chunks in created and chunking_in_progress
 * and acks anything else; we add:
 * - no job: retry (STEREO-SPOT.md: "a missing job: retry, then DLQ"; never create one).
 * - ingesting: retry. A newer ingester uploads the source and only then writes created, so
 *   the upload's event can arrive first; acked, that job would never be chunked.
 * - failed, deleted, unknown: skip. failed is terminal (a chunking we marked failed, or a
 *   failed ingest); a deleted job's objects are being removed; a status we do not know is
 *   left to whoever wrote it.
 */
export function chunkDecision(status: string | null): ChunkDecision {
  switch (status) {
    case null: return 'retry';
    case 'created':
    case 'chunking_in_progress': return 'start';
    case 'ingesting': return 'retry';
    case 'chunking_complete':
    case 'reassembling':
    case 'completed': return 'done';
    default: return 'skip';
  }
}

/**
 * A segment event. Upstream's video-worker never reads the job; we skip (ack, no
 * inference) a segment whose job is failed, completed or deleted (the issue: no work for a
 * dead job), and also reassembling: a newer trigger sets it only once every segment is
 * complete, so this is a redelivery, and re-running inference would rewrite an output the
 * reassembly may be reading. A status we do not know: skip. No job: retry then DLQ, as for
 * chunking (a segment is only made for an existing job; never create one).
 */
export function segmentDecision(status: string | null): SegmentDecision {
  switch (status) {
    case null: return 'retry';
    case 'created':
    case 'ingesting':
    case 'chunking_in_progress':
    case 'chunking_complete': return 'process';
    default: return 'skip';
  }
}

/**
 * A reassembly message. chunking_complete is the normal case; reassembling too (a newer
 * trigger marks the job so after sending). completed: done (upstream acks it too). failed,
 * deleted, unknown: skip. No job: retry (upstream: not acked, so retried, then DLQ).
 * created, ingesting, chunking_in_progress: retry: the job is being (re)chunked after the
 * message was sent, its completions will change; a later delivery finds it
 * chunking_complete. A role that took the lock before reading the job releases it
 * (removes reassembly_started_at) before a retry or skip, or the job is lost (lost-job 3).
 */
export function reassemblyDecision(status: string | null): ReassemblyDecision {
  switch (status) {
    case null: return 'retry';
    case 'chunking_complete':
    case 'reassembling': return 'start';
    case 'completed': return 'done';
    case 'created':
    case 'ingesting':
    case 'chunking_in_progress': return 'retry';
    default: return 'skip';
  }
}
