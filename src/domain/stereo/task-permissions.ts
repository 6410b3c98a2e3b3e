// The AWS permissions each stereo role uses beyond its queue's (those are in
// src/domain/sqs-permissions.ts), which it can do without, and what it does then. Upstream's
// task roles (stereo-spot packages/aws-infra/ecs.tf) were made for the Python workers and
// grant no more than those used: every role must work under them unchanged, taking what
// upstream relies on where a call we would make is refused. `doctor --role X` lists these
// (probed with calls that change nothing); the roles probe the optional ones at start-up
// and log each missing one once (roles/stereo/task-permissions.ts).
import type { BucketKey, QueueUrlKey, TableKey } from '../requirements.js';

export type PermissionResource =
  | { readonly queue: QueueUrlKey }
  | { readonly table: TableKey; readonly index?: string }
  | { readonly bucket: BucketKey };

/** One IAM action on one resource of the configuration. */
export interface PermissionCheck {
  /** As IAM names it: 'dynamodb:PutItem', 'sqs:SendMessage', 's3:GetObject'. */
  readonly action: string;
  readonly on: PermissionResource;
}

export interface RolePermission extends PermissionCheck {
  /** The role cannot do its work without it. */
  readonly required: boolean;
  /** What the role does without it (for optional ones), or what fails (required). */
  readonly without: string;
}

const JOBS = { table: 'JOBS_TABLE_NAME' } as const;
const COMPLETIONS = { table: 'SEGMENT_COMPLETIONS_TABLE_NAME' } as const;
const LOCKS = { table: 'REASSEMBLY_TRIGGERED_TABLE_NAME' } as const;
const REASSEMBLY = { queue: 'REASSEMBLY_QUEUE_URL' } as const;
const INPUT = { bucket: 'INPUT_BUCKET_NAME' } as const;
const OUTPUT = { bucket: 'OUTPUT_BUCKET_NAME' } as const;

const need = (action: string, on: PermissionResource, without: string): RolePermission => ({ action, on, required: true, without });
const optional = (action: string, on: PermissionResource, without: string): RolePermission => ({ action, on, required: false, without });

/** What the inline trigger is left to when a task may not run it. */
export const TRIGGER_ELSEWHERE = 'the inline trigger is off: the reassembly is started by whoever triggers in this deployment (ecba15e: the reassembly-trigger Lambda on the SegmentCompletions stream; the `trigger` role wherever it runs)';

/**
 * The trigger decision run inline (after a completion, after chunking_complete): read the
 * job and count the completions, read and put the ReassemblyTriggered lock (renew it for a
 * resend), send {"job_id"}. All or nothing: a task that may put the lock but not send would
 * leave a lock whose message never goes (upstream's lost job 2).
 */
export const INLINE_TRIGGER: readonly RolePermission[] = [
  optional('dynamodb:Query', COMPLETIONS, TRIGGER_ELSEWHERE),
  optional('dynamodb:GetItem', LOCKS, TRIGGER_ELSEWHERE),
  optional('dynamodb:PutItem', LOCKS, TRIGGER_ELSEWHERE),
  optional('dynamodb:UpdateItem', LOCKS, TRIGGER_ELSEWHERE),
  optional('sqs:SendMessage', REASSEMBLY, TRIGGER_ELSEWHERE),
];

/**
 * chunk without the inline trigger: when every segment was recorded before chunking_complete
 * (upstream's lost job 1), the last completion is written again, so the SegmentCompletions
 * stream fires the trigger once more.
 */
export const STREAM_NUDGE: readonly RolePermission[] = [
  optional('dynamodb:Query', COMPLETIONS, 'a job whose segments all finished before chunking_complete waits for the `trigger` role (upstream\'s lost job 1)'),
  optional('dynamodb:PutItem', COMPLETIONS, 'a job whose segments all finished before chunking_complete waits for the `trigger` role (upstream\'s lost job 1)'),
];

