// Each consumer's queue depth on /metrics (`queue_messages{role,queue,state}`): messages
// waiting, in flight, and in its dead-letter queue, as the queue tells (SQS's approximate
// counts, Redis stream lengths). Asked only while /metrics is read, at most every 10 s per
// queue (every minute while it fails) and bounded at 5 s, so a worker nobody scrapes makes no
// extra call; nor does the call count for /health (dependency-health.ts's UNREPORTED). Every worker of a
// queue reports the same numbers: dashboards and alerts take the max per role. A depth the
// queue cannot give (GetQueueAttributes withheld, the queue unreachable) removes the series
// rather than leave a stale number, and is logged once until it works again.
import type { Logger } from 'pino';
import type { Gauge } from 'prom-client';
import type { Queue, QueueDepth } from '../ports/index.js';
import type { Metrics } from './metrics.js';
import { describeError } from '../domain/describe-error.js';

/** Metric name (without METRIC_PREFIX); labels `role`, `queue`, `state`. */
export const QUEUE_MESSAGES = 'queue_messages';
/** The `state` label: waiting to be received (delayed included), received and not settled, dead letters. */
export const QUEUE_STATES = ['visible', 'in_flight', 'dead_letter'] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

export interface QueueDepthOptions {
  role: string;
  queue: Pick<Queue, 'name' | 'depth'>;
  logger: Logger;
  /** Fresh enough for this long (default 10 s); after a failure, 6 times as long before asking again. */
  maxAgeMs?: number;
  /** A depth call slower than this fails (default 5 s). */
  timeoutMs?: number;
  now?: () => number;
}

interface Source {
  readonly opts: QueueDepthOptions;
  /** When the last look ended (ms); -Infinity before the first. */
  at: number;
  pending: Promise<void> | null;
  failing: boolean;
}

const HELP = 'Messages in the role\'s queue by state (visible: waiting; in_flight: received, not yet settled; dead_letter: in its DLQ), as the queue reports them';
const sourcesOf = new WeakMap<Metrics, Set<Source>>();

/** Reports `queue`'s depth on `metrics` until the returned function is called. */
export function reportQueueDepth(metrics: Metrics, opts: QueueDepthOptions): () => void {
  let sources = sourcesOf.get(metrics);
  if (!sources) {
    const all = new Set<Source>();
    sources = all;
    sourcesOf.set(metrics, all);
    metrics.gauge(QUEUE_MESSAGES, HELP, ['role', 'queue', 'state'], async (gauge) => {
      await Promise.all([...all].map((s) => refresh(s, gauge)));
    });
  }
  const source: Source = { opts, at: -Infinity, pending: null, failing: false };
  sources.add(source);
  const set = sources;
  return () => {
    set.delete(source);
    clear(metrics.gauge(QUEUE_MESSAGES, HELP, ['role', 'queue', 'state']), source);
  };
}

function labels(s: Source, state: QueueState): Record<string, string> {
  return { role: s.opts.role, queue: s.opts.queue.name, state };
}

function clear(gauge: Gauge<string>, s: Source): void {
  for (const state of QUEUE_STATES) gauge.remove(labels(s, state));
}

function refresh(s: Source, gauge: Gauge<string>): Promise<void> {
  const now = s.opts.now ?? Date.now;
  if (s.pending) return s.pending;
  if (now() - s.at < (s.opts.maxAgeMs ?? 10_000) * (s.failing ? 6 : 1)) return Promise.resolve();
  s.pending = (async () => {
    try {
      const depth = await withTimeout(s.opts.queue.depth(), s.opts.timeoutMs ?? 5000);
      set(gauge, s, depth);
      if (s.failing) s.opts.logger.info({ event_type: 'queue_depth_recovered', queue: s.opts.queue.name }, `${s.opts.queue.name}: queue depth known again`);
      s.failing = false;
    } catch (err) {
      clear(gauge, s);
      if (!s.failing) {
        s.opts.logger.warn({ event_type: 'queue_depth_failed', queue: s.opts.queue.name, err },
          `${s.opts.queue.name}: queue depth unknown (${describeError(err)}); ${QUEUE_MESSAGES} left out until it answers`);
      }
      s.failing = true;
    } finally {
      s.at = now();
      s.pending = null;
    }
  })();
  return s.pending;
}

function set(gauge: Gauge<string>, s: Source, d: QueueDepth): void {
  gauge.set(labels(s, 'visible'), d.visible);
  gauge.set(labels(s, 'in_flight'), d.inflight);
  if (d.dlq === null) gauge.remove(labels(s, 'dead_letter'));
  else gauge.set(labels(s, 'dead_letter'), d.dlq);
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
