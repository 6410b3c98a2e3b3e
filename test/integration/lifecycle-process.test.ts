// Runs test/fixtures/lifecycle/app.ts in a real Node child (TypeScript via tsx's loader)
// and sends it real signals: exit codes and stop order as ECS and systemd would see them.
import { afterEach, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const app = join(repoRoot, 'test/fixtures/lifecycle/app.ts');

type Line = Record<string, unknown> & { event_type?: string };

interface Child {
  proc: ChildProcess;
  lines: Line[];
  stderr: () => string;
  /** Resolves once a line with this event_type has been printed. */
  waitFor: (eventType: string, timeoutMs?: number) => Promise<Line>;
  /** Resolves with the exit code (or signal) and when it came (performance.now()). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

const children: ChildProcess[] = [];

function start(scenario: string, env: Record<string, string> = {}): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', app, scenario], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', GRACE_SECONDS: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(proc);
  const lines: Line[] = [];
  const waiters: { type: string; resolve: (l: Line) => void }[] = [];
  let buffer = '';
  let err = '';
  proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const raw = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (!raw.trim()) continue;
      const line = JSON.parse(raw) as Line;
      lines.push(line);
      for (const w of waiters.filter((x) => x.type === line.event_type)) w.resolve(line);
    }
  });
  proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => { err += chunk; });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => {
    proc.on('exit', (code, signal) => resolve({ code, signal, at: performance.now() }));
  });
  const waitFor = (type: string, timeoutMs = 10_000): Promise<Line> => {
    const seen = lines.find((l) => l.event_type === type);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${type} within ${timeoutMs} ms; stdout: ${JSON.stringify(lines)} stderr: ${err}`)), timeoutMs);
      waiters.push({ type, resolve: (l) => { clearTimeout(timer); resolve(l); } });
      void exited.then(() => setTimeout(() => reject(new Error(`exited before ${type}; stdout: ${JSON.stringify(lines)} stderr: ${err}`)), 50));
    });
  };
  return { proc, lines, stderr: () => err, waitFor, exited };
}

const events = (c: Child, type: string): Line[] => c.lines.filter((l) => l.event_type === type);

describe('Lifecycle in a real process', () => {
  // A failed assertion must not leave a child waiting out its grace.
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  it('SIGTERM stops the services in reverse order and exits 0', async () => {
    const child = start('clean');
    await child.waitFor('ready');
    child.proc.kill('SIGTERM');
    const { code } = await child.exited;
    expect(code).toBe(0);
    expect(events(child, 'service_stopped').map((l) => l.service)).toEqual(['second', 'first']);
    expect(events(child, 'shutdown_started')).toEqual([expect.objectContaining({ signal: 'SIGTERM', grace_seconds: 1 })]);
    expect(events(child, 'shutdown_completed')).toEqual([expect.objectContaining({ exit_code: 0 })]);
    expect(child.stderr()).toBe('');
  }, 20_000);

  it('SIGINT is a graceful shutdown too', async () => {
    const child = start('clean');
    await child.waitFor('ready');
    child.proc.kill('SIGINT');
    expect((await child.exited).code).toBe(0);
    expect(events(child, 'service_stopped').map((l) => l.service)).toEqual(['second', 'first']);
  }, 20_000);

  it('a service that never stops makes it exit 1 once the grace has expired', async () => {
    const child = start('stuck');
    await child.waitFor('ready');
    const sent = performance.now();
    child.proc.kill('SIGTERM');
    const { code, at } = await child.exited;
    expect(code).toBe(1);
    // 1 s grace + up to 2 s more for the stuck stop; never the 30 s ECS would allow.
    expect(at - sent).toBeGreaterThanOrEqual(900);
    expect(at - sent).toBeLessThan(5000);
    expect(events(child, 'shutdown_grace_expired')).toEqual([expect.objectContaining({ remaining: ['stuck', 'first'] })]);
    expect(events(child, 'service_stopped').map((l) => l.service)).toEqual(['first']); // still called after the grace
    expect(events(child, 'shutdown_completed')).toEqual([expect.objectContaining({ exit_code: 1 })]);
  }, 20_000);

  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)('a second %s exits %i at once', async (signal, expected) => {
    const child = start('slow', { GRACE_SECONDS: '30' });
    await child.waitFor('ready');
    child.proc.kill('SIGTERM');
    await child.waitFor('shutdown_started');
    const sent = performance.now();
    child.proc.kill(signal);
    const { code, at } = await child.exited;
    expect(code).toBe(expected);
    expect(at - sent).toBeLessThan(1000);
    expect(events(child, 'shutdown_forced')).toEqual([expect.objectContaining({ signal })]);
  }, 20_000);

  it('installed signal handlers do not keep an idle process alive', async () => {
    const child = start('idle');
    const { code, signal } = await child.exited;
    expect(signal).toBeNull();
    expect(code).toBe(0);
    expect(events(child, 'ready')).toHaveLength(1);
    expect(events(child, 'shutdown_started')).toEqual([]);
  }, 20_000);

  it('an uncaught exception is one fatal event and exit 1', async () => {
    const child = start('throw');
    const { code } = await child.exited;
    expect(code).toBe(1);
    const fatal = events(child, 'fatal');
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject({ level: 60, err: { message: 'kaboom' } });
  }, 20_000);
});
