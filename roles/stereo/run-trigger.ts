// The trigger decision (src/domain/stereo/trigger.ts) carried out through the ports: one
// function used inline after a segment completion and after chunking_complete, by the
// reconciler role, and by the Lambda handler. Exactly one reassembly per job follows from
// the lock's conditional put, whatever the duplicates and races.
import type { Logger } from 'pino';
import type { ObjectStore, PipelineDb, Queue } from '../../src/ports/index.js';
import { finalKey } from '../../src/domain/stereo/keys.js';
import { reassemblyBody } from '../../src/domain/stereo/reassembly-message.js';
import { triggerDecision, type TriggerDecision } from '../../src/domain/stereo/trigger.js';
import { statusesBefore } from '../../src/domain/stereo/job-state.js';
import { jobLogger } from './log.js';
import { unixSeconds as unixNow } from '../../src/runtime/clock.js';

export interface TriggerDeps {
  db: PipelineDb;
  reassembly: Queue;
  /** The output bucket; with it the decision also knows whether final.mp4 exists (reconciler). */
  output?: ObjectStore;
  logger: Logger;
  now?: () => number;
  sendGraceSeconds?: number;
  staleSeconds?: number;
  /**
   * Decide as upstream's Lambda does, within its IAM policy (GetItem on Jobs, Query on
   * SegmentCompletions, PutItem on ReassemblyTriggered): the lock is not read, so the
   * conditional put alone finds a standing one, and its repairs are left to the reconciler.
   */
  lockUnread?: boolean;
}

export type TriggerOutcome = TriggerDecision['action'] | 'sent' | 'lost_race';


/** Decides for `jobId` and acts; resolves what it did. Errors propagate (the caller retries). */
export async function runTrigger(deps: TriggerDeps, jobId: string): Promise<TriggerOutcome> {
  const now = (deps.now ?? unixNow)();
  const [job, completions, lock, finalExists] = await Promise.all([
    deps.db.getJob(jobId), deps.db.countCompletions(jobId), deps.lockUnread ? Promise.resolve(null) : deps.db.getLock(jobId),
    deps.output ? deps.output.exists(finalKey(jobId)) : Promise.resolve(undefined),
  ]);
  const decision = triggerDecision({ job, completions, lock, now, finalExists, sendGraceSeconds: deps.sendGraceSeconds, staleSeconds: deps.staleSeconds });
  const log = jobLogger(deps.logger, jobId);
  switch (decision.action) {
    case 'none':
      log.debug({ event_type: 'trigger_skipped', reason: decision.reason }, `trigger: ${decision.reason}`);
      return 'none';
    case 'complete':
      await deps.db.updateJob(jobId, { status: 'completed', completedAt: now }, statusesBefore('completed'));
      log.warn({ event_type: 'trigger_completed_job', reason: decision.reason }, decision.reason);
      return 'complete';
    case 'reset':
      // Only the lock that was seen: a newer one belongs to a live reassembly.
      if (!(await deps.db.deleteLock(jobId, decision.triggeredAt))) return 'lost_race';
      log.warn({ event_type: 'reassembly_lock_reset', reason: decision.reason }, decision.reason);
      return (await putAndSend(deps, jobId, now, log)) ? 'sent' : 'lost_race';
    case 'resend':
      // Renewed first: the lock stays untaken until the resent message is received, and
      // without a new triggered_at every pass in that time (a busy reassembler: minutes)
      // resent again. Renewed by another reconciler, or taken meanwhile: nothing to send.
      if (!(await deps.db.renewLock(jobId, decision.triggeredAt, now))) return 'lost_race';
      await deps.reassembly.send(reassemblyBody(jobId));
      log.warn({ event_type: 'reassembly_resent', reason: decision.reason }, decision.reason);
      return 'resend';
    case 'trigger':
      return (await putAndSend(deps, jobId, now, log)) ? 'sent' : 'lost_race';
  }
}

async function putAndSend(deps: TriggerDeps, jobId: string, now: number, log: Logger): Promise<boolean> {
  // Built first: a job id no message can carry must not leave a lock behind.
  const body = reassemblyBody(jobId);
  if (!(await deps.db.putLock(jobId, now))) {
    log.info({ event_type: 'reassembly_already_triggered' }, 'another worker triggered the reassembly first');
    return false;
  }
  // A failed send leaves an untaken lock: the reconciler resends after the grace (lost-job 2).
  await deps.reassembly.send(body);
  log.info({ event_type: 'reassembly_triggered' }, `reassembly of job ${jobId} triggered`);
  return true;
}
