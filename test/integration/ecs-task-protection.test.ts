// ECS task scale-in protection (issue 11) against a stand-in ECS agent: the real consumer
// on the in-memory queue, the guard following the process's in-flight count, and the HTTP
// adapter — the exact requests (method, path, JSON body), renewal while a job runs, the
// clear at stop, and the agent's error shapes logged once without touching a job.
import { afterEach, describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { z } from 'zod';
import { MemoryQueue } from '../../src/adapters/queue/memory.js';
import { EcsTaskProtection, TaskProtectionError } from '../../src/adapters/ecs/task-protection.js';
import { createConsumer, type Consumer } from '../../src/runtime/consumer.js';
import { ScaleInGuard, inFlightCount } from '../../src/runtime/in-flight.js';
import { Metrics } from '../../src/runtime/metrics.js';
import { STATE_PATH, TASK_ARN, startAgentStandin, type AgentStandin } from '../helpers/ecs-agent-standin.js';
import { until } from '../helpers/wait.js';

type Line = Record<string, unknown> & { event_type?: string; level?: number };
const Job = z.object({ id: z.string(), ms: z.number().int().nonnegative().default(0) });
const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));
const PROTECT = { ProtectionEnabled: true, ExpiresInMinutes: 60 };
const UNPROTECT = { ProtectionEnabled: false };

let agent: AgentStandin;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function world(opts: { concurrency?: number; renewMs?: number; handlerFails?: boolean } = {}) {
  agent = await startAgentStandin();
  const lines: Line[] = [];
  const logger = pino({ level: 'debug' }, { write(s: string) { lines.push(JSON.parse(s) as Line); } });
  const metrics = new Metrics({ instanceId: 'ecs-test', defaultMetrics: false });
  const queue = new MemoryQueue({ name: 'jobs', visibilitySeconds: 30, maxReceiveCount: 5 });
  const guard = new ScaleInGuard({ port: new EcsTaskProtection({ agentUri: agent.uri }), logger, renewMs: opts.renewMs }).attach(metrics);
  const stopping = new AbortController();
  const consumer: Consumer = createConsumer({
    role: 'video', queue, schema: Job, concurrency: opts.concurrency ?? 1, waitSeconds: 0.1,
    heartbeat: { intervalSeconds: 240, extensionSeconds: 300 }, retryDelay: () => 0,
    logger, metrics, stopping: stopping.signal, jobIdOf: (j) => j.id,
    handler: async (job, ctx) => {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, job.ms);
        ctx.signal.addEventListener('abort', () => { clearTimeout(t); reject(new Error('aborted')); }, { once: true });
      });
    },
  });
  cleanups.push(async () => {
    await consumer.stop(AbortSignal.abort(new Error('test over')));
    await guard.stop();
    await queue.close();
    await agent.close();
  });
  const events = (t: string) => lines.filter((l) => l.event_type === t);
  const bodies = () => agent.requests.map((r) => r.body);
  return { lines, events, metrics, queue, guard, consumer, stopping, bodies };
}

