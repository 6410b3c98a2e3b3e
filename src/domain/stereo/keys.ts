// The stereo pipeline's object keys (STEREO-SPOT.md §Keys, DESIGN §4): the web UI's source
// upload, the segments `chunk` writes (whose ObjectCreated events drive `segment-infer`),
// the segment outputs and the final file. One builder and one parser per key, here only.
//
// The parsers follow upstream's (stereo-spot ecba15e, packages/shared-types/.../keys.py)
// accept/reject rules, then add our own object-key safety rule (object-keys.ts): a key that
// would become an unsafe file path is refused even where upstream takes it. Every refusal
// says which of the two rules refused.
//
// Deliberate differences from upstream, all for keys no stereo-spot writer produces:
// - Segment file names need ASCII digits. Upstream's `\d{5}` is Python's Unicode `\d`, so it
//   takes "٠٠٠٠٠_٠٠٠٠١_sbs.mp4" (Arabic-Indic digits) as segment 0 of 1; we do not.
// - Upstream's `$` also matches before a final "\n", so it takes "…_sbs.mp4\n"; we do not
//   (our file-name pattern anchors at the very end, and the safety rule refuses control
//   characters anyway).
// - Job ids with an empty, "." or ".." path segment ("segments//a/…", "segments/a//…",
//   "input/../source.mp4") pass upstream's rules; the safety rule refuses them.
// - The builders refuse (RangeError) what the parsers would refuse; upstream's build
//   formats anything, e.g. a 6-digit index that its own parser then rejects.
import { safeKeyProblem } from '../object-keys.js';
import { STEREO_MODES, type StereoMode } from './records.js';

const INPUT_PREFIX = 'input/';
const INPUT_SUFFIX = '/source.mp4';
const SEGMENTS_PREFIX = 'segments/';
/** Exactly five ASCII digits, '_', five ASCII digits, '_', a lower-case mode, '.mp4' in lower case. */
const SEGMENT_FILE = /^([0-9]{5})_([0-9]{5})_(anaglyph|sbs)\.mp4$/;
/** What upstream's Python pattern matches besides: `\d` is any Unicode decimal digit, `$` also matches before a final "\n". */
const UPSTREAM_SEGMENT_FILE = /^\p{Nd}{5}_\p{Nd}{5}_(?:anaglyph|sbs)\.mp4\n?$/u;
const OUTPUT_PREFIX = 'jobs/';
const FINAL = 'final.mp4';
const REASSEMBLY_DONE = '.reassembly-done';
/** `/segments/{i}.mp4` at the end of a job's output key: upstream's `^segments/(\d+)\.mp4$` after the job id. */
const OUTPUT_SEGMENT_TAIL = /\/segments\/([0-9]+)\.mp4$/;
/** Where the b622b25 endpoint writes its async results (sagemaker.tf@b622b25:111-116). */
export const ASYNC_RESPONSES_PREFIX = 'sagemaker-async-responses/';
export const ASYNC_FAILURES_PREFIX = 'sagemaker-async-failures/';
const INVOCATION_REQUESTS_PREFIX = 'sagemaker-invocation-requests/';
/** Five digits: the largest index or count a segment key can carry. */
export const MAX_SEGMENTS = 99_999;

/** The input bucket's S3 notification filters (STEREO-SPOT.md §Resources): sources → the chunking queue. */
export const SOURCE_NOTIFICATION = { prefix: INPUT_PREFIX, suffix: '.mp4' } as const;
/** …and segments → the video-worker queue. */
export const SEGMENT_NOTIFICATION = { prefix: SEGMENTS_PREFIX, suffix: '.mp4' } as const;

const SAFETY = 'object-key safety rule';
const UPSTREAM_SEGMENT = 'stereo-spot segment key rule';
const UPSTREAM_INPUT = 'stereo-spot input key rule';
const OURS = 'rugbyworker segment key rule';

export type InputKeyParse = { ok: true; jobId: string } | { ok: false; reason: string };

