// The reassembly-trigger Lambda (STEREO-SPOT.md "trigger"), in place of upstream's
// python3.12 reassembly_trigger.handler.lambda_handler: for each distinct job id of a
// SegmentCompletions stream batch, the trigger decision through the ports (runTrigger,
// inline: no output bucket, so never `complete` or `reset`; the lock unread, as upstream's
// IAM role allows no GetItem on it, so never `resend`), and upstream's return value.
//
// A job whose trigger throws fails the invocation, so Lambda retries the batch, as upstream
// raises. Upstream raises at the first such job and leaves the rest of the batch untried;
// here every job is tried first and the first error is rethrown. Lambda sees the same
// failed invocation and retry, but a job that keeps failing no longer holds back the
// others of its batch until the stream records expire (every retry is idempotent: the lock).
import { jobIdsFromStreamEvent, lambdaResult, type LambdaResult } from '../domain/stereo/trigger.js';
import { runTrigger, type TriggerOutcome } from '../../roles/stereo/run-trigger.js';
import { lambdaLogger } from './logger.js';
import { triggerPorts } from './ports.js';
import { lambdaSettings } from './settings.js';
import { errorText } from '../domain/describe-error.js';

/** The part of Lambda's context object we use. */
export interface LambdaContext {
  awsRequestId?: string;
}

export async function handler(event: unknown, context?: LambdaContext): Promise<LambdaResult> {
  // Before anything else, as upstream reads os.environ first: a misconfigured function
  // fails every invocation, an empty batch included.
  const settings = lambdaSettings(process.env);
  const root = lambdaLogger(process.env);
  const log = context?.awsRequestId ? root.child({ aws_request_id: context.awsRequestId }) : root;
  const jobIds = jobIdsFromStreamEvent(event);
  log.info({ event_type: 'trigger_batch_received', records: recordCount(event), job_ids: jobIds }, `stream batch: ${recordCount(event)} records, ${jobIds.length} jobs`);

  const ports = triggerPorts(settings, root);
  const outcomes: Record<string, TriggerOutcome> = {};
  const failed: string[] = [];
  let firstError: { err: unknown } | undefined;
  for (const jobId of jobIds) {
    try {
      outcomes[jobId] = await runTrigger({ ...ports, logger: log, lockUnread: true }, jobId);
    } catch (err) {
      failed.push(jobId);
      firstError ??= { err };
      log.error({ event_type: 'trigger_failed', job_id: jobId, err }, `trigger of job ${jobId} failed: ${errorText(err)}`);
    }
  }
  if (firstError) {
    log.error({ event_type: 'trigger_batch_failed', outcomes, failed }, `trigger failed for ${failed.length} of ${jobIds.length} jobs: Lambda retries the batch`);
    throw firstError.err instanceof Error ? firstError.err : new Error(errorText(firstError.err));
  }
  log.info({ event_type: 'trigger_batch_completed', outcomes }, `stream batch done: ${jobIds.length} jobs`);
  return lambdaResult(jobIds);
}

function recordCount(event: unknown): number {
  const records = typeof event === 'object' && event !== null ? (event as { Records?: unknown }).Records : undefined;
  return Array.isArray(records) ? records.length : 0;
}

