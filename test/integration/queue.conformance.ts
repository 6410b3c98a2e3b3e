// One behavioural contract for every Queue adapter (memory, SQS on fauxqs, Redis
// Streams), so the engine can rely on the same lease semantics whichever is behind it.
// Each test gets a fresh queue from `setup` and gives it back with `teardown`.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { LeaseLostError } from '../../src/ports/index.js';
import type { DeadLetterQueue, Queue, QueueDepth, QueueMessage, RedriveProgress } from '../../src/ports/index.js';

export interface QueueFixture {
  queue: Queue;
  /** The operators' side of the same queue (the same object where the adapter is both). */
  deadLetters: DeadLetterQueue;
  /** Puts a message on the backend without the adapter (another producer), when the setup can. */
  sendRaw?: (body: string) => Promise<void>;
  /** Restarts the server behind the queue; only for backends that keep data across restarts. */
  restart?: () => Promise<void>;
  teardown(): Promise<void>;
}

export interface QueueConformanceOptions {
  /** The queue's configured visibility timeout in seconds (1 or 2 keeps the suite fast). */
  visibilitySeconds: number;
  maxReceiveCount: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Receives until `count` distinct messages came or `withinMs` passed; duplicates are kept for the caller to see. */
async function collect(queue: Queue, count: number, withinMs: number, max = 10): Promise<QueueMessage[]> {
  const got: QueueMessage[] = [];
  const ids = new Set<string>();
  const deadline = Date.now() + withinMs;
  while (ids.size < count && Date.now() < deadline) {
    const waitSeconds = Math.max(0, Math.min(2, Math.floor((deadline - Date.now()) / 1000)));
    for (const m of await queue.receive({ max, waitSeconds })) {
      got.push(m);
      ids.add(m.id);
    }
  }
  return got;
}

/** Polls peekDeadLetters until `pred` holds (dead-lettering may be asynchronous in a backend). */
async function peekUntil(queue: DeadLetterQueue, pred: (bodies: string[]) => boolean, withinMs = 5000) {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const letters = await queue.peekDeadLetters(10);
    if (pred(letters.map((l) => l.body)) || Date.now() > deadline) return letters;
    await sleep(100);
  }
}

async function receiveOne(queue: Queue, waitSeconds = 5): Promise<QueueMessage> {
  const [m] = await collect(queue, 1, waitSeconds * 1000);
  if (!m) throw new Error(`no message within ${waitSeconds} s`);
  return m;
}

