// The consumer engine against the real in-memory queue: outcomes, concurrency, the lease
// heartbeat under a short visibility timeout, and graceful stop.
import { afterEach, describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { z } from 'zod';
import { MemoryQueue } from '../../src/adapters/queue/memory.js';
import type { MemoryQueueOptions } from '../../src/adapters/queue/memory.js';
import { LeaseLostError } from '../../src/ports/index.js';
import type { Queue } from '../../src/ports/index.js';
import { createConsumer } from '../../src/runtime/consumer.js';
import type { Consumer, ConsumerOptions, Handler } from '../../src/runtime/consumer.js';
import { HoldLostError, InvalidInputError, PermanentError } from '../../src/ports/index.js';
import { Metrics } from '../../src/runtime/metrics.js';
import { FfmpegError } from '../../src/runtime/ffmpeg/index.js';
import { until } from '../helpers/wait.js';

type Line = Record<string, unknown> & { event_type?: string };

const Job = z.object({ id: z.string(), ms: z.number().int().nonnegative().default(0) });
type Job = z.infer<typeof Job>;

const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves when `signal` aborts, with its reason. */
const aborted = (signal: AbortSignal): Promise<unknown> =>
  new Promise((resolve) => {
    if (signal.aborted) resolve(signal.reason);
    else signal.addEventListener('abort', () => resolve(signal.reason), { once: true });
  });

type Op = 'ack' | 'release' | 'deadLetter' | 'extend';

/** Delegates to `inner`, recording ack/release/deadLetter/extend calls; `extend` may be overridden. */
function recording(inner: MemoryQueue, overrides: Partial<Pick<Queue, 'extend' | 'ack'>> = {}) {
  const calls: Array<{ op: Op; id: string; arg?: unknown }> = [];
  const queue: Queue = {
    name: inner.name,
    maxReceiveCount: inner.maxReceiveCount,
    receive: (o) => inner.receive(o),
    extend: async (m, s) => {
      calls.push({ op: 'extend', id: m.id, arg: s });
      return overrides.extend ? overrides.extend(m, s) : inner.extend(m, s);
    },
    release: async (m, d) => {
      calls.push({ op: 'release', id: m.id, arg: d });
      return inner.release(m, d);
    },
    ack: async (m) => {
      calls.push({ op: 'ack', id: m.id });
      return overrides.ack ? overrides.ack(m) : inner.ack(m);
    },
    deadLetter: async (m, r) => {
      calls.push({ op: 'deadLetter', id: m.id, arg: r });
      return inner.deadLetter(m, r);
    },
    send: (b, o) => inner.send(b, o),
    depth: () => inner.depth(),
    close: () => inner.close(),
  };
  const count = (op: Op, id?: string): number => calls.filter((c) => c.op === op && (id === undefined || c.id === id)).length;
  return { queue, calls, count };
}

const consumers: Consumer[] = [];
const queues: MemoryQueue[] = [];

afterEach(async () => {
  // Whatever a test left running is stopped at once.
  await Promise.all(consumers.splice(0).map((c) => c.stop(AbortSignal.abort(new Error('test over')))));
  await Promise.all(queues.splice(0).map((q) => q.close()));
});

function memoryQueue(opts: Partial<MemoryQueueOptions> = {}): MemoryQueue {
  const q = new MemoryQueue({ name: 'jobs', visibilitySeconds: 30, maxReceiveCount: 5, ...opts });
  queues.push(q);
  return q;
}

function setup(opts: Partial<ConsumerOptions<Job>> & { handler: Handler<Job>; queue: Queue }) {
  const lines: Line[] = [];
  const logger = pino({ level: 'debug' }, { write(s: string) { lines.push(JSON.parse(s) as Line); } });
  const metrics = opts.metrics ?? new Metrics({ instanceId: 'test', defaultMetrics: false });
  const stopping = new AbortController();
  const consumer = createConsumer<Job>({
    role: 'video',
    schema: Job,
    concurrency: 1,
    waitSeconds: 0.2,
    heartbeat: { intervalSeconds: 240, extensionSeconds: 300 },
    retryDelay: () => 0,
    logger,
    metrics,
    stopping: stopping.signal,
    jobIdOf: (j) => j.id,
    ...opts,
  });
  consumers.push(consumer);
  return { consumer, lines, events: (t: string) => lines.filter((l) => l.event_type === t), metrics, stopping };
}

const send = (q: Queue, ...jobs: Array<Partial<Job> & { id: string }>): Promise<void[]> =>
  Promise.all(jobs.map((j) => q.send(JSON.stringify(j))));

describe('consumer outcomes', () => {
  it('acks each valid job exactly once, then --once ends on the empty queue', async () => {
    const mq = memoryQueue();
    const rec = recording(mq);
    const seen: string[] = [];
    await send(mq, ...Array.from({ length: 12 }, (_, i) => ({ id: `j${i}`, ms: i % 3 })));
    const h = setup({ queue: rec.queue, concurrency: 4, once: true, handler: async (job) => { seen.push(job.id); await tick(job.ms); } });
    await h.consumer.done;

    expect(seen.sort()).toEqual(Array.from({ length: 12 }, (_, i) => `j${i}`).sort());
    expect(rec.count('ack')).toBe(12);
    expect(new Set(rec.calls.filter((c) => c.op === 'ack').map((c) => c.id)).size).toBe(12);
    expect(rec.count('release') + rec.count('deadLetter')).toBe(0);
    expect(mq.size).toBe(0);
    expect(h.events('job_succeeded')).toHaveLength(12);
    const json = await h.metrics.json();
    expect(json.counters.messages_received_total).toEqual({ 'role=video': 12 });
    expect(json.counters.jobs_succeeded_total).toEqual({ 'role=video': 12 });
    expect(json.gauges.jobs_in_flight).toEqual({ 'role=video': 0 });
    expect(json.durations.job_duration_seconds?.count).toBe(12);
    expect(json.durations.queue_lag_seconds?.count).toBe(12);
    expect(h.events('job_started').every((l) => typeof l.queue_lag_seconds === 'number' && l.queue_lag_seconds >= 0)).toBe(true);
  });

  it('dead-letters invalid JSON and schema-invalid bodies once, with the reason, never calling the handler', async () => {
    const mq = memoryQueue();
    const rec = recording(mq);
    await mq.send('{not json');
    await mq.send(JSON.stringify({ id: 42 }));
    let calls = 0;
    const h = setup({ queue: rec.queue, once: true, handler: async () => { calls++; } });
    await h.consumer.done;

    expect(calls).toBe(0);
    expect(rec.count('deadLetter')).toBe(2);
    expect(rec.count('release') + rec.count('ack')).toBe(0);
    const dlq = await mq.peekDeadLetters(10);
    expect(dlq).toHaveLength(2);
    expect(dlq.find((d) => d.body === '{not json')?.reason).toMatch(/^invalid message: invalid JSON: /);
    expect(dlq.find((d) => d.body.includes('42'))?.reason).toMatch(/^invalid message: schema: id: /);
    const invalid = h.events('message_invalid');
    expect(invalid).toHaveLength(2);
    expect(invalid.every((l) => typeof l.message_id === 'string' && typeof l.reason === 'string' && !String(l.reason).includes('\n'))).toBe(true);
    expect(mq.size).toBe(0);
    const json = await h.metrics.json();
    expect(json.counters.messages_dead_lettered_total).toEqual({ 'role=video': 2 });
  });

  it('releases a retryable failure with the backoff delay; the redelivery succeeds', async () => {
    const mq = memoryQueue();
    const rec = recording(mq);
    await send(mq, { id: 'flaky' });
    const attempts: number[] = [];
    const delays: number[] = [];
    const h = setup({
      queue: rec.queue,
      once: true,
      retryDelay: (n) => { delays.push(n); return 0; },
      handler: async (_job, ctx) => {
        attempts.push(ctx.message.receiveCount);
        if (ctx.message.receiveCount === 1) throw new Error('S3 503 SlowDown');
      },
    });
    await h.consumer.done;

    expect(attempts).toEqual([1, 2]);
    expect(delays).toEqual([1]);
    expect(rec.calls.filter((c) => c.op !== 'extend').map((c) => [c.op, c.arg])).toEqual([['release', 0], ['ack', undefined]]);
    expect(h.events('job_retry')).toMatchObject([{ job_id: 'flaky', receive_count: 1, delay_seconds: 0, reason: 'S3 503 SlowDown' }]);
    const json = await h.metrics.json();
    expect(json.counters.jobs_retried_total).toEqual({ 'role=video': 1 });
    expect(json.counters.jobs_failed_total).toEqual({ 'role=video': 1 });
    expect(json.counters.jobs_succeeded_total).toEqual({ 'role=video': 1 });
    // The redelivery's wait includes the retry delay: only the first receive counts as queue lag.
    expect(json.durations.queue_lag_seconds?.count).toBe(1);
  });

  it('dead-letters a PermanentError at once with its reason', async () => {
    const mq = memoryQueue();
    const rec = recording(mq);
    await send(mq, { id: 'broken' });
    let calls = 0;
    const h = setup({ queue: rec.queue, once: true, handler: async () => { calls++; throw new PermanentError('input video is corrupt'); } });
    await h.consumer.done;

    expect(calls).toBe(1);
    expect(rec.calls.filter((c) => c.op !== 'extend').map((c) => c.op)).toEqual(['deadLetter']);
    expect(await mq.peekDeadLetters(10)).toMatchObject([{ reason: 'PermanentError: input video is corrupt' }]);
    expect(h.events('job_failed')).toMatchObject([{ job_id: 'broken', permanent: true }]);
  });

  it('dead-letters a retryable failure on the last allowed receive', async () => {
    const mq = memoryQueue({ maxReceiveCount: 3 });
    const rec = recording(mq);
    await send(mq, { id: 'always-fails' });
    const attempts: number[] = [];
    const h = setup({ queue: rec.queue, once: true, handler: async (_j, ctx) => { attempts.push(ctx.message.receiveCount); throw new Error('nope'); } });
    await h.consumer.done;

    expect(attempts).toEqual([1, 2, 3]);
    expect(rec.calls.filter((c) => c.op !== 'extend').map((c) => c.op)).toEqual(['release', 'release', 'deadLetter']);
    expect(await mq.peekDeadLetters(10)).toMatchObject([{ reason: 'failed on receive 3 of 3: nope' }]);
    expect(h.events('job_failed')).toMatchObject([{ permanent: false, receive_count: 3, max_receive_count: 3 }]);
  });
});

/** What a socket-level failure looks like when it reaches a handler: wrapped, the code on the cause. */
const outage = (what: string): Error => new Error(`${what} unreachable`, { cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) });
const SHORT_WAIT = { baseMs: 20, maxMs: 40, limitSeconds: 5 };