/** What a segment key says (upstream's VideoWorkerPayload). */
export interface SegmentKeyPayload {
  readonly jobId: string;
  readonly segmentIndex: number;
  readonly totalSegments: number;
  readonly mode: StereoMode;
  /** s3://{bucket}/{key}, the key as parsed (decoded). */
  readonly segmentS3Uri: string;
}

export type SegmentKeyParse = { ok: true; payload: SegmentKeyPayload } | { ok: false; reason: string };

export type S3UriParse = { ok: true; bucket: string; key: string } | { ok: false; reason: string };

export function isStereoMode(value: unknown): value is StereoMode {
  return typeof value === 'string' && (STEREO_MODES as readonly string[]).includes(value);
}

/**
 * Why `jobId` cannot be part of this pipeline's keys, or null. Checked against the longest
 * key built from a job id (a segment key with the longest mode), so a job id that passes
 * makes a safe input, segment, segment-output and final key.
 */
export function jobIdProblem(jobId: string): string | null {
  if (typeof jobId !== 'string') return 'job id is not a string';
  if (jobId === '') return 'job id is empty';
  const problem = safeKeyProblem(`${SEGMENTS_PREFIX}${jobId}/${MAX_SEGMENTS - 1}_${MAX_SEGMENTS}_anaglyph.mp4`);
  return problem === null ? null : `job id makes an unsafe key (${SAFETY}): it ${problem}`;
}

/** `input/{job_id}/source.mp4`, where the web UI uploads the source. */
export function inputKey(jobId: string): string {
  assertJobId(jobId);
  return `${INPUT_PREFIX}${jobId}${INPUT_SUFFIX}`;
}

/**
 * The job id of a source key: whatever lies between `input/` and `/source.mp4` (it may
 * contain "/"), not empty; prefix and suffix exactly, case included (test_keys.py
 * TestInputKeyParser). Then our safety rule.
 */
export function parseInputKey(key: string): InputKeyParse {
  if (typeof key !== 'string') return { ok: false, reason: `not an input key (${UPSTREAM_INPUT}): not a string` };
  if (!key.startsWith(INPUT_PREFIX)) return { ok: false, reason: `not an input key (${UPSTREAM_INPUT}): does not start with "${INPUT_PREFIX}"` };
  if (!key.endsWith(INPUT_SUFFIX)) return { ok: false, reason: `not an input key (${UPSTREAM_INPUT}): does not end with "${INPUT_SUFFIX}"` };
  // "input/source.mp4" ends with "/source.mp4" too: the prefix and suffix overlap, no job id.
  if (key.length <= INPUT_PREFIX.length + INPUT_SUFFIX.length) return { ok: false, reason: `not an input key (${UPSTREAM_INPUT}): the job id is empty` };
  const jobId = key.slice(INPUT_PREFIX.length, -INPUT_SUFFIX.length);
  const unsafe = safeKeyProblem(key);
  if (unsafe !== null) return { ok: false, reason: `unsafe input key (${SAFETY}): it ${unsafe}` };
  return { ok: true, jobId };
}

export interface SegmentKeyParts {
  jobId: string;
  segmentIndex: number;
  totalSegments: number;
  mode: StereoMode;
}

/** `segments/{job_id}/{segment_index:05d}_{total_segments:05d}_{mode}.mp4`. */
export function segmentKey(parts: SegmentKeyParts): string {
  const { jobId, segmentIndex, totalSegments, mode } = parts;
  assertJobId(jobId);
  if (!Number.isInteger(totalSegments) || totalSegments < 1 || totalSegments > MAX_SEGMENTS) {
    throw new RangeError(`total_segments must be an integer from 1 to ${MAX_SEGMENTS}, got ${totalSegments}`);
  }
  if (!Number.isInteger(segmentIndex) || segmentIndex < 0 || segmentIndex >= totalSegments) {
    throw new RangeError(`segment_index must be an integer from 0 to total_segments - 1 (${totalSegments - 1}), got ${segmentIndex}`);
  }
  if (!isStereoMode(mode)) throw new RangeError(`mode must be one of ${STEREO_MODES.join(', ')}, got ${JSON.stringify(mode)}`);
  return `${SEGMENTS_PREFIX}${jobId}/${pad5(segmentIndex)}_${pad5(totalSegments)}_${mode}.mp4`;
}

