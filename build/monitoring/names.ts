// The metric names the dashboards and rules use, taken from the code that registers them
// (each module exports its names), with the prefix /metrics gives them: a renamed metric
// changes the generated files, and a name that is not registered cannot be written here.
import { METRIC_PREFIX } from '../../src/runtime/metrics.js';
import { CONSUMER_METRICS } from '../../src/runtime/consumer-metrics.js';
import { QUEUE_MESSAGES } from '../../src/runtime/queue-depth.js';
import { DEPENDENCY_UP } from '../../src/runtime/dependency-health.js';
import { ROLE_INFO } from '../../src/runtime/health.js';
import { WORKDIR_METRICS } from '../../src/runtime/workdir.js';
import { HARDWARE_METRICS } from '../../roles/transcode/hardware-metrics.js';
import { TRANSCODE_METRICS } from '../../roles/transcode/metrics.js';
import { CLEANUP_METRICS } from '../../roles/cleanup/metrics.js';
import { STEREO_METRICS } from '../../roles/stereo/metrics.js';
import { TRANSCODE_REQUEUED } from '../../roles/transcode/requeue.js';

type Prefixed<T extends Record<string, string>> = { readonly [K in keyof T]: `rugbyworker_${T[K]}` };

function prefixed<T extends Record<string, string>>(names: T): Prefixed<T> {
  return Object.fromEntries(Object.entries(names).map(([k, v]) => [k, `${METRIC_PREFIX}${v}`])) as Prefixed<T>;
}

const one = <N extends string>(name: N): `rugbyworker_${N}` => `${METRIC_PREFIX}${name}` as `rugbyworker_${N}`;

/** rugbyworker_* metrics, by the module that registers them. */
export const M = {
  consumer: prefixed(CONSUMER_METRICS),
  queueMessages: one(QUEUE_MESSAGES),
  dependencyUp: one(DEPENDENCY_UP),
  roleInfo: one(ROLE_INFO),
  workdir: prefixed(WORKDIR_METRICS),
  hardware: prefixed(HARDWARE_METRICS),
  transcode: prefixed(TRANSCODE_METRICS),
  requeued: one(TRANSCODE_REQUEUED),
  cleanup: prefixed(CLEANUP_METRICS),
  stereo: prefixed(STEREO_METRICS),
} as const;

/** prom-client's default metrics (kept under their standard names) and Prometheus's own `up`. */
export const STANDARD = {
  up: 'up',
  cpuSeconds: 'process_cpu_seconds_total',
  residentMemory: 'process_resident_memory_bytes',
  heapUsed: 'nodejs_heap_size_used_bytes',
  eventLoopLagP99: 'nodejs_eventloop_lag_p99_seconds',
  startTime: 'process_start_time_seconds',
} as const;

/** The scrape job name the rules and dashboards expect (README "Monitoring"). */
export const JOB = 'rugbyworker';

/** Every metric name above, flat: what a generated expression may name besides recording rules. */
export function knownMetricNames(): Set<string> {
  const out = new Set<string>(Object.values(STANDARD));
  const walk = (v: unknown): void => {
    if (typeof v === 'string') out.add(v);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(M);
  return out;
}
