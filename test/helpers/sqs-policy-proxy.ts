// An SQS-only IAM policy in front of fauxqs's SQS, in the Jetson user's terms (actions per
// queue name): the IAM proxy (iam-proxy.ts) with SQS as its only target. A refused call is
// answered as AWS does (HTTP 400, `com.amazonaws.sqs#AccessDenied`, the
// `x-amzn-query-error: AccessDenied;Sender` header, "User: … is not authorized to perform:
// sqs:X on resource: arn:aws:sqs:…"); a request without an `AmazonSQS.*` target is refused, so
// nothing slips through unchecked. Point only SQS at it (AWS_ENDPOINT_URL_SQS).
import { allows as policyAllows, arn, type ArnScope, type Policy } from './iam-policy.js';
import { startIamProxy } from './iam-proxy.js';
import { sqsAction, sqsQueueOf } from './iam-requests.js';

/** The SQS actions as IAM names them (`sqs:` left out). */
export type SqsAction =
  | 'ReceiveMessage' | 'DeleteMessage' | 'ChangeMessageVisibility' | 'SendMessage' | 'GetQueueAttributes' | 'GetQueueUrl'
  | 'PurgeQueue' | 'StartMessageMoveTask' | 'ListMessageMoveTasks' | 'CancelMessageMoveTask' | 'ListQueues'
  | 'CreateQueue' | 'DeleteQueue' | 'SetQueueAttributes' | 'ListDeadLetterSourceQueues' | 'TagQueue' | 'UntagQueue' | 'ListQueueTags';

/**
 * Allowed actions per queue name; `*` as a name is every queue, `'*'` as the list every
 * action. E.g. the Jetson user: { transcode: ['ReceiveMessage', 'DeleteMessage', 'ChangeMessageVisibility'] }.
 */
export type SqsPolicy = Readonly<Record<string, readonly SqsAction[] | '*'>>;

/** What the proxy saw: one entry per call, allowed or not, in order. */
export interface SqsCall {
  readonly action: SqsAction | string;
  /** The queue the call names ('' for account-wide calls such as ListQueues). */
  readonly queue: string;
  readonly allowed: boolean;
}

export interface SqsPolicyProxy {
  readonly endpoint: string;
  readonly calls: readonly SqsCall[];
  /** Refused calls so far, as "Action on queue". */
  denied(): string[];
  /** Replaces the policy (a permission granted or withdrawn while a worker runs). */
  setPolicy(policy: SqsPolicy): void;
  stop(): Promise<void>;
}

export interface SqsPolicyProxyOptions {
  /** The caller in denial messages (default the Jetson's user). */
  principal?: string;
  account?: string;
  region?: string;
}

export { sqsAction as iamAction, sqsQueueOf as queueOf };

/** The per-queue policy as IAM statements. */
export function sqsStatements(policy: SqsPolicy, scope: ArnScope): Policy {
  return Object.entries(policy).map(([queue, list]) => ({
    actions: list === '*' ? ['sqs:*'] : list.map((a) => `sqs:${a}`),
    resources: [queue === '*' ? `arn:aws:sqs:${scope.region}:${scope.account}:*` : arn.queue(scope, queue)],
  }));
}

export function allows(policy: SqsPolicy, action: string, queue: string): boolean {
  const scope = { account: '1', region: 'r' };
  return policyAllows(sqsStatements(policy, scope), `sqs:${action}`, arn.queue(scope, queue));
}

export async function startSqsPolicyProxy(target: string, initial: SqsPolicy, opts: SqsPolicyProxyOptions = {}): Promise<SqsPolicyProxy> {
  const { principal = 'arn:aws:iam::123456789012:user/jetson', account = '123456789012', region = 'us-east-1' } = opts;
  const scope = { account, region };
  const proxy = await startIamProxy({ targets: { sqs: target }, policy: sqsStatements(initial, scope), principal, scope });
  const sqsCall = (c: { action: string; resource: string; allowed: boolean }): SqsCall => ({
    action: c.action.replace(/^sqs:/, ''),
    queue: c.resource.endsWith(':*') ? '' : c.resource.split(':')[5] ?? '',
    allowed: c.allowed,
  });
  return {
    endpoint: proxy.endpoint,
    get calls() { return proxy.calls.map(sqsCall); },
    denied: () => proxy.calls.filter((c) => !c.allowed).map((c) => { const s = sqsCall(c); return `${s.action} on ${s.queue}`; }),
    setPolicy: (next) => proxy.setPolicy(sqsStatements(next, scope)),
    stop: () => proxy.stop(),
  };
}

/** What the Jetson's AWS user may do on SQS: the Python worker's calls on its transcode queue, nothing else. */
export function jetsonPolicy(queueName: string): SqsPolicy {
  return { [queueName]: ['ReceiveMessage', 'DeleteMessage', 'ChangeMessageVisibility'] };
}
