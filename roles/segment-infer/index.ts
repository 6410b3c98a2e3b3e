// segment-infer (STEREO-SPOT.md): an S3 ObjectCreated event for segments/… → the key parsed
// → the job read (a failed or completed job's segment is skipped) → inference writes the
// output → the output object checked → the SegmentCompletion recorded → the trigger
// decision for the job, where this task may run it (inline-trigger.ts) → ack. Transient
// failures are retried; the engine has the job marked failed on a segment refused for good, or
// when the message's last receive failed.
import { PermanentError, RetryableError } from '../../src/ports/index.js';
import type { RoleContext, RoleService } from '../../src/ports/index.js';
import type { S3NotificationObject } from '../../src/domain/stereo/s3-notification.js';
import { parseSegmentKey, segmentOutputKey, segmentOutputUri } from '../../src/domain/stereo/keys.js';
import { segmentDecision, statusesBefore } from '../../src/domain/stereo/job-state.js';
import type { HandlerContext } from '../../src/runtime/consumer.js';
import { unixSeconds } from '../../src/runtime/clock.js';
import { InlineTrigger } from '../stereo/inline-trigger.js';
import { jobLogger } from '../stereo/log.js';
import { consumeS3Objects } from '../stereo/s3-messages.js';
import { inferenceSeconds, stereoMetrics } from '../stereo/metrics.js';

export async function start(ctx: RoleContext): Promise<RoleService> {
  const { ports } = ctx;
  const [queue, db, inference] = await Promise.all([ports.queue('VIDEO_WORKER_QUEUE_URL'), ports.pipelineDb(), ports.inference()]);
  // Off in upstream's ecba15e video-worker task (no REASSEMBLY_* settings, no lock table in its role): its Lambda triggers.
  const trigger = await InlineTrigger.open(ctx, 'segment-infer', db);
  const output = ports.storage('OUTPUT_BUCKET_NAME');
  // Segments come from the input bucket only: the event's bucket name is checked against it
  // (else a message could have any bucket the task role reads copied into the output bucket).
  const input = { name: ports.storage('INPUT_BUCKET_NAME').bucket, setting: 'INPUT_BUCKET_NAME' };
  const counts = stereoMetrics(ctx.metrics, 'segment-infer', ['failed']);
  const seconds = inferenceSeconds(ctx.metrics, inference.name);

  async function infer(object: S3NotificationObject, job: HandlerContext): Promise<void> {
    const parsed = parseSegmentKey(object.bucket, object.key);
    if (!parsed.ok) throw new PermanentError(`${JSON.stringify(object.key)} is ${parsed.reason}`);
    const { jobId, segmentIndex, totalSegments, mode, segmentS3Uri } = parsed.payload;
    // segment_index is bound by the consumer already (logFieldsOf): every line of the job has it.
    const log = jobLogger(job.logger, jobId);
    const row = await db.getJob(jobId);
    const decision = segmentDecision(row?.status ?? null);
    if (decision === 'retry') throw new RetryableError(`job ${jobId} is ${row ? row.status : 'not in the Jobs table'} yet`);
    if (decision === 'skip') return void log.info({ event_type: 'segment_skipped', status: row?.status }, `job is ${row?.status}; segment skipped`);

    const outputKey = segmentOutputKey(jobId, segmentIndex);
    const outputUri = segmentOutputUri(output.bucket, jobId, segmentIndex);
    const started = performance.now();
    log.info({ event_type: 'inference_started', backend: inference.name, input: segmentS3Uri, output: outputUri }, `segment ${segmentIndex + 1}/${totalSegments}: ${inference.name}`);
    await inference.process({ inputUri: segmentS3Uri, outputUri, mode, signal: job.signal, logger: log });
    const took = (performance.now() - started) / 1000;
    seconds.observe(took);
    // The backend said done; the completion is recorded only for an output that is really there.
    if (!(await output.exists(outputKey))) throw new RetryableError(`${inference.name} inference reported success but ${outputUri} does not exist`);
    await db.putCompletion({ jobId, segmentIndex, outputS3Uri: outputUri, completedAt: unixSeconds(), totalSegments });
    counts.segments.inc();
    log.info({ event_type: 'segment_completed', backend: inference.name, inference_seconds: Math.round(took * 1000) / 1000 }, `segment ${segmentIndex + 1}/${totalSegments} done`);
    await trigger.run(jobId, log);
  }

  return consumeS3Objects({
    role: 'segment-infer', ctx, queue, bucket: input,
    // The segment's job id on the consumer's lines (job_started, job_failed, …), not the message id.
    jobIdOf: (object) => { const p = parseSegmentKey(object.bucket, object.key); return p.ok ? p.payload.jobId : ''; },
    logFieldsOf: (object) => { const p = parseSegmentKey(object.bucket, object.key); return p.ok ? { segment_index: p.payload.segmentIndex } : {}; },
    handle: infer,
    // Upstream fails the job on any exception; here only when retrying cannot help.
    failed: {
      lastReceive: true,
      async record(object, err, job) {
        const parsed = parseSegmentKey(object.bucket, object.key);
        if (!parsed.ok) return;
        if ((await db.updateJob(parsed.payload.jobId, { status: 'failed' }, statusesBefore('failed'))) === 'updated') counts.jobs('failed').inc();
        const message = err instanceof Error ? err.message : String(err);
        jobLogger(job.logger, parsed.payload.jobId).error({ event_type: 'segment_failed', error_message: message }, `job failed: ${message}`);
      },
    },
  });
}
