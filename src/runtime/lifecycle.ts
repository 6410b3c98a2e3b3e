// Process lifecycle (DESIGN §5): SIGTERM/SIGINT stop receiving at once, then stop the
// services in reverse start order within one grace period (ECS sends SIGKILL 30 s after
// SIGTERM; the default 25 s grace leaves room to release messages and flush logs).
// A second signal exits at once; an uncaught error is one `fatal` event and exit 1.
import type { Logger } from 'pino';

export interface Service {
  readonly name: string;
  /**
   * Stops the service. `deadline` aborts when the grace period expires: the service must
   * then abort in-flight work (releasing its messages) and return promptly.
   */
  stop(deadline: AbortSignal): Promise<void>;
}

export interface LifecycleOptions {
  logger: Logger;
  /** One overall grace for every stop together (SHUTDOWN_GRACE_SECONDS). */
  graceSeconds: number;
  /** Default process.exit. */
  exit?: (code: number) => void;
  /** Default process. */
  processLike?: Pick<NodeJS.Process, 'on' | 'off'>;
  /** Flushes logs before exiting (default: the logger's own flush). */
  flush?: () => Promise<void>;
  /** How long each stop is still awaited once the grace has expired (default 2000 ms). */
  overrunMs?: number;
}

type ShutdownSignal = 'SIGTERM' | 'SIGINT';

/** 128 + signal number, the shell's convention for "killed by". */
const FORCED_EXIT_CODE: Record<ShutdownSignal, number> = { SIGINT: 130, SIGTERM: 143 };
/** A flush that hangs (Axiom unreachable) must not keep a dying process alive. */
const FLUSH_TIMEOUT_MS = 2000;

const seconds = (fromMs: number): number => Math.round(performance.now() - fromMs) / 1000;

/** Resolves `'timeout'` after `ms` (or `'aborted'` once `signal` aborts); `cancel` clears the timer. */
function waitFor(ms: number, signal?: AbortSignal): { promise: Promise<'timeout' | 'aborted'>; cancel: () => void } {
  let cancel = (): void => undefined;
  const promise = new Promise<'timeout' | 'aborted'>((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve('aborted');
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve('timeout');
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
    cancel = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
  });
  return { promise, cancel };
}

export class Lifecycle {
  /** Aborted when shutdown starts: receivers stop polling at once. */
  readonly stopping: AbortSignal;
  /** Resolves with the exit code once shutdown has finished. */
  readonly done: Promise<number>;

  readonly #logger: Logger;
  readonly #graceMs: number;
  readonly #overrunMs: number;
  readonly #exit: (code: number) => void;
  readonly #process: Pick<NodeJS.Process, 'on' | 'off'>;
  readonly #flush: () => Promise<void>;
  readonly #stoppingController = new AbortController();
  readonly #services: Service[] = [];
  #keepAlive: NodeJS.Timeout | undefined;
  #resolveDone: (code: number) => void = () => undefined;
  #shutdown: Promise<number> | undefined;
  #finished = false;
  #signalled = false;
  #fatal = false;
  #installed = false;

  // Bound once so uninstall() can remove exactly what install() added.
  readonly #onSigterm = (): void => this.#onSignal('SIGTERM');
  readonly #onSigint = (): void => this.#onSignal('SIGINT');
  readonly #onUncaughtException = (err: unknown, origin?: unknown): void => this.#onFatal(err, origin ?? 'uncaughtException');
  readonly #onUnhandledRejection = (reason: unknown): void => this.#onFatal(reason, 'unhandledRejection');

  constructor(opts: LifecycleOptions) {
    this.#logger = opts.logger;
    this.#graceMs = Math.max(0, opts.graceSeconds) * 1000;
    this.#overrunMs = opts.overrunMs ?? 2000;
    this.#exit = opts.exit ?? ((code) => process.exit(code));
    this.#process = opts.processLike ?? process;
    this.#flush = opts.flush ?? (() => new Promise<void>((resolve) => this.#logger.flush(() => resolve())));
    this.stopping = this.#stoppingController.signal;
    this.done = new Promise<number>((resolve) => {
      this.#resolveDone = resolve;
    });
  }

  /** Registers a started service; services stop in the reverse of the order they were added. */
  add(service: Service): void {
    if (this.#finished) {
      // Started too late to be part of the shutdown: stop it straight away with no grace.
      this.#logger.warn({ event_type: 'service_added_after_shutdown', service: service.name }, `service ${service.name} added after shutdown; stopping it`);
      void Promise.resolve()
        .then(() => service.stop(AbortSignal.abort(new Error('shutdown already completed'))))
        .catch(() => undefined);
      return;
    }
    // Added during shutdown is fine: the shutdown loop pops from this same list.
    this.#services.push(service);
    // A worker whose jobs are all waiting on promises holds no handle of its own; the
    // process must still live until it is told to stop.
    this.#keepAlive ??= setInterval(() => undefined, 1 << 30);
  }