describe('ECS task scale-in protection', () => {
  it('one PUT protecting the task when the first job starts, one PUT clearing it when the last ends', async () => {
    const w = await world({ concurrency: 2 });
    await w.queue.send(JSON.stringify({ id: 'a', ms: 300 }));
    await w.queue.send(JSON.stringify({ id: 'b', ms: 500 }));
    await until('both jobs', 5000, () => w.events('job_succeeded').length === 2, { everyMs: 10 });
    await agent.waitFor(2);
    await tick(50);
    expect(agent.requests.map(({ method, path, body }) => ({ method, path, body }))).toEqual([
      { method: 'PUT', path: STATE_PATH, body: PROTECT },
      { method: 'PUT', path: STATE_PATH, body: UNPROTECT },
    ]);
    expect(agent.enabled()).toBe(false);
    expect(inFlightCount(w.metrics)).toBe(0);
    // A later job protects again.
    await w.queue.send(JSON.stringify({ id: 'c', ms: 50 }));
    await until('three jobs succeeded', 5000, () => w.events('job_succeeded').length === 3, { everyMs: 10 });
    await agent.waitFor(4);
    expect(w.bodies()).toEqual([PROTECT, UNPROTECT, PROTECT, UNPROTECT]);
    expect(w.events('task_protection_failed')).toEqual([]);
  });

  it('is protected while the job runs and renews before expiry', async () => {
    const w = await world({ renewMs: 100 });
    await w.queue.send(JSON.stringify({ id: 'long', ms: 450 }));
    await until('a request to the agent', 5000, () => agent.requests.length >= 1, { everyMs: 10 });
    expect(agent.enabled()).toBe(true);
    await until('one job succeeded', 5000, () => w.events('job_succeeded').length === 1, { everyMs: 10 });
    await until('protection cleared', 5000, () => agent.requests.at(-1)?.body !== undefined && (agent.requests.at(-1)!.body as { ProtectionEnabled: boolean }).ProtectionEnabled === false, { everyMs: 10 });
    const bodies = w.bodies();
    expect(bodies.length).toBeGreaterThanOrEqual(4); // protect, ≥2 renewals, clear
    expect(bodies.slice(0, -1).every((b) => JSON.stringify(b) === JSON.stringify(PROTECT))).toBe(true);
    expect(bodies.at(-1)).toEqual(UNPROTECT);
    // No renewal after the clear.
    const n = agent.requests.length;
    await tick(300);
    expect(agent.requests.length).toBe(n);
    expect(agent.enabled()).toBe(false);
  });

  it('stopping with a job in flight: released by the consumer, then cleared — last request is the clear', async () => {
    const w = await world();
    await w.queue.send(JSON.stringify({ id: 'stuck', ms: 60_000 }));
    await until('protection set', 5000, () => agent.enabled(), { everyMs: 10 });
    // Shutdown order in run.ts: the role (consumer) stops first, then the guard.
    await w.consumer.stop(AbortSignal.abort(new Error('grace over')));
    await w.guard.stop();
    expect(w.bodies()).toEqual([PROTECT, UNPROTECT]);
    expect(agent.enabled()).toBe(false);
    expect(w.queue.size).toBe(1); // the job's message was released, not lost
  });

  it('the guard clears protection at stop even if a job never left (abandoned)', async () => {
    agent = await startAgentStandin();
    cleanups.push(() => agent.close());
    const logger = pino({ level: 'silent' });
    const metrics = new Metrics({ instanceId: 'x', defaultMetrics: false });
    const guard = new ScaleInGuard({ port: new EcsTaskProtection({ agentUri: agent.uri }), logger }).attach(metrics);
    const { jobStarted } = await import('../../src/runtime/in-flight.js');
    jobStarted(metrics);
    await agent.waitFor(1);
    await guard.stop();
    expect(agent.requests.map((r) => r.body)).toEqual([PROTECT, UNPROTECT]);
    expect(agent.enabled()).toBe(false);
  });

  it.each(['error', 'failure', 'http500'] as const)('an agent %s answer is one warning; jobs still succeed', async (mode) => {
    const w = await world();
    agent.setMode(mode);
    for (const id of ['a', 'b']) await w.queue.send(JSON.stringify({ id, ms: 20 }));
    await until('two jobs succeeded', 5000, () => w.events('job_succeeded').length === 2, { everyMs: 10 });
    await agent.waitFor(4);
    await tick(50);
    const failed = w.events('task_protection_failed');
    expect(failed.length).toBe(4);
    expect(failed.filter((l) => l.level === 40)).toHaveLength(1); // warn once
    expect(w.events('job_failed')).toEqual([]);
    const expected = { error: /AccessDeniedException: not authorized/, failure: /failure TASK_NOT_VALID/, http500: /HTTP 500/ }[mode];
    expect(String(failed[0]!.msg)).toMatch(expected);
    // Recovery is said once, then it is quiet again.
    agent.setMode('ok');
    await w.queue.send(JSON.stringify({ id: 'c', ms: 20 }));
    await until('three jobs succeeded', 5000, () => w.events('job_succeeded').length === 3, { everyMs: 10 });
    await agent.waitFor(6);
    await tick(50);
    expect(w.events('task_protection_recovered')).toHaveLength(1);
    expect(agent.enabled()).toBe(false);
  });

  it('the adapter: GET returns the state; error and failure bodies become errors naming the code', async () => {
    agent = await startAgentStandin();
    cleanups.push(() => agent.close());
    const port = new EcsTaskProtection({ agentUri: `${agent.uri}/` });
    expect(await port.state()).toEqual({ ExpirationDate: null, ProtectionEnabled: false, TaskArn: TASK_ARN });
    await port.protect(30);
    const s = await port.state();
    expect(s.ProtectionEnabled).toBe(true);
    expect(Date.parse(s.ExpirationDate!) - Date.now()).toBeGreaterThan(29 * 60_000);
    expect(agent.requests.map(({ method, path }) => `${method} ${path}`)).toEqual([`GET ${STATE_PATH}`, `PUT ${STATE_PATH}`, `GET ${STATE_PATH}`]);
    agent.setMode('error');
    await expect(port.unprotect()).rejects.toMatchObject({ name: 'TaskProtectionError', code: 'AccessDeniedException', status: 400 });
    agent.setMode('failure');
    await expect(port.state()).rejects.toMatchObject({ code: 'TASK_NOT_VALID' });
    const dead = new EcsTaskProtection({ agentUri: 'http://127.0.0.1:9', timeoutMs: 500 });
    await expect(dead.protect(1)).rejects.toBeInstanceOf(TaskProtectionError);
  });
});
