// The executable as a long-running worker for fault tests: its JSON log lines parsed as
// they come (waitFor an event), its /health sampled, stopped with SIGTERM. With
// FAULTS_LOG_DIR=DIR each worker's stdout/stderr lines are also kept there as NAME.jsonl.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { spawnExe, waitForExit, waitForHttp } from './binary.js';
import { freePort } from './servers.js';

export type LogEvent = Record<string, unknown> & { event_type?: string; job_id?: string; at_ms?: number };

export interface WorkerProcess {
  readonly child: ChildProcess;
  /** Every log line so far, with `at_ms` (when the test read it). */
  readonly events: LogEvent[];
  /** http://127.0.0.1:PORT/health */
  readonly health: string;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  waitFor(pred: (e: LogEvent) => boolean, timeoutMs?: number): Promise<LogEvent>;
  /** SIGTERM, then the exit code (or signal); the code at once when it has already exited. */
  stop(): Promise<number | NodeJS.Signals | null>;
}

/**
 * Starts `rugbyworker ARGS` with `env` (HEALTH_PORT added) and resolves once /health answers
 * (at once with `waitForHealth: false`, for a worker about to be killed in a soak).
 */
export async function startWorkerProcess(args: string[], env: Record<string, string>, name = 'worker', opts: { waitForHealth?: boolean } = {}): Promise<WorkerProcess> {
  const port = await freePort();
  const child = spawnExe(args, { env: { LOG_LEVEL: 'info', ...env, HEALTH_PORT: String(port) } });
  const events: LogEvent[] = [];
  const waiters: Array<{ pred: (e: LogEvent) => boolean; resolve: (e: LogEvent) => void }> = [];
  const keep = (suffix: string, text: string): void => {
    if (process.env.FAULTS_LOG_DIR) appendFileSync(join(process.env.FAULTS_LOG_DIR, `${name}.${suffix}`), text);
  };
  let buf = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    buf += chunk;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      keep('jsonl', `${line}\n`);
      let e: LogEvent;
      try { e = JSON.parse(line) as LogEvent; } catch { continue; }
      e.at_ms = Date.now();
      events.push(e);
      for (const w of waiters.splice(0)) { if (w.pred(e)) w.resolve(e); else waiters.push(w); }
    }
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => { stderr += chunk; keep('stderr', chunk); });
  const health = `http://127.0.0.1:${port}/health`;
  if (opts.waitForHealth !== false) await waitForHttp(health, 20_000);
  return {
    child, events, health, stderr: () => stderr,
    waitFor(pred, timeoutMs = 60_000) {
      const found = events.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no matching event in ${timeoutMs} ms; last: ${JSON.stringify(events.slice(-5))}`)), timeoutMs);
        waiters.push({ pred, resolve: (e) => { clearTimeout(t); resolve(e); } });
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode ?? child.signalCode;
      child.kill('SIGTERM');
      return waitForExit(child, 30_000);
    },
  };
}

/** GET /health: the status and the names of the failing checks. */
export async function healthOf(url: string): Promise<{ status: number; failing: string[] }> {
  const r = await fetch(url);
  const body = await r.json() as { failing?: Array<{ name: string }> };
  return { status: r.status, failing: (body.failing ?? []).map((f) => f.name) };
}

export interface HealthSample { at: number; label: string }

/** Samples /health every 100 ms until `until` settles: the distinct answers ("503 sqs", "200"), in order, with when each began. */
export async function watchHealth(url: string, until: Promise<unknown>): Promise<HealthSample[]> {
  const seen: HealthSample[] = [];
  let done = false;
  void until.finally(() => { done = true; }).catch(() => undefined);
  while (!done) {
    const h = await healthOf(url).catch(() => ({ status: 0, failing: [] as string[] }));
    const label = `${h.status}${h.failing.length ? ` ${h.failing.join(',')}` : ''}`;
    if (seen.at(-1)?.label !== label) seen.push({ at: Date.now(), label });
    await new Promise((r) => setTimeout(r, 100));
  }
  return seen;
}
