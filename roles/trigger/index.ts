// trigger (DESIGN §1): the reconciler. Every TRIGGER_INTERVAL_SECONDS, each job left in
// chunking_complete gets the trigger decision with final.mp4 checked: a complete job with
// no lock is triggered, a lock whose message was lost is re-sent (lost-job 2), a lock of a
// reassembly that died is reset (lost-job 3). The conditional put keeps it exactly once.
import type { RoleContext, RoleService } from '../../src/ports/index.js';
import { startPeriodic } from '../../src/runtime/periodic.js';
import { runTrigger } from '../stereo/run-trigger.js';

export async function start(ctx: RoleContext): Promise<RoleService> {
  const { config, ports, logger } = ctx;
  const [reassembly, db] = await Promise.all([ports.queue('REASSEMBLY_QUEUE_URL'), ports.pipelineDb()]);
  const output = ports.storage('OUTPUT_BUCKET_NAME');
  let failures = 0;

  async function pass(): Promise<boolean> {
    const outcomes: Record<string, number> = {};
    try {
      for await (const job of db.jobsInStatus('chunking_complete')) {
        try {
          const outcome = await runTrigger({ db, reassembly, output, logger, staleSeconds: config.REASSEMBLY_STALE_SECONDS }, job.jobId);
          outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        } catch (err) {
          failures++;
          logger.error({ event_type: 'trigger_failed', job_id: job.jobId, err }, `trigger of job ${job.jobId} failed: ${(err as Error).message}`);
        }
      }
    } catch (err) {
      failures++;
      logger.error({ event_type: 'trigger_pass_failed', err }, `trigger: could not list jobs: ${(err as Error).message}`);
      return false;
    }
    logger.info({ event_type: 'trigger_pass_completed', ...outcomes }, `trigger pass: ${JSON.stringify(outcomes)}`);
    return true;
  }

  const service = startPeriodic({
    name: 'trigger', once: ctx.once, stopping: ctx.stopping, logger, pass,
    nextDelayMs: () => config.TRIGGER_INTERVAL_SECONDS * 1000,
  });
  return { ...service, exitCode: () => (failures > 0 ? 1 : 0) };
}
