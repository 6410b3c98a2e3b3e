// Real local stand-ins for AWS and Redis, all on 127.0.0.1 and free ports, for
// integration tests. Each stop() leaves nothing listening and nothing running.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { connect, createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from 'fauxqs';

export interface LocalServer {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

export interface LocalRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
  /** Stops and starts redis-server again on the same port (data is lost unless started with `appendonly`). */
  restart(): Promise<void>;
}

export interface RedisServerOptions {
  /** Keep data across restart() in an append-only file (fsync on every write). Default: no persistence. */
  appendonly?: boolean;
  /** Where the append-only file lives; default a temp directory removed by stop(). */
  dir?: string;
}

export interface AwsTestClientConfig {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  forcePathStyle: boolean;
}

/** Client config for fauxqs/dynalite: explicit endpoint, dummy credentials, path-style S3. */
export function awsTestClientConfig(endpoint: string): AwsTestClientConfig {
  return {
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    forcePathStyle: true,
  };
}

/** A port that was free a moment ago (for servers that cannot be told to listen on 0). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', resolve);
  });
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/**
 * fauxqs (SQS + S3 on one port). Its CLI and startFauxqs() bind 0.0.0.0, so build the
 * Fastify app ourselves. Queue URLs come back as http://127.0.0.1:PORT/000000000000/NAME
 * (taken from the request's Host header), which resolve here.
 */
export async function startFauxqs(): Promise<LocalServer> {
  const app = buildApp({ logger: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  let stopped = false;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    async stop() {
      if (stopped) return;
      stopped = true;
      await app.close(); // forceCloseConnections: keep-alive sockets go too; store timers are cleared
    },
  };
}

type DynaliteFactory = (options: { createTableMs?: number; deleteTableMs?: number; updateTableMs?: number }) => Server;

/** dynalite (DynamoDB) with tables ACTIVE at once, in memory. */
export async function startDynalite(): Promise<LocalServer> {
  // dynalite is CommonJS without types.
  const dynalite = createRequire(import.meta.url)('dynalite') as DynaliteFactory;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let stopped = false;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    async stop() {
      if (stopped) return;
      stopped = true;
      await new Promise<void>((resolve, reject) => {
        // dynalite's close waits for the HTTP server, which waits for idle keep-alive sockets.
        server.close((err?: Error) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}

// The shell keeps a watchdog on stdin, then becomes redis-server (exec, so the child's
// pid is redis's). When stdin closes — stop(), or this process dying in any way,
// even SIGKILL — the watchdog kills redis, so no redis outlives the tests.
const REDIS_WRAPPER = 'exec 3<&0; (read -r _ <&3; kill $$ 2>/dev/null) & exec redis-server "$@" 3<&-';

/** Debian's redis-server on a free loopback port; no persistence unless `opts.appendonly`. */
export async function startRedis(opts: RedisServerOptions = {}): Promise<LocalRedis> {
  const port = await freePort();
  const tempDir = opts.appendonly && opts.dir === undefined ? await mkdtemp(join(tmpdir(), 'redis-aof-')) : undefined;
  const persistence = opts.appendonly
    ? ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', opts.dir ?? (tempDir as string)]
    : ['--appendonly', 'no'];
  let child: ChildProcess | undefined = await spawnRedis(port, persistence);
  const stopProcess = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (c) await stopRedis(c);
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      await stopProcess();
      if (tempDir) await rm(tempDir, { recursive: true, force: true });
    },
    async restart() {
      await stopProcess();
      child = await spawnRedis(port, persistence);
    },
  };
}

async function spawnRedis(port: number, persistence: readonly string[]): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--daemonize', 'no'];
  const child = spawn('/bin/sh', ['-c', REDIS_WRAPPER, 'redis-server', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let log = '';
  const keep = (chunk: Buffer): void => { log = (log + chunk.toString()).slice(-4000); };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.stdin?.on('error', () => { /* EPIPE once the watchdog is gone */ });
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code, signal) => {
      child.stdin?.end(); // let the watchdog go
      reject(new Error(`redis-server on port ${port} exited early (${signal ?? code}): ${lastLines(log)}`));
    });
    child.once('error', reject);
  });
  exited.catch(() => { /* observed below or after start */ });
  try {
    await Promise.race([waitForPong(port, 10_000), exited]);
  } catch (err) {
    await stopRedis(child);
    throw err;
  }
  return child;
}

async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    child.stdin?.end();
    return;
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin?.end(); // the watchdog sends SIGTERM: redis shuts down at once with nothing to save
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
  child.stdout?.destroy();
  child.stderr?.destroy();
}

/** Polls PING over a raw socket until redis answers +PONG. */
async function waitForPong(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await pingOnce(port)) return;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function pingOnce(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    let got = '';
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.on('error', () => done(false));
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      got += d.toString();
      if (got.includes('\r\n')) done(got.startsWith('+PONG'));
    });
  });
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-3).join(' | ');
}
