// The Redis Streams queue on a real redis-server: the shared conformance suite (with a
// persisting server, so the restart test means something), then what only Redis has —
// takeover between consumers, leases longer than the visibility timeout, the DLQ stream,
// the blocking connection, outages.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { RedisStreamQueue } from '../../src/adapters/queue/redis-streams.js';
import { decodeDelayed, decodeReceipt, defaultConsumerName, encodeDelayed, encodeReceipt, streamKeys } from '../../src/adapters/queue/redis-streams-keys.js';
import { LeaseLostError } from '../../src/ports/index.js';
import type { QueueMessage } from '../../src/ports/index.js';
import { startRedis } from '../helpers/servers.js';
import type { LocalRedis } from '../helpers/servers.js';
import { describeQueueConformance } from './queue.conformance.js';
import { until } from '../helpers/wait.js';

const VISIBILITY = 1;
const MAX_RECEIVES = 3;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function quietRedis(url: string): Redis {
  const r = new Redis(url);
  r.on('error', () => { /* reconnects on its own during restarts */ });
  return r;
}

/** Receives until one message arrives or `withinMs` passes. */
async function receiveOne(q: RedisStreamQueue, withinMs = 5000): Promise<QueueMessage> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    const [m] = await q.receive({ max: 1, waitSeconds: 1 });
    if (m) return m;
  }
  throw new Error(`no message within ${withinMs} ms`);
}

let server: LocalRedis;
beforeAll(async () => {
  server = await startRedis({ appendonly: true });
}, 30_000);
afterAll(async () => {
  await server?.stop();
});

describeQueueConformance(
  'redis-streams',
  async () => {
    const stream = `conformance-${randomUUID()}`;
    const queue = new RedisStreamQueue({ url: server.url, stream, visibilitySeconds: VISIBILITY, maxReceiveCount: MAX_RECEIVES });
    let raw: Redis | undefined; // only for the test that uses it: an idle client left reconnecting would outlive teardown
    return {
      queue,
      deadLetters: queue,
      sendRaw: async (body) => {
        raw ??= quietRedis(server.url);
        await raw.xadd(stream, '*', 'body', body);
      },
      restart: () => server.restart(),
      teardown: async () => {
        await queue.close();
        await raw?.quit();
      },
    };
  },
  { visibilitySeconds: VISIBILITY, maxReceiveCount: MAX_RECEIVES },
);

