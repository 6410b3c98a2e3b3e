// GET /health and GET /metrics on HEALTH_PORT, bound to loopback unless configured,
// so a load balancer, a supervisor or Prometheus can watch the worker.
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Metrics } from './metrics.js';
import { redactText } from './redact.js';

export interface HealthCheckResult {
  ok: boolean;
  detail?: string;
}

export type HealthCheck = () => Promise<HealthCheckResult> | HealthCheckResult;

export interface HealthServerOptions {
  port: number;
  host?: string;
  instanceId: string;
  roles: string[];
  version: string;
  metrics: Metrics;
  logger?: Logger;
  /** A check slower than this counts as failing ("timed out"). */
  checkTimeoutMs?: number;
  /**
   * Applied to every response body (check details are error texts, metric labels and current
   * jobs come from messages): the logger's redactor, so nothing shows here that logs mask.
   * Default: redactText (URL passwords, tokens), without the configured secret values.
   */
  redact?: (text: string) => string;
}

/**
 * Metric name (without METRIC_PREFIX): one series per role this worker runs, value 1, labels
 * `role` and `version`; what a dashboard lists roles and instances from (cleanup and trigger
 * have no queue of their own).
 */
export const ROLE_INFO = 'role_info';

// What aiohttp-cors allowed in the seed: any origin, read-only methods, any header.
const CORS_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, OPTIONS',
  'Access-Control-Allow-Headers': '*',
} as const;

export class HealthServer {
  private readonly opts: HealthServerOptions;
  private readonly host: string;
  private readonly checks = new Map<string, HealthCheck>();
  private readonly redact: (text: string) => string;
  private server: Server | undefined;

  constructor(options: HealthServerOptions) {
    this.opts = options;
    this.host = options.host ?? '127.0.0.1';
    this.redact = options.redact ?? redactText;
    const info = options.metrics.gauge(ROLE_INFO, 'One series per role this worker runs, value 1 (version: the executable\'s)', ['role', 'version']);
    for (const role of options.roles) info.set({ role, version: options.version }, 1);
  }

  /** Registers (or replaces) a named dependency check run on every GET /health. */
  addCheck(name: string, fn: HealthCheck): void {
    this.checks.set(name, fn);
  }

  /** Listens; port 0 picks a free port. Resolves with the bound port. */
  start(): Promise<{ port: number; host: string }> {
    if (this.server) return Promise.reject(new Error('health server already started'));
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.opts.logger?.error({ err }, 'health server request failed');
        if (!res.headersSent) this.send(res, 500, { error: 'internal error' });
        else res.destroy();
      });
    });
    this.server = server;
    const { port } = this.opts;
    const host = this.host;
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        this.server = undefined;
        const why = err.code === 'EADDRINUSE' ? 'is already in use' : `cannot be bound (${err.code ?? err.message})`;
        reject(new Error(`HEALTH_PORT ${port} ${why} on ${host}`));
      };
      server.once('error', onError);
      server.listen(port, host, () => {
        server.off('error', onError);
        server.on('error', (err) => this.opts.logger?.error({ err }, 'health server error'));
        const bound = (server.address() as AddressInfo).port;
        this.opts.logger?.info({ event_type: 'health_server_started', host, port: bound }, 'health server listening');
        resolve({ port: bound, host });
      });
    });
  }

  /** The bound address, or null when not listening. */
  address(): AddressInfo | null {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a : null;
  }

  /** Stops listening and drops keep-alive sockets so the process can exit. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { ...CORS_HEADERS, 'Access-Control-Max-Age': '600' });
      res.end();
      return;
    }
    if (path !== '/health' && path !== '/metrics') {
      this.send(res, 404, { error: 'not found', path });
      return;
    }
    if (req.method !== 'GET') {
      this.send(res, 405, { error: 'method not allowed', method: req.method }, { Allow: 'GET, OPTIONS' });
      return;
    }
    if (path === '/health') {
      await this.health(res);
      return;
    }
    const { metrics } = this.opts;
    if ((req.headers.accept ?? '').includes('application/json')) {
      this.send(res, 200, await metrics.json());
    } else {
      const text = this.redact(await metrics.prometheus());
      res.writeHead(200, { ...CORS_HEADERS, 'Content-Type': metrics.contentType, 'Cache-Control': 'no-store' });
      res.end(text);
    }
  }

  private async health(res: ServerResponse): Promise<void> {
    const timeoutMs = this.opts.checkTimeoutMs ?? 2000;
    const results = await Promise.all(
      [...this.checks].map(async ([name, fn]) => [name, await runCheck(fn, timeoutMs)] as const),
    );
    const checks: Record<string, HealthCheckResult> = {};
    for (const [name, r] of results) checks[name] = r;
    const failing = results.filter(([, r]) => !r.ok).map(([name, r]) => ({ name, detail: r.detail ?? 'failed' }));
    const base = {
      instance_id: this.opts.instanceId,
      timestamp: Date.now() / 1000,
      uptime_seconds: Math.round(process.uptime() * 1000) / 1000,
      roles: this.opts.roles,
      version: this.opts.version,
      checks,
    };
    if (failing.length === 0) {
      this.send(res, 200, { status: 'healthy', ...base });
    } else {
      this.opts.logger?.warn({ event_type: 'health_check_failed', failing }, 'health check failing');
      this.send(res, 503, { status: 'unhealthy', failing, ...base });
    }
  }

  private send(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
    const json = this.redact(JSON.stringify(body));
    res.writeHead(status, {
      ...CORS_HEADERS,
      ...extra,
      'Content-Type': 'application/json; charset=utf-8',
      'Cache-Control': 'no-store',
    });
    res.end(json);
  }
}

/** Runs one check; a throw, a rejection or a timeout is a failure, never a crash. */
async function runCheck(fn: HealthCheck, timeoutMs: number): Promise<HealthCheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<HealthCheckResult>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, detail: `timed out after ${timeoutMs} ms` }), timeoutMs);
  });
  try {
    const result = await Promise.race([Promise.resolve().then(fn), timeout]);
    const out: HealthCheckResult = { ok: result.ok === true };
    if (result.detail !== undefined) out.detail = String(result.detail);
    return out;
  } catch (err) {
    return { ok: false, detail: `threw: ${err instanceof Error ? err.message : String(err)}` };
  } finally {
    clearTimeout(timer);
  }
}
