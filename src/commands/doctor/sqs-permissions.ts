// Which SQS permissions the credentials have on each queue a chosen role consumes, probed with
// calls that change nothing: GetQueueAttributes reads; the others are made to fail after
// authorisation (a receipt handle that cannot exist, an out-of-range parameter), so the answer
// says allowed (that failure) or not (AccessDenied). One line per permission with what a missing
// one costs (src/domain/sqs-permissions.ts); only the required ones fail doctor.
import { SQSClient } from '@aws-sdk/client-sqs';
import { awsOptions } from '../../adapters/aws/client-config.js';
import { readRedriveTarget, type RedriveTarget } from '../../adapters/queue/sqs-redrive-target.js';
import { queueNameFromUrl } from '../../adapters/queue/sqs-parse.js';
import { SQS_PROBES, type ProbedSqsAction } from '../../adapters/queue/sqs-probes.js';
import { leaseOptional, permissionName, permissionNeed, probeVerdict, type PermissionTarget, type SqsPermission } from '../../domain/sqs-permissions.js';
import type { QueueUrlKey } from '../../domain/requirements.js';
import type { RoleDefinition } from '../../ports/index.js';
import type { Config } from '../../runtime/config/schema.js';
import { oneLine, timed, type CheckResult } from './check.js';

const LIMIT_MS = 8000;

export function sqsPermissionChecks(config: Config, roles: readonly RoleDefinition[]): Array<Promise<CheckResult[]>> {
  if (config.QUEUE_BACKEND !== 'sqs') return [];
  const keys = new Set(roles.map((r) => r.needs.consumes).filter((k): k is QueueUrlKey => k !== undefined && Boolean(config[k])));
  return [...keys].map((key) => probeQueue(config, config[key], leaseOptional(key)));
}

/** The error a call rejects with; undefined when it succeeds. */
function outcome(call: Promise<unknown>): Promise<unknown> {
  return call.then(() => undefined, (err: unknown) => err);
}

async function probeQueue(config: Config, url: string, lease: boolean): Promise<CheckResult[]> {
  const client = new SQSClient({ ...awsOptions(config, 'sqs'), maxAttempts: 1 });
  const name = queueNameFromUrl(url);
  // One permission's line from its probe's answer (err undefined: the call succeeded).
  const verdict = (action: SqsPermission, on: PermissionTarget, err: unknown): { ok: boolean; detail: string } => {
    const v = probeVerdict(err);
    return { ok: v === 'present', detail: v === 'present' ? 'present' : v === 'missing' ? `missing: ${permissionNeed(action, on, lease).cost}` : `could not tell: ${oneLine(err)}` };
  };
  const check = (action: SqsPermission, on: PermissionTarget, queue: string, run: () => Promise<unknown>): Promise<CheckResult> =>
    timed(permissionName(action, queue), permissionNeed(action, on, lease).required, LIMIT_MS, async () => verdict(action, on, await run()));
  const probe = (action: ProbedSqsAction, on: PermissionTarget, queueUrl: string): Promise<CheckResult> =>
    check(action, on, queueNameFromUrl(queueUrl), () => outcome(SQS_PROBES[action](client, queueUrl)));
  try {
    // The worker's own read of the RedrivePolicy, which also finds the DLQ.
    const found: { target?: RedriveTarget; urlRefused?: unknown } = {};
    const read = await check('GetQueueAttributes', 'queue', name, () =>
      outcome(readRedriveTarget(client, url, (_dlq, err) => { found.urlRefused = err; }).then((t) => { found.target = t; })));
    // Sending to its own queue is the transcode reconciler's; a stereo role's sends are listed with its other permissions.
    const results = [read, ...(await Promise.all([
      probe('ReceiveMessage', 'queue', url), probe('DeleteMessage', 'queue', url), probe('ChangeMessageVisibility', 'queue', url), ...(lease ? [] : [probe('SendMessage', 'queue', url)]),
    ]))];
    const dlq = found.target?.dlq;
    if (dlq) {
      const dlqName = queueNameFromUrl(dlq.url);
      results.push({ name: permissionName('GetQueueUrl', dlqName), required: false, ...verdict('GetQueueUrl', 'dlq', found.urlRefused) }, await probe('SendMessage', 'dlq', dlq.url));
    } else if (!found.target) {
      results.push({ name: 'sqs:SendMessage on the DLQ', ok: false, required: false, detail: `not probed: the DLQ is unknown without sqs:GetQueueAttributes; ${permissionNeed('SendMessage', 'dlq').cost}` });
    }
    return results;
  } finally {
    client.destroy();
  }
}
