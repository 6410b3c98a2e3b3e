// The reassembly trigger as one pure decision (DESIGN §1, STEREO-SPOT.md "trigger"), used
// inline after a SegmentCompletion and after chunking_complete, by the `--role trigger`
// reconciler, and by the Lambda handler on SegmentCompletions stream batches. The caller
// reads the job, the completion count, the lock (and, when it can, whether final.mp4
// exists), asks, and does what the answer says; every action is idempotent through a
// conditional write, so callers may race.
//
// Upstream's Lambda (stereo-spot ecba15e, reassembly-trigger/handler.py) triggers when the
// job is chunking_complete, total_segments ≥ 1 and the completion count equals
// total_segments, and a lock stands for ever after. Beyond that we heal the lost jobs of
// STEREO-SPOT.md: 2 (the send failed after the put: `resend`), 3 (the reassembly died after
// taking the lock: `reset`), and a final.mp4 left by a reassembly that died before its last
// write (`complete`).
//
// In the b622b25 topology the trigger marks the job reassembling after its send (upstream's
// reassembly_trigger.py@b622b25:66-75; ours conditioned on chunking_complete). A reassembling
// job is decided like a chunking_complete one: a lost message is resent (L6), a dead
// reassembly reset (L7), final.mp4 completes it (its job-status events may never come, L1),
// and a job whose lock is gone (reset, or expired) is triggered again. upstream's reassembling
// job stays at 85 % for ever in each of those cases.
import type { ReassemblyLock, StereoJob } from './records.js';

/** A lock with no reassembly_started_at this long after triggered_at lost its message (lost-job 2). */
export const DEFAULT_SEND_GRACE_SECONDS = 60;
/** REASSEMBLY_STALE_SECONDS: a reassembly started this long ago with no final.mp4 died (lost-job 3). */
export const DEFAULT_REASSEMBLY_STALE_SECONDS = 1800;

export interface TriggerInput {
  /** The Jobs item (strongly consistent read), null when there is none. */
  job: StereoJob | null;
  /**
   * SegmentCompletions of the job, every page counted. Count only indices below
   * total_segments where the caller has them (countCurrentCompletions); a raw count is
   * what upstream uses.
   */
  completions: number;
  /** The ReassemblyTriggered item, null when there is none. */
  lock: ReassemblyLock | null;
  /** Unix seconds. */
  now: number;
  sendGraceSeconds?: number;
  staleSeconds?: number;
  /**
   * Whether jobs/{job_id}/final.mp4 exists; undefined when the caller did not look (the
   * inline fast path). Only `complete` and `reset` depend on it: without it neither is
   * chosen. The reconciler looks for every chunking_complete job it checks.
   */
  finalExists?: boolean;
}

export type TriggerDecision =
  /** Nothing to do now; the reason says why (for the log). */
  | { action: 'none'; reason: string }
  /** Put the lock (condition attribute_not_exists(job_id)); only if that put succeeded, send {"job_id"}. */
  | { action: 'trigger'; reason: string }
  /**
   * The lock stands, untaken, past the grace: its message was never sent or was lost.
   * Send {"job_id"} again and leave the lock (a duplicate message is harmless: only one
   * delivery can take the lock). To send at most once per grace period, the caller may
   * move triggered_at to now first, conditioned on triggered_at = `triggeredAt` and no
   * reassembly_started_at (never on triggered_at alone: a reassembly may take the lock
   * in between, and deleting or replacing a taken lock starts a second reassembly).
   */
  | { action: 'resend'; reason: string; triggeredAt: number }
  /**
   * The reassembly that took the lock `staleSeconds` ago is dead and left no final.mp4.
   * Remove the lock, conditioned on triggered_at = `triggeredAt` AND reassembly_started_at
   * = `reassemblyStartedAt` (a reassembly still alive and refreshing its start keeps it),
   * then decide again: the answer is `trigger`. staleSeconds must exceed the longest
   * reassembly, or the reassembly must refresh reassembly_started_at as it goes.
   */
  | { action: 'reset'; reason: string; triggeredAt: number; reassemblyStartedAt: number }
  /**
   * final.mp4 exists but the job is still chunking_complete: a reassembly uploaded it and
   * died before its status write, and its redelivery finds the lock taken and acks, so no
   * one else will ever finish the job. Write status=completed, completed_at=now
   * (conditioned on statusesBefore('completed')). Reassemble does the same when its
   * message finds final.mp4 (upstream's rule: final.mp4 present ⇒ done), and a lost race
   * between the two is a harmless conditional failure.
   */
  | { action: 'complete'; reason: string };

