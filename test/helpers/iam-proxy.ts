// An IAM policy in front of the local stand-ins (fauxqs for SQS and S3, dynalite for
// DynamoDB, the SageMaker runtime stand-in), which enforce none: one endpoint for every
// service (AWS_ENDPOINT_URL), each request authorised as AWS does before anything else —
// the service from the SigV4 scope, every action on every resource it needs
// (iam-requests.ts) checked against the policy (iam-policy.ts) — and refused with the
// service's own error shape, or passed through unchanged. Without it a worker that makes a
// call its task role lacks passes here and fails in production.
import { createServer, request, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { allows, arn, TEST_SCOPE, type ArnScope, type Policy } from './iam-policy.js';
import {
  authChecks, deleteObjectsRefusal, isDeleteObjects, refusal, s3ObjectRead, serviceOf, type AuthCheck, type AuthRequest, type AwsServiceName,
} from './iam-requests.js';

/** One action on one resource, as the proxy decided it. */
export interface IamCall extends AuthCheck {
  readonly service: AwsServiceName | '?';
  readonly allowed: boolean;
}

export interface IamProxy {
  /** For AWS_ENDPOINT_URL (every service) or one service's AWS_ENDPOINT_URL_*. */
  readonly endpoint: string;
  /** Every check so far, allowed or not, in order. */
  readonly calls: readonly IamCall[];
  /** The refused checks so far, as "sqs:SendMessage on arn:aws:sqs:…", each once, in order. */
  denied(): string[];
  /** Replaces the policy (a permission granted or withdrawn while a worker runs). */
  setPolicy(policy: Policy): void;
  /**
   * Holds every allowed request `match` picks (by its checks and body) before it reaches the
   * service, until `release()` (or stop): to make calls of two processes land in an order.
   * `held` resolves when the first one is held.
   */
  hold(match: (checks: readonly AuthCheck[], body: string) => boolean): { held: Promise<void>; release(): void };
  stop(): Promise<void>;
}

export interface IamProxyOptions {
  /** Where each service's allowed requests go; a service without one is refused. */
  targets: Partial<Record<AwsServiceName, string>>;
  policy: Policy;
  /** The caller in denial messages, e.g. an ECS task role's assumed-role ARN. */
  principal?: string;
  scope?: ArnScope;
}

/** The assumed-role ARN of an ECS task with task role `role`. */
export function taskPrincipal(role: string, scope: ArnScope = TEST_SCOPE): string {
  return `arn:aws:sts::${scope.account}:assumed-role/${role}/0123456789abcdef0123456789abcdef`;
}

interface Hold {
  readonly match: (checks: readonly AuthCheck[], body: string) => boolean;
  readonly gate: Promise<void>;
  readonly onHeld: () => void;
}

function answer(res: ServerResponse, r: { status: number; headers: Record<string, string>; body: string }): void {
  res.writeHead(r.status, { ...r.headers, 'content-length': String(Buffer.byteLength(r.body)) });
  res.end(r.body);
}

export async function startIamProxy(opts: IamProxyOptions): Promise<IamProxy> {
  const scope = opts.scope ?? TEST_SCOPE;
  const principal = opts.principal ?? taskPrincipal('test-task', scope);
  let policy = opts.policy;
  const calls: IamCall[] = [];
  const holds = new Set<Hold>();
  const releases: Array<() => void> = [];
  let requests = 0;

  /** The allowed request, forwarded unchanged. */
  const forward = (service: AwsServiceName, target: string, incoming: AuthRequest, res: ServerResponse, requestId: string): void => {
    const url = new URL(target);
    const up = request({ host: url.hostname, port: url.port, path: incoming.url, method: incoming.method, headers: incoming.headers as IncomingHttpHeaders }, (answered) => {
      // S3 says 403, not 404, for a missing key to a caller who may not list the bucket.
      const readBucket = service === 's3' ? s3ObjectRead(incoming) : null;
      if (answered.statusCode === 404 && readBucket !== null && !allows(policy, 's3:ListBucket', arn.bucket(readBucket))) {
        answered.resume();
        const listing = { action: 's3:ListBucket', resource: arn.bucket(readBucket) };
        calls.push({ ...listing, service, allowed: false });
        answer(res, refusal('s3', incoming.method, listing, principal, requestId));
        return;
      }
      res.writeHead(answered.statusCode ?? 502, answered.headers);
      answered.pipe(res);
    });
    up.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502);
      res.end(err.message);
    });
    up.end(incoming.body);
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const incoming: AuthRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks) };
      const requestId = `IAMPROXY${String(++requests).padStart(8, '0')}`;
      const service = serviceOf(incoming);
      const target = service ? opts.targets[service] : undefined;
      if (!service || !target) {
        calls.push({ service: service ?? '?', action: `${service ?? '?'}:?`, resource: `${incoming.method} ${incoming.url}`, allowed: false });
        res.writeHead(400, { 'content-type': 'text/plain' });
        res.end(`IAM proxy: no target for ${service ?? 'this request'} (${incoming.method} ${incoming.url})`);
        return;
      }
      // Authorised before anything is validated: a refused request never reaches the service.
      const checks = authChecks(service, incoming, scope);
      const decided = checks.map((c) => ({ ...c, service, allowed: allows(policy, c.action, c.resource) }));
      calls.push(...decided);
      const refused = decided.find((c) => !c.allowed) ?? (checks.length === 0 ? { action: `${service}:?`, resource: '*' } : undefined);
      // DeleteObjects is authorised per key, and S3 answers 200 with an error per refused key.
      if (refused && service === 's3' && isDeleteObjects(incoming)) {
        if (decided.some((c) => c.allowed)) {
          res.writeHead(501, { 'content-type': 'text/plain' });
          res.end('IAM proxy: a DeleteObjects with both allowed and refused keys is not emulated');
          return;
        }
        answer(res, { status: 200, headers: { 'content-type': 'application/xml', 'x-amz-request-id': requestId }, body: deleteObjectsRefusal(decided, principal) });
        return;
      }
      if (refused) {
        answer(res, refusal(service, incoming.method, refused, principal, requestId));
        return;
      }
      const gates = [...holds].filter((h) => h.match(checks, incoming.body.toString('utf8')));
      for (const h of gates) h.onHeld();
      void Promise.all(gates.map((h) => h.gate)).then(() => forward(service, target, incoming, res, requestId));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    denied: () => [...new Set(calls.filter((c) => !c.allowed).map((c) => `${c.action} on ${c.resource}`))],
    setPolicy: (next) => { policy = next; },
    hold: (match) => {
      let open = (): void => undefined;
      let onHeld = (): void => undefined;
      const held = new Promise<void>((resolve) => { onHeld = resolve; });
      const entry: Hold = { match, gate: new Promise<void>((resolve) => { open = resolve; }), onHeld: () => onHeld() };
      holds.add(entry);
      const release = (): void => { holds.delete(entry); open(); };
      releases.push(release);
      return { held, release };
    },
    stop: () => {
      for (const release of releases.splice(0)) release();
      return new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });
    },
  };
}
