// Which SQS permissions the credentials have on each queue a chosen role consumes, probed with
// calls that change nothing: GetQueueAttributes reads; the others are made to fail after
// authorisation (a receipt handle that cannot exist, an out-of-range parameter), so the answer
// says allowed (that failure) or not (AccessDenied). One line per permission with what a missing
// one costs (src/domain/sqs-permissions.ts); only the required ones fail doctor.
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { awsOptions } from '../../adapters/aws/client-config.js';
import { readRedriveTarget, type RedriveTarget } from '../../adapters/queue/sqs-redrive-target.js';
import { queueNameFromUrl } from '../../adapters/queue/sqs-parse.js';
import { permissionName, permissionNeed, probeVerdict, type PermissionTarget, type SqsPermission } from '../../domain/sqs-permissions.js';
import type { QueueUrlKey } from '../../domain/requirements.js';
import type { RoleDefinition } from '../../ports/index.js';
import type { Config } from '../../runtime/config/schema.js';
import { oneLine, timed, type CheckResult } from './check.js';

const LIMIT_MS = 8000;
// Well-formed but issued by no queue: AWS answers ReceiptHandleIsInvalid once authorised
// (fauxqs: MessageNotInflight, or a delete that finds nothing).
const NO_SUCH_RECEIPT = 'rugbyworker-doctor-probe-receipt-handle-that-no-queue-issued';

type Probed = 'ReceiveMessage' | 'DeleteMessage' | 'ChangeMessageVisibility' | 'SendMessage';

/** SQS refuses each of these after authorising it, and never enqueues or hands out a message for it. */
const probes: Record<Probed, (client: SQSClient, QueueUrl: string) => Promise<unknown>> = {
  // 11 > 10 per call; visibility 0 in case a server took it anyway.
  ReceiveMessage: (c, QueueUrl) => c.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 11, WaitTimeSeconds: 0, VisibilityTimeout: 0 })),
  DeleteMessage: (c, QueueUrl) => c.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: NO_SUCH_RECEIPT })),
  ChangeMessageVisibility: (c, QueueUrl) => c.send(new ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle: NO_SUCH_RECEIPT, VisibilityTimeout: 0 })),
  // A NUL in the body is refused (InvalidMessageContents) before anything is enqueued, and a
  // delay past 900 s is out of range: fauxqs checks only the first, AWS both.
  SendMessage: (c, QueueUrl) => c.send(new SendMessageCommand({ QueueUrl, MessageBody: '\u0000', DelaySeconds: 901 })),
};

export function sqsPermissionChecks(config: Config, roles: readonly RoleDefinition[]): Array<Promise<CheckResult[]>> {
  if (config.QUEUE_BACKEND !== 'sqs') return [];
  const keys = new Set(roles.map((r) => r.needs.consumes).filter((k): k is QueueUrlKey => k !== undefined && Boolean(config[k])));
  return [...keys].map((key) => probeQueue(config, config[key]));
}

/** The error a call rejects with; undefined when it succeeds. */
function outcome(call: Promise<unknown>): Promise<unknown> {
  return call.then(() => undefined, (err: unknown) => err);
}

async function probeQueue(config: Config, url: string): Promise<CheckResult[]> {
  const client = new SQSClient({ ...awsOptions(config, 'sqs'), maxAttempts: 1 });
  const name = queueNameFromUrl(url);
  // One permission's line from its probe's answer (err undefined: the call succeeded).
  const verdict = (action: SqsPermission, on: PermissionTarget, err: unknown): { ok: boolean; detail: string } => {
    const v = probeVerdict(err);
    return { ok: v === 'present', detail: v === 'present' ? 'present' : v === 'missing' ? `missing: ${permissionNeed(action, on).cost}` : `could not tell: ${oneLine(err)}` };
  };
  const check = (action: SqsPermission, on: PermissionTarget, queue: string, run: () => Promise<unknown>): Promise<CheckResult> =>
    timed(permissionName(action, queue), permissionNeed(action, on).required, LIMIT_MS, async () => verdict(action, on, await run()));
  const probe = (action: Probed, on: PermissionTarget, queueUrl: string): Promise<CheckResult> =>
    check(action, on, queueNameFromUrl(queueUrl), () => outcome(probes[action](client, queueUrl)));
  try {
    // The worker's own read of the RedrivePolicy, which also finds the DLQ.
    const found: { target?: RedriveTarget; urlRefused?: unknown } = {};
    const read = await check('GetQueueAttributes', 'queue', name, () =>
      outcome(readRedriveTarget(client, url, (_dlq, err) => { found.urlRefused = err; }).then((t) => { found.target = t; })));
    const results = [read, ...(await Promise.all([
      probe('ReceiveMessage', 'queue', url), probe('DeleteMessage', 'queue', url), probe('ChangeMessageVisibility', 'queue', url), probe('SendMessage', 'queue', url),
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