/** The folder of a job's segments, for listing (it also lists job "a/b" under job "a": filter on the parsed job id). */
export function segmentsPrefix(jobId: string): string {
  assertJobId(jobId);
  return `${SEGMENTS_PREFIX}${jobId}/`;
}

/**
 * Upstream's parse_segment_key, rule for rule (test_keys.py TestInvalidSegmentKey and the
 * cases in test/unit/stereo-keys.test.ts): prefix `segments/` (case-sensitive, no leading
 * "/"); split at the LAST "/", so the job id may contain "/"; the job id not empty; the
 * file name exactly `NNNNN_NNNNN_{anaglyph|sbs}.mp4` (five digits each, lower case, nothing
 * before or after: a trailing "/" leaves an empty file name); index < total (so total ≥ 1).
 * Then our safety rule. The key is the decoded one (S3 events URL-encode it).
 */
export function parseSegmentKey(bucket: string, key: string): SegmentKeyParse {
  const refuse = (why: string): SegmentKeyParse => ({ ok: false, reason: `not a segment key (${UPSTREAM_SEGMENT}): ${why}` });
  if (typeof key !== 'string') return refuse('not a string');
  if (!key.startsWith(SEGMENTS_PREFIX)) return refuse(`does not start with "${SEGMENTS_PREFIX}"`);
  const rest = key.slice(SEGMENTS_PREFIX.length);
  const slash = rest.lastIndexOf('/');
  if (slash < 0) return refuse(`no "/" after "${SEGMENTS_PREFIX}" (no job id folder)`);
  const jobId = rest.slice(0, slash);
  const fileName = rest.slice(slash + 1);
  if (jobId === '') return refuse('the job id is empty');
  const m = SEGMENT_FILE.exec(fileName);
  if (!m) {
    if (UPSTREAM_SEGMENT_FILE.test(fileName)) {
      return { ok: false, reason: `not a segment key (${OURS}): file name ${JSON.stringify(clip(fileName))} must have ASCII digits and end with ".mp4" (upstream's Python pattern also takes Unicode digits and a final newline)` };
    }
    return refuse(`file name ${JSON.stringify(clip(fileName))} is not NNNNN_NNNNN_{anaglyph|sbs}.mp4`);
  }
  const segmentIndex = Number(m[1]);
  const totalSegments = Number(m[2]);
  const mode = m[3] as StereoMode;
  if (segmentIndex >= totalSegments) return refuse(`segment index ${segmentIndex} is not below total_segments ${totalSegments}`);
  const unsafe = safeKeyProblem(key);
  if (unsafe !== null) return { ok: false, reason: `unsafe segment key (${SAFETY}): it ${unsafe}` };
  if (typeof bucket !== 'string' || bucket === '') return { ok: false, reason: 'no bucket for the segment URI' };
  return { ok: true, payload: { jobId, segmentIndex, totalSegments, mode, segmentS3Uri: `s3://${bucket}/${key}` } };
}

/** `jobs/{job_id}/segments/{segment_index}.mp4` in the output bucket: the index is NOT zero-padded. */
export function segmentOutputKey(jobId: string, segmentIndex: number): string {
  assertJobId(jobId);
  assertIndex(segmentIndex);
  return `${OUTPUT_PREFIX}${jobId}/segments/${segmentIndex}.mp4`;
}

/** `s3://{output_bucket}/jobs/{job_id}/segments/{i}.mp4`: a SegmentCompletion's output_s3_uri, the inference request's s3_output_uri. */
export function segmentOutputUri(bucket: string, jobId: string, segmentIndex: number): string {
  return s3Uri(bucket, segmentOutputKey(jobId, segmentIndex));
}

