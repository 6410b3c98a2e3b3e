// An IAM policy in front of fauxqs's SQS (which enforces none): a proxy that answers a call
// the policy does not allow as AWS does (HTTP 400, `com.amazonaws.sqs#AccessDenied`, the
// `x-amzn-query-error: AccessDenied;Sender` header, "User: … is not authorized to perform:
// sqs:X on resource: arn:aws:sqs:…") and passes every other call through. Without it a worker
// that makes a call its deployment's user lacks passes here and fails in production.
// JSON protocol only (the SDK v3's): a request without an `AmazonSQS.*` target is refused, so
// nothing slips through unchecked. Point only SQS at it (AWS_ENDPOINT_URL_SQS).
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

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

// IAM authorises the batch calls under the single call's action.
const BATCH_OF: Readonly<Record<string, SqsAction>> = {
  DeleteMessageBatch: 'DeleteMessage', ChangeMessageVisibilityBatch: 'ChangeMessageVisibility', SendMessageBatch: 'SendMessage',
};

/** The IAM action of an `X-Amz-Target` header (`AmazonSQS.DeleteMessageBatch` → DeleteMessage). */
export function iamAction(target: string): string {
  const op = target.startsWith('AmazonSQS.') ? target.slice('AmazonSQS.'.length) : '';
  return BATCH_OF[op] ?? op;
}

/** The queue a request body names: its QueueUrl's last segment, QueueName, or a move task's SourceArn. */
export function queueOf(body: Record<string, unknown>): string {
  const url = typeof body.QueueUrl === 'string' ? body.QueueUrl : '';
  if (url) return url.replace(/[?#].*$/, '').replace(/\/+$/, '').split('/').pop() ?? '';
  if (typeof body.QueueName === 'string') return body.QueueName;
  const arn = [body.SourceArn, body.TaskHandle].find((v): v is string => typeof v === 'string' && v.startsWith('arn:'));
  return arn?.split(':')[5] ?? '';
}

export function allows(policy: SqsPolicy, action: string, queue: string): boolean {
  const granted = (list: readonly SqsAction[] | '*' | undefined): boolean => list === '*' || (list ?? []).includes(action as SqsAction);
  return granted(policy[queue]) || granted(policy['*']);
}

export async function startSqsPolicyProxy(target: string, initial: SqsPolicy, opts: SqsPolicyProxyOptions = {}): Promise<SqsPolicyProxy> {
  const upstream = new URL(target);
  const { principal = 'arn:aws:iam::123456789012:user/jetson', account = '123456789012', region = 'us-east-1' } = opts;
  let policy = initial;
  const calls: SqsCall[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const target = String(req.headers['x-amz-target'] ?? '');
      const action = iamAction(target);
      let body: Record<string, unknown> = {};
      try { body = JSON.parse(raw.toString('utf8') || '{}') as Record<string, unknown>; } catch { /* refused below */ }
      const queue = queueOf(body);
      const allowed = action !== '' && allows(policy, action, queue);
      calls.push({ action: action || target || `${req.method} ${req.url}`, queue, allowed });
      if (!allowed) {
        const resource = queue ? `arn:aws:sqs:${region}:${account}:${queue}` : `arn:aws:sqs:${region}:${account}:*`;
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-query-error': 'AccessDenied;Sender', 'x-amzn-requestid': 'SQS-POLICY-PROXY' });
        res.end(JSON.stringify({
          __type: 'com.amazonaws.sqs#AccessDenied',
          message: `User: ${principal} is not authorized to perform: sqs:${action || '?'} on resource: ${resource} because no identity-based policy allows the sqs:${action || '?'} action`,
        }));
        return;
      }
      const forward = request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      forward.on('error', (err) => { res.writeHead(502); res.end(err.message); });
      forward.end(raw);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    denied: () => calls.filter((c) => !c.allowed).map((c) => `${c.action} on ${c.queue}`),
    setPolicy: (next) => { policy = next; },
    stop: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** What the Jetson's AWS user may do on SQS: the Python worker's calls on its transcode queue, nothing else. */
export function jetsonPolicy(queueName: string): SqsPolicy {
  return { [queueName]: ['ReceiveMessage', 'DeleteMessage', 'ChangeMessageVisibility'] };
}
