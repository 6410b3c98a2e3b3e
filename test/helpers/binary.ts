// Runs the built executables (dist/rugbyworker-linux-<arch>) for the e2e tests.
// arm64 runs under qemu-aarch64-static on an x64 host (binfmt is not mounted here).
// Children get a clean environment: PATH and HOME plus what the test passes, so the
// developer's own AWS_*, AXIOM_* … variables never leak into a test.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Arch = 'x64' | 'arm64';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const distDir = join(repoRoot, 'dist');
export const hostArch: Arch = process.arch === 'arm64' ? 'arm64' : 'x64';
export const QEMU = 'qemu-aarch64-static';
export const ARM64_SYSROOT = '/usr/aarch64-linux-gnu';

export function exePath(arch: Arch = hostArch): string {
  return join(distDir, `rugbyworker-linux-${arch}`);
}

/** Arguments for `qemu-aarch64-static` that run the arm64 executable. */
export function qemuArgs(): string[] {
  return ['-L', ARM64_SYSROOT, exePath('arm64')];
}

/** Command and leading arguments that run the executable for `arch` on this host. */
export function exeCommand(arch: Arch = hostArch): { file: string; args: string[] } {
  if (arch === 'arm64' && hostArch !== 'arm64') return { file: QEMU, args: qemuArgs() };
  return { file: exePath(arch), args: [] };
}

export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  if (process.env.PATH !== undefined) env.PATH = process.env.PATH;
  if (process.env.HOME !== undefined) env.HOME = process.env.HOME;
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
  arch?: Arch;
  cwd?: string;
}

export interface RunResult {
  /** Exit code; null when killed by a signal (see `signal`), e.g. on timeout. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** Runs the executable to completion; never rejects on a non-zero exit. */
export function runExe(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const { file, args: lead } = exeCommand(opts.arch);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    execFile(file, [...lead, ...args], {
      env: cleanEnv(opts.env),
      cwd: opts.cwd ?? repoRoot,
      timeout: opts.timeoutMs ?? 10_000,
      killSignal: 'SIGKILL',
      maxBuffer: 16 * 1024 * 1024,
      encoding: 'utf8',
    }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string; signal?: NodeJS.Signals | null }) | null;
      if (e && typeof e.code === 'string') { reject(e); return; } // could not start (ENOENT, …)
      resolve({
        code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
        signal: e?.signal ?? null,
        stdout,
        stderr,
        durationMs: performance.now() - started,
      });
    });
  });
}

/** Starts the executable and returns the child (stdout/stderr piped); the caller stops it. */
export function spawnExe(args: string[], opts: Omit<RunOptions, 'timeoutMs'> = {}): ChildProcess {
  const { file, args: lead } = exeCommand(opts.arch);
  return spawn(file, [...lead, ...args], {
    env: cleanEnv(opts.env),
    cwd: opts.cwd ?? repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export interface HttpAnswer { status: number; body: string }

function getOnce(url: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', agent: false, timeout: 2_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('request timeout')));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Polls `url` until the server answers (any HTTP status), e.g. until a freshly spawned
 * executable's health server is up; rejects after `timeoutMs`. Pass `status` to wait for one.
 */
export async function waitForHttp(
  url: string,
  timeoutMs = 10_000,
  opts: { status?: number; intervalMs?: number } = {},
): Promise<HttpAnswer> {
  const deadline = Date.now() + timeoutMs;
  let last: string;
  for (;;) {
    try {
      const answer = await getOnce(url);
      if (opts.status === undefined || answer.status === opts.status) return answer;
      last = `HTTP ${answer.status}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() >= deadline) throw new Error(`${url} not ready after ${timeoutMs} ms (${last})`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 25));
  }
}

/** Resolves with the exit code (or signal name) once `child` has exited. */
export function waitForExit(child: ChildProcess, timeoutMs = 10_000): Promise<number | NodeJS.Signals | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  if (child.signalCode !== null) return Promise.resolve(child.signalCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`process ${child.pid} did not exit within ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', (code, signal) => { clearTimeout(timer); resolve(code ?? signal); });
  });
}
