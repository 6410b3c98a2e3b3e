// One prom-client registry per worker (never the global one, so several workers or
// tests in one process do not collide), exposed as Prometheus text and as the seed's
// JSON flavour (counters, gauges, durations with p50/p95/p99, memory, current jobs).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from 'pino';
import { histogramQuantile } from '../domain/quantile.js';
import type { HistogramBucket } from '../domain/quantile.js';

/** Job durations run from a 50 ms probe to a 2 h full-match transcode. */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = [
  0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200,
];

export const METRIC_PREFIX = 'rugbyworker_';

/** A plain number for an unlabelled metric, else one value per label set (`a=x,b=y`). */
export type MetricJsonValue = number | Record<string, number>;

export interface DurationStats {
  count: number;
  sum: number;
  avg: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface MetricsJson {
  instance_id: string;
  timestamp: number;
  uptime_seconds: number;
  counters: Record<string, MetricJsonValue>;
  gauges: Record<string, MetricJsonValue>;
  durations: Record<string, DurationStats>;
  memory: { rss_mb: number; heap_used_mb: number; heap_total_mb: number; external_mb: number };
  current_jobs: unknown[];
}

export interface MetricsOptions {
  instanceId: string;
  /** process_* / nodejs_* metrics; on by default. */
  defaultMetrics?: boolean;
  logger?: Logger;
}

type Kind = 'counter' | 'gauge' | 'histogram';
interface Entry {
  kind: Kind;
  labelNames: readonly string[];
  metric: Counter<string> | Gauge<string> | Histogram<string>;
}

export class Metrics {
  readonly registry = new Registry();
  readonly instanceId: string;
  private readonly entries = new Map<string, Entry>();
  private currentJobs: () => unknown[] = () => [];
  private readonly logger: Logger | undefined;

  constructor(options: MetricsOptions) {
    this.instanceId = options.instanceId;
    this.logger = options.logger;
    // Default metrics keep their standard names (process_resident_memory_bytes …) so
    // stock Node dashboards work; only our own metrics carry the prefix.
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter<string> {
    return this.memo(name, 'counter', labelNames, () =>
      new Counter({ name: METRIC_PREFIX + name, help, labelNames, registers: [this.registry] })) as Counter<string>;
  }

  /**
   * `collect` runs on every read of the registry (a scrape, /metrics JSON) to set the values
   * just in time (disk space, queue depth); only the first registration's is kept.
   */
  gauge(name: string, help: string, labelNames: readonly string[] = [], collect?: (gauge: Gauge<string>) => Promise<void> | void): Gauge<string> {
    return this.memo(name, 'gauge', labelNames, () => {
      const gauge: Gauge<string> = new Gauge({
        name: METRIC_PREFIX + name, help, labelNames, registers: [this.registry],
        // A failing collector leaves its values as they were; /metrics must still answer.
        ...(collect ? { collect: () => Promise.resolve().then(() => collect(gauge)).catch((err: unknown) => this.logger?.warn({ err, metric: name }, 'metric collector failed')) } : {}),
      });
      return gauge;
    }) as Gauge<string>;
  }

  /** Durations in seconds. */
  histogram(
    name: string,
    help: string,
    labelNames: readonly string[] = [],
    buckets: readonly number[] = DEFAULT_DURATION_BUCKETS,
  ): Histogram<string> {
    return this.memo(name, 'histogram', labelNames, () =>
      new Histogram({ name: METRIC_PREFIX + name, help, labelNames, buckets: [...buckets], registers: [this.registry] })) as Histogram<string>;
  }

  /** The engine reports its in-flight jobs through this (for /metrics JSON). */
  setCurrentJobs(fn: () => unknown[]): void {
    this.currentJobs = fn;
  }

  prometheus(): Promise<string> {
    return this.registry.metrics();
  }

  async json(): Promise<MetricsJson> {
    const counters: Record<string, MetricJsonValue> = {};
    const gauges: Record<string, MetricJsonValue> = {};
    const durations: Record<string, DurationStats> = {};
    for (const [name, entry] of this.entries) {
      if (entry.kind === 'histogram') {
        durations[name] = durationStats(await (entry.metric as Histogram<string>).get());
      } else {
        const got = await (entry.metric as Counter<string> | Gauge<string>).get();
        (entry.kind === 'counter' ? counters : gauges)[name] = plainValue(entry.labelNames, got.values);
      }
    }
    const mem = process.memoryUsage();
    return {
      instance_id: this.instanceId,
      timestamp: Date.now() / 1000,
      uptime_seconds: round(process.uptime(), 3),
      counters,
      gauges,
      durations,
      memory: {
        rss_mb: mb(mem.rss),
        heap_used_mb: mb(mem.heapUsed),
        heap_total_mb: mb(mem.heapTotal),
        external_mb: mb(mem.external),
      },
      current_jobs: this.safeCurrentJobs(),
    };
  }

  private memo(name: string, kind: Kind, labelNames: readonly string[], make: () => Entry['metric']): Entry['metric'] {
    const existing = this.entries.get(name);
    if (existing) {
      // Same name, different shape is a programming error that prom-client would hide.
      if (existing.kind !== kind || existing.labelNames.join(',') !== labelNames.join(',')) {
        throw new Error(`metric ${name} already registered as ${existing.kind}(${existing.labelNames.join(',')})`);
      }
      return existing.metric;
    }
    const metric = make();
    this.entries.set(name, { kind, labelNames: [...labelNames], metric });
    return metric;
  }

  private safeCurrentJobs(): unknown[] {
    try {
      return this.currentJobs();
    } catch (err) {
      // A broken reporter must not take /metrics down with it.
      this.logger?.warn({ err }, 'current jobs reporter failed');
      return [];
    }
  }
}

interface RawValue {
  value: number;
  labels: Record<string, string | number | undefined>;
  metricName?: string;
}

function labelKey(labels: RawValue['labels'], skip?: string): string {
  return Object.entries(labels)
    .filter(([k, v]) => k !== skip && v !== undefined)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(',');
}

function plainValue(labelNames: readonly string[], values: readonly RawValue[]): MetricJsonValue {
  if (labelNames.length === 0) return values[0]?.value ?? 0;
  const out: Record<string, number> = {};
  for (const v of values) out[labelKey(v.labels)] = v.value;
  return out;
}

/** All label sets of one histogram merged: buckets are shared, so the sums stay exact. */
function durationStats(got: { name: string; values: readonly RawValue[] }): DurationStats {
  const byLe = new Map<number, number>();
  let count = 0;
  let sum = 0;
  for (const v of got.values) {
    if (v.metricName === `${got.name}_bucket`) {
      const le = v.labels.le === '+Inf' ? Infinity : Number(v.labels.le);
      byLe.set(le, (byLe.get(le) ?? 0) + v.value);
    } else if (v.metricName === `${got.name}_count`) {
      count += v.value;
    } else if (v.metricName === `${got.name}_sum`) {
      sum += v.value;
    }
  }
  const buckets: HistogramBucket[] = [...byLe].map(([le, c]) => ({ le, count: c }));
  const q = (p: number): number | null => finiteOrNull(histogramQuantile(p, buckets));
  return {
    count,
    sum: round(sum, 6),
    avg: count > 0 ? round(sum / count, 6) : null,
    p50: q(0.5),
    p95: q(0.95),
    p99: q(0.99),
  };
}

// JSON has no NaN: an empty histogram reports null percentiles.
function finiteOrNull(n: number): number | null {
  return Number.isFinite(n) ? round(n, 6) : null;
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function mb(bytes: number): number {
  return round(bytes / 1_048_576, 2);
}
