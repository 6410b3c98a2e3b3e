// The fault-injecting TCP proxy (test/helpers/fault-proxy.ts) against real servers —
// node:http, raw node:net echo/firehose/sink servers and Debian's redis-server — so the
// outage tests built on it can trust that each mode does what it says. Timing checks
// are lower bounds only: the machine is shared and noisy.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, request } from 'node:http';
import type { Server as HttpServer } from 'node:http';
import { connect, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { proxyEndpoint, startFaultProxy } from '../helpers/fault-proxy.js';
import type { FaultMode, FaultProxy } from '../helpers/fault-proxy.js';
import { startRedis } from '../helpers/servers.js';
import type { LocalRedis } from '../helpers/servers.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface NetServer {
  port: number;
  close(): Promise<void>;
}

async function listen(server: Server | HttpServer): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

/** A raw TCP server; close() destroys whatever is still connected. */
async function startNet(onSocket: (s: Socket) => void): Promise<NetServer> {
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('error', () => { /* resets are the point of these tests */ });
    s.on('close', () => sockets.delete(s));
    onSocket(s);
  });
  const port = await listen(server);
  return {
    port,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

function connectTo(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('error', reject);
    s.once('connect', () => {
      s.off('error', reject);
      s.on('error', () => { /* each test awaits what it expects */ });
      resolve(s);
    });
  });
}

/** Writes `data` and resolves with the next `data.length` bytes read back. */
function roundTrip(s: Socket, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let got = 0;
    const onData = (c: Buffer): void => {
      parts.push(c);
      got += c.length;
      if (got >= data.length) {
        cleanup();
        resolve(Buffer.concat(parts));
      }
    };
    const onGone = (err?: Error): void => {
      cleanup();
      reject(err ?? new Error(`closed after ${got} of ${data.length} bytes`));
    };
    const cleanup = (): void => {
      s.off('data', onData);
      s.off('error', onGone);
      s.off('close', onGone);
    };
    s.on('data', onData);
    s.once('error', onGone);
    s.once('close', onGone);
    s.write(data);
  });
}

/** Sends `data`, half-closes, and collects everything until the peer's FIN. */
function sendAndCollect(port: number, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    const parts: Buffer[] = [];
    s.on('error', reject);
    s.on('data', (c: Buffer) => parts.push(c));
    s.on('end', () => resolve(Buffer.concat(parts)));
    s.end(data);
  });
}

/** How a socket ended: the error code if it errored, else 'closed'; plus bytes it read. */
function outcome(s: Socket): Promise<{ how: string; bytes: number }> {
  return new Promise((resolve) => {
    let bytes = 0;
    let how = 'closed';
    s.on('data', (c: Buffer) => { bytes += c.length; });
    s.on('error', (err: NodeJS.ErrnoException) => { how = err.code ?? err.message; });
    s.on('close', () => resolve({ how, bytes }));
  });
}

function httpGet(url: string, timeoutMs = 5000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // agent: false so no keep-alive socket outlives a mode switch.
    const req = request(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.end();
  });
}

const HTTP_BODY = 'hello through the proxy';

let http: HttpServer;
let httpPort: number;
let echo: NetServer;
let firehose: NetServer;
let sink: NetServer;
// Per accepted sink connection: bytes received so far, and when it closed.
const sinkConns: { bytes: number; closed: Promise<void> }[] = [];

beforeAll(async () => {
  http = createHttpServer((_req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(HTTP_BODY);
  });
  httpPort = await listen(http);
  echo = await startNet((s) => s.pipe(s));
  firehose = await startNet((s) => {
    // Writes for as long as the client reads.
    const chunk = randomBytes(64 * 1024);
    const pump = (): void => {
      while (!s.destroyed && s.write(chunk)) { /* until backpressure */ }
    };
    s.on('drain', pump);
    pump();
  });
  sink = await startNet((s) => {
    const rec = { bytes: 0, closed: new Promise<void>((resolve) => s.on('close', () => resolve())) };
    sinkConns.push(rec);
    s.on('data', (c: Buffer) => { rec.bytes += c.length; });
  });
});

afterAll(async () => {
  await Promise.all([echo?.close(), firehose?.close(), sink?.close()]);
  http?.closeAllConnections();
  await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
});

