// The job-status decision (b622b25's job-worker, STEREO-SPOT-MAIN.md §6.3) as one pure
// function, like trigger.ts: the role parses an output-bucket event (output-events.ts),
// reads the facts this module names (jobStatusLookups, jobIdOf), asks, and does what the
// plan says; every write it names is conditional or idempotent, so duplicate events and
// racing workers are harmless.
//
// Upstream (job_status_events.py@b622b25:85-214) and where we differ, by loss mode:
// - final.mp4 / .reassembly-done: upstream writes completed unconditionally, over deleted or
//   failed, again on every duplicate event (a new completed_at, a new Web Push), and creates
//   a mode-less item for an unknown id (L15, L17). Here: completed only over chunking_complete
//   or reassembling, never for a missing job.
// - a segment output: upstream skips it when total_segments is not set yet (L2) and so loses
//   the completion of a segment inferred before chunking ended. Here it is recorded, without a
//   total when there is none; the trigger decision runs after every record (L3: the count is
//   checked again, consistently, whatever the order of events).
// - a SageMaker response: recorded with the row's total (as upstream), but not when the
//   output is known to be missing: the endpoint said success and wrote nothing (L8, the
//   bootstrap stub): the job is failed instead of waiting for ever.
// - a SageMaker failure: found through the row keyed by FailureLocation (ours), or by the
//   OutputLocation SageMaker's naming pairs with it (upstream's rows): the job is marked
//   failed once (L9), unless the segment was completed by another invocation (L17).
// - a deleted job is never written again (no completion, no status): L15. Its objects that
//   arrive late are named as orphans, for a role that may delete them.
import { siblingLocation, type InferenceInvocation } from './inference-invocations.js';
import { segmentOutputUri } from './keys.js';
import type { OutputEvent } from './output-events.js';
import type { SegmentCompletion, StereoJob } from './records.js';
import { isKnownStatus, statusesBefore } from './job-state.js';

export interface JobStatusFacts {
  readonly event: OutputEvent;
  /**
   * For a SageMaker result: the InferenceInvocations row found at jobStatusLookups(event),
   * first hit; null when none. Not used for other events.
   */
  readonly invocation?: InferenceInvocation | null;
  /** The Jobs item of jobIdOf(event, invocation) (a consistent read); null when there is none or no job to read. */
  readonly job: StereoJob | null;
  /**
   * For a SageMaker response: whether the row's output_s3_uri exists. undefined when the
   * task may not look (b622b25's job-worker role has no S3 permission at all).
   */
  readonly outputExists?: boolean;
  /** For a SageMaker failure: whether the segment already has its completion (a Query on SegmentCompletions); undefined when not looked. */
  readonly segmentCompleted?: boolean;
  /** Unix seconds. */
  readonly now: number;
}

export type JobStatusPlan =
  /** Ack and do nothing. `orphan`: a late object of a deleted job, which a role allowed to delete output objects should remove. */
  | { action: 'skip'; reason: string; orphan?: { bucket: string; key: string } }
  /** Write status=completed, completed_at=now conditioned on statusesBefore('completed') (`over`); then ack. */
  | { action: 'complete'; jobId: string; over: readonly string[]; reason: string }
  /**
   * Put the completion (total_segments null: leave the attribute out), delete the
   * InferenceInvocations rows in `forget`, then, when `trigger`, run the trigger decision for
   * the job (trigger.ts) with a fresh consistent read; then ack.
   */
  | { action: 'record'; completion: SegmentCompletion; forget: readonly string[]; trigger: boolean; reason: string }
  /** Write status=failed conditioned on `over` (statusesBefore('failed')), delete the rows in `forget`; then ack. */
  | { action: 'fail'; jobId: string; segmentIndex: number; over: readonly string[]; forget: readonly string[]; reason: string }
  /** Delete the rows in `forget` (a result nothing more comes of); then ack. */
  | { action: 'forget'; forget: readonly string[]; reason: string };

/**
 * The InferenceInvocations keys to read for this event, in order (the first found is the
 * row): a response by its own URI; a failure by its own (our FailureLocation row), then by
 * the OutputLocation SageMaker pairs with it (upstream's only row). [] for other events.
 */