export function describeQueueConformance(
  name: string,
  setup: () => Promise<QueueFixture>,
  opts: QueueConformanceOptions,
): void {
  const V = opts.visibilitySeconds;
  const vMs = V * 1000;
  // Long enough for the slowest test (maxReceiveCount deliveries, redelivery waits) with slack.
  const timeout = 20_000 + 2 * vMs * (opts.maxReceiveCount + 2);

  describe(`Queue conformance: ${name}`, () => {
    let fx: QueueFixture;
    let q: Queue;
    let d: DeadLetterQueue;

    beforeEach(async () => {
      fx = await setup();
      q = fx.queue;
      d = fx.deadLetters;
    }, 30_000);

    afterEach(async () => {
      await fx?.teardown();
    }, 30_000);

    it('send, receive, ack: the message is delivered once and gone afterwards', async () => {
      const before = Date.now();
      await q.send('{"n":1}');
      const m = await receiveOne(q);
      expect(m.body).toBe('{"n":1}');
      expect(m.receiveCount).toBe(1);
      // The send time, for the queue-lag metric: the server's clock, so allow it a second's skew.
      expect(m.sentAt).toBeGreaterThanOrEqual(before - 1000);
      expect(m.sentAt).toBeLessThanOrEqual(Date.now() + 1000);
      expect(typeof m.id).toBe('string');
      expect(m.receipt).not.toBe('');
      await q.ack(m);
      await sleep(vMs + 300);
      expect(await q.receive({ max: 10, waitSeconds: 1 })).toEqual([]);
    }, timeout);

    it('a message from another producer (raw send) is received', async () => {
      if (!fx.sendRaw) return; // the setup has no raw path
      await fx.sendRaw('raw body ✓');
      const m = await receiveOne(q);
      expect(m.body).toBe('raw body ✓');
      await q.ack(m);
    }, timeout);

    it('a long poll wakes as soon as a message arrives mid-wait', async () => {
      const started = Date.now();
      const polling = q.receive({ max: 10, waitSeconds: 10 });
      await sleep(300);
      await q.send('late');
      const got = await polling;
      const elapsed = Date.now() - started;
      expect(got.map((m) => m.body)).toEqual(['late']);
      expect(elapsed).toBeLessThan(3000);
    }, timeout);

    it('an unacked message reappears after the visibility timeout with receiveCount + 1', async () => {
      await q.send('again');
      const first = await receiveOne(q);
      expect(first.receiveCount).toBe(1);
      expect(await q.receive({ max: 10, waitSeconds: 0 })).toEqual([]); // hidden while leased
      const second = await receiveOne(q, V + 5);
      expect(second.id).toBe(first.id);
      expect(second.body).toBe('again');
      expect(second.receiveCount).toBe(2);
      expect(second.receipt).not.toBe(first.receipt);
      await q.ack(second);
    }, timeout);

    it('extend keeps the message hidden past the original timeout', async () => {
      await q.send('long job');
      const m = await receiveOne(q);
      await sleep(vMs / 2);
      await q.extend(m, V * 4);
      // Past the original timeout (with a second of slack), still hidden.
      await sleep(vMs + 1000);
      expect(await q.receive({ max: 10, waitSeconds: 0 })).toEqual([]);
      await q.ack(m); // the lease is still ours
      await sleep(V * 3000);
      expect(await q.receive({ max: 10, waitSeconds: 0 })).toEqual([]);
    }, timeout);

    it('release makes the message visible at once', async () => {
      await q.send('give back');
      const m = await receiveOne(q);
      await q.release(m);
      const started = Date.now();
      const again = await receiveOne(q, 2);
      expect(Date.now() - started).toBeLessThan(vMs);
      expect(again.id).toBe(m.id);
      expect(again.receiveCount).toBe(2);
      await q.ack(again);
    }, timeout);

    it('release with a delay keeps it hidden for that delay', async () => {
      await q.send('later');
      const m = await receiveOne(q);
      const released = Date.now();
      await q.release(m, 2);
      expect(await q.receive({ max: 10, waitSeconds: 1 })).toEqual([]);
      const again = await receiveOne(q, 5);
      expect(Date.now() - released).toBeGreaterThanOrEqual(1500);
      expect(again.id).toBe(m.id);
      await q.ack(again);
    }, timeout);

    it('send with delaySeconds hides the message for that delay', async () => {
      const sent = Date.now();
      await q.send('delayed', { delaySeconds: 2 });
      expect(await q.receive({ max: 10, waitSeconds: 1 })).toEqual([]);
      const m = await receiveOne(q, 5);
      expect(Date.now() - sent).toBeGreaterThanOrEqual(1500);
      expect(m.body).toBe('delayed');
      await q.ack(m);
    }, timeout);

    it(`after maxReceiveCount (${opts.maxReceiveCount}) deliveries the message goes to the dead-letter queue`, async () => {
      expect(q.maxReceiveCount).toBe(opts.maxReceiveCount);
      await q.send('poison');
      for (let i = 1; i <= opts.maxReceiveCount; i++) {
        const m = await receiveOne(q);
        expect(m.receiveCount).toBe(i);
        await q.release(m);
      }
      // The next delivery would exceed the limit: the message moves instead.
      expect(await q.receive({ max: 10, waitSeconds: 1 })).toEqual([]);
      const letters = await peekUntil(d, (b) => b.includes('poison'));
      expect(letters.map((l) => l.body)).toContain('poison');
      expect(await q.receive({ max: 10, waitSeconds: 0 })).toEqual([]);
    }, timeout);

    it('deadLetter(msg, reason) moves the message at once, with the reason', async () => {
      await q.send('not json');
      const m = await receiveOne(q);
      await q.deadLetter(m, 'invalid body: not json');
      const letters = await peekUntil(d, (b) => b.includes('not json'));
      expect(letters).toEqual([expect.objectContaining({ body: 'not json', reason: 'invalid body: not json' })]);
      await sleep(vMs + 300);
      expect(await q.receive({ max: 10, waitSeconds: 0 })).toEqual([]);
      // Peeking does not consume.
      expect((await d.peekDeadLetters(10)).map((l) => l.body)).toEqual(['not json']);
    }, timeout);

    it('redrive brings dead letters back to the main queue', async () => {
      await q.send('retry me');
      await q.deadLetter(await receiveOne(q), 'transient outage');
      await peekUntil(d, (b) => b.length === 1);
      expect(await d.redrive()).toBe(1);
      const m = await receiveOne(q, 10);
      expect(m.body).toBe('retry me');
      await q.ack(m);
      expect(await peekUntil(d, (b) => b.length === 0)).toEqual([]);
    }, timeout);

    it('purgeDeadLetters empties the dead-letter queue', async () => {
      await q.send('a');
      await q.send('b');
      for (const m of await collect(q, 2, 5000)) await q.deadLetter(m, 'bad');
      await peekUntil(d, (b) => b.length === 2);
      expect(await d.purgeDeadLetters()).toBe(2);
      expect(await peekUntil(d, (b) => b.length === 0)).toEqual([]);
    }, timeout);

    it('depth counts waiting, leased and dead-lettered messages', async () => {
      const depthUntil = async (want: QueueDepth): Promise<QueueDepth> => {
        const deadline = Date.now() + 5000;
        for (;;) {
          const n = await d.depth();
          if ((n.visible === want.visible && n.inflight === want.inflight && n.dlq === want.dlq) || Date.now() > deadline) return n;
          await sleep(100);
        }
      };
      expect(await d.depth()).toEqual({ visible: 0, inflight: 0, dlq: 0 });
      for (const b of ['d1', 'd2', 'd3']) await q.send(b);
      const [m] = await q.receive({ max: 1, waitSeconds: 2, visibilitySeconds: 30 });
      expect(await depthUntil({ visible: 2, inflight: 1, dlq: 0 })).toEqual({ visible: 2, inflight: 1, dlq: 0 });
      await q.deadLetter(m!, 'bad');
      expect(await depthUntil({ visible: 2, inflight: 0, dlq: 1 })).toEqual({ visible: 2, inflight: 0, dlq: 1 });
    }, timeout);

    it('redrive reports how it moves and each step; with an aborted signal it moves nothing', async () => {
      for (const b of ['r1', 'r2', 'r3']) await q.send(b);
      for (const m of await collect(q, 3, 5000)) await q.deadLetter(m, 'later');
      await peekUntil(d, (b) => b.length === 3);
      const stopped = new AbortController();
      stopped.abort();
      const none: RedriveProgress[] = [];
      expect(await d.redrive({ signal: stopped.signal, onProgress: (p) => none.push(p) })).toBe(0);
      expect(none.filter((p) => p.kind === 'moved')).toEqual([]);
      expect((await d.peekDeadLetters(10)).map((l) => l.body).sort()).toEqual(['r1', 'r2', 'r3']);

      const events: RedriveProgress[] = [];
      expect(await d.redrive({ onProgress: (p) => events.push(p) })).toBe(3);
      expect(events[0]).toEqual(expect.objectContaining({ kind: 'started', waiting: 3 }));
      expect(['move-task', 'copy', 'atomic']).toContain((events[0] as { method: string }).method);
      expect(events.at(-1)).toEqual({ kind: 'moved', moved: 3 });
      const back = await collect(q, 3, 10_000);
      expect(back.map((m) => m.body).sort()).toEqual(['r1', 'r2', 'r3']);
      for (const m of back) await q.ack(m);
    }, timeout);

    it('a batch: 25 sent, receive({max: 25}) gets them all across calls, no duplicates', async () => {
      const bodies = Array.from({ length: 25 }, (_, i) => `m${i}`);
      for (const b of bodies) await q.send(b);
      const got = await collect(q, 25, 10_000, 25);
      expect(got.map((m) => m.body).sort()).toEqual([...bodies].sort());
      expect(new Set(got.map((m) => m.id)).size).toBe(25);
      for (const m of got) await q.ack(m);
    }, timeout);

    it('an aborted signal ends a long poll at once with []', async () => {
      const ac = new AbortController();
      const started = Date.now();
      const polling = q.receive({ max: 10, waitSeconds: 10, signal: ac.signal });
      await sleep(200);
      ac.abort();
      expect(await polling).toEqual([]);
      expect(Date.now() - started).toBeLessThan(1200);
      // Already aborted: no wait at all.
      const t = Date.now();
      expect(await q.receive({ max: 10, waitSeconds: 10, signal: ac.signal })).toEqual([]);
      expect(Date.now() - t).toBeLessThan(500);
    }, timeout);

    it('an old receipt after redelivery: extend throws LeaseLostError', async () => {
      await q.send('taken over');
      const old = await receiveOne(q);
      const fresh = await receiveOne(q, V + 5); // the lease expired and the message was delivered again
      expect(fresh.receiveCount).toBe(2);
      await expect(q.extend(old, 30)).rejects.toBeInstanceOf(LeaseLostError);
      await q.extend(fresh, 30); // the current delivery's lease is fine
      await q.ack(fresh);
    }, timeout);

    it('after ack, extend throws LeaseLostError', async () => {
      await q.send('done');
      const m = await receiveOne(q);
      await q.ack(m);
      await expect(q.extend(m, 30)).rejects.toBeInstanceOf(LeaseLostError);
    }, timeout);

    it('a server restart mid-test loses nothing and brings back no acked message', async () => {
      if (!fx.restart) return; // only for backends that keep data across restarts
      const bodies = Array.from({ length: 20 }, (_, i) => `r${i}`);
      for (const b of bodies) await q.send(b);
      const first = await collect(q, 10, 10_000);
      const acked = first.slice(0, 10);
      expect(acked).toHaveLength(10);
      for (const m of acked) await q.ack(m);
      const ackedBodies = new Set(acked.map((m) => m.body));
      await fx.restart();
      // Unacked ones (some may be leased by `first`) come back after at most one timeout.
      const rest = await collect(q, 10, vMs + 15_000);
      const restBodies = new Set(rest.map((m) => m.body));
      for (const b of restBodies) expect(ackedBodies.has(b)).toBe(false);
      expect([...restBodies].sort()).toEqual(bodies.filter((b) => !ackedBodies.has(b)).sort());
      for (const m of rest) await q.ack(m).catch(() => undefined);
    }, timeout + 20_000);
  });
}
