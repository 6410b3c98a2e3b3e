// queue_messages on /metrics: asked of the queue only when read, at most once per max age,
// removed (not left stale) while the queue cannot say, logged once per failure streak.
import { describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import type { QueueDepth } from '../../src/ports/index.js';
import { Metrics } from '../../src/runtime/metrics.js';
import { QUEUE_MESSAGES, reportQueueDepth } from '../../src/runtime/queue-depth.js';

type Line = Record<string, unknown> & { event_type?: string };

function harness() {
  const lines: Line[] = [];
  const logger = pino({}, { write(s: string) { lines.push(JSON.parse(s) as Line); } });
  const metrics = new Metrics({ instanceId: 't', defaultMetrics: false });
  let now = 1_000_000;
  let answer: QueueDepth | Error | 'hang' = { visible: 3, inflight: 1, dlq: 2 };
  let calls = 0;
  const queue = {
    name: 'transcode-q',
    depth: async (): Promise<QueueDepth> => {
      calls++;
      if (answer === 'hang') return new Promise<QueueDepth>(() => undefined);
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
  const remove = reportQueueDepth(metrics, { role: 'transcode', queue, logger, now: () => now, maxAgeMs: 10_000, timeoutMs: 50 });
  /** queue_messages series as `state=value`, from the Prometheus text. */
  const scrape = async (): Promise<string[]> => (await metrics.prometheus()).split('\n')
    .filter((l) => l.startsWith(`rugbyworker_${QUEUE_MESSAGES}{`))
    .map((l) => { const m = /state="([a-z_]+)"\} (\S+)$/.exec(l)!; expect(l).toContain('role="transcode",queue="transcode-q"'); return `${m[1]}=${m[2]}`; });
  return {
    lines, scrape, remove,
    calls: () => calls,
    answer: (a: typeof answer) => { answer = a; },
    advance: (ms: number) => { now += ms; },
  };
}

describe('reportQueueDepth', () => {
  it('reports visible, in flight and dead letters when scraped, asking the queue at most once per max age', async () => {
    const h = harness();
    expect(h.calls()).toBe(0);
    expect(await h.scrape()).toEqual(['visible=3', 'in_flight=1', 'dead_letter=2']);
    h.answer({ visible: 7, inflight: 0, dlq: 2 });
    expect(await h.scrape()).toEqual(['visible=3', 'in_flight=1', 'dead_letter=2']);
    expect(h.calls()).toBe(1);
    h.advance(10_000);
    expect(await h.scrape()).toEqual(['visible=7', 'in_flight=0', 'dead_letter=2']);
    expect(h.calls()).toBe(2);
  });

  it('a queue without a DLQ has no dead_letter series', async () => {
    const h = harness();
    h.answer({ visible: 0, inflight: 0, dlq: null });
    expect(await h.scrape()).toEqual(['visible=0', 'in_flight=0']);
  });

  it('removes the series while the queue cannot say (an error, no answer in time), logs once, and comes back', async () => {
    const h = harness();
    await h.scrape();
    h.advance(10_000);
    h.answer(new Error('AccessDenied: sqs:GetQueueAttributes'));
    expect(await h.scrape()).toEqual([]);
    // Failing, it asks again only after six times the max age.
    h.advance(50_000);
    h.answer('hang');
    expect(await h.scrape()).toEqual([]);
    expect(h.calls()).toBe(2);
    h.advance(10_000);
    expect(await h.scrape()).toEqual([]);
    expect(h.calls()).toBe(3);
    expect(h.lines.filter((l) => l.event_type === 'queue_depth_failed').map((l) => l.queue)).toEqual(['transcode-q']);
    h.advance(60_000);
    h.answer({ visible: 1, inflight: 0, dlq: 0 });
    expect(await h.scrape()).toEqual(['visible=1', 'in_flight=0', 'dead_letter=0']);
    expect(h.lines.filter((l) => l.event_type === 'queue_depth_recovered')).toHaveLength(1);
  });

  it('stops reporting, and asking, once removed', async () => {
    const h = harness();
    await h.scrape();
    h.remove();
    h.advance(10_000);
    expect(await h.scrape()).toEqual([]);
    expect(h.calls()).toBe(1);
  });
});
