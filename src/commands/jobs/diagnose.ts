// `rugbyworker jobs diagnose JOB_ID [--json]`: seed 002 runbook 3's checklist in one go (the
// job, completions vs total_segments, the lock, final.mp4, the three queues' depths), then
// the verdict and the command that repairs it (src/domain/stereo/diagnose.ts).
import type { Io } from '../io.js';
import { QUEUE_SETTING, STEREO_QUEUES, type StereoQueueName } from '../../domain/queue-names.js';
import type { RoleNeeds } from '../../domain/requirements.js';
import { diagnose, type Diagnosis, type QueueCounts } from '../../domain/stereo/diagnose.js';
import { finalKey, parseSegmentKey, segmentsPrefix } from '../../domain/stereo/keys.js';
import { describeLock, lockState, type LockState } from '../../domain/stereo/lock-state.js';
import type { StereoJob } from '../../domain/stereo/records.js';
import { EXIT, UserError } from '../../runtime/errors.js';
import { escapeControlChars, terminalSafeJson } from '../../runtime/terminal-text.js';
import { attempt, queueCall, queueResource, tableResource, type OperatorContext } from '../operator.js';

export const needs: RoleNeeds = {
  sendsTo: STEREO_QUEUES.map((q) => QUEUE_SETTING[q]),
  buckets: ['INPUT_BUCKET_NAME', 'OUTPUT_BUCKET_NAME'],
  tables: ['JOBS_TABLE_NAME', 'SEGMENT_COMPLETIONS_TABLE_NAME', 'REASSEMBLY_TRIGGERED_TABLE_NAME'],
};

/** The statuses in which the segments in the input bucket say how far chunking got. */
const CHUNKING = new Set(['created', 'chunking_in_progress']);

export async function diagnoseJob(ctx: OperatorContext, args: { jobId: string; json: boolean }): Promise<number> {
  const { config, ports, io } = ctx;
  const { jobId } = args;
  const db = await ports.pipelineDb();
  const job = await attempt('DynamoDB GetItem', tableResource(config, 'JOBS_TABLE_NAME'), () => db.getJob(jobId));
  if (job === null) throw new UserError(`no job ${jobId} in ${tableResource(config, 'JOBS_TABLE_NAME')}`, EXIT.FAILURE);

  const output = ports.storage('OUTPUT_BUCKET_NAME');
  const input = ports.storage('INPUT_BUCKET_NAME');
  const [completions, lock, finalExists, segmentObjects, ...depths] = await Promise.all([
    attempt('DynamoDB Query', tableResource(config, 'SEGMENT_COMPLETIONS_TABLE_NAME'), () => db.countCompletions(jobId)),
    attempt('DynamoDB GetItem', tableResource(config, 'REASSEMBLY_TRIGGERED_TABLE_NAME'), () => db.getLock(jobId)),
    attempt('S3 HeadObject', `s3://${output.bucket}/${finalKey(jobId)} (OUTPUT_BUCKET_NAME)`, () => output.exists(finalKey(jobId))),
    CHUNKING.has(job.status)
      ? attempt('S3 ListObjectsV2', `s3://${input.bucket}/${segmentsPrefix(jobId)} (INPUT_BUCKET_NAME)`, async () => {
        let n = 0;
        for await (const o of input.list(segmentsPrefix(jobId))) {
          const p = parseSegmentKey(input.bucket, o.key);
          if (p.ok && p.payload.jobId === jobId) n++;
        }
        return n;
      })
      : Promise.resolve(null),
    ...STEREO_QUEUES.map((name) => depthOf(ctx, name)),
  ]);
  const queues = Object.fromEntries(STEREO_QUEUES.map((name, i) => [name, depths[i] ?? null])) as Record<StereoQueueName, QueueCounts | null>;
  const now = ctx.now();
  const verdict = diagnose({ job, completions, lock, finalExists, queues, segmentObjects, now, staleSeconds: config.REASSEMBLY_STALE_SECONDS });
  const report = { job, completions, lock: lockState(lock, now), finalExists, queues, verdict };
  if (args.json) printJson(io, report);
  else printText(io, report);
  return EXIT.OK;
}

async function depthOf(ctx: OperatorContext, name: StereoQueueName): Promise<QueueCounts | null> {
  const key = QUEUE_SETTING[name];
  const queue = await attempt(queueCall(ctx.config, 'open'), queueResource(ctx.config, key), () => ctx.ports.queue(key));
  return attempt(queueCall(ctx.config, 'depth'), queueResource(ctx.config, key), () => queue.depth());
}

interface Report {
  job: StereoJob;
  completions: number;
  lock: LockState;
  finalExists: boolean;
  queues: Record<StereoQueueName, QueueCounts | null>;
  verdict: Diagnosis;
}

function printJson(io: Io, r: Report): void {
  const lock = r.lock.state === 'none' ? { state: 'none' }
    : r.lock.state === 'triggered' ? { state: 'triggered', triggered_at: r.lock.triggeredAt, seconds_ago: r.lock.secondsAgo }
      : { state: 'started', triggered_at: r.lock.triggeredAt, started_at: r.lock.startedAt, seconds_ago: r.lock.secondsAgo };
  io.stdout(`${terminalSafeJson(JSON.stringify({
    job_id: r.job.jobId, status: r.job.status, total_segments: r.job.totalSegments, completions: r.completions, lock, final_exists: r.finalExists,
    queues: r.queues, verdict: r.verdict.verdict, next: r.verdict.next,
  }))}\n`);
}

function printText(io: Io, r: Report): void {
  const queue = (q: QueueCounts | null): string => (q === null ? 'unknown' : `${q.visible} visible, ${q.inflight} in flight, ${q.dlq === null ? 'no DLQ' : `${q.dlq} in the DLQ`}`);
  const lines: Array<[string, string]> = [
    ['job', r.job.jobId],
    ['status', `${r.job.status}${r.job.mode ? ` (${r.job.mode})` : ''}`],
    ['segments', `${r.completions} complete of ${r.job.totalSegments ?? '(total_segments not recorded)'}`],
    ['lock', describeLock(r.lock)],
    ['final.mp4', r.finalExists ? 'exists' : 'not there'],
    ...STEREO_QUEUES.map((name): [string, string] => [`${name} queue`, queue(r.queues[name])]),
    ['verdict', r.verdict.verdict],
    ['next', r.verdict.next ?? '(nothing to run)'],
  ];
  const width = Math.max(...lines.map(([k]) => k.length));
  // Row fields are written by others (the web UI, upstream workers): shown, never obeyed.
  for (const [k, v] of lines) io.stdout(`${k.padEnd(width)}  ${escapeControlChars(v)}\n`);
}
