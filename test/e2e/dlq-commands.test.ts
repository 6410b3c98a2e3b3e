// `rugbyworker dlq inspect | replay | purge --queue NAME` (issue 10, seed 002 runbook 2) on the
// built executable against fauxqs, and against Redis Streams with QUEUE_BACKEND=redis. fauxqs
// has no StartMessageMoveTask (it answers InvalidAction), so the replay here is the copy, one
// letter at a time; killed mid-replay it loses nothing and leaves at most one letter in both
// queues, as it says before it starts (the move-task path: test/unit/sqs-redrive.test.ts).
import { randomUUID } from 'node:crypto';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { Redis } from 'ioredis';
import { runExe, spawnExe, waitForExit, type RunResult } from '../helpers/binary.js';
import { startRedis, type LocalRedis } from '../helpers/servers.js';
import { startStereoWorld, type QueuePair, type StereoWorld } from '../helpers/stereo-world.js';
import { until } from '../helpers/wait.js';

let w: StereoWorld;
let redis: LocalRedis;

beforeAll(async () => {
  [w, redis] = await Promise.all([startStereoWorld(), startRedis()]);
}, 60_000);

afterAll(async () => {
  await Promise.all([w?.stop(), redis?.stop()]);
});

const MAX_RECEIVES = 2;

/** A chunking queue (with its DLQ) of its own; the other queue settings point at it too, unused. */
async function chunkingQueue(): Promise<QueuePair> {
  return w.createQueue(`dlq-${randomUUID().slice(0, 8)}-chunking`, 30, MAX_RECEIVES);
}

function env(q: QueuePair, extra: Record<string, string> = {}): Record<string, string> {
  return w.workerEnv({ chunking: q.url, videoWorker: q.url, reassembly: q.url }, extra);
}

const run = (args: string[], q: QueuePair, extra?: Record<string, string>): Promise<RunResult> => runExe(['dlq', ...args], { env: env(q, extra), timeoutMs: 20_000 });

async function sendToDlq(q: QueuePair, bodies: string[]): Promise<void> {
  for (let i = 0; i < bodies.length; i += 10) {
    await w.sqs.send(new SendMessageBatchCommand({ QueueUrl: q.dlq, Entries: bodies.slice(i, i + 10).map((b, j) => ({ Id: String(j), MessageBody: b })) }));
  }
}

async function counts(url: string): Promise<{ visible: number; hidden: number }> {
  const a = (await w.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }))).Attributes ?? {};
  return { visible: Number(a.ApproximateNumberOfMessages ?? 0), hidden: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) };
}

const bodiesOf = async (url: string): Promise<string[]> => (await w.drain(url)).map(([b]) => b);