describe('consumer waiting out an outage of a dependency', () => {
  it('keeps the message and runs the job again on the same receive until the service answers: no release, no receive spent', async () => {
    const mq = memoryQueue({ maxReceiveCount: 1 });
    const rec = recording(mq);
    await send(mq, { id: 'during-outage' });
    const tries: number[] = [];
    const recorded: unknown[] = [];
    const h = setup({
      queue: rec.queue, once: true, outageWait: SHORT_WAIT,
      // The last receive of a maxReceiveCount-1 queue, yet an outage does not end the job.
      failed: { lastReceive: true, record: async (_job, err) => { recorded.push(err); } },
      handler: async (_job, ctx) => {
        tries.push(ctx.message.receiveCount);
        if (tries.length < 4) throw outage('s3');
      },
    });
    await h.consumer.done;

    expect(tries).toEqual([1, 1, 1, 1]);
    expect(recorded).toEqual([]);
    expect(rec.calls.filter((c) => c.op !== 'extend').map((c) => c.op)).toEqual(['ack']);
    expect(h.events('job_waiting')).toMatchObject([1, 2, 3].map((t) => ({ job_id: 'during-outage', try: t, reason: 's3 unreachable' })));
    expect(h.events('job_retry')).toEqual([]);
    expect(await mq.peekDeadLetters(10)).toEqual([]);
    const json = await h.metrics.json();
    expect(json.counters.job_outage_waits_total).toEqual({ 'role=video': 3 });
    expect(json.counters.jobs_succeeded_total).toEqual({ 'role=video': 1 });
    expect(json.counters.jobs_failed_total).toEqual({ 'role=video': 0 });
  });

  it('past the wait limit an outage takes the normal path: the last receive dead-letters it, and the job is recorded failed once, after the last try', async () => {
    const mq = memoryQueue({ maxReceiveCount: 1 });
    const rec = recording(mq);
    await send(mq, { id: 'long-outage' });
    let tries = 0;
    const recorded: number[] = [];
    const h = setup({
      queue: rec.queue, once: true, outageWait: { baseMs: 40, maxMs: 40, limitSeconds: 0.1 },
      failed: { lastReceive: true, record: async () => { recorded.push(tries); } },
      handler: async () => { tries++; throw outage('supabase'); },
    });
    await h.consumer.done;

    // 0 ms, ~20–40 ms, ~40–80 ms: a fourth try would start past 100 ms.
    expect(tries).toBeGreaterThanOrEqual(2);
    expect(recorded).toEqual([tries]);
    expect(h.events('job_failed')).toMatchObject([{ permanent: false, recorded: true }]);
    expect(rec.calls.filter((c) => c.op !== 'extend').map((c) => c.op)).toEqual(['deadLetter']);
    expect((await mq.peekDeadLetters(10))[0]?.reason).toBe('failed on receive 1 of 1: supabase unreachable');
  });

  it('does not wait out an error with an answer in it (a 500, a 404), nor a permanent one', async () => {
    const mq = memoryQueue({ maxReceiveCount: 5 });
    const rec = recording(mq);
    await send(mq, { id: 'answered' }, { id: 'permanent' });
    const h = setup({
      queue: rec.queue, once: true, outageWait: SHORT_WAIT, concurrency: 2,
      handler: async (job, ctx) => {
        if (job.id === 'permanent') throw new PermanentError('bad input', { cause: outage('s3') });
        if (ctx.message.receiveCount === 1) throw Object.assign(new Error('inference said 500'), { status: 500, cause: outage('x') });
      },
    });
    await h.consumer.done;

    expect(h.events('job_waiting')).toEqual([]);
    expect(h.events('job_retry')).toMatchObject([{ job_id: 'answered', receive_count: 1 }]);
    expect(h.events('job_failed')).toMatchObject([{ job_id: 'permanent', permanent: true }]);
    expect(rec.count('ack', undefined)).toBe(1);
  });

  it('a stop during the wait gives the message straight back (delay 0), not to the DLQ on its last receive', async () => {
    const mq = memoryQueue({ maxReceiveCount: 1 });
    const rec = recording(mq);
    await send(mq, { id: 'stopping' });
    let tries = 0;
    const h = setup({ queue: rec.queue, outageWait: { baseMs: 60_000, maxMs: 60_000, limitSeconds: 600 }, handler: async () => { tries++; throw outage('dynamodb'); } });
    await until('the wait', 5000, () => h.events('job_waiting').length === 1, { everyMs: 10 });
    h.stopping.abort();
    await h.consumer.stop(AbortSignal.timeout(5000));

    expect(tries).toBe(1);
    expect(rec.calls.filter((c) => c.op !== 'extend').map((c) => [c.op, c.arg])).toEqual([['release', 0]]);
    expect(h.events('job_released')).toMatchObject([{ job_id: 'stopping', reason: 'dynamodb unreachable' }]);
    expect(await mq.peekDeadLetters(10)).toEqual([]);
  });

  it('an outage met during the shutdown grace, on the last receive: given back at once, not dead-lettered, not recorded as failed', async () => {
    const mq = memoryQueue({ maxReceiveCount: 1 });
    const rec = recording(mq);
    await send(mq, { id: 'in-grace' });
    const recorded: unknown[] = [];
    let started = false;
    const h = setup({
      queue: rec.queue, outageWait: SHORT_WAIT,
      failed: { lastReceive: true, record: async (_job, err) => { recorded.push(err); } },
      handler: async () => {
        started = true;
        await aborted(h.stopping.signal);
        throw outage('s3');
      },
    });
    await until('the job', 5000, () => started, { everyMs: 10 });
    h.stopping.abort();
    await h.consumer.stop(AbortSignal.timeout(5000));

    expect(recorded).toEqual([]);
    expect(rec.calls.filter((c) => c.op !== 'extend').map((c) => [c.op, c.arg])).toEqual([['release', 0]]);
    expect(h.events('job_waiting')).toEqual([]);
    expect(h.events('job_released')).toMatchObject([{ job_id: 'in-grace' }]);
    expect(await mq.peekDeadLetters(10)).toEqual([]);
  });

  it('an ack that fails on a queue outage is retried while the lease holds: acked once, not redone', async () => {
    const mq = memoryQueue();
    let failures = 2;
    const rec = recording(mq, { ack: async (m) => { if (failures-- > 0) throw outage('sqs'); return mq.ack(m); } });
    await send(mq, { id: 'done-during-outage' });
    let runs = 0;
    const h = setup({ queue: rec.queue, once: true, handler: async () => { runs++; } });
    await h.consumer.done;

    expect(runs).toBe(1);
    expect(rec.count('ack')).toBe(3);
    expect(h.events('queue_operation_retry')).toMatchObject([{ operation: 'ack', attempt: 1 }, { operation: 'ack', attempt: 2 }]);
    expect(h.events('queue_operation_failed')).toEqual([]);
    expect(h.events('job_succeeded')).toHaveLength(1);
    expect(mq.size).toBe(0);
  });

  it('a lost lease ends the wait: nothing acked or released by this worker', async () => {
    const mq = memoryQueue({ maxReceiveCount: 5 });
    const rec = recording(mq, { extend: async () => { throw new LeaseLostError('taken'); } });
    await send(mq, { id: 'lost' });
    const h = setup({
      queue: rec.queue, outageWait: { baseMs: 60_000, maxMs: 60_000, limitSeconds: 600 },
      heartbeat: { intervalSeconds: 0.05, extensionSeconds: 1 }, handler: async () => { throw outage('s3'); },
    });
    await until('the lease lost', 5000, () => h.events('job_lease_lost').length === 1, { everyMs: 10 });
    expect(h.events('job_waiting')).toHaveLength(1);
    expect(rec.calls.filter((c) => c.op !== 'extend')).toEqual([]);
  });
});

