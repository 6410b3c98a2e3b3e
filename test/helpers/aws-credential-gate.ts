// An AWS endpoint stand-in that checks who signed each request, in front of fauxqs (which
// accepts any credentials): a request signed with an access key it does not know is refused
// as AWS refuses it (HTTP 403, InvalidClientTokenId in the JSON protocol's __type and in the
// x-amzn-query-error header SQS's query-compatible JSON adds); the others are passed on.
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CredentialGate {
  readonly endpoint: string;
  /** Requests refused so far. */
  refused(): number;
  close(): Promise<void>;
}

export async function startCredentialGate(target: string, allowedKeyIds: readonly string[]): Promise<CredentialGate> {
  const to = new URL(target);
  let refused = 0;
  const server = createServer((req, res) => {
    const keyId = /Credential=([^/,\s]+)\//.exec(req.headers.authorization ?? '')?.[1];
    if (!keyId || !allowedKeyIds.includes(keyId)) {
      refused++;
      req.resume();
      res.writeHead(403, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-query-error': 'InvalidClientTokenId;Sender' });
      res.end(JSON.stringify({ __type: 'com.amazon.coral.service#InvalidClientTokenId', message: 'The security token included in the request is invalid.' }));
      return;
    }
    const up = request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    refused: () => refused,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
