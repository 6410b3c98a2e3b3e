// A stand-in for the ECS container agent's task scale-in protection endpoint: records
// every request (method, path, JSON body) and answers as the agent does —
// {"protection":{...}} on success, or the {"error":{...}} / {"failure":{...}} shapes
// when told to fail.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AgentRequest { method: string; path: string; body: unknown; at: number }

export type AgentMode = 'ok' | 'error' | 'failure' | 'http500';

/** ECS_AGENT_URI carries a per-container path, as the real one does. */
export const AGENT_PREFIX = '/api/0123456789abcdef0-1234567890';
export const STATE_PATH = `${AGENT_PREFIX}/task-protection/v1/state`;

export const TASK_ARN = 'arn:aws:ecs:eu-west-1:111122223333:task/rugby/0123456789abcdef0';

export interface AgentStandin {
  uri: string;
  requests: AgentRequest[];
  /** The state the agent holds now. */
  enabled(): boolean;
  setMode(mode: AgentMode): void;
  /** Resolves once `n` requests have arrived. */
  waitFor(n: number, ms?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startAgentStandin(): Promise<AgentStandin> {
  const requests: AgentRequest[] = [];
  let enabled = false;
  let expiration: string | null = null;
  let mode: AgentMode = 'ok';
  const waiters: Array<() => void> = [];
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8').on('data', (c: string) => { raw += c; }).on('end', () => {
      let body: unknown;
      try { body = raw ? JSON.parse(raw) : undefined; } catch { body = raw; }
      requests.push({ method: req.method ?? '', path: req.url ?? '', body, at: Date.now() });
      for (const w of waiters.splice(0)) w();
      const send = (status: number, payload: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
      };
      if (req.url !== STATE_PATH) return send(404, { error: { Code: 'NotFound', Message: 'no such path' } });
      if (mode === 'error') return send(400, { requestID: 'r-1', error: { Arn: TASK_ARN, Code: 'AccessDeniedException', Message: 'not authorized to perform ecs:UpdateTaskProtection' } });
      if (mode === 'failure') return send(200, { failure: { Arn: TASK_ARN, Detail: null, Reason: 'TASK_NOT_VALID' } });
      if (mode === 'http500') return send(500, 'internal');
      if (req.method === 'PUT') {
        const b = body as { ProtectionEnabled?: unknown; ExpiresInMinutes?: unknown };
        if (typeof b?.ProtectionEnabled !== 'boolean') return send(400, { error: { Code: 'InvalidParameterException', Message: 'ProtectionEnabled is required' } });
        enabled = b.ProtectionEnabled;
        const minutes = typeof b.ExpiresInMinutes === 'number' ? b.ExpiresInMinutes : 120;
        expiration = enabled ? new Date(Date.now() + minutes * 60_000).toISOString() : null;
      }
      send(200, { protection: { ExpirationDate: expiration, ProtectionEnabled: enabled, TaskArn: TASK_ARN } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    uri: `http://127.0.0.1:${port}${AGENT_PREFIX}`,
    requests,
    enabled: () => enabled,
    setMode: (m) => { mode = m; },
    waitFor: (n, ms = 10_000) => new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${requests.length} of ${n} agent requests within ${ms} ms: ${JSON.stringify(requests)}`)), ms);
      const check = () => {
        if (requests.length >= n) { clearTimeout(timer); resolve(); } else waiters.push(check);
      };
      check();
    }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