describe('consumer recording a job failed (the role says how, the failure decision says when)', () => {
  /** A role's `failed`: what it was asked to record, and what it was told of each try. */
  function recorder(lastReceive: boolean, record: (err: unknown) => Promise<void> = async () => undefined) {
    const recorded: unknown[] = [];
    const reported: Array<[string, boolean]> = [];
    return {
      recorded, reported,
      failed: {
        lastReceive,
        record: async (_job: Job, err: unknown) => { recorded.push(err); await record(err); },
        report: (_job: Job, _err: unknown, v: { failure: string; recordFailed: boolean }) => { reported.push([v.failure, v.recordFailed]); },
      },
    };
  }
  /** FFmpeg as the runner reports it, without running it. */
  const ffmpegFailed = (reason: 'exit' | 'stall', exitCode?: number): FfmpegError => new FfmpegError({ reason, exitCode, stderrTail: 'Invalid data found when processing input', what: 'ffprobe input.mp4' });

  it('a bad input is recorded once and acked: no retry, no DLQ', async () => {
    const mq = memoryQueue();
    const rec = recording(mq);
    await send(mq, { id: 'corrupt' }, { id: 'unreadable' });
    const r = recorder(false);
    const h = setup({
      queue: rec.queue, once: true, failed: r.failed,
      handler: async (job) => { throw job.id === 'corrupt' ? new InvalidInputError('no video stream') : ffmpegFailed('exit', 1); },
    });
    await h.consumer.done;

    expect(r.recorded.map((e) => (e as Error).name).sort()).toEqual(['FfmpegError', 'InvalidInputError']);
    expect(r.reported).toEqual([['bad_input', true], ['bad_input', true]]);
    expect(rec.calls.filter((c) => c.op !== 'extend').map((c) => c.op)).toEqual(['ack', 'ack']);
    expect(await mq.peekDeadLetters(10)).toEqual([]);
    expect(h.events('job_failed')).toMatchObject([{ level: 40, permanent: true, recorded: true }, { level: 40, permanent: true, recorded: true }]);
    const json = await h.metrics.json();
    expect(json.counters.jobs_failed_total).toEqual({ 'role=video': 2 });
    expect(json.counters.jobs_succeeded_total).toEqual({ 'role=video': 0 });
  });

  it('without a way to record it, a bad input goes to the DLQ with its reason rather than being acked unseen', async () => {
    const mq = memoryQueue();
    await send(mq, { id: 'corrupt' });
    const h = setup({ queue: mq, once: true, handler: async () => { throw new InvalidInputError('no video stream'); } });
    await h.consumer.done;
    expect(await mq.peekDeadLetters(10)).toMatchObject([{ reason: 'InvalidInputError: no video stream' }]);
  });

  it('FFmpeg stalled (this worker\'s trouble, not the input\'s): retried, recorded only on the last receive, and only by a role that records it', async () => {
    for (const lastReceive of [true, false]) {
      const mq = memoryQueue({ maxReceiveCount: 2 });
      await send(mq, { id: 'stalls' });
      const r = recorder(lastReceive);
      const h = setup({ queue: mq, once: true, failed: r.failed, handler: async () => { throw ffmpegFailed('stall'); } });
      await h.consumer.done;
      expect([lastReceive, r.reported, r.recorded.length]).toEqual([lastReceive, [['transient', false], ['transient', lastReceive]], lastReceive ? 1 : 0]);
      expect((await mq.peekDeadLetters(10)).map((d) => d.reason)).toEqual(['failed on receive 2 of 2: FfmpegError: ffprobe input.mp4 made no progress and was killed: Invalid data found when processing input']);
    }
  });

  it('a record that fails on an outage is the try\'s failure: waited out, the job run again on the same receive and recorded then', async () => {
    const mq = memoryQueue({ maxReceiveCount: 1 });
    const rec = recording(mq);
    await send(mq, { id: 'db-down' });
    let runs = 0;
    const r = recorder(true, async () => { if (r.recorded.length === 1) throw outage('supabase'); });
    const h = setup({ queue: rec.queue, once: true, outageWait: SHORT_WAIT, failed: r.failed, handler: async () => { runs++; throw new InvalidInputError('corrupt'); } });
    await h.consumer.done;

    expect([runs, r.recorded.length]).toEqual([2, 2]);
    expect(h.events('job_waiting')).toMatchObject([{ reason: 'supabase unreachable' }]);
    expect(rec.calls.filter((c) => c.op !== 'extend').map((c) => c.op)).toEqual(['ack']);
  });

  it('a job another delivery took over (HoldLostError): acked as handled, nothing recorded', async () => {
    const mq = memoryQueue();
    const rec = recording(mq);
    await send(mq, { id: 'taken' });
    const r = recorder(true);
    const h = setup({ queue: rec.queue, once: true, failed: r.failed, handler: async () => { throw new HoldLostError('another delivery holds it'); } });
    await h.consumer.done;

    expect([r.recorded, r.reported]).toEqual([[], [['superseded', false]]]);
    expect(rec.calls.filter((c) => c.op !== 'extend').map((c) => c.op)).toEqual(['ack']);
    expect(h.events('job_succeeded')).toHaveLength(1);
  });

  it('the lease lost mid-job: FFmpeg killed for it exits like a bad input would, yet nothing is recorded, acked or released', async () => {
    const mq = memoryQueue();
    const rec = recording(mq, { extend: async () => { throw new LeaseLostError('taken'); } });
    await send(mq, { id: 'lost' });
    const r = recorder(true);
    const h = setup({
      queue: rec.queue, failed: r.failed, heartbeat: { intervalSeconds: 0.05, extensionSeconds: 1 },
      handler: async (_job, ctx) => { await aborted(ctx.signal); throw ffmpegFailed('exit', 255); },
    });
    await until('the lease lost', 5000, () => h.events('job_lease_lost').length === 1, { everyMs: 10 });
    expect([r.recorded, r.reported]).toEqual([[], [['lease_lost', false]]]);
    expect(rec.calls.filter((c) => c.op !== 'extend')).toEqual([]);
  });
});

