import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { HealthServer } from '../../src/runtime/health.js';
import type { HealthServerOptions } from '../../src/runtime/health.js';
import { Metrics } from '../../src/runtime/metrics.js';
import type { MetricsJson } from '../../src/runtime/metrics.js';
import { DependencyHealth } from '../../src/runtime/dependency-health.js';
import { createRedactor } from '../../src/runtime/redact.js';

function options(metrics: Metrics, extra: Partial<HealthServerOptions> = {}): HealthServerOptions {
  return { port: 0, instanceId: 'worker-test-1', roles: ['chunker', 'video'], version: '1.2.3', metrics, ...extra };
}

describe('HealthServer', () => {
  const metrics = new Metrics({ instanceId: 'worker-test-1' });
  let server: HealthServer;
  let base: string;

  beforeAll(async () => {
    server = new HealthServer(options(metrics));
    const { port } = await server.start();
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(() => server.stop());

  describe('with fresh checks', () => {
    let extra: HealthServer | undefined;
    let extraBase = '';
    const fresh = async (): Promise<HealthServer> => {
      extra = new HealthServer(options(metrics, { checkTimeoutMs: 300 }));
      extraBase = `http://127.0.0.1:${(await extra.start()).port}`;
      return extra;
    };
    afterEach(async () => {
      await extra?.stop();
      extra = undefined;
    });

    it('is healthy with passing checks', async () => {
      const s = await fresh();
      s.addCheck('sqs', () => ({ ok: true, detail: 'reachable' }));
      s.addCheck('redis', async () => ({ ok: true }));
      const res = await fetch(`${extraBase}/health`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const body = await res.json() as Record<string, unknown>;
      expect(body).toMatchObject({
        status: 'healthy',
        instance_id: 'worker-test-1',
        roles: ['chunker', 'video'],
        version: '1.2.3',
        checks: { sqs: { ok: true, detail: 'reachable' }, redis: { ok: true } },
      });
      expect(typeof body.timestamp).toBe('number');
      expect(Math.abs((body.timestamp as number) - Date.now() / 1000)).toBeLessThan(5);
      expect(body.uptime_seconds).toBeGreaterThan(0);
      expect(body).not.toHaveProperty('failing');
    });

    it('is 503 naming the failing check', async () => {
      const s = await fresh();
      s.addCheck('sqs', () => ({ ok: true }));
      s.addCheck('dynamodb', async () => ({ ok: false, detail: 'ECONNREFUSED 127.0.0.1:8000' }));
      const res = await fetch(`${extraBase}/health`);
      expect(res.status).toBe(503);
      const body = await res.json() as Record<string, unknown>;
      expect(body.status).toBe('unhealthy');
      expect(body.failing).toEqual([{ name: 'dynamodb', detail: 'ECONNREFUSED 127.0.0.1:8000' }]);
      expect(body).toMatchObject({ instance_id: 'worker-test-1', checks: { sqs: { ok: true }, dynamodb: { ok: false } } });
    });

    it('counts a throwing or rejecting check as failing', async () => {
      const s = await fresh();
      s.addCheck('sync', () => { throw new Error('boom'); });
      s.addCheck('async', () => Promise.reject(new Error('nope')));
      const res = await fetch(`${extraBase}/health`);
      expect(res.status).toBe(503);
      const body = await res.json() as { failing: { name: string; detail: string }[] };
      expect(body.failing.map((f) => f.name).sort()).toEqual(['async', 'sync']);
      expect(body.failing.find((f) => f.name === 'sync')?.detail).toContain('boom');
      expect(body.failing.find((f) => f.name === 'async')?.detail).toContain('nope');
    });

    it('counts a slow check as timed out without waiting for it', async () => {
      const s = await fresh();
      let timer: NodeJS.Timeout | undefined;
      s.addCheck('slow', () => new Promise((resolve) => { timer = setTimeout(() => resolve({ ok: true }), 5000); }));
      const t0 = Date.now();
      const res = await fetch(`${extraBase}/health`);
      clearTimeout(timer);
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(res.status).toBe(503);
      const body = await res.json() as { failing: { name: string; detail: string }[] };
      expect(body.failing).toEqual([{ name: 'slow', detail: expect.stringContaining('timed out') }]);
    });
  });

  it('defaults to a 2 s check timeout', async () => {
    server.addCheck('slowish', () => new Promise((resolve) => setTimeout(() => resolve({ ok: true }), 2500)));
    try {
      const t0 = Date.now();
      const res = await fetch(`${base}/health`);
      const elapsed = Date.now() - t0;
      expect(res.status).toBe(503);
      expect(elapsed).toBeGreaterThanOrEqual(1900);
      expect(elapsed).toBeLessThan(2450);
    } finally {
      server.addCheck('slowish', () => ({ ok: true }));
    }
  });

  it('serves Prometheus text by default', async () => {
    metrics.counter('jobs_processed', 'Jobs processed').inc(3);
    metrics.counter('jobs_failed', 'Jobs failed', ['role']).inc({ role: 'video' });
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toMatch(/^rugbyworker_jobs_processed 3$/m);
    expect(text).toMatch(/^rugbyworker_jobs_failed\{role="video"\} 1$/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
  });

  it('serves JSON metrics with percentiles when asked', async () => {
    // 100 observations 0.1 s .. 10.0 s, split over two label sets (merged in the JSON).
    const h = metrics.histogram('job_duration_seconds', 'Job duration', ['role'], [1, 2, 4, 8, 16]);
    for (let i = 1; i <= 100; i++) h.observe({ role: i % 2 ? 'video' : 'chunker' }, i / 10);
    const fineBuckets = Array.from({ length: 40 }, (_, i) => (i + 1) * 0.25);
    const fineH = metrics.histogram('fine_duration_seconds', 'Fine-grained', [], fineBuckets);
    for (let i = 1; i <= 100; i++) fineH.observe(i / 10);
    metrics.histogram('idle_seconds', 'Never observed');
    metrics.gauge('jobs_in_flight', 'Jobs in flight').set(2);
    metrics.setCurrentJobs(() => [{ job_id: 'j-1', stage: 'transcode' }]);

    const res = await fetch(`${base}/metrics`, { headers: { Accept: 'application/json' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = await res.json() as MetricsJson;
    expect(body.instance_id).toBe('worker-test-1');
    expect(body.counters.jobs_processed).toBe(3);
    expect(body.counters.jobs_failed).toEqual({ 'role=video': 1 });
    expect(body.gauges.jobs_in_flight).toBe(2);
    expect(body.current_jobs).toEqual([{ job_id: 'j-1', stage: 'transcode' }]);
    expect(body.memory.rss_mb).toBeGreaterThan(1);
    expect(body.memory.heap_used_mb).toBeGreaterThan(0);

    const d = body.durations.job_duration_seconds;
    expect(d).toBeDefined();
    expect(d?.count).toBe(100);
    expect(d?.sum).toBeCloseTo(505, 6);
    expect(d?.avg).toBeCloseTo(5.05, 6);
    // Buckets (cumulative): ≤1:10 ≤2:20 ≤4:40 ≤8:80 ≤16:100 — true p50 5.0, p95 9.5, p99 9.9.
    expect(d?.p50).toBeCloseTo(5, 6); // 4 + 4 * (50-40)/40
    expect(d?.p95).toBeCloseTo(14, 6); // 8 + 8 * (95-80)/20: bucket resolution, as in PromQL
    expect(d?.p99).toBeCloseTo(15.6, 6);

    // With fine buckets the estimates land near the true quantiles of the observations.
    const fine = body.durations.fine_duration_seconds;
    expect(fine?.count).toBe(100);
    expect(Math.abs((fine?.p50 ?? NaN) - 5.05)).toBeLessThan(0.1);
    expect(Math.abs((fine?.p95 ?? NaN) - 9.5)).toBeLessThan(0.1);
    expect(Math.abs((fine?.p99 ?? NaN) - 9.9)).toBeLessThan(0.1);

    // No observations yet: null percentiles, not NaN (which JSON cannot carry).
    expect(body.durations.idle_seconds).toEqual({ count: 0, sum: 0, avg: null, p50: null, p95: null, p99: null });
  });

  it('answers OPTIONS with 204 and CORS headers, and puts CORS on every response', async () => {
    const pre = await fetch(`${base}/anything`, { method: 'OPTIONS' });
    expect(pre.status).toBe(204);
    for (const res of [pre, await fetch(`${base}/health`), await fetch(`${base}/metrics`), await fetch(`${base}/nope`)]) {
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(res.headers.get('access-control-allow-methods')).toBe('GET, OPTIONS');
      expect(res.headers.get('access-control-allow-headers')).toBe('*');
    }
  });

  it('answers 404 for an unknown path and 405 for another method', async () => {
    const missing = await fetch(`${base}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: 'not found' });
    const post = await fetch(`${base}/health`, { method: 'POST', body: '{}' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, OPTIONS');
  });

  it('binds to 127.0.0.1 by default', () => {
    expect(server.address()).toMatchObject({ address: '127.0.0.1', family: 'IPv4' });
  });

  it('rejects with a one-line error naming HEALTH_PORT when the port is taken', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const s = new HealthServer(options(metrics, { port }));
      const err = await s.start().then(() => null, (e: unknown) => e as Error);
      expect(err).toBeInstanceOf(Error);
      expect(err?.message).toContain('HEALTH_PORT');
      expect(err?.message).toContain(String(port));
      expect(err?.message).not.toContain('\n');
      await s.stop(); // harmless when it never started
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it('stops cleanly even with a keep-alive connection open', async () => {
    const s = new HealthServer(options(metrics));
    const { port } = await s.start();
    const res = await fetch(`http://127.0.0.1:${port}/health`, { headers: { Connection: 'keep-alive' } });
    await res.text();
    const t0 = Date.now();
    await s.stop();
    expect(Date.now() - t0).toBeLessThan(1000);
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
  });

  it('masks in /health and /metrics what the logs mask: secret values, URL passwords (with an @), tokens', async () => {
    const m = new Metrics({ instanceId: 'w', defaultMetrics: false });
    const deps = new DependencyHealth({ metrics: m });
    // What undici says when SUPABASE_URL holds credentials (its password p@ss, quoted encoded).
    const unreachable = Object.assign(new Error('TypeError: Request cannot be constructed from a URL that includes credentials: http://user:p%40ss@127.0.0.1:9/rest/v1/jobs?apikey=svc-key-9f8e'), { code: 'ECONNREFUSED' });
    deps.failed('supabase', unreachable);
    deps.failed('wasabi', Object.assign(new Error('GET https://b.s3.wasabisys.com/k?X-Amz-Signature=feedface01 via postgres://u:p@ss@db/x failed; key svc-key-9f8e'), { code: 'ECONNRESET' }));
    m.gauge('odd_label', 'a label made of a message', ['source']).set({ source: 'https://h/x?token=tok-123' }, 1);
    m.setCurrentJobs(() => [{ job_id: 'redis://:p@ss@h:6379' }]);
    const s = new HealthServer(options(m, { redact: createRedactor(['svc-key-9f8e', 'p@ss']) }));
    deps.onAdded((name) => s.addCheck(name, () => deps.check(name))); // as src/commands/run.ts does
    const { port } = await s.start();
    try {
      const health = await fetch(`http://127.0.0.1:${port}/health`);
      expect(health.status).toBe(503);
      const body = await health.text();
      const parsed = JSON.parse(body) as { failing: Array<{ name: string; detail: string }> };
      expect(parsed.failing.map((f) => f.name).sort()).toEqual(['supabase', 'wasabi']);
      expect(parsed.failing.find((f) => f.name === 'supabase')!.detail).toContain('http://user:[REDACTED]@127.0.0.1:9/rest/v1/jobs?apikey=[REDACTED]');
      const prom = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const json = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { Accept: 'application/json' } })).text();
      expect(prom).toContain('rugbyworker_odd_label{source="https://h/x?token=[REDACTED]"} 1');
      for (const text of [body, prom, json]) {
        for (const leak of ['p%40ss', 'p@ss', 'ss@', 'svc-key-9f8e', 'feedface01', 'tok-123']) expect(text).not.toContain(leak);
      }
    } finally {
      await s.stop();
    }
  });

  it('masks URL passwords and tokens even when given no redactor', async () => {
    const s = new HealthServer(options(new Metrics({ instanceId: 'w', defaultMetrics: false })));
    s.addCheck('supabase', () => ({ ok: false, detail: 'GET https://u:pa@ss@x.supabase.co/rest/v1/jobs?apikey=eyJkey failed' }));
    const { port } = await s.start();
    try {
      const body = await (await fetch(`http://127.0.0.1:${port}/health`)).text();
      expect(body).toContain('https://u:[REDACTED]@x.supabase.co/rest/v1/jobs?apikey=[REDACTED]');
      expect(body).not.toMatch(/ss@x|eyJkey/);
    } finally {
      await s.stop();
    }
  });
});
