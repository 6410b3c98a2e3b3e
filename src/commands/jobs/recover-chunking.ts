// `rugbyworker jobs recover-chunking JOB_ID [--yes]`: seed 002 runbook 1. Lists
// segments/JOB_ID/ in the input bucket, derives total_segments from the keys (warning about
// those that disagree or do not parse), and records chunking_complete with one conditional
// update, after a confirmation on a terminal (or --yes).
import type { RoleNeeds } from '../../domain/requirements.js';
import { segmentsPrefix } from '../../domain/stereo/keys.js';
import { planChunkingRecovery, RECOVERABLE_STATUSES } from '../../domain/stereo/recover-chunking.js';
import { shellWord } from '../../domain/stereo/diagnose.js';
import { EXIT, UserError } from '../../runtime/errors.js';
import { confirm, notConfirmed } from '../confirm.js';
import { attempt, tableResource, warn, type OperatorContext } from '../operator.js';

// All three tables: the PipelineDb adapter opens them together.
export const needs: RoleNeeds = { buckets: ['INPUT_BUCKET_NAME'], tables: ['JOBS_TABLE_NAME', 'SEGMENT_COMPLETIONS_TABLE_NAME', 'REASSEMBLY_TRIGGERED_TABLE_NAME'] };

export async function recoverChunking(ctx: OperatorContext, args: { jobId: string; yes: boolean }): Promise<number> {
  const { config, ports, io } = ctx;
  const { jobId } = args;
  const jobs = tableResource(config, 'JOBS_TABLE_NAME');
  const input = ports.storage('INPUT_BUCKET_NAME');
  const prefix = segmentsPrefix(jobId);
  const db = await ports.pipelineDb();
  const [job, keys] = await Promise.all([
    attempt('DynamoDB GetItem', jobs, () => db.getJob(jobId)),
    attempt('S3 ListObjectsV2', `s3://${input.bucket}/${prefix} (INPUT_BUCKET_NAME)`, async () => {
      const out: string[] = [];
      for await (const o of input.list(prefix)) out.push(o.key);
      return out;
    }),
  ]);
  const plan = planChunkingRecovery({ jobId, job, keys, bucket: input.bucket });
  for (const w of plan.warnings) warn(io, w);
  if (!plan.ok || job === null) throw new UserError(plan.ok ? `no job ${jobId}` : plan.reason, EXIT.FAILURE);

  const change = `set job ${jobId} (now ${job.status}) to chunking_complete with total_segments ${plan.totalSegments}`;
  const answer = await confirm(`Will ${change}. Continue?`, { yes: args.yes, terminal: ctx.terminal });
  if (answer !== 'yes') throw notConfirmed(answer, change);

  const outcome = await attempt('DynamoDB UpdateItem', jobs, () => db.updateJob(jobId, { status: 'chunking_complete', totalSegments: plan.totalSegments }, RECOVERABLE_STATUSES));
  if (outcome === 'missing') throw new UserError(`job ${jobId} was deleted before the update; nothing written`, EXIT.FAILURE);
  if (outcome === 'conflict') {
    const now = await attempt('DynamoDB GetItem', jobs, () => db.getJob(jobId));
    throw new UserError(`job ${jobId} changed to ${now?.status ?? 'another status'} meanwhile; nothing written`, EXIT.FAILURE);
  }
  io.stdout(`updated job ${jobId}: status chunking_complete, total_segments ${plan.totalSegments} (${plan.segments} segment${plan.segments === 1 ? '' : 's'} found)\n`);

  // The Lambda fires on a completion only: segments all finished before this update never trigger by themselves (lost-job 1).
  const completions = await attempt('DynamoDB Query', tableResource(config, 'SEGMENT_COMPLETIONS_TABLE_NAME'), () => db.countCompletions(jobId));
  if (completions >= plan.totalSegments) {
    io.stdout(`all ${plan.totalSegments} segments are already complete and no completion will come to trigger the reassembly: run rugbyworker jobs trigger-reassembly ${shellWord(jobId)} (or let the trigger role do it)\n`);
  }
  return EXIT.OK;
}