describe('consumer on a queue without a dead-letter queue (maxReceiveCount null)', () => {
  it('acks an invalid body and logs message_discarded with the reason; it is gone, not redelivered', async () => {
    const mq = memoryQueue({ maxReceiveCount: null, visibilitySeconds: 1 });
    const rec = recording(mq);
    await mq.send('{not json');
    let calls = 0;
    const h = setup({ queue: rec.queue, once: true, handler: async () => { calls++; } });
    await h.consumer.done;

    expect(calls).toBe(0);
    expect(rec.calls.map((c) => c.op)).toEqual(['ack']);
    expect(mq.size).toBe(0);
    await tick(1100); // past the visibility timeout: an unacked message would be back
    expect(await mq.receive({ max: 10, waitSeconds: 0 })).toEqual([]);
    const discarded = h.events('message_discarded');
    expect(discarded).toHaveLength(1);
    expect(discarded[0]).toMatchObject({ level: 50, queue: 'jobs', body: '{not json' });
    expect(discarded[0]!.reason).toMatch(/^invalid message: invalid JSON: /);
    expect(h.events('message_invalid')).toHaveLength(1);
    // Deleted, not dead-lettered: a dashboard's DLQ count must not include it.
    const json = await h.metrics.json();
    expect(json.counters.messages_discarded_total).toEqual({ 'role=video': 1 });
    expect(json.counters.messages_dead_lettered_total).toEqual({ 'role=video': 0 });
  });

  it('acks a PermanentError and logs message_discarded with the reason', async () => {
    const mq = memoryQueue({ maxReceiveCount: null, visibilitySeconds: 1 });
    const rec = recording(mq);
    await send(mq, { id: 'broken' });
    const h = setup({ queue: rec.queue, once: true, handler: async () => { throw new PermanentError('input video is corrupt'); } });
    await h.consumer.done;

    expect(rec.calls.filter((c) => c.op !== 'extend').map((c) => c.op)).toEqual(['ack']);
    expect(mq.size).toBe(0);
    await tick(1100);
    expect(await mq.receive({ max: 10, waitSeconds: 0 })).toEqual([]);
    expect(h.events('message_discarded')).toMatchObject([{ job_id: 'broken', reason: 'PermanentError: input video is corrupt' }]);
    expect(h.events('job_failed')).toMatchObject([{ job_id: 'broken', permanent: true, max_receive_count: null }]);
  });

  it('still releases a retryable failure for another try (nothing is discarded)', async () => {
    const mq = memoryQueue({ maxReceiveCount: null });
    const rec = recording(mq);
    await send(mq, { id: 'flaky' });
    const h = setup({ queue: rec.queue, once: true, handler: async (_job, ctx) => { if (ctx.message.receiveCount < 3) throw new Error('503'); } });
    await h.consumer.done;
    expect(rec.calls.filter((c) => c.op !== 'extend').map((c) => c.op)).toEqual(['release', 'release', 'ack']);
    expect(h.events('message_discarded')).toEqual([]);
  });
});

