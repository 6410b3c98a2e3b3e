// What /health says about the services a worker depends on (SQS, Redis, S3/Wasabi,
// Supabase, DynamoDB, inference), learnt from the calls the roles make anyway: a call that
// fails because the service cannot be reached (or refuses our credentials) marks it down,
// the next call that gets an answer, even a "no such key", marks it up again. So /health
// is 503 naming the dependency while it is down and 200 after, with no extra traffic.
import type { Logger } from 'pino';
import type { HealthCheckResult } from './health.js';
import type { Metrics } from './metrics.js';
import { describeError } from '../domain/describe-error.js';
import { isDependencyFailure } from '../domain/failure.js';

/** Metric name (without METRIC_PREFIX), label `dependency`: 1 answering, 0 down. */
export const DEPENDENCY_UP = 'dependency_up';

interface State {
  ok: boolean;
  since: number;
  detail: string;
}

export class DependencyHealth {
  readonly #states = new Map<string, State>();
  readonly #added: Array<(name: string) => void> = [];
  readonly #logger: Logger | undefined;
  readonly #gauge: ReturnType<Metrics['gauge']> | undefined;
  readonly #now: () => number;

  constructor(opts: { logger?: Logger; metrics?: Metrics; now?: () => number } = {}) {
    this.#logger = opts.logger;
    this.#now = opts.now ?? Date.now;
    this.#gauge = opts.metrics?.gauge(DEPENDENCY_UP, '1 while the dependency answers, 0 while it is unreachable or refuses the credentials', ['dependency']);
  }

  /** Calls `fn` with each dependency's name the first time it is seen (now, for those known). */
  onAdded(fn: (name: string) => void): void {
    this.#added.push(fn);
    for (const name of this.#states.keys()) fn(name);
  }

  /** A call to `name` got an answer. */
  succeeded(name: string): void {
    const s = this.#states.get(name);
    if (s?.ok) return;
    if (s) {
      this.#logger?.info({ event_type: 'dependency_up', dependency: name, down_seconds: (this.#now() - s.since) / 1000 }, `${name} answers again`);
    }
    this.#set(name, { ok: true, since: this.#now(), detail: 'answering' });
  }

  /** A call to `name` failed: down when the error says it is unreachable or refuses us. */
  failed(name: string, err: unknown, isFailure: (err: unknown) => boolean = isDependencyFailure): void {
    if (!isFailure(err)) return this.succeeded(name);
    const detail = describeError(err).slice(0, 300);
    const s = this.#states.get(name);
    if (s && !s.ok) { s.detail = detail; return; }
    this.#logger?.warn({ event_type: 'dependency_down', dependency: name, err }, `${name} unreachable: ${detail}`);
    this.#set(name, { ok: false, since: this.#now(), detail });
  }

  check(name: string): HealthCheckResult {
    const s = this.#states.get(name);
    if (!s) return { ok: true, detail: 'not used yet' };
    if (s.ok) return { ok: true, detail: s.detail };
    return { ok: false, detail: `down for ${Math.round((this.#now() - s.since) / 1000)} s: ${s.detail}` };
  }

  /** The dependencies unreachable now, by name: when each went down (ms, this clock) and why. */
  down(): Array<{ name: string; since: number; detail: string }> {
    return [...this.#states].filter(([, s]) => !s.ok).map(([name, s]) => ({ name, since: s.since, detail: s.detail })).sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  #set(name: string, state: State): void {
    const isNew = !this.#states.has(name);
    this.#states.set(name, state);
    this.#gauge?.set({ dependency: name }, state.ok ? 1 : 0);
    if (isNew) for (const fn of this.#added) fn(name);
  }
}

/**
 * Port methods that run long by design (a long poll, a transfer, an inference); every other
 * call is a small request, and one still unanswered after UNANSWERED_MS says the service is
 * not answering. A black-holed connection gives no error for as long as the SDK keeps
 * retrying its timeouts (DynamoDB: 15 s a try), and /health must say so meanwhile.
 */
const LONG_CALLS = new Set(['receive', 'download', 'upload', 'copyFrom', 'getStream', 'process', 'redrive', 'close']);
export const UNANSWERED_MS = 10_000;
/**
 * Calls made for /metrics, not for the roles' work (the queue depth, asked when scraped):
 * their answer is no news of the service (GetQueueAttributes may be withheld from a worker
 * that needs none of it), and a scrape must never turn /health.
 */
const UNREPORTED = new Set(['depth']);

class NoAnswerError extends Error {
  override readonly name = 'TimeoutError';
  readonly code = 'ETIMEDOUT';
}

/**
 * `target` with every method call reported to `health` under `name`: promises when they
 * settle (and a short call as down while it has gone unanswered for `unansweredMs`), async
 * iterables (ObjectStore.list) page by page. Properties pass through.
 * `isFailure`: the adapter's own word on which errors mean unreachable (default isDependencyFailure).
 */
export function watched<T extends object>(target: T, name: string, health: DependencyHealth, isFailure?: (err: unknown) => boolean, unansweredMs = UNANSWERED_MS): T {
  const report = <V>(value: V, method: string): V => {
    if (value && typeof (value as { then?: unknown }).then === 'function') {
      const timer = LONG_CALLS.has(method) ? undefined : setTimeout(() => {
        health.failed(name, new NoAnswerError(`${method}: no answer for ${unansweredMs / 1000} s`));
      }, unansweredMs);
      timer?.unref();
      return (value as unknown as Promise<unknown>).then(
        (v) => { clearTimeout(timer); health.succeeded(name); return v; },
        (err: unknown) => { clearTimeout(timer); health.failed(name, err, isFailure); throw err; },
      ) as V;
    }
    if (value && typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function') {
      const iterable = value as unknown as AsyncIterable<unknown>;
      return {
        [Symbol.asyncIterator]() {
          const it = iterable[Symbol.asyncIterator]();
          return {
            next: () => report(it.next(), method),
            return: (v?: unknown) => (it.return ? it.return(v) : Promise.resolve({ done: true as const, value: v })),
          };
        },
      } as V;
    }
    return value;
  };
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const value: unknown = Reflect.get(obj, prop, receiver);
      if (typeof value !== 'function' || prop === 'constructor' || prop === 'then' || typeof prop === 'symbol') return value;
      if (UNREPORTED.has(prop)) return (...args: unknown[]) => (value as (...a: unknown[]) => unknown).apply(obj, args);
      return (...args: unknown[]) => {
        let result: unknown;
        try {
          result = (value as (...a: unknown[]) => unknown).apply(obj, args);
        } catch (err) {
          health.failed(name, err, isFailure);
          throw err;
        }
        return report(result, String(prop));
      };
    },
  });
}
