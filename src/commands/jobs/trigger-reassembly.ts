// `rugbyworker jobs trigger-reassembly JOB_ID [--reset-lock]`: seed 002 runbook 3 step 4.
// The conditional put of the ReassemblyTriggered lock, then exactly {"job_id":"…"} on the
// reassembly queue. A standing lock is refused and described; --reset-lock deletes that lock
// (only that one) first: the repair of a lost message (lost-job 2) or a dead reassembly (3).
import type { RoleNeeds } from '../../domain/requirements.js';
import { planManualTrigger } from '../../domain/stereo/manual-trigger.js';
import { reassemblyBody } from '../../domain/stereo/reassembly-message.js';
import { reassemblyLockTiming } from '../../domain/stereo/reassembly-lock.js';
import { shellWord } from '../../domain/stereo/diagnose.js';
import { EXIT, UserError } from '../../runtime/errors.js';
import { attempt, queueCall, queueResource, tableResource, warn, type OperatorContext } from '../operator.js';

export const needs: RoleNeeds = {
  sendsTo: ['REASSEMBLY_QUEUE_URL'],
  tables: ['JOBS_TABLE_NAME', 'SEGMENT_COMPLETIONS_TABLE_NAME', 'REASSEMBLY_TRIGGERED_TABLE_NAME'],
};

export async function triggerReassembly(ctx: OperatorContext, args: { jobId: string; resetLock: boolean }): Promise<number> {
  const { config, ports, io } = ctx;
  const { jobId } = args;
  const locks = tableResource(config, 'REASSEMBLY_TRIGGERED_TABLE_NAME');
  const db = await ports.pipelineDb();
  // Opened first: a queue that cannot be reached must fail before a lock is put that no message follows.
  const [queue, job, completions, lock] = await Promise.all([
    attempt(queueCall(config, 'open'), queueResource(config, 'REASSEMBLY_QUEUE_URL'), () => ports.queue('REASSEMBLY_QUEUE_URL')),
    attempt('DynamoDB GetItem', tableResource(config, 'JOBS_TABLE_NAME'), () => db.getJob(jobId)),
    attempt('DynamoDB Query', tableResource(config, 'SEGMENT_COMPLETIONS_TABLE_NAME'), () => db.countCompletions(jobId)),
    attempt('DynamoDB GetItem', locks, () => db.getLock(jobId)),
  ]);
  const { takeoverSeconds } = reassemblyLockTiming(config.HEARTBEAT_INTERVAL_SECONDS, config.HEARTBEAT_EXTENSION_SECONDS);
  const plan = planManualTrigger({ jobId, job, completions, lock, resetLock: args.resetLock, now: ctx.now(), takeoverSeconds });
  if (!plan.ok) throw new UserError(plan.reason, EXIT.FAILURE);
  for (const w of plan.warnings) warn(io, w);
  const body = reassemblyBody(jobId);

  if (plan.deleteLock) {
    const seen = plan.deleteLock;
    // Conditioned on the triggered_at seen: a lock put since belongs to someone else's trigger.
    if (!(await attempt('DynamoDB DeleteItem', locks, () => db.deleteLock(jobId, seen.triggeredAt)))) {
      throw new UserError(`the lock of job ${jobId} changed while this ran; nothing deleted or sent (run it again)`, EXIT.FAILURE);
    }
    io.stdout(`deleted the reassembly lock of job ${jobId}\n`);
  }
  const triggeredAt = ctx.now();
  if (!(await attempt('DynamoDB PutItem', locks, () => db.putLock(jobId, triggeredAt)))) {
    throw new UserError(`another trigger put a lock for job ${jobId} just now; nothing sent (rugbyworker jobs diagnose ${shellWord(jobId)} shows it)`, EXIT.FAILURE);
  }
  await attempt(queueCall(config, 'send'), queueResource(config, 'REASSEMBLY_QUEUE_URL'), () => queue.send(body)).catch((err: unknown) => {
    throw new UserError(`${(err as Error).message}; the lock is put but no message follows it: run this again with --reset-lock (the trigger role also resends after a minute)`, EXIT.FAILURE);
  });
  io.stdout(`triggered the reassembly of job ${jobId}: lock put (triggered ${triggeredAt}), ${body} sent to ${queue.name}\n`);
  return EXIT.OK;
}