describe('RedisStreamQueue specifics', () => {
  let raw: Redis;
  const open: RedisStreamQueue[] = [];
  const queue = (stream: string, opts: Partial<ConstructorParameters<typeof RedisStreamQueue>[0]> = {}): RedisStreamQueue => {
    const q = new RedisStreamQueue({ url: server.url, stream, visibilitySeconds: VISIBILITY, maxReceiveCount: MAX_RECEIVES, ...opts });
    open.push(q);
    return q;
  };

  beforeAll(() => {
    raw = quietRedis(server.url);
  });
  afterAll(() => {
    raw.disconnect();
  });
  afterEach(async () => {
    for (const q of open.splice(0)) await q.close();
  });

  it('a crashed consumer: B takes the entry over after the visibility timeout, with receiveCount 2', async () => {
    const stream = `takeover-${randomUUID()}`;
    const a = queue(stream, { consumer: 'worker-a' });
    const b = queue(stream, { consumer: 'worker-b' });
    await a.send('job');
    const first = await receiveOne(a);
    expect(first.receiveCount).toBe(1);
    // A "crashes": never acks, never extends. Within the lease B sees nothing.
    expect(await b.receive({ max: 10, waitSeconds: 0 })).toEqual([]);
    const taken = await receiveOne(b, VISIBILITY * 1000 + 3000);
    expect(taken).toMatchObject({ id: first.id, body: 'job', receiveCount: 2 });
    const [pending] = (await raw.xpending(stream, 'rugbyworker', '-', '+', 10)) as Array<[string, string, number, number]>;
    expect(pending?.[1]).toBe('worker-b');
    // A's old delivery can do nothing any more; B's can.
    await expect(a.extend(first, 30)).rejects.toBeInstanceOf(LeaseLostError);
    await expect(a.ack(first)).rejects.toBeInstanceOf(LeaseLostError);
    await b.ack(taken);
    expect(await raw.xlen(stream)).toBe(0);
    // Closing workers that hold nothing leave no consumers behind in the group.
    await a.close();
    await b.close();
    expect(await raw.call('XINFO', 'CONSUMERS', stream, 'rugbyworker')).toEqual([]);
  }, 20_000);

  it('extend beyond visibilitySeconds keeps the entry from another consumer for the whole extension', async () => {
    const stream = `extend-${randomUUID()}`;
    const a = queue(stream, { consumer: 'worker-a' });
    const b = queue(stream, { consumer: 'worker-b' });
    await a.send('long');
    const m = await receiveOne(a);
    const extendedAt = Date.now();
    await a.extend(m, 3 * VISIBILITY);
    // 2.5 visibility timeouts of B polling: nothing.
    const polled = await b.receive({ max: 10, waitSeconds: 2.5 * VISIBILITY });
    expect(polled).toEqual([]);
    await a.extend(m, 3 * VISIBILITY); // still ours
    const taken = await receiveOne(b, 3 * VISIBILITY * 1000 + 3000);
    expect(Date.now() - extendedAt).toBeGreaterThanOrEqual(2.5 * VISIBILITY * 1000 + 3 * VISIBILITY * 1000 - 500);
    expect(taken.receiveCount).toBe(2);
    await b.ack(taken);
  }, 20_000);

  it('an entry read by a consumer that died before recording its lease is taken over once idle', async () => {
    const stream = `ghost-${randomUUID()}`;
    const q = queue(stream);
    await q.send('orphan');
    expect(await q.receive({ max: 1, waitSeconds: 0 })).toHaveLength(1); // creates the group; we let this delivery lapse too
    await q.send('orphan 2');
    // Another process reads it and dies at once: no entry in <stream>:leases.
    await raw.xreadgroup('GROUP', 'rugbyworker', 'ghost', 'COUNT', 1, 'STREAMS', stream, '>');
    const got: QueueMessage[] = [];
    const deadline = Date.now() + VISIBILITY * 1000 + 4000;
    while (got.length < 2 && Date.now() < deadline) got.push(...(await q.receive({ max: 10, waitSeconds: 1 })));
    expect(got.map((m) => `${m.body}: ${m.receiveCount}`).sort()).toEqual(['orphan 2: 2', 'orphan: 2']);
  }, 20_000);

  it('the DLQ stream entry carries body, reason and the original id', async () => {
    const stream = `dlq-${randomUUID()}`;
    const q = queue(stream, { maxReceiveCount: 1 });
    await q.send('poison');
    const m = await receiveOne(q);
    await q.release(m);
    expect(await q.receive({ max: 10, waitSeconds: 0.5 })).toEqual([]); // delivery 2 > 1: dead-lettered instead
    await q.send('bad body');
    const n = await receiveOne(q);
    await q.deadLetter(n, 'invalid body: not json');
    const entries = (await raw.xrange(`${stream}:dlq`, '-', '+')).map(([, fields]) => {
      const f: Record<string, string> = {};
      for (let i = 0; i < fields.length; i += 2) f[fields[i] as string] = fields[i + 1] as string;
      return f;
    });
    expect(entries).toEqual([
      { body: 'poison', reason: 'exceeded maxReceiveCount 1', id: m.id },
      { body: 'bad body', reason: 'invalid body: not json', id: n.id },
    ]);
    expect(await q.peekDeadLetters(10)).toEqual([
      { id: m.id, body: 'poison', reason: 'exceeded maxReceiveCount 1' },
      { id: n.id, body: 'bad body', reason: 'invalid body: not json' },
    ]);
    // Acked and deleted from the stream, no lease left behind.
    expect(await raw.xlen(stream)).toBe(0);
    expect(await raw.zcard(`${stream}:leases`)).toBe(0);
  }, 20_000);

  it('entries sent before the group existed are delivered (group created at 0)', async () => {
    const stream = `early-${randomUUID()}`;
    await raw.xadd(stream, '*', 'body', 'early bird');
    const q = queue(stream);
    expect((await receiveOne(q)).body).toBe('early bird');
  });

  it('abort releases the blocking read at once, and close() leaves no connection behind', async () => {
    const clients = async (): Promise<string[]> => ((await raw.call('CLIENT', 'LIST')) as string).trim().split('\n');
    const baseline = (await clients()).length;
    const stream = `conn-${randomUUID()}`;
    const q = queue(stream, { consumer: 'conn-test' });
    const ac = new AbortController();
    const started = Date.now();
    const polling = q.receive({ max: 1, waitSeconds: 20, signal: ac.signal });
    await until('the blocking XREADGROUP connection', 3000, async () => (await clients()).some((c) => c.includes('name=conn-test:block') && c.includes('cmd=xreadgroup') && / flags=b /.test(c)), { everyMs: 50 });
    expect((await clients()).length).toBe(baseline + 2); // shared + blocking
    ac.abort();
    expect(await polling).toEqual([]);
    expect(Date.now() - started).toBeLessThan(3000);
    // The server no longer holds a blocked client for us.
    await until('no connection blocked', 3000, async () => !(await clients()).some((c) => / flags=b /.test(c)), { everyMs: 50 });
    // The blocking connection is reused, not replaced.
    await q.send('after abort');
    expect((await receiveOne(q)).body).toBe('after abort');
    expect((await clients()).length).toBe(baseline + 2);
    await q.close();
    await until('the connections back to the baseline', 3000, async () => (await clients()).length === baseline, { everyMs: 50 });
  }, 20_000);

  it('close() ends a pending long poll with []', async () => {
    const q = queue(`close-${randomUUID()}`);
    const polling = q.receive({ max: 1, waitSeconds: 20 });
    await sleep(300);
    const started = Date.now();
    await q.close();
    expect(await polling).toEqual([]);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('an abort that races a delivery gives the entry back uncounted', async () => {
    const stream = `race-${randomUUID()}`;
    const q = queue(stream);
    await q.send('x');
    const ac = new AbortController();
    ac.abort();
    expect(await q.receive({ max: 1, waitSeconds: 1, signal: ac.signal })).toEqual([]);
    // Now abort while the read is returning: whatever the timing, the next delivery is number 1.
    const ac2 = new AbortController();
    const polling = q.receive({ max: 1, waitSeconds: 1, signal: ac2.signal });
    ac2.abort();
    const raced = await polling;
    const m = raced[0] ?? (await receiveOne(q));
    expect(m.receiveCount).toBe(1);
  });
});

describe('redis-streams keys and receipts', () => {
  it('names the side keys after the stream and round-trips receipts and delayed members', () => {
    expect(streamKeys('{jobs}')).toEqual({ stream: '{jobs}', dlq: '{jobs}:dlq', leases: '{jobs}:leases', delayed: '{jobs}:delayed' });
    expect(decodeReceipt(encodeReceipt('1700000000000-3', 4))).toEqual({ entryId: '1700000000000-3', deliveryCount: 4 });
    expect(() => decodeReceipt('arn:aws:sqs:receipt')).toThrow(TypeError);
    expect(decodeDelayed(encodeDelayed('a|b', 'tag'))).toBe('a|b');
    expect(defaultConsumerName()).toMatch(/^.+-\d+-[0-9a-f]{8}$/);
  });
});

describe('RedisStreamQueue across outages', () => {
  it('receive waits through a restart, logs redis_reconnecting, and loses nothing unacked', async () => {
    const redis = await startRedis({ appendonly: true });
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => { lines.push(line); } });
    const stream = `outage-${randomUUID()}`;
    const q = new RedisStreamQueue({ url: redis.url, stream, visibilitySeconds: VISIBILITY, logger });
    try {
      await q.send('acked');
      await q.send('in flight');
      const a = await receiveOne(q);
      const b = await receiveOne(q);
      const inFlight = a.body === 'acked' ? b : a;
      await q.ack(a.body === 'acked' ? a : b);
      const polling = q.receive({ max: 10, waitSeconds: 8 });
      await sleep(200);
      await redis.restart();
      const got = await polling; // no throw: waited through the outage
      const later = got.length > 0 ? got : [await receiveOne(q, 5000)];
      expect(later.map((m) => [m.body, m.receiveCount])).toEqual([['in flight', 2]]);
      await expect(q.extend(inFlight, 10)).rejects.toBeInstanceOf(LeaseLostError);
      await q.ack(later[0] as QueueMessage);
      expect(await q.receive({ max: 10, waitSeconds: 0.5 })).toEqual([]);
      expect(lines.some((l) => l.includes('"event":"redis_reconnecting"'))).toBe(true);
    } finally {
      await q.close();
      await redis.stop();
    }
  }, 30_000);

  it('a server that comes back empty: the group is created again and new messages flow', async () => {
    const redis = await startRedis(); // no persistence
    const stream = `empty-${randomUUID()}`;
    const q = new RedisStreamQueue({ url: redis.url, stream, visibilitySeconds: VISIBILITY });
    try {
      await q.send('before');
      const before = await receiveOne(q);
      await redis.restart();
      await expect(q.extend(before, 10)).rejects.toBeInstanceOf(LeaseLostError);
      await q.send('after');
      const after = await receiveOne(q, 8000);
      expect(after).toMatchObject({ body: 'after', receiveCount: 1 });
      await q.ack(after);
    } finally {
      await q.close();
      await redis.stop();
    }
  }, 30_000);

  it('receive against a server that is down returns [] after waiting (no tight loop), and resumes when it is back', async () => {
    // Our own directory: stop() then removes nothing, and restart() brings the data back.
    const dir = await mkdtemp(join(tmpdir(), 'queue-redis-down-'));
    const redis = await startRedis({ appendonly: true, dir });
    const q = new RedisStreamQueue({ url: redis.url, stream: `down-${randomUUID()}`, visibilitySeconds: VISIBILITY });
    try {
      await q.send('kept');
      await redis.stop();
      const started = Date.now();
      expect(await q.receive({ max: 1, waitSeconds: 0 })).toEqual([]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900); // waited for the connection, then backed off
      const started2 = Date.now();
      expect(await q.receive({ max: 1, waitSeconds: 2 })).toEqual([]);
      expect(Date.now() - started2).toBeGreaterThanOrEqual(1900);
      await redis.restart(); // same port, same append-only file
      const [m] = await q.receive({ max: 1, waitSeconds: 10 });
      expect(m).toMatchObject({ body: 'kept', receiveCount: 1 });
    } finally {
      await q.close();
      await redis.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
