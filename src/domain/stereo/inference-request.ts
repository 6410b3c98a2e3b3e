// The request the model server takes (STEREO-SPOT.md "Messages"), built once so the http and
// sagemaker backends send the same bytes, and where asynchronous SageMaker finds it in S3.
import type { StereoMode } from './records.js';
import { pythonJsonString } from './trigger.js';

export interface InferenceRequestFields {
  readonly inputUri: string;
  readonly outputUri: string;
  readonly mode: StereoMode;
}

/** `{"s3_input_uri": …, "s3_output_uri": …, "mode": …}`, compact, in this key order. */
export function inferenceRequestJson(req: InferenceRequestFields): string {
  return JSON.stringify({ s3_input_uri: req.inputUri, s3_output_uri: req.outputUri, mode: req.mode });
}

/**
 * The b622b25 request object's body, byte for byte what upstream's video-worker uploads to
 * `sagemaker-invocation-requests/{job_id}/{i}.json` (model_sagemaker.py@b622b25:62-91:
 * `json.dumps(payload)`: ", " and ": " separators, non-ASCII escaped):
 * `{"s3_input_uri": "…", "s3_output_uri": "…", "mode": "sbs"}`.
 */
export function pythonInferenceRequestJson(req: InferenceRequestFields): string {
  return `{"s3_input_uri": ${pythonJsonString(req.inputUri)}, "s3_output_uri": ${pythonJsonString(req.outputUri)}, "mode": ${pythonJsonString(req.mode)}}`;
}

/**
 * The key of the request JSON for InvokeEndpointAsync: beside the segment output, its
 * extension replaced (`jobs/{job_id}/segments/{i}.mp4` → `jobs/{job_id}/segments/{i}.request.json`),
 * so a retry of the same segment overwrites it instead of leaving another.
 */
export function asyncRequestKey(outputKey: string): string {
  if (outputKey === '' || outputKey.endsWith('/')) throw new RangeError(`not an object key: ${JSON.stringify(outputKey)}`);
  const slash = outputKey.lastIndexOf('/');
  const dot = outputKey.lastIndexOf('.');
  // Only a dot in the file name starts an extension, and not a leading one ("a/.mp4" has none).
  const stem = dot > slash + 1 ? outputKey.slice(0, dot) : outputKey;
  return `${stem}.request.json`;
}
