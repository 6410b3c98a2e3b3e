// The b622b25 output-bucket events (STEREO-SPOT-MAIN.md §1.3, §4): the output-events queue
// (drained by the video-worker: a SageMaker result frees an inference slot) and the
// job-status-events queue (the job-worker: completions, completed, SageMaker failures) carry
// S3 ObjectCreated notifications for `jobs/…/segments/{i}.mp4`, `jobs/…/final.mp4`,
// `jobs/…/.reassembly-done`, `sagemaker-async-responses/…` and `sagemaker-async-failures/…`,
// as S3 sends them, as SNS raw delivery sends them (the same JSON) or in an SNS envelope.
// This says what each object of a body is; what to do about it is job-status.ts's question.
//
// Upstream reads Records[0] only (s3_event.py@b622b25:18-21) and acks a body it cannot parse
// (job_status_events.py:64-79, output_events.py:55-70); here every record is classified (S3
// sends one per message) and an invalid body is reported as such for the role to decide.
import { parseOutputKey, s3Uri, type OutputKey } from './keys.js';
import { parseS3Notification } from './s3-notification.js';

export interface OutputEvent {
  readonly bucket: string;
  /** Decoded, as the object is named. */
  readonly key: string;
  /** `s3://{bucket}/{key}`: how InvokeEndpointAsync names its OutputLocation and FailureLocation, and a completion its output_s3_uri. */
  readonly uri: string;
  readonly target: OutputKey;
}

export type OutputEventsParse =
  | { kind: 'test' }
  | { kind: 'events'; events: OutputEvent[] }
  | { kind: 'invalid'; reason: string };

/**
 * Parses an output-events or job-status-events body. Never throws. With `bucket` (the
 * OUTPUT_BUCKET_NAME setting), a record naming another bucket makes the body invalid.
 */
export function parseOutputEvents(body: string, opts: { bucket?: { name: string; setting: string } } = {}): OutputEventsParse {
  const n = parseS3Notification(body, opts);
  if (n.kind !== 'objects') return n;
  const odd = n.objects.find((o) => o.bucket.includes('/'));
  if (odd) return { kind: 'invalid', reason: `not an S3 event notification: bucket name ${JSON.stringify(odd.bucket.slice(0, 80))} holds a "/"` };
  return {
    kind: 'events',
    events: n.objects.map((o) => ({ bucket: o.bucket, key: o.key, uri: s3Uri(o.bucket, o.key), target: parseOutputKey(o.key) })),
  };
}

/** Whether the event is a SageMaker async result (the output-events drain's only concern: a finished invocation). */
export function isAsyncResult(event: OutputEvent): boolean {
  return event.target.kind === 'async-response' || event.target.kind === 'async-failure';
}
