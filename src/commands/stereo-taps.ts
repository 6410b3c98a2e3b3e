// Local stereo: the ports the roles use, passed through unchanged, with a listener told of
// the writes that mark progress or an end (a completion, a Jobs status, a dead letter), so
// the command learns them as they happen instead of polling the tables.
import type { JobUpdateOutcome, PipelineDb, Queue, QueueMessage, SegmentCompletion, WritableStatus } from '../ports/index.js';

export interface PipelineTaps {
  completionPut(c: SegmentCompletion): void;
  jobUpdated(jobId: string, status: WritableStatus, outcome: JobUpdateOutcome): void;
}

export class TappedPipelineDb implements PipelineDb {
  constructor(private readonly db: PipelineDb, private readonly taps: PipelineTaps) {}

  getJob(jobId: string) { return this.db.getJob(jobId); }
  async updateJob(jobId: string, change: Parameters<PipelineDb['updateJob']>[1], from?: readonly string[]): Promise<JobUpdateOutcome> {
    const outcome = await this.db.updateJob(jobId, change, from);
    this.taps.jobUpdated(jobId, change.status, outcome);
    return outcome;
  }
  jobsInStatus(status: WritableStatus) { return this.db.jobsInStatus(status); }
  async putCompletion(c: SegmentCompletion): Promise<void> {
    await this.db.putCompletion(c);
    this.taps.completionPut(c);
  }
  completions(jobId: string) { return this.db.completions(jobId); }
  countCompletions(jobId: string) { return this.db.countCompletions(jobId); }
  getLock(jobId: string) { return this.db.getLock(jobId); }
  putLock(jobId: string, triggeredAt: number) { return this.db.putLock(jobId, triggeredAt); }
  takeLock(jobId: string, startedAt: number, opts?: { staleBefore?: number }) { return this.db.takeLock(jobId, startedAt, opts); }
  refreshLock(jobId: string, seenStartedAt: number, startedAt: number) { return this.db.refreshLock(jobId, seenStartedAt, startedAt); }
  releaseLock(jobId: string, startedAt?: number) { return this.db.releaseLock(jobId, startedAt); }
  deleteLock(jobId: string, triggeredAt?: number) { return this.db.deleteLock(jobId, triggeredAt); }
  renewLock(jobId: string, seenTriggeredAt: number, triggeredAt: number) { return this.db.renewLock(jobId, seenTriggeredAt, triggeredAt); }
}

/** Every call forwarded as it is (rest parameters: a signature that grows keeps working). */
export class TappedQueue implements Queue {
  constructor(private readonly queue: Queue, private readonly deadLettered: (queue: string, reason: string) => void) {}

  get name(): string { return this.queue.name; }
  get maxReceiveCount(): number | null { return this.queue.maxReceiveCount; }
  receive(...a: Parameters<Queue['receive']>) { return this.queue.receive(...a); }
  extend(...a: Parameters<Queue['extend']>) { return this.queue.extend(...a); }
  release(...a: Parameters<Queue['release']>) { return this.queue.release(...a); }
  ack(...a: Parameters<Queue['ack']>) { return this.queue.ack(...a); }
  async deadLetter(msg: QueueMessage, reason: string): Promise<void> {
    await this.queue.deadLetter(msg, reason);
    this.deadLettered(this.queue.name, reason);
  }
  send(...a: Parameters<Queue['send']>) { return this.queue.send(...a); }
  depth() { return this.queue.depth(); }
  close() { return this.queue.close(); }
}