export function jobStatusLookups(event: OutputEvent): string[] {
  if (event.target.kind === 'async-response') return [event.uri];
  if (event.target.kind !== 'async-failure') return [];
  const sibling = siblingLocation(event.uri);
  return sibling === null ? [event.uri] : [event.uri, sibling];
}

/** The job whose item the decision needs: the key's for jobs/… objects, the row's for a SageMaker result, else none. */
export function jobIdOf(event: OutputEvent, invocation: InferenceInvocation | null | undefined): string | null {
  const t = event.target;
  if (t.kind === 'segment-output' || t.kind === 'final' || t.kind === 'reassembly-done') return t.jobId;
  if ((t.kind === 'async-response' || t.kind === 'async-failure') && invocation) return invocation.jobId;
  return null;
}

// Statuses in which a segment's completion is recorded (and the job then checked for reassembly).
const RECORDING = new Set(['created', 'ingesting', 'chunking_in_progress', 'chunking_complete', 'reassembling']);

export function jobStatusDecision(facts: JobStatusFacts): JobStatusPlan {
  const { event } = facts;
  switch (event.target.kind) {
    case 'final':
    case 'reassembly-done':
      return reassembled(facts, event.target.jobId);
    case 'segment-output':
      return segmentOutput(facts, event.target.jobId, event.target.segmentIndex);
    case 'async-response':
      return asyncResponse(facts);
    case 'async-failure':
      return asyncFailure(facts);
    case 'other':
      return skip(`not a job-status event: ${event.target.reason}`);
  }
}

function reassembled(facts: JobStatusFacts, jobId: string): JobStatusPlan {
  const { job, event } = facts;
  const what = event.target.kind === 'final' ? 'final.mp4' : '.reassembly-done';
  if (job === null) return skip(`${what} of job ${jobId}, which has no Jobs item: never create one (L15)`);
  const over = statusesBefore('completed');
  if ((over as readonly string[]).includes(job.status)) return { action: 'complete', jobId, over, reason: `${what} written: the job is complete` };
  if (job.status === 'completed') return skip(`${what} again: the job is completed already, completed_at stays (L17)`);
  if (job.status === 'deleted') return skip(`${what} of a deleted job: never resurrected (L15)`, event);
  return skip(`${what} of a job in status ${JSON.stringify(job.status)}: completed is written only over ${over.join(' or ')}`);
}

function segmentOutput(facts: JobStatusFacts, jobId: string, segmentIndex: number): JobStatusPlan {
  const { job, event, now } = facts;
  if (job === null) return skip(`segment ${segmentIndex} of job ${jobId}, which has no Jobs item`);
  const refused = notRecordable(job, event, `segment ${segmentIndex}`);
  if (refused) return refused;
  const total = job.totalSegments;
  if (total !== null && segmentIndex >= total) return skip(`segment ${segmentIndex} is not below the job's total_segments ${total}: not one of its segments`);
  return {
    action: 'record',
    completion: { jobId, segmentIndex, outputS3Uri: event.uri, completedAt: now, totalSegments: total },
    forget: [],
    trigger: job.status !== 'failed',
    reason: total === null
      ? `segment ${segmentIndex} written before chunking recorded its total: recorded without one (upstream drops it, L2)`
      : `segment ${segmentIndex} of ${total} written`,
  };
}

