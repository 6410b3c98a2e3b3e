// The engine's per-role metrics. Names are shared by every role (label `role`), so one
// dashboard covers them all; Metrics memoises, so several consumers reuse the same series.
import type { Counter, Gauge, Histogram } from 'prom-client';
import type { Metrics } from './metrics.js';

export interface ConsumerMetrics {
  received: Counter.Internal;
  succeeded: Counter.Internal;
  failed: Counter.Internal;
  deadLettered: Counter.Internal;
  discarded: Counter.Internal;
  retried: Counter.Internal;
  leaseLost: Counter.Internal;
  outageWaits: Counter.Internal;
  inFlight: Gauge.Internal<string>;
  /** Labels `role` and `outcome` (succeeded, failed, lease_lost, aborted). */
  duration: Histogram<string>;
  /** Seconds from the send to the first receive, where the queue tells the send time. */
  queueLag: Histogram.Internal<string>;
}

/** Every series exists at 0 from the start, so dashboards show the role before its first job. */
export function consumerMetrics(metrics: Metrics, role: string): ConsumerMetrics {
  const labels = { role };
  const counter = (name: string, help: string): Counter.Internal => {
    const child = metrics.counter(name, help, ['role']).labels(labels);
    child.inc(0);
    return child;
  };
  const inFlight = metrics.gauge('jobs_in_flight', 'Messages being worked on', ['role']).labels(labels);
  inFlight.set(0);
  return {
    received: counter('messages_received_total', 'Messages received from the queue'),
    succeeded: counter('jobs_succeeded_total', 'Jobs completed and acked'),
    failed: counter('jobs_failed_total', 'Jobs whose handler failed (retried or dead-lettered)'),
    deadLettered: counter('messages_dead_lettered_total', 'Messages sent to the dead-letter queue (invalid, permanent failure, retries exhausted)'),
    discarded: counter('messages_discarded_total', 'Messages deleted for a reason the dead-letter queue would have kept, on a queue that has none'),
    retried: counter('jobs_retried_total', 'Failed jobs released for another attempt'),
    leaseLost: counter('jobs_lease_lost_total', 'Jobs abandoned because their lease was lost'),
    outageWaits: counter('job_outage_waits_total', 'Tries of a job that failed on an outage and were run again with the message kept'),
    inFlight,
    duration: metrics.histogram('job_duration_seconds', 'Job duration from receive to outcome', ['role', 'outcome']),
    queueLag: metrics.histogram('queue_lag_seconds', 'Seconds a message waited in the queue before its first receive', ['role']).labels(labels),
  };
}
