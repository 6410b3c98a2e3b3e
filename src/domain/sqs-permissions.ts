// The SQS permissions a queue consumer uses, which it can do without, and what each missing
// one costs. The worker's fallbacks, its one log line per refusal and `doctor` all say it from
// here. The RugbyCodex Jetson's user was made for the Python worker: Receive, Delete and
// ChangeVisibility on its queue, nothing else; that must be enough.
import { errorCode, isAccessDenied } from './aws-error-codes.js';
import type { QueueUrlKey } from './requirements.js';

export type SqsPermission = 'ReceiveMessage' | 'DeleteMessage' | 'ChangeMessageVisibility' | 'GetQueueAttributes' | 'GetQueueUrl' | 'SendMessage';

/** On the consumed queue itself, or on its dead-letter queue. */
export type PermissionTarget = 'queue' | 'dlq';

export interface PermissionNeed {
  readonly action: SqsPermission;
  readonly on: PermissionTarget;
  /** Without it the consumer cannot work at all. */
  readonly required: boolean;
  /** What the worker does without it, for logs and `doctor`. */
  readonly cost: string;
}

const REDRIVE = 'invalid and finally failed messages are left to the queue\'s redrive policy (each comes back up to maxReceiveCount times, one visibility timeout apart, and SQS moves it to the DLQ)';

/** Every SQS call a consumer makes on its queue, in the order `doctor` lists them. */
export const CONSUMER_PERMISSIONS: readonly PermissionNeed[] = [
  { action: 'ReceiveMessage', on: 'queue', required: true, cost: 'no message is ever received' },
  { action: 'DeleteMessage', on: 'queue', required: true, cost: 'a finished job\'s message comes back and the job is done again' },
  { action: 'ChangeMessageVisibility', on: 'queue', required: true, cost: 'no lease is extended or given back: a long job\'s message goes to another worker mid-job' },
  { action: 'GetQueueAttributes', on: 'queue', required: false, cost: `the RedrivePolicy cannot be read: maxReceiveCount comes from SQS_ASSUMED_MAX_RECEIVE_COUNT, the DLQ is unknown, so ${REDRIVE}` },
  { action: 'GetQueueUrl', on: 'dlq', required: false, cost: 'the DLQ\'s URL is made from the queue\'s own (a DLQ is in the same account and region)' },
  { action: 'SendMessage', on: 'dlq', required: false, cost: REDRIVE },
  { action: 'SendMessage', on: 'queue', required: false, cost: 'the transcode reconciler cannot send a lost message again: a job whose message was never sent waits in queued until a worker that may sends it (`dlq replay` needs it too where SQS has no StartMessageMoveTask)' },
];

/**
 * Without ChangeMessageVisibility on a queue whose own visibility timeout was sized for its
 * jobs (the stereo queues: upstream's workers never extend, Terraform gives chunking 900 s,
 * video-worker 1800 s, reassembly 600 s, and no task role the call): the queue's visibility
 * is the lease. The transcode queue's is not (600 s for encodes of up to an hour): there a
 * lease that cannot be extended ends the job.
 */
const VISIBILITY_IS_THE_LEASE: PermissionNeed = {
  action: 'ChangeMessageVisibility', on: 'queue', required: false,
  cost: 'the queue\'s visibility timeout is the lease (as for upstream\'s workers): a job running longer than it may be delivered again and done twice, and a failed job\'s message comes back when its visibility ends rather than after the retry delay',
};

/** What a consumer needs `action` for; with `leaseOptional`, ChangeMessageVisibility is not required (VISIBILITY_IS_THE_LEASE). */
export function permissionNeed(action: SqsPermission, on: PermissionTarget, leaseOptional = false): PermissionNeed {
  if (leaseOptional && action === VISIBILITY_IS_THE_LEASE.action && on === VISIBILITY_IS_THE_LEASE.on) return VISIBILITY_IS_THE_LEASE;
  const need = CONSUMER_PERMISSIONS.find((p) => p.action === action && p.on === on);
  if (!need) throw new Error(`no such consumer permission: sqs:${action} on the ${on}`);
  return need;
}

/** "sqs:SendMessage on transcode-dlq", as IAM and the log lines name it. */
export function permissionName(action: SqsPermission, queueName: string): string {
  return `sqs:${action} on ${queueName}`;
}

export type ProbeVerdict = 'present' | 'missing' | 'unknown';

// The service saying the queue is not there answers nothing about the permission.
const NO_QUEUE = new Set(['QueueDoesNotExist', 'NonExistentQueue']);

/**
 * What a probe's answer says of its permission. A probe is a call made to fail after
 * authorisation (a receipt handle that cannot exist, an out-of-range parameter): AccessDenied
 * is missing; any other answer of the service (success included) is present; no answer,
 * refused credentials or a missing queue tell nothing.
 */
export function probeVerdict(err: unknown): ProbeVerdict {
  if (err === undefined || err === null) return 'present';
  if (isAccessDenied(err)) return 'missing';
  const status = (err as { $metadata?: { httpStatusCode?: unknown } }).$metadata?.httpStatusCode;
  const answered = typeof status === 'number' && status >= 400 && status < 500 && status !== 401 && status !== 403;
  return answered && !NO_QUEUE.has(errorCode(err)) ? 'present' : 'unknown';
}

/** Whether a consumer of the queue behind `key` may do without ChangeMessageVisibility (VISIBILITY_IS_THE_LEASE): every stereo queue. */
export function leaseOptional(key: QueueUrlKey): boolean {
  return key !== 'SQS_TRANSCODE_QUEUE_URL';
}