export function triggerDecision(input: TriggerInput): TriggerDecision {
  const { job, completions, lock, now } = input;
  const grace = input.sendGraceSeconds ?? DEFAULT_SEND_GRACE_SECONDS;
  const stale = input.staleSeconds ?? DEFAULT_REASSEMBLY_STALE_SECONDS;
  if (job === null) return none('no such job');
  if (job.status === 'completed') return none('job already completed');
  if (job.status !== 'chunking_complete' && job.status !== 'reassembling') return none(`job status is ${JSON.stringify(job.status)}, not chunking_complete or reassembling`);
  // Upstream validates the item as a Job first: one without a valid mode is not triggered.
  if (job.mode === null) return none('job item has no valid mode');
  const total = job.totalSegments;
  if (total === null || !Number.isInteger(total) || total < 1) return none(`job total_segments is ${String(total)}, not a count ≥ 1`);

  if (input.finalExists === true) return { action: 'complete', reason: `final.mp4 exists but the job is ${job.status}: a reassembly died before marking it completed` };

  if (completions < total) return none(`waiting for segments: ${completions} of ${total} complete`);
  // More completions than segments: completions of an earlier chunking with more segments
  // (a re-chunk) are still in the table. The count then proves nothing about the current
  // segments, so we do not trigger; upstream does not either (it needs count == total).
  // The repair is by hand: delete the job's stale completions, then re-chunk (upstream's
  // runbook has no step for it, and neither has `jobs recover-chunking`).
  if (completions > total) return none(`${completions} completions for ${total} segments: stale completions of an earlier chunking; clear them and re-chunk`);

  if (lock === null) return { action: 'trigger', reason: `all ${total} segments complete` };

  if (lock.reassemblyStartedAt === null) {
    const waited = now - lock.triggeredAt;
    if (waited > grace) {
      return { action: 'resend', reason: `lock untaken ${waited} s after the trigger (grace ${grace} s): the reassembly message was lost`, triggeredAt: lock.triggeredAt };
    }
    return none(`reassembly triggered ${waited} s ago, message not yet taken`);
  }

  const running = now - lock.reassemblyStartedAt;
  if (running <= stale) return none(`reassembly started ${running} s ago`);
  if (input.finalExists === false) {
    return {
      action: 'reset',
      reason: `reassembly started ${running} s ago (stale after ${stale} s) and left no final.mp4`,
      triggeredAt: lock.triggeredAt,
      reassemblyStartedAt: lock.reassemblyStartedAt,
    };
  }
  return none(`reassembly started ${running} s ago (stale after ${stale} s); final.mp4 not checked`);
}

function none(reason: string): TriggerDecision {
  return { action: 'none', reason };
}

/** Distinct completed indices below `totalSegments`: completions of the current chunking only. */
export function countCurrentCompletions(segmentIndices: Iterable<number>, totalSegments: number): number {
  const seen = new Set<number>();
  for (const i of segmentIndices) if (Number.isInteger(i) && i >= 0 && i < totalSegments) seen.add(i);
  return seen.size;
}

/**
 * The distinct job ids of a DynamoDB Streams batch on SegmentCompletions (Records[].dynamodb
 * .Keys.job_id.S, any event name), first-seen order. Upstream also takes an empty id (whose
 * GetItem then fails the whole batch on every retry) and raises on a record that is not an
 * object; both are skipped here.
 */
export function jobIdsFromStreamEvent(event: unknown): string[] {
  const records = isRecord(event) ? event['Records'] : undefined;
  if (!Array.isArray(records)) return [];
  const ids = new Set<string>();
  for (const record of records) {
    const dynamodb = isRecord(record) ? record['dynamodb'] : undefined;
    const keys = isRecord(dynamodb) ? dynamodb['Keys'] : undefined;
    const jobId = isRecord(keys) ? keys['job_id'] : undefined;
    const s = isRecord(jobId) ? jobId['S'] : undefined;
    if (typeof s === 'string' && s !== '') ids.add(s);
  }
  return [...ids];
}

export interface LambdaResult {
  statusCode: 200;
  body: string;
}

/**
 * What the trigger Lambda returns: `{"statusCode": 200, "body": "{\"processed_job_ids\": [...]}"}`,
 * the body byte for byte Python's json.dumps (", " and ": " separators, non-ASCII escaped
 * as \uXXXX), as upstream's handler returns it.
 */
export function lambdaResult(processedJobIds: readonly string[]): LambdaResult {
  return { statusCode: 200, body: `{"processed_job_ids": [${processedJobIds.map(pythonJsonString).join(', ')}]}` };
}

/** A string as Python's json.dumps writes it with ensure_ascii (the default). */
export function pythonJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i] as string;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    // Printable ASCII stays; anything else (control, DEL, non-ASCII, each UTF-16 unit of
    // an astral character, which is exactly Python's surrogate-pair escape) is \uXXXX.
    else if (c >= 0x20 && c <= 0x7e) out += ch;
    else out += `\\u${c.toString(16).padStart(4, '0')}`;
  }
  return `${out}"`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
