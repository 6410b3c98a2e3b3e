// Local stereo: one job followed from the writes the roles make (stereo-taps.ts) to its end,
// `completed` or `failed`, or a message dead-lettered (no role will move the job again).
// As a role beside the pipeline's, its `done` is that end, so runWorkers' --once shutdown
// stops every role then: no polling, no timeout.
import { parseSegmentKey } from '../domain/stereo/keys.js';
import type { JobUpdateOutcome, RoleDefinition, SegmentCompletion, WritableStatus } from '../ports/index.js';
import type { PipelineTaps } from './stereo-taps.js';
import { stereoProgress, type StereoCounts } from './stereo-progress.js';

export type StereoEnd = 'completed' | 'failed';

export class JobWatch implements PipelineTaps {
  readonly counts: StereoCounts = { total: null, chunked: 0, inferred: 0, joined: 0 };
  readonly end: Promise<StereoEnd>;
  private settle: (end: StereoEnd) => void = () => undefined;
  private changed: () => void = () => undefined;
  private readonly inferred = new Set<number>();

  constructor(private readonly jobId: string, private readonly inputBucket: string) {
    this.end = new Promise((resolve) => { this.settle = resolve; });
  }

  /** An object created in the input bucket: one of this job's segments counts as chunked. */
  objectCreated(key: string): void {
    const p = parseSegmentKey(this.inputBucket, key);
    if (!p.ok || p.payload.jobId !== this.jobId) return;
    this.counts.total = p.payload.totalSegments;
    this.counts.chunked++;
    this.changed();
  }

  completionPut(c: SegmentCompletion): void {
    // A redelivered segment is recorded twice; it is one segment.
    if (c.jobId !== this.jobId || this.inferred.has(c.segmentIndex)) return;
    this.inferred.add(c.segmentIndex);
    this.counts.inferred = this.inferred.size;
    this.changed();
  }

  jobUpdated(jobId: string, status: WritableStatus, outcome: JobUpdateOutcome): void {
    if (jobId !== this.jobId || outcome !== 'updated') return;
    if (status === 'completed') {
      this.counts.joined = this.counts.total ?? 0;
      this.changed();
      this.settle('completed');
    } else if (status === 'failed') {
      this.settle('failed');
    }
  }

  deadLettered(): void {
    // Every queue allows one receive locally: a dead letter is a step that will not be retried.
    this.settle('failed');
  }

  /**
   * The watch as a role: it logs `stereo_progress` on each change (the progress bar draws
   * it) and is done when the job ends.
   */
  role(): RoleDefinition {
    return {
      name: 'stereo-watch', description: 'local stereo: follows the job to its end', needs: {},
      start: async (ctx) => {
        const started = performance.now();
        this.changed = () => {
          const { percent, etaSeconds } = stereoProgress(this.counts, (performance.now() - started) / 1000);
          ctx.logger.info({ event_type: 'stereo_progress', job_id: this.jobId, ...this.counts, percent, eta_seconds: etaSeconds },
            `${this.counts.chunked} chunked, ${this.counts.inferred} inferred, ${this.counts.joined} joined of ${this.counts.total ?? '?'}`);
        };
        return { name: 'stereo-watch', done: this.end.then(() => undefined), stop: async () => { this.changed = () => undefined; } };
      },
    };
  }
}