  /**
   * Handles SIGTERM/SIGINT (graceful shutdown, then flush and exit with its code; a second
   * signal exits at once) and uncaughtException/unhandledRejection (one `fatal` event,
   * flush, exit 1). Signal listeners do not keep the process alive by themselves.
   */
  install(): void {
    if (this.#installed) return;
    this.#installed = true;
    this.#process.on('SIGTERM', this.#onSigterm);
    this.#process.on('SIGINT', this.#onSigint);
    this.#process.on('uncaughtException', this.#onUncaughtException);
    this.#process.on('unhandledRejection', this.#onUnhandledRejection);
  }

  uninstall(): void {
    if (!this.#installed) return;
    this.#installed = false;
    this.#process.off('SIGTERM', this.#onSigterm);
    this.#process.off('SIGINT', this.#onSigint);
    this.#process.off('uncaughtException', this.#onUncaughtException);
    this.#process.off('unhandledRejection', this.#onUnhandledRejection);
  }

  /**
   * Stops every service, latest first, one at a time, within one overall grace. When the
   * grace expires the shared deadline aborts; every remaining stop is still called (so it
   * can release its messages) and awaited at most `overrunMs` more. Resolves 0 when every
   * stop finished within the grace, else 1. Idempotent: later calls return the same promise.
   * It does not exit the process; a signal-initiated shutdown does, once this resolves.
   * `failed` (e.g. a --once unit of work that failed) is the least exit code it reports.
   */
  shutdown(reason: string, failed = 0): Promise<number> {
    this.#shutdown ??= this.#run(reason, failed);
    return this.#shutdown;
  }

  async #run(reason: string, failed: number): Promise<number> {
    const startedAt = performance.now();
    this.#stoppingController.abort(new Error(`shutting down (${reason})`));
    this.#logger.info(
      { event_type: 'shutdown_started', reason, signal: reason === 'SIGTERM' || reason === 'SIGINT' ? reason : undefined, grace_seconds: this.#graceMs / 1000 },
      `shutdown started (${reason})`,
    );

    const deadline = new AbortController();
    // Deliberately ref'd: an in-progress shutdown keeps the process alive until it ends.
    const grace = waitFor(this.#graceMs);
    void grace.promise.then((outcome) => {
      if (outcome === 'timeout') deadline.abort(new Error(`shutdown grace of ${this.#graceMs / 1000} s expired`));
    });

    // One listener for the whole loop rather than one per service.
    const expired = waitUntilAborted(deadline.signal);
    let code = failed;
    let expiryLogged = false;
    const logExpiry = (current: Service | undefined): void => {
      if (expiryLogged) return;
      expiryLogged = true;
      // Not a failure by itself: a service that aborts its work and releases its messages
      // when the deadline fires has stopped as designed. Only a stop that throws or never
      // returns makes the exit code 1.
      const remaining = [...(current ? [current.name] : []), ...[...this.#services].reverse().map((s) => s.name)];
      this.#logger.warn(
        { event_type: 'shutdown_grace_expired', grace_seconds: this.#graceMs / 1000, remaining },
        `shutdown grace expired with ${remaining.length} service(s) still stopping`,
      );
    };

    try {
      for (let service = this.#services.pop(); service !== undefined; service = this.#services.pop()) {
        const stopStartedAt = performance.now();
        if (deadline.signal.aborted) logExpiry(service);
        // The thunk turns a synchronous throw from stop() into a rejection.
        const stopped = Promise.resolve()
          .then(() => service.stop(deadline.signal))
          .then(() => 'stopped' as const, (err: unknown) => ({ err }));

        let outcome: 'stopped' | 'expired' | 'abandoned' | { err: unknown } = await Promise.race([stopped, expired]);
        if (outcome === 'expired') {
          logExpiry(service);
          const overrun = waitFor(this.#overrunMs);
          outcome = await Promise.race([stopped, overrun.promise.then(() => 'abandoned' as const)]);
          overrun.cancel();
        }

        if (outcome === 'stopped') {
          this.#logger.info({ event_type: 'service_stopped', service: service.name, seconds: seconds(stopStartedAt) }, `${service.name} stopped`);
        } else if (outcome === 'abandoned') {
          code = 1;
          this.#logger.error(
            { event_type: 'service_stop_abandoned', service: service.name, seconds: seconds(stopStartedAt) },
            `${service.name} did not stop ${this.#overrunMs} ms after the grace expired; giving up on it`,
          );
        } else if (typeof outcome === 'object') {
          code = 1;
          this.#logger.error({ event_type: 'service_stop_failed', service: service.name, err: outcome.err }, `${service.name} failed to stop`);
        }
      }
    } finally {
      grace.cancel();
    }

    this.#finished = true;
    clearInterval(this.#keepAlive);
    this.#logger.info(
      { event_type: 'shutdown_completed', seconds: seconds(startedAt), exit_code: code },
      `shutdown completed with exit code ${code}`,
    );
    this.#resolveDone(code);
    return code;
  }

  #onSignal(signal: ShutdownSignal): void {
    if (this.#signalled) {
      // The operator insists: no more waiting.
      this.#logger.warn({ event_type: 'shutdown_forced', signal }, `second ${signal}: exiting now`);
      this.#exit(FORCED_EXIT_CODE[signal]);
      return;
    }
    this.#signalled = true;
    void this.shutdown(signal).then((code) => this.#flushAndExit(code));
  }

  #onFatal(err: unknown, origin: unknown): void {
    // One event for the first failure; the process is on its way out.
    if (this.#fatal) return;
    this.#fatal = true;
    this.#logger.fatal({ event_type: 'fatal', origin, err }, `fatal: ${err instanceof Error ? err.message : String(err)}`);
    void this.#flushAndExit(1);
  }

  async #flushAndExit(code: number): Promise<void> {
    const limit = waitFor(FLUSH_TIMEOUT_MS);
    try {
      await Promise.race([this.#flush(), limit.promise]);
    } catch {
      // Nowhere left to report a failing flush; exiting matters more.
    } finally {
      limit.cancel();
    }
    this.#exit(code);
  }
}

/** Resolves `'expired'` once `signal` aborts (never, otherwise). */
function waitUntilAborted(signal: AbortSignal): Promise<'expired'> {
  if (signal.aborted) return Promise.resolve('expired');
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve('expired'), { once: true }));
}
