// The InferenceInvocations rows of the b622b25 topology (STEREO-SPOT-MAIN.md §1.2, §6.2,
// §6.3): after InvokeEndpointAsync, the video-worker stores what job-status needs to turn a
// SageMaker result event into a completion or a failure, keyed by the result's S3 URI.
//
// Upstream (inference.py@b622b25:264-270, dynamodb_stores.py:296-342) writes one row keyed by
// the returned OutputLocation and ignores FailureLocation, so a failure event never finds a
// row and the job is never marked failed (loss mode L9). We write the same row and a second,
// identical but for its key, keyed by FailureLocation: a Python job-worker then marks the job
// failed on a failure event too, and so does ours. Both rows live 4 h (TTL) as upstream's.
import { ASYNC_FAILURES_PREFIX, ASYNC_RESPONSES_PREFIX, jobIdProblem, parseS3Uri } from './keys.js';

/** created_at + this = ttl (dynamodb_stores.py@b622b25 INFERENCE_INVOCATIONS_TTL_SECONDS: "so delayed success events still find the record"). */
export const INVOCATION_TTL_SECONDS = 14_400;

/** One row (the attribute names are adapters/db/invocation-items.ts's). */
export interface InferenceInvocation {
  /** The row's key: the OutputLocation (or, for our second row, the FailureLocation) URI InvokeEndpointAsync returned. */
  readonly outputLocation: string;
  readonly jobId: string;
  readonly segmentIndex: number;
  readonly totalSegments: number;
  /** s3://{output_bucket}/jobs/{job_id}/segments/{i}.mp4: where the model writes the segment, the completion's output_s3_uri. */
  readonly outputS3Uri: string;
  /** Unix seconds. */
  readonly createdAt: number;
  /** createdAt + INVOCATION_TTL_SECONDS. */
  readonly ttl: number;
}

export interface InvocationInput {
  readonly jobId: string;
  readonly segmentIndex: number;
  readonly totalSegments: number;
  readonly outputS3Uri: string;
  /** InvokeEndpointAsync's answer. */
  readonly outputLocation: string;
  /** Absent when the endpoint has no failure path configured (b622b25's has one). */
  readonly failureLocation?: string | null;
  /** Unix seconds. */
  readonly now: number;
}

/**
 * The rows to put after InvokeEndpointAsync: keyed by OutputLocation (upstream's), then by
 * FailureLocation when there is one. Throws RangeError on what no row may hold.
 */
export function invocationRecords(input: InvocationInput): InferenceInvocation[] {
  const { jobId, segmentIndex, totalSegments, outputS3Uri, outputLocation, failureLocation, now } = input;
  const problem = jobIdProblem(jobId);
  if (problem !== null) throw new RangeError(`invocation row: ${problem}`);
  if (!Number.isSafeInteger(totalSegments) || totalSegments < 1) throw new RangeError(`invocation row: total_segments must be a positive integer, got ${totalSegments}`);
  if (!Number.isSafeInteger(segmentIndex) || segmentIndex < 0 || segmentIndex >= totalSegments) {
    throw new RangeError(`invocation row: segment_index must be an integer from 0 to ${totalSegments - 1}, got ${segmentIndex}`);
  }
  if (!Number.isSafeInteger(now) || now < 0) throw new RangeError(`invocation row: created_at must be whole unix seconds, got ${now}`);
  const uris: Array<[string, string]> = [['output_s3_uri', outputS3Uri], ['OutputLocation', outputLocation]];
  if (failureLocation !== undefined && failureLocation !== null) uris.push(['FailureLocation', failureLocation]);
  for (const [name, uri] of uris) {
    const parsed = parseS3Uri(uri);
    if (!parsed.ok) throw new RangeError(`invocation row: ${name} ${JSON.stringify(String(uri).slice(0, 200))}: ${parsed.reason}`);
  }
  const row = (key: string): InferenceInvocation => ({
    outputLocation: key, jobId, segmentIndex, totalSegments, outputS3Uri, createdAt: now, ttl: now + INVOCATION_TTL_SECONDS,
  });
  const keys = [outputLocation, ...(failureLocation && failureLocation !== outputLocation ? [failureLocation] : [])];
  return keys.map(row);
}

/**
 * The other result location of the same invocation, from SageMaker's naming: the endpoint
 * writes `{S3OutputPath}{id}.out` or `{S3FailurePath}{id}-error.out` (the runbook shows
 * `<id>-error.out`, stereo-spot-docs/docs/aws/runbooks.md@b622b25:58), and b622b25's paths
 * are `sagemaker-async-responses/` and `sagemaker-async-failures/` of the output bucket.
 * Null for a URI of another shape. job-status uses it to find a row upstream's video-worker
 * keyed by OutputLocation only from a failure event (L9), and to remove both rows once a
 * result is handled; a miss costs nothing (the rows expire with their TTL).
 */
export function siblingLocation(uri: string): string | null {
  const parsed = parseS3Uri(uri);
  if (!parsed.ok) return null;
  const { bucket, key } = parsed;
  const id = (prefix: string, suffix: string): string | null => {
    if (!key.startsWith(prefix) || !key.endsWith(suffix)) return null;
    const name = key.slice(prefix.length, key.length - suffix.length);
    return name !== '' && !name.includes('/') ? name : null;
  };
  const failed = id(ASYNC_FAILURES_PREFIX, '-error.out');
  if (failed !== null) return `s3://${bucket}/${ASYNC_RESPONSES_PREFIX}${failed}.out`;
  const succeeded = id(ASYNC_RESPONSES_PREFIX, '.out');
  if (succeeded !== null) return `s3://${bucket}/${ASYNC_FAILURES_PREFIX}${succeeded}-error.out`;
  return null;
}

/** min(SAGEMAKER_INVOKE_TIMEOUT_SECONDS, 3600) as upstream sends it, kept within the API's 1–3600. */
export function invocationTimeoutSeconds(setting: number): number {
  if (!Number.isFinite(setting)) return 3600;
  return Math.min(3600, Math.max(1, Math.floor(setting)));
}