describe('consumer receive visibility', () => {
  it('passes visibilitySeconds to every receive, and nothing when unset (the queue\'s own)', async () => {
    for (const visibilitySeconds of [7, undefined]) {
      const mq = memoryQueue();
      const asked: Array<number | undefined> = [];
      const queue: Queue = { ...recording(mq).queue, receive: (o) => { asked.push(o.visibilitySeconds); return mq.receive(o); } };
      await send(mq, { id: 'one' });
      const h = setup({ queue, once: true, visibilitySeconds, handler: async () => undefined });
      await h.consumer.done;
      expect(asked.length).toBeGreaterThan(0);
      expect(asked.every((v) => v === visibilitySeconds)).toBe(true);
    }
  });
});

describe('consumer logs', () => {
  it('carry the role once per line, whether or not the logger already has it bound', async () => {
    for (const bound of [true, false]) {
      const mq = memoryQueue();
      await send(mq, { id: 'one' });
      const raw: string[] = [];
      const base = pino({ level: 'debug' }, { write(line: string) { raw.push(line); } });
      const c = createConsumer<Job>({
        role: 'video', queue: mq, schema: Job, concurrency: 1, waitSeconds: 0, once: true, retryDelay: () => 0,
        logger: bound ? base.child({ role: 'video' }) : base, metrics: new Metrics({ instanceId: 'test', defaultMetrics: false }),
        stopping: new AbortController().signal, handler: async () => undefined,
      });
      consumers.push(c);
      await c.done;
      const events = raw.map((l) => (JSON.parse(l) as Line).event_type);
      expect(events).toEqual(expect.arrayContaining(['consumer_started', 'job_started', 'job_succeeded', 'consumer_stopped']));
      for (const line of raw) expect({ line, roles: line.match(/"role":/g)?.length }).toEqual({ line, roles: 1 });
    }
  });
});