const proxies: FaultProxy[] = [];
const clients: Socket[] = [];
async function proxyTo(port: number, mode?: FaultMode): Promise<FaultProxy> {
  const p = await startFaultProxy({ port }, mode ? { mode } : {});
  proxies.push(p);
  return p;
}
async function client(port: number): Promise<Socket> {
  const s = await connectTo(port);
  clients.push(s);
  return s;
}
afterEach(async () => {
  for (const s of clients.splice(0)) s.destroy();
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

describe('fault proxy', () => {
  it('pass: HTTP works and 1 MiB echoes back byte-identical (half-close included)', async () => {
    const proxy = await proxyTo(httpPort);
    expect(proxy.url).toBe(`http://127.0.0.1:${proxy.port}`);
    expect(proxy.mode()).toBe('pass');
    await expect(httpGet(`${proxy.url}/`)).resolves.toEqual({ status: 200, body: HTTP_BODY });

    const echoProxy = await proxyTo(echo.port);
    const data = randomBytes(1024 * 1024);
    const back = await sendAndCollect(echoProxy.port, data);
    expect(back.equals(data)).toBe(true);
    const stats = echoProxy.stats();
    expect(stats).toMatchObject({ accepted: 1, bytesUp: data.length, bytesDown: data.length, resets: 0 });
  });

  it('proxyEndpoint rewrites the URL to point at the proxy', async () => {
    const p = await proxyEndpoint(`http://127.0.0.1:${httpPort}`);
    proxies.push(p);
    expect(p.endpoint).toBe(`http://127.0.0.1:${p.port}`);
    await expect(httpGet(`${p.endpoint}/x`)).resolves.toMatchObject({ body: HTTP_BODY });
  });

  it('latency 200 ms: a round trip pays it both ways', async () => {
    const proxy = await proxyTo(echo.port, { kind: 'latency', ms: 200 });
    const s = await client(proxy.port);
    const t0 = performance.now();
    const back = await roundTrip(s, Buffer.from('ping'));
    const elapsed = performance.now() - t0;
    expect(back.toString()).toBe('ping');
    expect(elapsed).toBeGreaterThanOrEqual(400); // 200 up + 200 down
  });

  it('bandwidth 256 KiB/s: 512 KiB takes about 2 s and arrives intact and in order', async () => {
    const proxy = await proxyTo(echo.port, { kind: 'bandwidth', bytesPerSecond: 256 * 1024 });
    const data = randomBytes(512 * 1024);
    const t0 = performance.now();
    const back = await sendAndCollect(proxy.port, data);
    const elapsed = performance.now() - t0;
    expect(back.equals(data)).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(1500);
  });

  it('bandwidth shared 256 KiB/s: two connections share the link, 2 × 256 KiB echoed takes about 2 s', async () => {
    const proxy = await proxyTo(echo.port, { kind: 'bandwidth', bytesPerSecond: 256 * 1024, shared: true });
    const a = randomBytes(256 * 1024);
    const b = randomBytes(256 * 1024);
    const t0 = performance.now();
    const [backA, backB] = await Promise.all([sendAndCollect(proxy.port, a), sendAndCollect(proxy.port, b)]);
    const elapsed = performance.now() - t0;
    expect(backA.equals(a)).toBe(true);
    expect(backB.equals(b)).toBe(true);
    // Each connection alone at 256 KiB/s would take about 1 s.
    expect(elapsed).toBeGreaterThanOrEqual(1500);
  });

  it('bandwidth with upBytesPerSecond: each direction at its own rate', async () => {
    const mode: FaultMode = { kind: 'bandwidth', bytesPerSecond: 1024 * 1024, upBytesPerSecond: 128 * 1024 };
    const up = await proxyTo(echo.port, mode);
    const data = randomBytes(256 * 1024);
    const t0 = performance.now();
    const back = await sendAndCollect(up.port, data);
    expect(back.equals(data)).toBe(true);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(1500); // 256 KiB up at 128 KiB/s: 2 s

    // 512 KiB down at 1 MiB/s: about 0.5 s (4 s if it had the upload's rate).
    const down = await proxyTo(firehose.port, mode);
    const s = await client(down.port);
    const t1 = performance.now();
    await new Promise<void>((resolve) => {
      let got = 0;
      s.on('data', (c: Buffer) => { got += c.length; if (got >= 512 * 1024) resolve(); });
    });
    const elapsed = performance.now() - t1;
    expect(elapsed).toBeGreaterThanOrEqual(300);
    expect(elapsed).toBeLessThan(3000);
  });

  it('refuse: new connections are reset without data; an open one keeps working', async () => {
    const proxy = await proxyTo(echo.port);
    const open = await client(proxy.port);
    await expect(roundTrip(open, Buffer.from('before'))).resolves.toEqual(Buffer.from('before'));

    proxy.set({ kind: 'refuse' });
    expect(proxy.mode()).toBe('refuse');
    const refused = connect({ host: '127.0.0.1', port: proxy.port });
    clients.push(refused);
    const result = await outcome(refused);
    expect(result.bytes).toBe(0);
    expect(['ECONNRESET', 'closed']).toContain(result.how);

    await expect(roundTrip(open, Buffer.from('after'))).resolves.toEqual(Buffer.from('after'));
    expect(proxy.stats()).toMatchObject({ accepted: 2, open: 1, resets: 1 });
  });

  it('reset: a connection in the middle of a long transfer gets ECONNRESET', async () => {
    const proxy = await proxyTo(firehose.port);
    const s = await client(proxy.port);
    const ended = outcome(s);
    let got = 0;
    await new Promise<void>((resolve) => {
      s.on('data', (c: Buffer) => {
        got += c.length;
        if (got >= 256 * 1024) resolve();
      });
    });
    proxy.set({ kind: 'reset' });
    expect((await ended).how).toBe('ECONNRESET');
    expect(proxy.stats()).toMatchObject({ open: 0, resets: 1 });

    // New connections are reset on accept while the mode lasts.
    const again = connect({ host: '127.0.0.1', port: proxy.port });
    clients.push(again);
    expect((await outcome(again)).bytes).toBe(0);
    expect(proxy.stats().resets).toBe(2);
  });

  it('blackhole: requests get no answer; after pass new requests succeed', async () => {
    const proxy = await proxyTo(httpPort);
    const before = await client(proxy.port); // open before the black hole
    const beforeOutcome = outcome(before);

    proxy.set({ kind: 'blackhole' });
    before.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await expect(httpGet(`${proxy.url}/`, 500)).rejects.toThrow('client timeout');
    expect(proxy.stats().accepted).toBe(2);

    proxy.set({ kind: 'pass' });
    // Our choice: black-holed connections do not come back; they are reset.
    expect(await beforeOutcome).toEqual({ how: 'ECONNRESET', bytes: 0 });
    await expect(httpGet(`${proxy.url}/`)).resolves.toEqual({ status: 200, body: HTTP_BODY });
  });

  it('resetAfter(100_000): a 1 MiB upload is reset after about 100 kB', async () => {
    const proxy = await proxyTo(sink.port);
    proxy.resetAfter(100_000);
    const s = await client(proxy.port);
    const ended = outcome(s);
    s.write(randomBytes(1024 * 1024));
    const result = await ended;
    expect(['ECONNRESET', 'EPIPE']).toContain(result.how);
    expect(proxy.stats()).toMatchObject({ bytesUp: 100_000, resets: 1, open: 0 });
    const rec = sinkConns.at(-1);
    await rec?.closed;
    expect(rec?.bytes).toBeLessThanOrEqual(100_000); // the RST may drop some of what was written
  });

  it('outage(refuse, 300): resolves after at least 300 ms, back in pass', async () => {
    const proxy = await proxyTo(echo.port);
    const t0 = performance.now();
    const back = proxy.outage({ kind: 'refuse' }, 300);
    expect(proxy.mode()).toBe('refuse');
    await back;
    expect(performance.now() - t0).toBeGreaterThanOrEqual(300);
    expect(proxy.mode()).toBe('pass');
    const s = await client(proxy.port);
    await expect(roundTrip(s, Buffer.from('up'))).resolves.toEqual(Buffer.from('up'));
  });

  it('close(): open connections are dropped and nothing listens on the port', async () => {
    const proxy = await startFaultProxy({ port: echo.port });
    const s = await client(proxy.port);
    const gone = outcome(s);
    await proxy.close();
    await gone;
    await proxy.close(); // idempotent
    const err = await connectTo(proxy.port).then(
      (late) => { late.destroy(); return undefined; },
      (e: NodeJS.ErrnoException) => e,
    );
    expect(err?.code).toBe('ECONNREFUSED');
  });
});

describe('fault proxy in front of redis-server', () => {
  let redis: LocalRedis;
  beforeAll(async () => {
    redis = await startRedis();
  }, 30_000);
  afterAll(async () => {
    await redis?.stop();
  });

  it('PING and SET/GET go through; after a reset ioredis errors, then recovers on pass', async () => {
    const proxy = await proxyTo(redis.port);
    const r = new Redis(`redis://127.0.0.1:${proxy.port}`, { retryStrategy: () => 50 });
    const errors: NodeJS.ErrnoException[] = [];
    r.on('error', (err: NodeJS.ErrnoException) => errors.push(err));
    try {
      await expect(r.ping()).resolves.toBe('PONG');
      await r.set('fault-proxy', 'v1');
      await expect(r.get('fault-proxy')).resolves.toBe('v1');

      const closed = new Promise<void>((resolve) => r.once('close', () => resolve()));
      proxy.set({ kind: 'reset' });
      await closed;
      await sleep(150); // a few reconnects get reset too
      expect(errors.some((e) => e.code === 'ECONNRESET')).toBe(true);

      proxy.set({ kind: 'pass' });
      await expect(r.ping()).resolves.toBe('PONG');
      await expect(r.get('fault-proxy')).resolves.toBe('v1');
      expect(proxy.stats().resets).toBeGreaterThanOrEqual(1);
    } finally {
      r.disconnect();
    }
  });
});