/** `jobs/{job_id}/final.mp4` in the output bucket. */
export function finalKey(jobId: string): string {
  assertJobId(jobId);
  return `${OUTPUT_PREFIX}${jobId}/${FINAL}`;
}

/** The output bucket's folder of one job: segment outputs, final.mp4, .reassembly-done (b622b25's deletion removes it whole). */
export function jobOutputPrefix(jobId: string): string {
  assertJobId(jobId);
  return `${OUTPUT_PREFIX}${jobId}/`;
}

/**
 * `jobs/{job_id}/.reassembly-done` (b622b25): an empty object reassembly writes when
 * final.mp4 is already there, so that an output-bucket event still tells job-status the job
 * is complete (media-worker/…/output_key.py@b622b25:17-25).
 */
export function reassemblyDoneKey(jobId: string): string {
  assertJobId(jobId);
  return `${OUTPUT_PREFIX}${jobId}/${REASSEMBLY_DONE}`;
}

/**
 * `sagemaker-invocation-requests/{job_id}/{segment_index}.json` in the output bucket (b622b25):
 * the request object of InvokeEndpointAsync (model_sagemaker.py@b622b25:62-91). No
 * notification rule matches it, so it makes no event.
 */
export function invocationRequestKey(jobId: string, segmentIndex: number): string {
  assertJobId(jobId);
  assertIndex(segmentIndex);
  return `${INVOCATION_REQUESTS_PREFIX}${jobId}/${segmentIndex}.json`;
}

/** The folder of a job's request objects (upstream's deletion leaves them; ours may remove them). */
export function invocationRequestsPrefix(jobId: string): string {
  assertJobId(jobId);
  return `${INVOCATION_REQUESTS_PREFIX}${jobId}/`;
}

/** What an output-bucket key is, for the b622b25 output-events and job-status-events queues. */
export type OutputKey =
  /** `jobs/{job_id}/segments/{i}.mp4`: a segment's stereo output. */
  | { kind: 'segment-output'; jobId: string; segmentIndex: number }
  /** `jobs/{job_id}/final.mp4`. */
  | { kind: 'final'; jobId: string }
  /** `jobs/{job_id}/.reassembly-done`. */
  | { kind: 'reassembly-done'; jobId: string }
  /** `sagemaker-async-responses/<opaque>`: an InvokeEndpointAsync success (its OutputLocation). */
  | { kind: 'async-response' }
  /** `sagemaker-async-failures/<opaque>`: an InvokeEndpointAsync failure (its FailureLocation). */
  | { kind: 'async-failure' }
  /** Anything else (a request object, a stray key, an unsafe one): nothing to do. */
  | { kind: 'other'; reason: string };

/**
 * Classifies a (decoded) output-bucket key. The job id is everything between `jobs/` and the
 * known tail, so it may contain "/" as in our own builders (upstream takes the first path
 * segment, parse_output_segment_key, keys.py@b622b25:111-139, and its final/sentinel branch
 * `parts[1]`: for `jobs/a/b/final.mp4` it completes job "a"; web UI job ids are uuid4s, so the
 * two agree on every key stereo-spot writes). The segment index is upstream's `(\d+)` in
 * ASCII digits (leading zeros allowed, as int() takes them), below MAX_SEGMENTS. The SageMaker
 * prefixes are upstream's Terraform's (async_inference_config, sagemaker.tf@b622b25:111-116);
 * what follows them is opaque. Then our safety rule: an unsafe key or job id is `other`.
 */
