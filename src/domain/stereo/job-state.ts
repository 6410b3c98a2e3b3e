// The stereo Job lifecycle (STEREO-SPOT.md "Resources" and "What each step does",
// STEREO-SPOT-MAIN.md §5, DESIGN §4): the only place that decides which status writes are
// legal (the PipelineDb adapters turn `statusesBefore` into conditional updates) and what
// each step does with a job in a given status.
//
// Both versions: created → chunking_in_progress → chunking_complete → completed, and failed.
// stereo-spot's main (b622b25, the split topology) adds ingesting (a URL ingest: created →
// ingesting → created once the source is uploaded, or failed), reassembling (its trigger's
// mark after sending the reassembly message) and deleted (the web UI's soft delete: the
// item stays, the objects go). Workers never write deleted. In the ecba15e topology nothing
// writes ingesting or reassembling (no ingest role runs there, and its web UI predates them).
import { WRITABLE_STATUSES, type FOREIGN_STATUSES, type WritableStatus } from './records.js';
import type { StereoTopology } from './topology.js';

export type ForeignStatus = (typeof FOREIGN_STATUSES)[number];
export type KnownStatus = WritableStatus | ForeignStatus;

/** Every status a Jobs item may hold, in lifecycle order (the newer upstream enum's order). */
export const KNOWN_STATUSES: readonly KnownStatus[] = [
  'created', 'ingesting', 'chunking_in_progress', 'chunking_complete', 'reassembling', 'completed', 'failed', 'deleted',
];

export interface StatusWrite {
  /**
   * The statuses it may be written over, lifecycle order: the write's ConditionExpression
   * (`status IN (…)`, and the item must exist). Upstream writes every status unconditionally
   * (STEREO-SPOT-MAIN.md §5, loss mode L15); this is the drop-in column of that table.
   */
  readonly over: readonly KnownStatus[];
  /** The topologies in which a worker of ours writes it. */
  readonly topologies: readonly StereoTopology[];
  /** Who writes it, and why over those. */
  readonly why: string;
}

const BOTH: readonly StereoTopology[] = ['ecba15e', 'b622b25'];
const SPLIT: readonly StereoTopology[] = ['b622b25'];

/** Every status a worker writes and what it may be written over (§5's drop-in column, one row per status). deleted has none: never written. */
export const STATUS_WRITES: Readonly<Record<WritableStatus, StatusWrite>> = {
  created: { over: ['ingesting'], topologies: SPLIT, why: 'ingest, once the source is uploaded (with title, uploaded_at, source_file_size_bytes); the web UI creates the item, we never do' },
  ingesting: { over: ['created'], topologies: SPLIT, why: 'ingest takes a created job (upstream checks created before its write, ingest.py:262-277)' },
  // → itself: a redelivered chunking message after the worker died mid-split. Upstream
  // also writes chunking_in_progress → created when the source download fails; we do not
  // need to, since a redelivery may start from chunking_in_progress.
  chunking_in_progress: { over: ['created', 'chunking_in_progress'], topologies: BOTH, why: 'chunk starts or restarts the split' },
  chunking_complete: { over: ['chunking_in_progress'], topologies: BOTH, why: 'chunk, one update with total_segments, only over its own chunking_in_progress (never over failed or deleted, L15)' },
  reassembling: { over: ['chunking_complete'], topologies: SPLIT, why: 'the trigger, after sending the reassembly message (upstream overwrites anything, L15)' },
  // A newer trigger's mark: the reassembly it asked for finishes it like any other.
  completed: { over: ['chunking_complete', 'reassembling'], topologies: BOTH, why: 'reassemble, or job-status on final.mp4 / .reassembly-done; never over completed again (completed_at is written once: it feeds the ETA) nor over failed or deleted (L15)' },
  // Not over failed either: a job is marked failed once (one Web Push, one count).
  failed: { over: ['created', 'ingesting', 'chunking_in_progress', 'chunking_complete', 'reassembling'], topologies: BOTH, why: 'a permanent error of any step (ingest over its own ingesting); never over completed or deleted' },
};

export function isKnownStatus(status: unknown): status is KnownStatus {
  return typeof status === 'string' && (KNOWN_STATUSES as readonly string[]).includes(status);
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
  return STATUS_WRITES[to].over.includes(from);
}

/** The statuses a write of `to` is conditioned on (`status IN (…)`), lifecycle order. */
export function statusesBefore(to: WritableStatus): KnownStatus[] {
  return [...STATUS_WRITES[to].over];
}

/** Whether a worker of `topology` writes `status` at all (ecba15e's never write ingesting, created or reassembling). */
export function writesStatus(topology: StereoTopology, status: WritableStatus): boolean {
  return STATUS_WRITES[status].topologies.includes(topology);
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

export type IngestDecision = 'start' | 'resume' | 'skip';

/**
 * An ingest message (b622b25: `{"source_type":"youtube","job_id","source_url"}`). Upstream
 * ingests a created job and acks anything else, a missing job included (ingest.py:258-264).
 * - created: start: write ingesting (over created), download, upload, write created.
 * - ingesting: resume: an ingest that died mid-download left the job ingesting and its
 *   message came back after the queue's visibility (1200 s); upstream acks that redelivery and
 *   the job stays ingesting for ever (L14). Download again without writing ingesting again. A
 *   slow ingest still alive races it harmlessly: same source key, and only one of the two
 *   final writes of created (over ingesting) succeeds.
 * - no job, or any other status: skip (ack): nothing to ingest into, or the source is there.
 */
export function ingestDecision(status: string | null): IngestDecision {
  if (status === 'created') return 'start';
  if (status === 'ingesting') return 'resume';
  return 'skip';
}