function asyncResponse(facts: JobStatusFacts): JobStatusPlan {
  const { invocation, job, event, now } = facts;
  if (!invocation) return skip('SageMaker response without an invocation row (not written yet, expired, or another deployment\'s): the segment output\'s own event records the completion');
  const forget = rowsOf(event, invocation);
  const { jobId, segmentIndex } = invocation;
  const which = `segment ${segmentIndex} of job ${jobId}`;
  if (job === null) return { action: 'forget', forget, reason: `SageMaker response for ${which}, which has no Jobs item` };
  if (job.status === 'deleted') return { action: 'forget', forget, reason: `SageMaker response for ${which}, a deleted job: nothing recorded (L15)` };
  if (job.status === 'completed') return { action: 'forget', forget, reason: `SageMaker response for ${which}, a completed job` };
  if (!isKnownStatus(job.status)) return skip(`SageMaker response for ${which}, a job in status ${JSON.stringify(job.status)}: left alone`);
  if (job.totalSegments !== null && job.totalSegments !== invocation.totalSegments) {
    return { action: 'forget', forget, reason: `SageMaker response for ${which} of an earlier chunking (${invocation.totalSegments} segments, now ${job.totalSegments})` };
  }
  const outputS3Uri = invocation.outputS3Uri !== '' ? invocation.outputS3Uri : segmentOutputUri(event.bucket, jobId, segmentIndex);
  if (facts.outputExists === false) {
    if (job.status === 'failed') return { action: 'forget', forget, reason: `SageMaker reported success for ${which} without writing ${outputS3Uri}; the job is failed already` };
    return {
      action: 'fail', jobId, segmentIndex, over: statusesBefore('failed'), forget,
      reason: `SageMaker reported success for ${which} but ${outputS3Uri} does not exist: the endpoint wrote no output (L8)`,
    };
  }
  return {
    action: 'record',
    completion: { jobId, segmentIndex, outputS3Uri, completedAt: now, totalSegments: invocation.totalSegments },
    forget,
    trigger: job.status !== 'failed',
    reason: `SageMaker response for ${which}${facts.outputExists === true ? ', output present' : ''}: recorded with the row's total (L3)`,
  };
}

function asyncFailure(facts: JobStatusFacts): JobStatusPlan {
  const { invocation, job, event } = facts;
  if (!invocation) {
    return skip('SageMaker failure without an invocation row under its FailureLocation or the OutputLocation paired with it (expired, or another deployment\'s): nothing to correlate it with');
  }
  const forget = rowsOf(event, invocation);
  const { jobId, segmentIndex } = invocation;
  const which = `segment ${segmentIndex} of job ${jobId}`;
  if (job === null) return { action: 'forget', forget, reason: `SageMaker failure for ${which}, which has no Jobs item` };
  if (job.status === 'deleted' || job.status === 'completed') return { action: 'forget', forget, reason: `SageMaker failure for ${which}, a ${job.status} job: left ${job.status} (L15)` };
  if (job.status === 'failed') return { action: 'forget', forget, reason: `SageMaker failure for ${which}: the job is failed already (marked once)` };
  if (!isKnownStatus(job.status)) return skip(`SageMaker failure for ${which}, a job in status ${JSON.stringify(job.status)}: left alone`);
  if (facts.segmentCompleted === true) return { action: 'forget', forget, reason: `SageMaker failure for ${which}, whose completion another invocation recorded (a redelivered segment, L17)` };
  if (job.totalSegments !== null && job.totalSegments !== invocation.totalSegments) {
    return { action: 'forget', forget, reason: `SageMaker failure for ${which} of an earlier chunking (${invocation.totalSegments} segments, now ${job.totalSegments})` };
  }
  return {
    action: 'fail', jobId, segmentIndex, over: statusesBefore('failed'), forget,
    reason: `SageMaker async inference failed for ${which} (failure object ${event.uri}) (L9)`,
  };
}

/** A job a completion may not be written for: deleted (L15), completed, or a status we do not know. Null when it may. */
function notRecordable(job: StereoJob, event: OutputEvent, what: string): JobStatusPlan | null {
  if (job.status === 'deleted') return skip(`${what} of a deleted job: no completion, never resurrected (L15)`, event);
  if (job.status === 'completed') return skip(`${what} of a completed job: nothing to record`);
  if (job.status === 'failed') return null;
  if (!RECORDING.has(job.status)) return skip(`${what} of a job in status ${JSON.stringify(job.status)}: left alone`);
  return null;
}

/** The rows a handled result leaves behind: the event's own key, the row's, and their SageMaker pair. */
function rowsOf(event: OutputEvent, invocation: InferenceInvocation): string[] {
  const keys = [event.uri, invocation.outputLocation, siblingLocation(event.uri), siblingLocation(invocation.outputLocation)];
  return [...new Set(keys.filter((k): k is string => k !== null))].sort();
}

function skip(reason: string, orphanOf?: OutputEvent): JobStatusPlan {
  return orphanOf ? { action: 'skip', reason, orphan: { bucket: orphanOf.bucket, key: orphanOf.key } } : { action: 'skip', reason };
}
