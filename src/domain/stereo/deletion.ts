// What b622b25's deletion removes (STEREO-SPOT-MAIN.md §6.5, media-worker/…/deletion.py@b622b25):
// the web UI soft-deletes a completed or failed job (status deleted, the item stays) and sends
// `{"job_id"}` to the deletion queue; the worker removes the job's objects and pipeline rows.
//
// Upstream's scope, kept: input/{id}/source.mp4, every key under segments/{id}/ (input bucket),
// every key under jobs/{id}/ (output: final, segments, sentinel), the SegmentCompletions of the
// job, its ReassemblyTriggered item. Ours adds sagemaker-invocation-requests/{id}/ (the
// request objects upstream leaves; the media-worker role may delete output objects). Left,
// as upstream leaves them: the Jobs item (it stays deleted), InferenceInvocations rows (no
// index by job; their TTL removes them in 4 h), the async response and failure objects
// (opaque names: nothing ties them to a job without the rows).
//
// A listing prefix also lists the objects of a job whose id extends this one past a "/"
// (segments/a/ holds segments/a/b/… of job "a/b"): keyInScope keeps only this job's keys.
// Web UI job ids are uuid4s, so this only matters for ids no stereo-spot writer makes.
import { inputKey, invocationRequestsPrefix, jobOutputPrefix, parseOutputKey, parseSegmentKey, segmentsPrefix } from './keys.js';
import { parseJobIdBody, type ReassemblyMessageParse } from './reassembly-message.js';

export type DeletionDecision = { action: 'cleanup' | 'skip'; reason: string };

/**
 * Only a deleted job's data goes (deletion.py:71-78): any other status is skipped (ack; a
 * deletion message for a live job is a mistake, and acting on it would lose the job). No Jobs
 * item: clean up anyway, as upstream does (the item was removed by hand, or never made).
 * Nothing here writes the Jobs item: a deleted job is never resurrected (L15).
 */
export function deletionDecision(status: string | null): DeletionDecision {
  if (status === null) return { action: 'cleanup', reason: 'no Jobs item: its objects and rows are removed anyway' };
  if (status === 'deleted') return { action: 'cleanup', reason: 'the job is deleted: its objects and rows are removed' };
  return { action: 'skip', reason: `the job is ${JSON.stringify(status)}, not deleted: nothing is removed` };
}

export interface DeletionScope {
  /** Input bucket: keys deleted one by one, prefixes listed (every page) and each key kept by keyInScope deleted. */
  readonly input: { readonly keys: readonly string[]; readonly prefixes: readonly string[] };
  readonly output: { readonly keys: readonly string[]; readonly prefixes: readonly string[] };
  /** Pipeline rows: every SegmentCompletions item of the job (every page), the ReassemblyTriggered item. */
  readonly rows: readonly ('segmentCompletions' | 'reassemblyTriggered')[];
}

/** What a deletion of `jobId` removes. `requestObjects: false` keeps upstream's exact scope. */
export function deletionScope(jobId: string, opts: { requestObjects?: boolean } = {}): DeletionScope {
  return {
    input: { keys: [inputKey(jobId)], prefixes: [segmentsPrefix(jobId)] },
    output: { keys: [], prefixes: [jobOutputPrefix(jobId), ...(opts.requestObjects === false ? [] : [invocationRequestsPrefix(jobId)])] },
    rows: ['segmentCompletions', 'reassemblyTriggered'],
  };
}

/**
 * Whether a listed key of `bucket` is `jobId`'s to delete: a key the key grammar attributes
 * to this job, or a stray file directly in its folder (one level below segments/{id}/ or
 * jobs/{id}/, or in jobs/{id}/segments/); never a key that parses as another job's.
 */
export function keyInScope(bucket: 'input' | 'output', key: string, jobId: string): boolean {
  if (bucket === 'input') {
    if (key === inputKey(jobId)) return true;
    const prefix = segmentsPrefix(jobId);
    if (!key.startsWith(prefix)) return false;
    const segment = parseSegmentKey('input', key);
    if (segment.ok) return segment.payload.jobId === jobId;
    return !key.slice(prefix.length).includes('/');
  }
  const jobs = jobOutputPrefix(jobId);
  if (key.startsWith(jobs)) {
    const parsed = parseOutputKey(key);
    if (parsed.kind === 'segment-output' || parsed.kind === 'final' || parsed.kind === 'reassembly-done') return parsed.jobId === jobId;
    const rest = key.slice(jobs.length);
    return /^(segments\/)?[^/]+$/.test(rest);
  }
  const requests = invocationRequestsPrefix(jobId);
  if (key.startsWith(requests)) return /^[0-9]+\.json$/.test(key.slice(requests.length));
  return false;
}

/** The deletion queue's body: `{"job_id":"<id>"}` compact (web UI jobs.py@b622b25:531-532). Never throws. */
export function parseDeletionBody(body: string): ReassemblyMessageParse {
  return parseJobIdBody(body, 'deletion message');
}
