// The trigger decision run inline by chunk (after chunking_complete) and segment-infer (after
// each completion), where the task may run it: both REASSEMBLY_QUEUE_URL and
// REASSEMBLY_TRIGGERED_TABLE_NAME set, and every call of it allowed (INLINE_TRIGGER,
// probed at start-up; a refusal met later turns it off too). Upstream's ecba15e tasks may
// not (its video-worker has neither setting nor the table; its media-worker may not send
// to the reassembly queue): there the Lambda on the SegmentCompletions stream triggers, and
// the completion recorded is all this task owes. A task that may put the lock but not send
// never puts it (the lock would stand with no message: upstream's lost job 2).
// After chunking_complete with the trigger off, chunk nudges the stream instead: if every
// segment was recorded before chunking_complete (upstream's lost job 1, which its Lambda
// never sees again), the last completion is written again with a new completed_at, and the
// stream's record makes the Lambda decide once more, now with the job chunking_complete.
import type { Logger } from 'pino';
import type { PipelineDb, Queue, RoleContext, RolePorts } from '../../src/ports/index.js';
import { INLINE_TRIGGER, STREAM_NUDGE, TRIGGER_ELSEWHERE } from '../../src/domain/stereo/task-permissions.js';
import { unixSeconds } from '../../src/runtime/clock.js';
import { runTrigger, type TriggerOutcome } from './run-trigger.js';
import { missingPermissions, refused } from './task-permissions.js';
import { jobLogger } from './log.js';

/** The setting without which the inline trigger is off ('' when both are set, or in local mode). */
function unsetSetting(config: RoleContext['config']): string {
  if (config.QUEUE_BACKEND === 'memory') return ''; // local mode: in-process queues and tables
  if (config.QUEUE_BACKEND === 'sqs' && !config.REASSEMBLY_QUEUE_URL) return 'REASSEMBLY_QUEUE_URL';
  return config.REASSEMBLY_TRIGGERED_TABLE_NAME ? '' : 'REASSEMBLY_TRIGGERED_TABLE_NAME';
}

export class InlineTrigger {
  #reassembly: Queue | null;
  #nudge: boolean;
  readonly #db: PipelineDb;
  readonly #ports: RolePorts;
  readonly #role: string;
  readonly #logger: Logger;

  private constructor(opts: { reassembly: Queue | null; nudge: boolean; db: PipelineDb; ports: RolePorts; role: string; logger: Logger }) {
    this.#reassembly = opts.reassembly;
    this.#nudge = opts.nudge;
    this.#db = opts.db;
    this.#ports = opts.ports;
    this.#role = opts.role;
    this.#logger = opts.logger;
  }

  /** Decides at start-up whether this task runs the trigger (and, with `nudge`, may nudge the stream when it does not). */
  static async open(ctx: RoleContext, role: string, db: PipelineDb, opts: { nudge?: boolean } = {}): Promise<InlineTrigger> {
    const { config, ports, logger } = ctx;
    const unset = unsetSetting(config);
    let reassembly: Queue | null = null;
    if (unset !== '') {
      logger.info({ event_type: 'inline_trigger_off', role, reason: `${unset} is not set` }, `${unset} is not set: ${TRIGGER_ELSEWHERE}`);
    } else if ((await missingPermissions(ports, INLINE_TRIGGER, role, logger)).length === 0) {
      reassembly = await ports.queue('REASSEMBLY_QUEUE_URL');
    }
    const nudge = reassembly === null && opts.nudge === true && (await missingPermissions(ports, STREAM_NUDGE, role, logger)).length === 0;
    return new InlineTrigger({ reassembly, nudge, db, ports, role, logger });
  }

  get on(): boolean {
    return this.#reassembly !== null;
  }

  /** The decision for `jobId` where this task runs the trigger; 'off' where it does not. A refusal turns it off (logged once), never fails the job. */
  async run(jobId: string, logger: Logger): Promise<TriggerOutcome | 'off'> {
    const reassembly = this.#reassembly;
    if (reassembly === null) return 'off';
    try {
      return await runTrigger({ db: this.#db, reassembly, logger }, jobId);
    } catch (err) {
      if (!refused(err, this.#ports, INLINE_TRIGGER, this.#role, this.#logger)) throw err;
      this.#reassembly = null;
      return 'off';
    }
  }

  /** After chunking_complete: the decision, or where this task may not run it, the stream nudged when every segment is already recorded. */
  async afterChunking(jobId: string, total: number, logger: Logger): Promise<void> {
    if ((await this.run(jobId, logger)) !== 'off' || !this.#nudge || total < 1) return;
    try {
      const done = (await this.#db.completions(jobId)).filter((c) => c.segmentIndex < total);
      const last = done.at(-1);
      if (done.length < total || !last) return;
      await this.#db.putCompletion({ ...last, completedAt: Math.max(unixSeconds(), last.completedAt + 1) });
      jobLogger(logger, jobId).info(
        { event_type: 'trigger_stream_nudged', segment_index: last.segmentIndex },
        `every segment was recorded before chunking_complete: completion ${last.segmentIndex} written again, so the SegmentCompletions stream triggers the reassembly`,
      );
    } catch (err) {
      if (!refused(err, this.#ports, STREAM_NUDGE, this.#role, this.#logger)) throw err;
      this.#nudge = false;
    }
  }
}