describe('consumer concurrency', () => {
  it('runs 25 handlers at once with concurrency 25, and never more', async () => {
    const mq = memoryQueue();
    await send(mq, ...Array.from({ length: 40 }, (_, i) => ({ id: `c${i}` })));
    let active = 0;
    let peak = 0;
    let reached!: () => void;
    const full = new Promise<void>((r) => { reached = r; });
    const h = setup({
      queue: mq,
      concurrency: 25,
      once: true,
      handler: async () => {
        active++;
        peak = Math.max(peak, active);
        if (active === 25) reached();
        // Hold every slot until all 25 are busy (or give up after 3 s so a failure is visible).
        await Promise.race([full, tick(3000)]);
        await tick(5);
        active--;
      },
    });
    await full;
    const json = await h.metrics.json();
    expect(json.current_jobs).toHaveLength(25);
    expect(json.current_jobs[0]).toMatchObject({ role: 'video', phase: 'working' });
    await h.consumer.done;
    expect(peak).toBe(25);
    expect(mq.size).toBe(0);
    expect(h.events('job_succeeded')).toHaveLength(40);
  });
});

describe('consumer lease heartbeat', () => {
  it('processes a job running 3× the visibility timeout exactly once, with two consumers on the queue', async () => {
    const mq = memoryQueue({ visibilitySeconds: 1 });
    const rec = recording(mq);
    await send(mq, { id: 'long', ms: 3000 });
    let runs = 0;
    const handler: Handler<Job> = async (job, ctx) => {
      runs++;
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, job.ms);
        ctx.signal.addEventListener('abort', () => { clearTimeout(t); reject(ctx.signal.reason); }, { once: true });
      });
    };
    const metrics = new Metrics({ instanceId: 'test', defaultMetrics: false });
    const common = { queue: rec.queue, metrics, heartbeat: { intervalSeconds: 0.3, extensionSeconds: 1 }, handler };
    const a = setup(common);
    const b = setup(common);

    await until('the ack', 6000, () => rec.count('ack') === 1, { everyMs: 10 });
    await tick(1500); // longer than the visibility timeout: a lapsed lease would show now
    expect(runs).toBe(1);
    expect(rec.count('ack')).toBe(1);
    expect(rec.count('release') + rec.count('deadLetter')).toBe(0);
    expect(rec.count('extend')).toBeGreaterThanOrEqual(8); // ≈ 3 s / 0.3 s
    expect(mq.size).toBe(0);
    const extended = [...a.events('heartbeat_extended'), ...b.events('heartbeat_extended')];
    expect(extended.length).toBe(rec.count('extend'));
    expect([...a.events('heartbeat_stats'), ...b.events('heartbeat_stats')]).toMatchObject([{ job_id: 'long', errors: 0 }]);

    // No extension after the ack (sqs-consumer #280/#303).
    const ackAt = rec.calls.findIndex((c) => c.op === 'ack');
    expect(rec.calls.slice(ackAt + 1).filter((c) => c.op === 'extend')).toHaveLength(0);
  }, 15_000);

  it('aborts a job whose lease extension fails, and neither acks nor releases it', async () => {
    const mq = memoryQueue();
    const rec = recording(mq, { extend: async () => { throw new LeaseLostError('receipt handle is no longer valid'); } });
    await send(mq, { id: 'doomed' });
    let reason: unknown;
    const h = setup({
      queue: rec.queue,
      heartbeat: { intervalSeconds: 0.1, extensionSeconds: 1 },
      handler: async (_job, ctx) => {
        reason = await aborted(ctx.signal);
        throw reason;
      },
    });
    await until('job_lease_lost', 3000, () => h.events('job_lease_lost').length === 1, { everyMs: 10 });
    expect(reason).toBeInstanceOf(LeaseLostError);
    expect(rec.count('ack') + rec.count('release') + rec.count('deadLetter')).toBe(0);
    expect(h.events('heartbeat_failed')).toMatchObject([{ job_id: 'doomed' }]);
    expect(h.events('heartbeat_stats')).toMatchObject([{ extensions: 0, errors: 1 }]);
    expect(h.events('job_lease_lost')).toMatchObject([{ job_id: 'doomed', reason: 'LeaseLostError: receipt handle is no longer valid' }]);
    const json = await h.metrics.json();
    expect(json.counters.jobs_lease_lost_total).toEqual({ 'role=video': 1 });
    expect(json.counters.jobs_succeeded_total).toEqual({ 'role=video': 0 });
  });

  it('does not ack a job that ignored its aborted signal and resolved after losing the lease', async () => {
    const mq = memoryQueue();
    const rec = recording(mq, { extend: async () => { throw new LeaseLostError('gone'); } });
    await send(mq, { id: 'stubborn' });
    const h = setup({ queue: rec.queue, heartbeat: { intervalSeconds: 0.05, extensionSeconds: 1 }, handler: async () => { await tick(300); } });
    await until('job_lease_lost', 3000, () => h.events('job_lease_lost').length === 1, { everyMs: 10 });
    expect(rec.count('ack')).toBe(0);
  });

  it('sets the initial timeout from the job before the handler runs, and extendTo extends at once', async () => {
    const mq = memoryQueue();
    const rec = recording(mq);
    await send(mq, { id: 'sized' });
    const h = setup({
      queue: rec.queue,
      once: true,
      initialTimeoutSeconds: () => 900,
      handler: async (_job, ctx) => {
        expect(rec.calls.filter((c) => c.op === 'extend').map((c) => c.arg)).toEqual([900]);
        await ctx.extendTo(1500);
      },
    });
    await h.consumer.done;
    expect(rec.calls.map((c) => [c.op, c.arg])).toEqual([['extend', 900], ['extend', 1500], ['ack', undefined]]);
  });
});

