// The process's in-flight job count (every consumer of every role in this process) and
// the one thing that watches it today: ECS task scale-in protection, held while at least
// one job runs so a scale-in never stops a task mid-transcode (issue 11). Roles know
// nothing of it: the consumers report starts and ends against the worker's Metrics (the
// per-process handle they already share, as current-jobs.ts does), and run.ts wires the
// guard to the agent adapter only when ECS_AGENT_URI is set.
import type { Logger } from 'pino';
import type { Metrics } from './metrics.js';

type Listener = (count: number) => void;

interface Counter { count: number; listeners: Set<Listener> }

const counters = new WeakMap<Metrics, Counter>();

function counter(metrics: Metrics): Counter {
  let c = counters.get(metrics);
  if (!c) {
    c = { count: 0, listeners: new Set() };
    counters.set(metrics, c);
  }
  return c;
}

function change(metrics: Metrics, by: 1 | -1): void {
  const c = counter(metrics);
  c.count = Math.max(0, c.count + by);
  for (const l of c.listeners) l(c.count);
}

/** A consumer took a job (call once per job, paired with jobEnded). */
export const jobStarted = (metrics: Metrics): void => change(metrics, 1);
/** A job left the consumer (finished, failed, or aborted and released). */
export const jobEnded = (metrics: Metrics): void => change(metrics, -1);

/** Calls `listener` with the new count on every change; returns a function that removes it. */
export function onInFlightChange(metrics: Metrics, listener: Listener): () => void {
  const c = counter(metrics);
  c.listeners.add(listener);
  return () => {
    c.listeners.delete(listener);
  };
}

export function inFlightCount(metrics: Metrics): number {
  return counters.get(metrics)?.count ?? 0;
}

/** The ECS agent's task-protection endpoint, behind a port (src/adapters/ecs/). */
export interface TaskProtectionPort {
  /** Protects the task for `expiresInMinutes` (a renewal resets the expiry). */
  protect(expiresInMinutes: number): Promise<void>;
  unprotect(): Promise<void>;
}

export interface ScaleInGuardOptions {
  port: TaskProtectionPort;
  logger: Logger;
  /** ExpiresInMinutes sent with each protect (1…2880; default 60). */
  expiresInMinutes?: number;
  /** How often protection is renewed while jobs run (default half the expiry). */
  renewMs?: number;
}

/**
 * Protected from the first in-flight job to the end of the last; renewed at half the
 * expiry while jobs run, so a long transcode never outlives its protection. Calls are
 * made one at a time in order; a failure is logged (one warning per run of failures,
 * the rest at debug) and never reaches a job. `stop()` — registered with the lifecycle
 * before the roles, so it runs after they have released their jobs — clears it.
 */
export class ScaleInGuard {
  readonly name = 'scale-in-protection';
  readonly #port: TaskProtectionPort;
  readonly #logger: Logger;
  readonly #minutes: number;
  readonly #renewMs: number;
  #chain: Promise<void> = Promise.resolve();
  #renew: NodeJS.Timeout | undefined;
  /** What was last asked of the agent (not necessarily what it did). */
  #protected = false;
  #failing = false;
  #stopped = false;
  #detach: () => void = () => undefined;

  constructor(opts: ScaleInGuardOptions) {
    this.#port = opts.port;
    this.#logger = opts.logger;
    this.#minutes = Math.min(2880, Math.max(1, Math.round(opts.expiresInMinutes ?? 60)));
    this.#renewMs = opts.renewMs ?? (this.#minutes * 60_000) / 2;
  }

  /** Follows the in-flight count of the process `metrics` belongs to. */
  attach(metrics: Metrics): this {
    this.#detach();
    this.#detach = onInFlightChange(metrics, (count) => this.#onCount(count));
    if (inFlightCount(metrics) > 0) this.#onCount(inFlightCount(metrics));
    return this;
  }

  #onCount(count: number): void {
    if (this.#stopped) return;
    if (count > 0 && !this.#protected) {
      this.#protected = true;
      this.#enqueue('protect');
      this.#renew = setInterval(() => this.#enqueue('renew'), this.#renewMs);
      this.#renew.unref();
    } else if (count === 0 && this.#protected) {
      this.#protected = false;
      clearInterval(this.#renew);
      this.#renew = undefined;
      this.#enqueue('unprotect');
    }
  }

  #enqueue(what: 'protect' | 'renew' | 'unprotect'): Promise<void> {
    this.#chain = this.#chain.then(async () => {
      try {
        if (what === 'unprotect') await this.#port.unprotect();
        else await this.#port.protect(this.#minutes);
        if (this.#failing) this.#logger.info({ event_type: 'task_protection_recovered', action: what }, `ECS task protection ${what} succeeded again`);
        this.#failing = false;
        this.#logger.debug({ event_type: 'task_protection', action: what, expires_in_minutes: what === 'unprotect' ? undefined : this.#minutes }, `ECS task protection: ${what}`);
      } catch (err) {
        const level = this.#failing ? 'debug' : 'warn';
        this.#failing = true;
        this.#logger[level]({ event_type: 'task_protection_failed', action: what, err }, `ECS task scale-in protection ${what} failed (jobs carry on): ${err instanceof Error ? err.message : String(err)}`);
      }
    });
    return this.#chain;
  }

  /** Lifecycle stop: no more changes; protection cleared if it is still held. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#detach();
    clearInterval(this.#renew);
    this.#renew = undefined;
    if (this.#protected) {
      this.#protected = false;
      this.#enqueue('unprotect');
    }
    await this.#chain;
  }
}
