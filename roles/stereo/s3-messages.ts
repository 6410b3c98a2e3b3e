// The consumer of a queue fed by S3 notifications (chunking, video-worker): a test event is
// acked with nothing done, an invalid body (or one naming a bucket the role does not read)
// goes to the DLQ with the reason, and each object of a notification goes to the role's
// handler in turn.
import type { Queue, RoleContext } from '../../src/ports/index.js';
import { parseS3Notification, type S3NotificationObject } from '../../src/domain/stereo/s3-notification.js';
import { createConsumer, type Consumer, type HandlerContext, type JobFailure } from '../../src/runtime/consumer.js';
import type { ParseResult } from '../../src/runtime/validation.js';

export type S3Message = { kind: 'test' } | { kind: 'objects'; objects: S3NotificationObject[] };

export function s3Messages(body: string, bucket?: { name: string; setting: string }): ParseResult<S3Message> {
  const n = parseS3Notification(body, bucket ? { bucket } : {});
  return n.kind === 'invalid' ? { ok: false, reason: n.reason } : { ok: true, value: n };
}

export function consumeS3Objects(opts: {
  role: string;
  ctx: RoleContext;
  queue: Queue;
  /** Only events of this bucket are work; one naming another is dead-lettered with the reason. */
  bucket?: { name: string; setting: string };
  /** The job an object belongs to, for the consumer's own lines; '' when it has none. */
  jobIdOf: (object: S3NotificationObject) => string;
  /** Fields for every line of the object's job (segment_index), as the consumer's logFieldsOf. */
  logFieldsOf?: (object: S3NotificationObject) => Record<string, unknown>;
  handle: (object: S3NotificationObject, job: HandlerContext) => Promise<void>;
  /** What "record this job failed" means for the role, for the object whose handling failed. */
  failed?: JobFailure<S3NotificationObject>;
}): Consumer {
  const { ctx, failed } = opts;
  const { config } = ctx;
  // The object each try is at: the one a failure belongs to.
  const current = new WeakMap<HandlerContext, S3NotificationObject>();
  return createConsumer<S3Message>({
    role: opts.role, queue: opts.queue, parse: (body) => s3Messages(body, opts.bucket),
    jobIdOf: (m) => (m.kind === 'objects' && m.objects[0] ? opts.jobIdOf(m.objects[0]) : ''),
    logFieldsOf: (m) => (m.kind === 'objects' && m.objects[0] && opts.logFieldsOf ? opts.logFieldsOf(m.objects[0]) : {}),
    concurrency: ctx.concurrency, once: ctx.once, waitSeconds: config.SQS_LONG_POLL_WAIT_SECONDS,
    // The stereo queues' own visibility is the lease where the task role may not extend it (upstream's never do).
    heartbeat: { intervalSeconds: config.HEARTBEAT_INTERVAL_SECONDS, extensionSeconds: config.HEARTBEAT_EXTENSION_SECONDS, optional: true },
    logger: ctx.logger, metrics: ctx.metrics, stopping: ctx.stopping,
    handler: async (msg, job) => {
      if (msg.kind === 'test') return void job.logger.info({ event_type: 's3_test_event' }, 'S3 test event: nothing to do');
      for (const object of msg.objects) {
        current.set(job, object);
        await opts.handle(object, job);
      }
    },
    ...(failed ? {
      failed: {
        lastReceive: failed.lastReceive,
        async record(_msg: S3Message, err: unknown, job: HandlerContext) {
          const object = current.get(job);
          if (object) await failed.record(object, err, job);
        },
      },
    } : {}),
  });
}