describe('consumer stop', () => {
  it('at the deadline aborts in-flight jobs and releases their messages at once; none acked', async () => {
    const mq = memoryQueue();
    const rec = recording(mq);
    await send(mq, ...Array.from({ length: 5 }, (_, i) => ({ id: `slow${i}` })));
    let started = 0;
    const reasons: unknown[] = [];
    const h = setup({
      queue: rec.queue,
      concurrency: 5,
      waitSeconds: 20,
      handler: async (_job, ctx) => {
        started++;
        reasons.push(await aborted(ctx.signal)); // "long": runs until aborted
        throw new Error('aborted');
      },
    });
    await until('five jobs started', 3000, () => started === 5, { everyMs: 10 });

    const deadline = new AbortController();
    const t0 = Date.now();
    setTimeout(() => deadline.abort(new Error('grace expired')), 200);
    await h.consumer.stop(deadline.signal);
    const took = Date.now() - t0;

    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(1000);
    expect(reasons).toHaveLength(5);
    expect(reasons.every((r) => r instanceof Error && r.message === 'grace expired')).toBe(true);
    expect(rec.count('ack')).toBe(0);
    expect(rec.calls.filter((c) => c.op === 'release').map((c) => c.arg)).toEqual([0, 0, 0, 0, 0]);
    // Visible again right away for another worker.
    const again = await mq.receive({ max: 10, waitSeconds: 0 });
    expect(again.map((m) => (JSON.parse(m.body) as Job).id).sort()).toEqual(['slow0', 'slow1', 'slow2', 'slow3', 'slow4']);
    expect(again.every((m) => m.receiveCount === 2)).toBe(true);
    expect(h.events('job_aborted')).toHaveLength(5);
    expect(h.events('heartbeat_stopped').every((l) => l.reason === 'aborted')).toBe(true);
    await tick(20); // handlers' late rejections must change nothing
    expect(rec.count('ack') + rec.count('deadLetter')).toBe(0);
    expect(rec.count('release')).toBe(5);
  });

  it('after the release, waits for an aborted handler to clean up before stop resolves', async () => {
    const mq = memoryQueue();
    const rec = recording(mq);
    await send(mq, { id: 'encoding' });
    const order: string[] = [];
    const h = setup({
      queue: rec.queue,
      waitSeconds: 20,
      handler: async (_job, ctx) => {
        order.push('started');
        await aborted(ctx.signal);
        await tick(150); // e.g. waiting for FFmpeg to die, removing the work directory
        order.push('cleaned up');
        throw new Error('aborted');
      },
    });
    await until('job started', 3000, () => order.length === 1, { everyMs: 10 });
    await h.consumer.stop(AbortSignal.abort(new Error('grace expired')));
    order.push('stopped');
    expect(order).toEqual(['started', 'cleaned up', 'stopped']);
    expect(rec.calls.map((c) => c.op)).toEqual(['release']);
  });

  it('does not wait past abortCleanupMs for a handler that ignores its signal', async () => {
    const mq = memoryQueue();
    await send(mq, { id: 'stuck' });
    let started = false;
    const h = setup({ queue: mq, waitSeconds: 20, abortCleanupMs: 200, handler: () => { started = true; return new Promise(() => undefined); } });
    await until('job started', 3000, () => started, { everyMs: 10 });
    const t0 = Date.now();
    await h.consumer.stop(AbortSignal.abort(new Error('grace expired')));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect((await mq.receive({ max: 1, waitSeconds: 0 })).map((m) => m.receiveCount)).toEqual([2]); // released before the wait
  });

  it('lets in-flight work finish within the grace and acks it; polling stops at once', async () => {
    const mq = memoryQueue();
    const rec = recording(mq);
    await send(mq, { id: 'finishing', ms: 300 });
    let started = 0;
    const h = setup({ queue: rec.queue, concurrency: 2, waitSeconds: 20, handler: async (job) => { started++; await tick(job.ms); } });
    await until('job started', 3000, () => started === 1, { everyMs: 10 });
    h.stopping.abort(new Error('SIGTERM')); // lifecycle's "stopping": no new receives from here on
    await send(mq, { id: 'late' });
    await h.consumer.stop(AbortSignal.timeout(5000));
    expect(rec.calls.filter((c) => c.op === 'ack').map((c) => c.id)).toHaveLength(1);
    expect(rec.count('release')).toBe(0);
    expect(started).toBe(1);
    expect(mq.size).toBe(1); // the late message was never taken
    expect(h.events('consumer_stopping')).toHaveLength(1);
  });

  it('abandons the long poll at once when stopping aborts', async () => {
    const mq = memoryQueue();
    const h = setup({ queue: mq, waitSeconds: 20, handler: async () => undefined });
    await tick(50); // inside the 20 s long poll
    const t0 = Date.now();
    h.stopping.abort(new Error('SIGTERM'));
    await h.consumer.done;
    expect(Date.now() - t0).toBeLessThan(500); // not the 20 s wait
    expect(h.events('consumer_stopped')).toHaveLength(1);
  });

  it('--once on an empty queue resolves done after one empty receive', async () => {
    const mq = memoryQueue();
    const h = setup({ queue: mq, once: true, waitSeconds: 0.1, handler: async () => undefined });
    const t0 = Date.now();
    await h.consumer.done;
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(h.events('consumer_stopped')).toHaveLength(1);
  });

  it('backs off after a receive failure instead of spinning', async () => {
    const mq = memoryQueue();
    let receives = 0;
    const failing: Queue = { ...recording(mq).queue, receive: async () => { receives++; throw new Error('ECONNREFUSED'); } };
    const h = setup({ queue: failing, handler: async () => undefined });
    await tick(300);
    expect(receives).toBeLessThanOrEqual(2);
    expect(h.events('receive_failed')[0]).toMatchObject({ attempt: 1 });
    await h.consumer.stop(AbortSignal.timeout(1000));
  });

  it('rejects a concurrency that is not a positive integer', () => {
    const mq = memoryQueue();
    expect(() => setup({ queue: mq, concurrency: 0, handler: async () => undefined })).toThrow(RangeError);
    expect(() => setup({ queue: mq, concurrency: 1.5, handler: async () => undefined })).toThrow(RangeError);
  });
});
