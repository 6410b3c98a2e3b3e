// An IAM policy in front of dynalite: a proxy that answers a DynamoDB call the policy does not
// allow as AWS does (400, AccessDeniedException, "… is not authorized to perform: dynamodb:X
// on resource: …") and passes every other call through. dynalite enforces no IAM, so without
// this a function that needs more than its role grants would pass here and fail in AWS.
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Allowed actions per table name, e.g. { Jobs: ['GetItem'] }. */
export type TablePolicy = Record<string, readonly string[]>;

export interface PolicyProxy {
  endpoint: string;
  /** Every call refused so far, as "Action on Table". */
  denied: string[];
  stop(): Promise<void>;
}

export async function startDynamoDbPolicyProxy(target: string, policy: TablePolicy): Promise<PolicyProxy> {
  const upstream = new URL(target);
  const denied: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const action = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
      let table = '';
      try { table = String((JSON.parse(body.toString('utf8')) as { TableName?: unknown }).TableName ?? ''); } catch { /* not JSON: refused below */ }
      if (!(policy[table] ?? []).includes(action)) {
        denied.push(`${action} on ${table}`);
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'POLICY-PROXY' });
        res.end(JSON.stringify({
          __type: 'com.amazon.coral.service#AccessDeniedException',
          Message: `User: arn:aws:sts::123456789012:assumed-role/reassembly-trigger-lambda/fn is not authorized to perform: dynamodb:${action} on resource: arn:aws:dynamodb:us-east-1:123456789012:table/${table} because no identity-based policy allows the dynamodb:${action} action`,
        }));
        return;
      }
      const forward = request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      forward.on('error', (err) => { res.writeHead(502); res.end(err.message); });
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    denied,
    stop: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
