// A real HTTP server on 127.0.0.1 stands in for Axiom's ingest API.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AxiomStream, createLogger } from '../../src/runtime/logger/index.js';
import { until } from '../helpers/wait.js';

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  events: Record<string, unknown>[];
}

class FakeAxiom {
  readonly requests: Received[] = [];
  mode: 'ok' | 'fail' = 'ok';
  /** While set, responses wait for it (to hold a request in flight). */
  gate: Promise<void> | null = null;
  inFlight = 0;
  maxInFlight = 0;
  port = 0;
  private server: Server | null = null;

  get events(): Record<string, unknown>[] {
    return this.requests.flatMap((r) => r.events);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(port = 0): Promise<void> {
    const server = createServer((req, res) => {
      this.inFlight++;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void (async () => {
          const body = Buffer.concat(chunks).toString('utf8');
          this.requests.push({
            method: req.method ?? '', url: req.url ?? '', headers: req.headers, body,
            events: body.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>),
          });
          if (this.gate) await this.gate;
          this.inFlight--;
          if (this.mode === 'fail') {
            res.writeHead(500, { 'content-type': 'text/plain' }).end('boom');
          } else {
            res.writeHead(200, { 'content-type': 'application/json' }).end('{"ingested":1,"failed":0}');
          }
        })();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function sink(): { lines: string[]; write(s: string): void } {
  const lines: string[] = [];
  return { lines, write: (s: string) => void lines.push(s) };
}

const event = (i: number): string => `${JSON.stringify({ timestamp: `2024-01-15T10:30:45.${String(i).padStart(6, '0')}Z`, i })}\n`;

describe('AxiomStream against a local ingest server', () => {
  let axiom: FakeAxiom;
  const streams: AxiomStream[] = [];
  const open = (opts: Partial<ConstructorParameters<typeof AxiomStream>[0]> = {}): AxiomStream => {
    const s = new AxiomStream({ token: 'xaat-test-token', dataset: 'rugby-logs', url: axiom.url, flushIntervalMs: 60_000, stderr: sink(), ...opts });
    streams.push(s);
    return s;
  };

  beforeEach(async () => {
    axiom = new FakeAxiom();
    await axiom.start();
  });
  afterEach(async () => {
    axiom.gate = null;
    await Promise.all(streams.splice(0).map((s) => s.close()));
    await axiom.stop();
  });

  it('sends the logger events as NDJSON to the dataset ingest endpoint', async () => {
    const stdout = sink();
    const stderr = sink();
    const { logger, flush, close } = createLogger({
      level: 'info', environment: 'jetson', pretty: false, stdout, secrets: ['s3cr3t-value'],
      axiom: { token: 'xaat-test-token', dataset: 'rugby-logs', url: `${axiom.url}/`, stderr },
    });
    logger.info({ event_type: 'job_started', job_id: 'abc-123' });
    logger.child({ role: 'transcode' }).warn({ event_type: 'job_slow', job_id: 'abc-123', fps: 3 }, 'key s3cr3t-value');
    await flush();

    expect(axiom.requests).toHaveLength(1);
    const req = axiom.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/v1/datasets/rugby-logs/ingest');
    expect(req.headers.authorization).toBe('Bearer xaat-test-token');
    expect(req.headers['content-type']).toBe('application/x-ndjson');
    expect(req.body.endsWith('\n')).toBe(true);
    expect(req.body).not.toContain('s3cr3t-value');
    const onStdout = stdout.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(req.events).toEqual(onStdout.map((e) => ({ ...e, _time: e.timestamp })));
    expect(req.events[1]).toMatchObject({
      environment: 'jetson', severity: 'warning', role: 'transcode', event_type: 'job_slow', message: 'key [REDACTED]',
    });
    expect(stderr.lines).toEqual([]);
    await close();
  });

  it('sends JSON to Axiom even when stdout is pretty', async () => {
    const stdout = sink();
    const { logger, close } = createLogger({
      level: 'info', environment: 'e', pretty: true, stdout, axiom: { token: 't0k3n', dataset: 'd', url: axiom.url },
    });
    logger.info({ event_type: 'pretty_here', job_id: 'j' });
    await close();
    expect(stdout.lines[0]).not.toContain('{');
    expect(axiom.events).toEqual([expect.objectContaining({ event_type: 'pretty_here', job_id: 'j', severity: 'info' })]);
  });

  it('batches many writes into few requests, one at a time, in order', async () => {
    axiom.gate = new Promise((r) => setTimeout(r, 30)); // keep each request in flight a while
    const s = open({ maxBatch: 100, flushIntervalMs: 20 });
    for (let i = 0; i < 250; i++) s.write(event(i));
    await until('axiom.events.length === 250', 3000, () => axiom.events.length === 250, { everyMs: 10 });
    expect(axiom.requests.map((r) => r.events.length)).toEqual([100, 100, 50]);
    expect(axiom.events.map((e) => e.i)).toEqual([...Array(250).keys()]);
    expect(axiom.maxInFlight).toBe(1);
  });

  it('sends on the timer without an explicit flush', async () => {
    const s = open({ flushIntervalMs: 30 });
    s.write(event(1));
    s.write(event(2));
    await until('axiom.requests.length === 1', 3000, () => axiom.requests.length === 1, { everyMs: 10 });
    expect(axiom.requests[0]!.events.map((e) => e._time)).toEqual(['2024-01-15T10:30:45.000001Z', '2024-01-15T10:30:45.000002Z']);
  });

  it('on HTTP 500: one stderr line per burst, stdout goes on, then a recovery line', async () => {
    const stdout = sink();
    const stderr = sink();
    const { logger, flush, close } = createLogger({
      level: 'info', environment: 'jetson', pretty: false, stdout,
      axiom: { token: 'xaat-test-token', dataset: 'rugby-logs', url: axiom.url, stderr },
    });
    axiom.mode = 'fail';
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 4; i++) logger.info({ event_type: 'tick', round, i });
      await flush();
    }
    expect(axiom.requests).toHaveLength(3); // it kept trying, quietly
    expect(stdout.lines).toHaveLength(12);
    expect(stderr.lines).toEqual([
      'rugbyworker: Axiom ingest failed (HTTP 500: boom); events still go to stdout, will retry quietly\n',
    ]);

    axiom.mode = 'ok';
    logger.info({ event_type: 'back' });
    await flush();
    expect(axiom.requests.at(-1)!.events).toEqual([expect.objectContaining({ event_type: 'back' })]);
    expect(stderr.lines[1]).toBe('rugbyworker: Axiom ingest recovered (12 events not sent to Axiom)\n');

    axiom.mode = 'fail'; // a new burst is reported again
    logger.info({ event_type: 'again' });
    await flush();
    expect(stderr.lines).toHaveLength(3);
    expect(stderr.lines[2]).toMatch(/^rugbyworker: Axiom ingest failed \(HTTP 500/);
    expect(stdout.lines).toHaveLength(14);
    await close();
  });

  it('on a server that is down: one stderr line, then recovery when it is back', async () => {
    const port = axiom.port;
    await axiom.stop();
    const stderr = sink();
    const s = open({ stderr });
    for (let i = 0; i < 3; i++) {
      s.write(event(i));
      await s.flush();
    }
    expect(stderr.lines).toHaveLength(1);
    expect(stderr.lines[0]).toMatch(/^rugbyworker: Axiom ingest failed \(.*ECONNREFUSED.*\); events still go to stdout, will retry quietly\n$/);

    await axiom.start(port);
    s.write(event(9));
    await s.flush();
    expect(axiom.events.map((e) => e.i)).toEqual([9]);
    expect(stderr.lines[1]).toBe('rugbyworker: Axiom ingest recovered (3 events not sent to Axiom)\n');
  });

  it('holds at most maxBuffered events, dropping the oldest, and says how many', async () => {
    let release = (): void => {};
    axiom.gate = new Promise((r) => { release = r; });
    const stderr = sink();
    const s = open({ maxBatch: 5, maxBuffered: 5, stderr });
    for (let i = 0; i < 5; i++) s.write(event(i)); // a full batch: goes in flight at once
    await until('axiom.requests.length === 1', 3000, () => axiom.requests.length === 1, { everyMs: 10 });
    for (let i = 5; i < 25; i++) s.write(event(i)); // Axiom is slow: only the newest 5 stay
    release();
    await s.flush();
    expect(axiom.requests.map((r) => r.events.map((e) => e.i))).toEqual([[0, 1, 2, 3, 4], [20, 21, 22, 23, 24]]);
    await s.close();
    expect(stderr.lines).toEqual(['rugbyworker: closing the Axiom stream (15 events not sent to Axiom)\n']);
  });

  it('close() flushes what is buffered and ignores later writes', async () => {
    const s = open();
    s.write(event(1) + event(2)); // two lines in one write
    s.write('not json\n');
    expect(axiom.requests).toHaveLength(0);
    await s.close();
    expect(axiom.events).toEqual([
      expect.objectContaining({ i: 1 }), expect.objectContaining({ i: 2 }), { message: 'not json' },
    ]);
    s.write(event(3));
    await s.flush();
    expect(axiom.requests).toHaveLength(1);
  });

  it('never keeps the process alive with events waiting for the timer', async () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const dir = mkdtempSync(join(tmpdir(), 'axiom-unref-'));
    try {
      const script = join(dir, 'idle.mts');
      writeFileSync(script, [
        `import { createLogger } from ${JSON.stringify(join(root, 'src/runtime/logger/index.ts'))};`,
        `const { logger } = createLogger({ level: 'info', environment: 'e', pretty: false,`,
        `  axiom: { token: 'tok3n', dataset: 'd', url: ${JSON.stringify(axiom.url)}, flushIntervalMs: 60000 } });`,
        `logger.info({ event_type: 'pending' });`,
      ].join('\n'));
      const started = Date.now();
      const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
        const child = execFile(process.execPath, [join(root, 'node_modules/tsx/dist/cli.mjs'), script],
          { timeout: 20_000 }, (error, out) => resolve({ code: error ? (child.exitCode ?? -1) : 0, stdout: out }));
      });
      expect(code).toBe(0);
      expect(stdout).toContain('"event_type":"pending"');
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(axiom.requests).toHaveLength(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
