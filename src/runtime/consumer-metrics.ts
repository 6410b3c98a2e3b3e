// The engine's per-role metrics. Names are shared by every role (label `role`), so one
// dashboard covers them all; Metrics memoises, so several consumers reuse the same series.
// The names are exported for deploy/ (dashboards and alert rules are generated from them).
import type { Counter, Gauge, Histogram } from 'prom-client';
import type { Metrics } from './metrics.js';

/** Metric names (without METRIC_PREFIX), label `role` on each; job_duration_seconds adds `outcome`. */
export const CONSUMER_METRICS = {
  received: 'messages_received_total',
  succeeded: 'jobs_succeeded_total',
  failed: 'jobs_failed_total',
  deadLettered: 'messages_dead_lettered_total',
  discarded: 'messages_discarded_total',
  retried: 'jobs_retried_total',
  leaseLost: 'jobs_lease_lost_total',
  outageWaits: 'job_outage_waits_total',
  heartbeatExtensions: 'heartbeat_extensions_total',
  inFlight: 'jobs_in_flight',
  concurrency: 'jobs_concurrency',
  duration: 'job_duration_seconds',
  queueLag: 'queue_lag_seconds',
} as const;

export interface ConsumerMetrics {
  received: Counter.Internal;
  succeeded: Counter.Internal;
  failed: Counter.Internal;
  deadLettered: Counter.Internal;
  discarded: Counter.Internal;
  retried: Counter.Internal;
  leaseLost: Counter.Internal;
  outageWaits: Counter.Internal;
  /** Lease extensions the queue granted (the heartbeat's and the handler's extendTo). */
  heartbeatExtensions: Counter.Internal;
  inFlight: Gauge.Internal<string>;
  /** Labels `role` and `outcome` (OUTCOMES). */
  duration: Histogram<string>;
  /** Seconds from the send to the first receive, where the queue tells the send time. */
  queueLag: Histogram.Internal<string>;
}

/** Every series exists at 0 from the start, so dashboards show the role before its first job. */
export function consumerMetrics(metrics: Metrics, role: string, concurrency?: number): ConsumerMetrics {
  const labels = { role };
  const counter = (name: string, help: string): Counter.Internal => {
    const child = metrics.counter(name, help, ['role']).labels(labels);
    child.inc(0);
    return child;
  };
  const m = CONSUMER_METRICS;
  const inFlight = metrics.gauge(m.inFlight, 'Messages being worked on', ['role']).labels(labels);
  inFlight.set(0);
  // In flight against this is how busy the role is.
  if (concurrency !== undefined) metrics.gauge(m.concurrency, 'Messages the role works on at once at most (CONCURRENCY)', ['role']).labels(labels).set(concurrency);
  return {
    received: counter(m.received, 'Messages received from the queue'),
    succeeded: counter(m.succeeded, 'Jobs completed and acked'),
    failed: counter(m.failed, 'Jobs whose handler failed (retried or dead-lettered)'),
    deadLettered: counter(m.deadLettered, 'Messages sent to the dead-letter queue (invalid, permanent failure, retries exhausted)'),
    discarded: counter(m.discarded, 'Messages deleted for a reason the dead-letter queue would have kept, on a queue that has none'),
    retried: counter(m.retried, 'Failed jobs released for another attempt'),
    leaseLost: counter(m.leaseLost, 'Jobs abandoned because their lease was lost'),
    outageWaits: counter(m.outageWaits, 'Tries of a job that failed on an outage and were run again with the message kept'),
    heartbeatExtensions: counter(m.heartbeatExtensions, 'Lease (visibility) extensions the queue granted to jobs in flight'),
    inFlight,
    duration: zeroed(metrics.histogram(m.duration, 'Job duration from receive to outcome', ['role', 'outcome']), OUTCOMES.map((outcome) => ({ role, outcome }))),
    queueLag: zeroed(metrics.histogram(m.queueLag, 'Seconds a message waited in the queue before its first receive', ['role']), [labels]).labels(labels),
  };
}

const OUTCOMES = ['succeeded', 'failed', 'lease_lost', 'aborted'] as const;

/**
 * Histograms too exist at 0 from the start: a series whose first sample already holds the
 * first job is a baseline to rate() and increase(), and that job would never show.
 */
function zeroed(h: Histogram<string>, labelSets: ReadonlyArray<Record<string, string>>): Histogram<string> {
  for (const l of labelSets) h.zero(l);
  return h;
}
