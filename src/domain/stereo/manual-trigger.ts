// Seed 002 runbook 3 step 4 (the manual reassembly trigger) as one pure decision: whether
// `jobs trigger-reassembly` may put the lock and send {"job_id"}, which lock it first
// deletes with --reset-lock, and what the operator should know before it does.
import type { ReassemblyLock, StereoJob } from './records.js';
import { reassemblyDecision } from './job-state.js';
import { describeLock, lockState } from './lock-state.js';

export interface ManualTriggerInput {
  jobId: string;
  job: StereoJob | null;
  /** SegmentCompletions of the job, every page. */
  completions: number;
  lock: ReassemblyLock | null;
  resetLock: boolean;
  /** Unix seconds. */
  now: number;
  /** A lock whose reassembly was heard of more recently than this may still be running. */
  takeoverSeconds: number;
}

export type ManualTriggerPlan =
  | { ok: false; reason: string }
  /** Delete `deleteLock` first (only that lock: conditioned on its triggered_at), then put a new one and send. */
  | { ok: true; deleteLock: ReassemblyLock | null; warnings: string[] };

export function planManualTrigger(input: ManualTriggerInput): ManualTriggerPlan {
  const { jobId, job, completions, lock, resetLock, now } = input;
  if (job === null) return { ok: false, reason: `no job ${jobId} in the Jobs table` };
  switch (reassemblyDecision(job.status)) {
    case 'start': break;
    case 'done': return { ok: false, reason: `job ${jobId} is already ${job.status}: nothing to reassemble` };
    case 'retry': return { ok: false, reason: `job ${jobId} is ${job.status}, not chunking_complete: a reassembly would only wait for it (jobs diagnose says why; jobs recover-chunking records a chunking that stopped)` };
    case 'skip': return { ok: false, reason: `job ${jobId} is ${job.status}: a reassembly would skip it` };
  }
  const state = lockState(lock, now);
  if (lock !== null && !resetLock) {
    return { ok: false, reason: `a reassembly lock stands for job ${jobId}: ${describeLock(state)}; nothing sent (pass --reset-lock to delete it first, the stale-lock repair)` };
  }
  const warnings: string[] = [];
  const total = job.totalSegments;
  if (total !== null && completions < total) warnings.push(`only ${completions} of ${total} segments are complete: the reassembly will wait (retried) until all are`);
  if (total !== null && completions > total) warnings.push(`${completions} completions for ${total} segments: stale completions of an earlier chunking are still recorded`);
  if (state.state === 'started' && state.secondsAgo <= input.takeoverSeconds) {
    warnings.push(`the lock's reassembly was heard of ${state.secondsAgo} s ago and may still be running: if it is, two reassemblies now run (each writes the same final.mp4)`);
  }
  if (resetLock && lock === null) warnings.push('--reset-lock: no lock stood, nothing to delete');
  return { ok: true, deleteLock: lock, warnings };
}
