// Seed 002 runbook 1 (chunking failure recovery) as one pure decision: from the Jobs item and
// the keys listed under segments/{job_id}/, the total_segments to record with
// chunking_complete, or why not. Upstream's scripts/chunking_recovery.py takes the first
// parseable key's total and warns when another key disagrees; here the total most keys give
// wins (the first key's on a tie, as upstream), and every key that disagrees, does not parse,
// or leaves a hole in 0…total-1 is named, since each of those means the recorded count may
// not be what the reassembly will find.
import type { StereoJob } from './records.js';
import { parseSegmentKey, segmentsPrefix } from './keys.js';
import { statusesBefore } from './job-state.js';

/**
 * Where an interrupted chunking leaves a job: chunking_in_progress (our chunk and upstream's
 * write it before the first upload), or created (upstream puts a job back there when the
 * source download fails, with the segments of an earlier attempt still in the bucket).
 */
export const RECOVERABLE_STATUSES: readonly string[] = ['created', ...statusesBefore('chunking_complete')];

/** At most this many keys are named per kind of warning; the rest are counted. */
const NAMED = 10;

export interface ChunkingRecoveryInput {
  jobId: string;
  /** The Jobs item, null when there is none. */
  job: StereoJob | null;
  /** Every key listed under segmentsPrefix(jobId), in listing order. */
  keys: readonly string[];
  /** The input bucket (for the parser's segment URI). */
  bucket: string;
}

export type ChunkingRecoveryPlan =
  | { ok: true; totalSegments: number; segments: number; warnings: string[] }
  | { ok: false; reason: string; warnings: string[] };

export function planChunkingRecovery(input: ChunkingRecoveryInput): ChunkingRecoveryPlan {
  const { jobId, job, keys, bucket } = input;
  const where = `s3://${bucket}/${segmentsPrefix(jobId)}`;
  if (job === null) return { ok: false, reason: `no job ${jobId} in the Jobs table`, warnings: [] };
  if (job.status === 'chunking_complete' || job.status === 'completed') {
    return { ok: false, reason: `job ${jobId} is already ${job.status}; refusing to overwrite it`, warnings: [] };
  }
  if (!RECOVERABLE_STATUSES.includes(job.status)) {
    return { ok: false, reason: `job ${jobId} is ${job.status}; only a job chunking left in ${RECOVERABLE_STATUSES.join(' or ')} is recovered`, warnings: [] };
  }

  const warnings: string[] = [];
  const unparsed: string[] = [];
  const parsed: Array<{ key: string; index: number; total: number; mode: string }> = [];
  for (const key of keys) {
    const p = parseSegmentKey(bucket, key);
    if (!p.ok) unparsed.push(`${key} (${p.reason})`);
    // The prefix also lists the segments of job "{job_id}/…": another job's, not a problem.
    else if (p.payload.jobId === jobId) parsed.push({ key, index: p.payload.segmentIndex, total: p.payload.totalSegments, mode: p.payload.mode });
  }
  if (unparsed.length > 0) {
    const one = unparsed.length === 1;
    warnings.push(`${unparsed.length} key${s(unparsed.length)} under ${where} ${one ? 'is not a segment key and was' : 'are not segment keys and were'} ignored: ${named(unparsed)}`);
  }
  if (parsed.length === 0) return { ok: false, reason: `no segments under ${where}${unparsed.length > 0 ? ' (only keys that do not parse)' : ''}`, warnings };

  const byTotal = new Map<number, string[]>();
  for (const p of parsed) byTotal.set(p.total, [...(byTotal.get(p.total) ?? []), p.key]);
  // Map order is first-seen order, so on a tie the first key's total stays (upstream's choice).
  let totalSegments = parsed[0]!.total;
  for (const [total, ks] of byTotal) if (ks.length > byTotal.get(totalSegments)!.length) totalSegments = total;
  for (const [total, ks] of byTotal) {
    if (total !== totalSegments) warnings.push(`${ks.length} key${s(ks.length)} say${ks.length === 1 ? 's' : ''} total_segments ${total}, not ${totalSegments}: ${named(ks)}`);
  }

  const chosen = parsed.filter((p) => p.total === totalSegments);
  const indices = new Set(chosen.map((p) => p.index));
  const missing: number[] = [];
  for (let i = 0; i < totalSegments; i++) if (!indices.has(i)) missing.push(i);
  if (missing.length > 0) {
    warnings.push(`segment${s(missing.length)} ${named(missing.map(String))} of ${totalSegments} ${missing.length === 1 ? 'has' : 'have'} no key: the chunking stopped mid-upload, and the job will not reassemble until ${missing.length === 1 ? 'it is' : 'they are'} there`);
  }
  if (chosen.length > indices.size) warnings.push(`${chosen.length - indices.size} segment index${chosen.length - indices.size === 1 ? '' : 'es'} appear${chosen.length - indices.size === 1 ? 's' : ''} under more than one key (different modes?)`);
  const otherMode = chosen.filter((p) => job.mode !== null && p.mode !== job.mode).map((p) => p.key);
  if (otherMode.length > 0) warnings.push(`${otherMode.length} key${s(otherMode.length)} name${otherMode.length === 1 ? 's' : ''} a mode other than the job's ${job.mode}: ${named(otherMode)}`);

  return { ok: true, totalSegments, segments: indices.size, warnings };
}

function s(n: number): string {
  return n === 1 ? '' : 's';
}

function named(items: readonly string[]): string {
  const shown = items.slice(0, NAMED).join(', ');
  return items.length > NAMED ? `${shown} and ${items.length - NAMED} more` : shown;
}