const JOB_READ = need('dynamodb:GetItem', JOBS, 'the job cannot be read: every message is retried, then left to the redrive policy');
const JOB_WRITE = need('dynamodb:UpdateItem', JOBS, 'no status can be written');

/** Every permission of each stereo role beyond its consumed queue's, in the order `doctor` lists them. */
export const STEREO_ROLE_PERMISSIONS: Readonly<Record<'chunk' | 'segment-infer' | 'reassemble' | 'trigger', readonly RolePermission[]>> = {
  chunk: [
    need('s3:GetObject', INPUT, 'the source cannot be read'),
    need('s3:PutObject', INPUT, 'no segment can be uploaded'),
    JOB_READ, JOB_WRITE,
    ...INLINE_TRIGGER,
    STREAM_NUDGE[1]!,
  ],
  'segment-infer': [
    need('s3:GetObject', INPUT, 'the stub and ffmpeg backends cannot read the segment'),
    need('s3:PutObject', OUTPUT, 'the stub and ffmpeg backends cannot write the output'),
    need('s3:GetObject', OUTPUT, 'the output cannot be checked before its completion is recorded'),
    need('s3:ListBucket', OUTPUT, 'a missing output reads as refused (403), not missing (404)'),
    JOB_READ, JOB_WRITE,
    need('dynamodb:PutItem', COMPLETIONS, 'no SegmentCompletion can be recorded: no job is ever reassembled'),
    ...INLINE_TRIGGER,
  ],
  reassemble: [
    need('s3:GetObject', OUTPUT, 'the segment outputs cannot be read'),
    need('s3:PutObject', OUTPUT, 'final.mp4 cannot be written'),
    need('s3:ListBucket', OUTPUT, 'a missing final.mp4 reads as refused (403), not missing (404)'),
    optional('s3:AbortMultipartUpload', OUTPUT, 'a failed upload of final.mp4 leaves its parts behind until the bucket\'s lifecycle removes incomplete uploads'),
    JOB_READ, JOB_WRITE,
    need('dynamodb:Query', COMPLETIONS, 'the segments cannot be listed'),
    need('dynamodb:GetItem', LOCKS, 'the lock cannot be read'),
    need('dynamodb:UpdateItem', LOCKS, 'the job cannot be taken (reassembly_started_at)'),
  ],
  trigger: [
    need('dynamodb:Query', { table: 'JOBS_TABLE_NAME', index: 'status-created_at' }, 'the jobs left at chunking_complete cannot be found'),
    JOB_READ, JOB_WRITE,
    need('dynamodb:Query', COMPLETIONS, 'the completions cannot be counted'),
    need('dynamodb:GetItem', LOCKS, 'the lock cannot be read'),
    need('dynamodb:PutItem', LOCKS, 'no job can be triggered'),
    need('dynamodb:UpdateItem', LOCKS, 'a lost reassembly message cannot be sent again'),
    need('dynamodb:DeleteItem', LOCKS, 'the lock of a dead reassembly cannot be reset'),
    need('sqs:SendMessage', REASSEMBLY, 'no reassembly message can be sent'),
    need('s3:GetObject', OUTPUT, 'a final.mp4 left by a dead reassembly is not seen'),
    need('s3:ListBucket', OUTPUT, 'a missing final.mp4 reads as refused (403), not missing (404)'),
  ],
};

/** The resource by its setting: "REASSEMBLY_TRIGGERED_TABLE_NAME", "JOBS_TABLE_NAME index status-created_at". */
export function resourceName(on: PermissionResource): string {
  return 'queue' in on ? on.queue : 'bucket' in on ? on.bucket : on.index ? `${on.table} index ${on.index}` : on.table;
}

/** "dynamodb:PutItem on REASSEMBLY_TRIGGERED_TABLE_NAME". */
export function checkName(check: PermissionCheck): string {
  return `${check.action} on ${resourceName(check.on)}`;
}