describe('dlq on SQS (fauxqs)', () => {
  it('inspect shows each dead letter (id, receive count, reason where recorded, body) without consuming it', async () => {
    const q = await chunkingQueue();
    // One dead-lettered by the redrive policy (no reason), one by this worker (rugbyworker_reason).
    await w.send(q.url, '{"poison":1}');
    for (let i = 0; i <= MAX_RECEIVES; i++) await w.sqs.send(new ReceiveMessageCommand({ QueueUrl: q.url, VisibilityTimeout: 0, WaitTimeSeconds: 0 }));
    await w.sqs.send(new SendMessageCommand({ QueueUrl: q.dlq, MessageBody: 'not json', MessageAttributes: { rugbyworker_reason: { DataType: 'String', StringValue: 'invalid body: not JSON' } } }));

    const r = await run(['inspect', '--queue', 'chunking', '--json'], q);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const out = JSON.parse(r.stdout) as { queue: string; dead_letters: number; messages: Array<{ id: string; receive_count: number | null; reason: string | null; body: string }> };
    expect(out).toMatchObject({ queue: 'chunking', dead_letters: 2 });
    const byBody = Object.fromEntries(out.messages.map((m) => [m.body, m]));
    expect(byBody['{"poison":1}']).toEqual({ id: expect.any(String), receive_count: expect.any(Number), reason: null, body: '{"poison":1}' });
    expect(byBody['{"poison":1}']!.receive_count).toBeGreaterThan(MAX_RECEIVES); // its deliveries, and the peek
    expect(byBody['not json']).toEqual({ id: expect.any(String), receive_count: 1, reason: 'invalid body: not JSON', body: 'not json' });

    const text = await run(['inspect', '--queue', 'chunking', '--max', '1'], q);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^2 dead letters in the DLQ of dlq-\w+-chunking \(showing 1; --max N for more\)\n\n\S+ {2}received \d+ times? {2}reason: .+\n {2}.+\n$/);
    // Still there. (fauxqs counts a letter received with VisibilityTimeout 0 as not visible, though it is: read them.)
    expect((await bodiesOf(q.dlq)).sort()).toEqual(['not json', '{"poison":1}']);
  });

  it('inspect prints what a dead letter holds that a terminal would obey escaped (8-bit CSI/OSC, bidi), its line breaks kept, indented', async () => {
    // SQS refuses C0 controls (an ESC byte) in a body or attribute, as fauxqs does; the C1 forms pass.
    const q = await chunkingQueue();
    const body = '{"job_id":"j"}\n\u009b2J\u009d0;pwned\u009c \u202egnp.exe';
    await w.sqs.send(new SendMessageCommand({ QueueUrl: q.dlq, MessageBody: body, MessageAttributes: { rugbyworker_reason: { DataType: 'String', StringValue: 'invalid body \u009b31m' } } }));

    const text = await run(['inspect', '--queue', 'chunking'], q);
    expect([text.code, text.stderr]).toEqual([0, '']);
    // eslint-disable-next-line no-control-regex
    expect(text.stdout).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]/);
    expect(text.stdout).toMatch(/ {2}reason: invalid body \\x9b31m\n {2}\{"job_id":"j"\}\n {2}\\x9b2J\\x9d0;pwned\\x9c \\u202egnp\.exe\n$/);

    const json = await run(['inspect', '--queue', 'chunking', '--json'], q);
    expect(json.stdout).not.toMatch(/[\x7f-\x9f\u202a-\u202e]/);
    expect(json.stdout).toContain('\\u009b2J\\u009d0;pwned\\u009c \\u202egnp.exe');
    expect((JSON.parse(json.stdout) as { messages: Array<{ body: string; reason: string }> }).messages).toEqual([expect.objectContaining({ body, reason: 'invalid body \u009b31m' })]);
  });

  it('usage errors (64): an unknown --queue lists the names, no --queue, a bad --max; no redrive policy: refused', async () => {
    const q = await chunkingQueue();
    const unknown = await run(['inspect', '--queue', 'uploads'], q);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toContain("error: option '--queue <name>' argument 'uploads' is invalid. Allowed choices are transcode, chunking, video-worker, reassembly.");
    expect((await run(['replay'], q)).code).toBe(64);
    expect((await run(['inspect', '--queue', 'chunking', '--max', '0'], q)).code).toBe(64);
    const missing = await run(['purge', '--queue', 'transcode'], q);
    expect([missing.code, missing.stderr]).toEqual([78, 'rugbyworker: SQS_TRANSCODE_QUEUE_URL is required: SQS queue URL (or its other name, SQS_QUEUE_URL) (dlq purge)\n']);

    const plain = (await w.sqs.send(new CreateQueueCommand({ QueueName: `plain-${randomUUID().slice(0, 8)}` }))).QueueUrl!;
    const none = await run(['inspect', '--queue', 'reassembly'], q, { REASSEMBLY_QUEUE_URL: plain });
    expect([none.code, none.stderr]).toEqual([1, `rugbyworker: queue ${plain.split('/').at(-1)} (REASSEMBLY_QUEUE_URL) has no dead-letter queue (no RedrivePolicy)\n`]);
  });

  it('replay and purge: nothing without --yes off a terminal; with it, back to the main queue, or gone', async () => {
    const q = await chunkingQueue();
    await sendToDlq(q, ['a', 'b', 'c']);
    for (const cmd of ['replay', 'purge']) {
      const r = await run([cmd, '--queue', 'chunking'], q);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/: not done, no terminal to confirm on; pass --yes to do it without asking\n$/);
    }
    expect(await counts(q.dlq)).toEqual({ visible: 3, hidden: 0 });

    const r = await run(['replay', '--queue', 'chunking', '--yes'], q);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('replaying 3 dead letters to ');
    expect(r.stderr).toContain('if this is interrupted no message is lost, and at most the one in hand ends up in both queues (delivered twice)');
    expect(r.stdout).toMatch(/^replayed 3 dead letters to dlq-\w+-chunking\n$/);
    expect((await bodiesOf(q.url)).sort()).toEqual(['a', 'b', 'c']);
    expect(await counts(q.dlq)).toEqual({ visible: 0, hidden: 0 });

    await sendToDlq(q, ['x', 'y']);
    const p = await run(['purge', '--queue', 'chunking', '--yes'], q);
    expect([p.code, p.stdout]).toEqual([0, expect.stringMatching(/^purged 2 dead letters of dlq-\w+-chunking\n$/)]);
    await until('the purge', 5000, async () => (await w.depth(q.dlq)) === 0);
    const empty = await run(['replay', '--queue', 'chunking', '--yes'], q);
    expect([empty.code, empty.stdout]).toEqual([0, expect.stringContaining('is empty: nothing to replay')]);
  });

  const N = 300;
  const letters = Array.from({ length: N }, (_, i) => `letter-${i}`);

  /** Spawns the replay; resolves once its first "moved" line is out (it is mid-way then). */
  async function replayUnderway(q: QueuePair, extra: Record<string, string> = {}) {
    const child = spawnExe(['dlq', 'replay', '--queue', 'chunking', '--yes'], { env: env(q, extra) });
    const out = { stdout: '', stderr: '' };
    child.stdout!.on('data', (d: Buffer) => { out.stdout += d.toString(); });
    await new Promise<void>((resolve, reject) => {
      child.stderr!.on('data', (d: Buffer) => {
        out.stderr += d.toString();
        if (/\nmoved \d+\n/.test(out.stderr)) resolve();
      });
      child.once('exit', () => reject(new Error(`replay ended before it was interrupted: ${out.stderr}`)));
    });
    return { child, out };
  }

  it('replay killed (SIGKILL) with a letter sent but not yet deleted: that one is in both queues, none is lost', async () => {
    const q = await chunkingQueue();
    await sendToDlq(q, letters);
    // Between the executable and fauxqs: the 15th DeleteMessage is held, never answered, so the
    // kill lands in the worst place: the letter in hand is in the main queue and still in the DLQ.
    let deletes = 0;
    let held!: () => void;
    const heldDelete = new Promise<void>((resolve) => { held = resolve; });
    const target = new URL(w.fauxqs.endpoint);
    const proxy = createServer((req, res) => {
      const op = String(req.headers['x-amz-target'] ?? '');
      if (op.endsWith('.DeleteMessage') && ++deletes === 15) { held(); return; }
      const upstream = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const { child, out } = await replayUnderway(q, { AWS_ENDPOINT_URL_SQS: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` });
      await heldDelete;
      child.kill('SIGKILL');
      expect(await waitForExit(child)).toBe('SIGKILL');
      expect(out.stderr).toContain('if this is interrupted no message is lost, and at most the one in hand ends up in both queues (delivered twice)');
    } finally {
      proxy.closeAllConnections();
      proxy.close();
    }
    const main = await bodiesOf(q.url);
    expect(main).toHaveLength(15); // 14 moved, and the one in hand
    // The one in hand is hidden in the DLQ until its short lease ends, then back (read, not
    // counted: fauxqs updates its counts only when someone receives).
    expect((await counts(q.dlq)).hidden).toBe(1);
    const dlq: string[] = [];
    await until('the letter in hand back in the DLQ', 15_000, async () => {
      dlq.push(...await bodiesOf(q.dlq));
      return dlq.length === N - 14;
    });
    const all = [...main, ...dlq];
    expect(new Set(all)).toEqual(new Set(letters)); // none lost
    expect(all).toHaveLength(N + 1); // exactly one in both
    expect(dlq).toContain(main.at(-1));
  }, 60_000);

  it('replay stopped with SIGINT: the letter in hand is finished, none is in both queues, and it says so', async () => {
    const q = await chunkingQueue();
    await sendToDlq(q, letters);
    const { child, out } = await replayUnderway(q);
    child.kill('SIGINT');
    expect(await waitForExit(child)).toBe(130);
    expect(out.stdout).toMatch(/^interrupted after replaying \d+: the letter in hand was finished, none is in both queues; the rest stay in the DLQ \(run replay again\)\n$/);
    const moved = Number(/interrupted after replaying (\d+)/.exec(out.stdout)![1]);
    expect((await counts(q.dlq)).hidden).toBe(0);
    const main = await bodiesOf(q.url);
    const dlq = await bodiesOf(q.dlq);
    expect(main).toHaveLength(moved);
    expect(dlq.length).toBeGreaterThan(0); // stopped mid-way, not at the end
    expect([...main, ...dlq].sort()).toEqual([...letters].sort()); // each exactly once
  }, 30_000);
});

describe('dlq on Redis Streams (QUEUE_BACKEND=redis)', () => {
  it('inspect, replay and purge <stream>:dlq', async () => {
    const q = await chunkingQueue(); // only for the unused SQS settings of workerEnv
    const extra = { QUEUE_BACKEND: 'redis', REDIS_URL: redis.url };
    const raw = new Redis(redis.url);
    try {
      // The stream of CHUNKING_QUEUE_URL (src/domain/queue-names.ts) and its DLQ, as the adapter writes dead letters.
      await raw.del('rugbyworker:chunking', 'rugbyworker:chunking:dlq');
      await raw.xadd('rugbyworker:chunking:dlq', '*', 'body', '{"n":1}', 'reason', 'exceeded maxReceiveCount 5', 'id', '1-0');
      await raw.xadd('rugbyworker:chunking:dlq', '*', 'body', '{"n":2}', 'reason', 'invalid body', 'id', '2-0');

      const i = await run(['inspect', '--queue', 'chunking', '--json'], q, extra);
      expect([i.code, i.stderr]).toEqual([0, '']);
      expect(JSON.parse(i.stdout)).toEqual({
        queue: 'chunking', dead_letters: 2,
        messages: [
          { id: '1-0', receive_count: null, reason: 'exceeded maxReceiveCount 5', body: '{"n":1}' },
          { id: '2-0', receive_count: null, reason: 'invalid body', body: '{"n":2}' },
        ],
      });
      const r = await run(['replay', '--queue', 'chunking', '--yes'], q, extra);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain('in atomic batches: an interruption leaves every letter in exactly one of the two');
      expect(r.stdout).toBe('replayed 2 dead letters to rugbyworker:chunking\n');
      expect((await raw.xrange('rugbyworker:chunking', '-', '+')).map(([, f]) => f[1])).toEqual(['{"n":1}', '{"n":2}']);
      expect(await raw.xlen('rugbyworker:chunking:dlq')).toBe(0);

      await raw.xadd('rugbyworker:chunking:dlq', '*', 'body', 'x', 'reason', 'bad', 'id', '3-0');
      const p = await run(['purge', '--queue', 'chunking', '--yes'], q, extra);
      expect([p.code, p.stdout]).toEqual([0, 'purged 1 dead letter of rugbyworker:chunking\n']);
      expect(await raw.xlen('rugbyworker:chunking:dlq')).toBe(0);
    } finally {
      raw.disconnect();
    }
  });

  it('inspect prints an ESC byte of a dead letter escaped, never to the terminal', async () => {
    const q = await chunkingQueue();
    const extra = { QUEUE_BACKEND: 'redis', REDIS_URL: redis.url };
    const raw = new Redis(redis.url);
    try {
      await raw.del('rugbyworker:chunking', 'rugbyworker:chunking:dlq');
      await raw.xadd('rugbyworker:chunking:dlq', '*', 'body', '{"n":1}\x1b]0;pwned\x07\x1b[2J\r\n\tnext', 'reason', 'invalid body\x1b[31m', 'id', '1-0\x1b[8m');
      const i = await run(['inspect', '--queue', 'chunking'], q, extra);
      expect([i.code, i.stderr]).toEqual([0, '']);
      expect(i.stdout).toBe('1 dead letter in the DLQ of rugbyworker:chunking\n\n1-0\\x1b[8m  received ? times  reason: invalid body\\x1b[31m\n  {"n":1}\\x1b]0;pwned\\x07\\x1b[2J\\r\n  \tnext\n');
      const j = await run(['inspect', '--queue', 'chunking', '--json'], q, extra);
      expect(j.stdout).not.toContain('\x1b');
      expect((JSON.parse(j.stdout) as { messages: Array<{ body: string }> }).messages[0]!.body).toBe('{"n":1}\x1b]0;pwned\x07\x1b[2J\r\n\tnext');
    } finally {
      raw.disconnect();
    }
  });
});