export function parseOutputKey(key: string): OutputKey {
  const other = (reason: string): OutputKey => ({ kind: 'other', reason });
  if (typeof key !== 'string' || key === '') return other('not an output key: empty');
  const unsafe = safeKeyProblem(key);
  if (unsafe !== null) return other(`unsafe output key (${SAFETY}): it ${unsafe}`);
  for (const [prefix, kind] of [[ASYNC_RESPONSES_PREFIX, 'async-response'], [ASYNC_FAILURES_PREFIX, 'async-failure']] as const) {
    // The safety rule has refused the bare prefix (a trailing "/"): something follows.
    if (key.startsWith(prefix)) return { kind };
  }
  if (key.startsWith(INVOCATION_REQUESTS_PREFIX)) return other('an InvokeEndpointAsync request object, not an output');
  if (!key.startsWith(OUTPUT_PREFIX)) return other(`not an output key: not under "${OUTPUT_PREFIX}", "${ASYNC_RESPONSES_PREFIX}" or "${ASYNC_FAILURES_PREFIX}"`);
  const rest = key.slice(OUTPUT_PREFIX.length);
  const withJob = (jobId: string, made: OutputKey): OutputKey => {
    const problem = jobIdProblem(jobId);
    return problem === null ? made : other(`not an output key: ${problem}`);
  };
  const segment = OUTPUT_SEGMENT_TAIL.exec(rest);
  if (segment) {
    const jobId = rest.slice(0, segment.index);
    const segmentIndex = Number(segment[1]);
    if (!(segmentIndex < MAX_SEGMENTS)) return other(`not an output key: segment index ${segment[1]} is not below ${MAX_SEGMENTS}`);
    return withJob(jobId, { kind: 'segment-output', jobId, segmentIndex });
  }
  for (const [tail, kind] of [[`/${FINAL}`, 'final'], [`/${REASSEMBLY_DONE}`, 'reassembly-done']] as const) {
    if (!rest.endsWith(tail)) continue;
    const jobId = rest.slice(0, -tail.length);
    return withJob(jobId, { kind, jobId });
  }
  return other('not an output key: neither segments/{i}.mp4, final.mp4 nor .reassembly-done under jobs/{job_id}/');
}

export function s3Uri(bucket: string, key: string): string {
  if (typeof bucket !== 'string' || bucket === '' || bucket.includes('/')) throw new RangeError(`not a bucket name: ${JSON.stringify(bucket)}`);
  if (typeof key !== 'string' || key === '') throw new RangeError('an S3 URI needs a key');
  return `s3://${bucket}/${key}`;
}

/**
 * `s3://bucket/key` → bucket and key: the bucket up to the first "/", the key the rest
 * (kept as it is: not decoded, may contain "/"). Upstream's video-worker helper also takes
 * an empty bucket or key; this refuses both, since neither names an object. Whether the
 * key is safe to use is the store's check (assertSafeKey), not this one's.
 */
export function parseS3Uri(uri: string): S3UriParse {
  if (typeof uri !== 'string' || !uri.startsWith('s3://')) return { ok: false, reason: 'not an S3 URI: does not start with "s3://"' };
  const rest = uri.slice('s3://'.length);
  const slash = rest.indexOf('/');
  if (slash < 0) return { ok: false, reason: 'not an S3 URI: no "/" after the bucket (no key)' };
  const bucket = rest.slice(0, slash);
  const key = rest.slice(slash + 1);
  if (bucket === '') return { ok: false, reason: 'not an S3 URI: the bucket is empty' };
  if (key === '') return { ok: false, reason: 'not an S3 URI: the key is empty' };
  return { ok: true, bucket, key };
}

function assertJobId(jobId: string): void {
  const problem = jobIdProblem(jobId);
  if (problem !== null) throw new RangeError(`${problem}: ${JSON.stringify(clip(String(jobId)))}`);
}

function assertIndex(segmentIndex: number): void {
  if (!Number.isInteger(segmentIndex) || segmentIndex < 0 || segmentIndex >= MAX_SEGMENTS) {
    throw new RangeError(`segment_index must be an integer from 0 to ${MAX_SEGMENTS - 1}, got ${segmentIndex}`);
  }
}

function pad5(n: number): string {
  return String(n).padStart(5, '0');
}

function clip(s: string): string {
  return s.length > 120 ? `${s.slice(0, 120)}…` : s;
}
