// The consumer engine (issue 3, DESIGN §3/§5): every queue role is "take a message, hold
// its lease while working, do the work, ack or give it back". Up to `concurrency` messages
// are in flight, each with its own heartbeat and AbortSignal. A message is acked only after
// its handler resolved and its heartbeat has stopped (so no extension can follow the ack).
//
// Outcomes: invalid body → DLQ at once; success → ack. A failed try is classified once
// (src/domain/failure.ts) and one pure decision (src/domain/failure-decision.ts) says what
// becomes of the message (ack, retry with backoff, DLQ, give back, wait out an outage on the
// same receive, leave a lost lease alone) and whether the role records the job failed, which
// the engine then does through the role's `failed.record`. Stop: polling ends at once (the
// long poll is aborted), in-flight work may finish; when the deadline aborts, jobs are
// aborted and their messages released with delay 0 so another worker takes them at once.
import type { Logger } from 'pino';
import type { ZodType } from 'zod';
import type { Queue, QueueMessage } from '../ports/index.js';
import type { Service } from './lifecycle.js';
import type { Metrics } from './metrics.js';
import { backoffDelayMs } from '../domain/backoff.js';
import { sleep } from './retry.js';
import { startHeartbeat } from './heartbeat.js';
import type { Heartbeat, HeartbeatStopReason } from './heartbeat.js';
import { describeError } from '../domain/describe-error.js';
import { parseMessageBody, type ParseResult } from './validation.js';
import { addCurrentJobs } from './current-jobs.js';
import { classifyFailure, isOutage, type FailureClass } from '../domain/failure.js';
import { decideFailure, type FailureDecision, type RecordsFailed } from '../domain/failure-decision.js';
import { OUTAGE_WAIT, outageDelayMs, type OutageWait } from '../domain/outage-wait.js';
import { jobEnded, jobStarted } from './in-flight.js';
import { consumerMetrics } from './consumer-metrics.js';
import type { ConsumerMetrics } from './consumer-metrics.js';
import { reportQueueDepth } from './queue-depth.js';

export interface HandlerContext {
  readonly message: QueueMessage;
  /** Aborts when the lease is lost or the shutdown grace expires: stop and throw. */
  readonly signal: AbortSignal;
  readonly jobId: string;
  readonly logger: Logger;
  /** Keeps the lease for `seconds` from now (e.g. once the input's size is known). */
  extendTo(seconds: number): Promise<void>;
}

export type Handler<T> = (job: T, ctx: HandlerContext) => Promise<void>;

/** What a failed try was, and what the engine does about it. */
export interface FailureVerdict {
  readonly failure: FailureClass;
  /** The job is recorded failed now (the role's `record` is called next). */
  readonly recordFailed: boolean;
}

/**
 * What "record this job failed" means for a role: the engine calls `record` exactly when
 * the failure decision says so (src/domain/failure-decision.ts), never the role itself.
 */
export interface JobFailure<T> {
  /** Writes the job failed for good (its row). A rejection is the try's failure, decided again. */
  record(job: T, err: unknown, ctx: HandlerContext): Promise<void>;
  /** Also when the message's last allowed receive failed (transient), not only on a bad input. */
  lastReceive: boolean;
  /** The role's own line for each failed try (e.g. with its error code), before any record. */
  report?(job: T, err: unknown, verdict: FailureVerdict, ctx: HandlerContext): void;
}

export interface ConsumerOptions<T> {
  role: string;
  queue: Queue;
  /** The body's schema (JSON, then zod), or `parse` for bodies a schema does not describe well. */
  schema?: ZodType<T>;
  parse?: (body: string) => ParseResult<T>;
  handler: Handler<T>;
  /** How the role records a job failed; without it no job is recorded (a bad input is dead-lettered). */
  failed?: JobFailure<T>;
  /** Messages in flight at once (any positive integer). */
  concurrency: number;
  /** Stop once a receive comes back empty with nothing in flight. */
  once?: boolean;
  /** Long-poll wait per receive (default 20, SQS's maximum). */
  waitSeconds?: number;
  /** Visibility of a received message until the handler's lease takes over (default: the queue's own). */
  visibilitySeconds?: number;
  /** `optional`: the queue's own visibility is the lease where the IAM policy refuses extending it (heartbeat.ts extensionOptional). */
  heartbeat?: { intervalSeconds: number; extensionSeconds: number; optional?: boolean };
  /** Lease to set before the handler starts (e.g. calculateInitialTimeout of the input size). */
  initialTimeoutSeconds?: (job: T) => Promise<number> | number;
  /** Release delay in seconds after a retryable failure of delivery `receiveCount`. */
  retryDelay?: (receiveCount: number) => number;
  /** How outages are waited out with the message kept (default OUTAGE_WAIT); false: never. */
  outageWait?: OutageWait | false;
  logger: Logger;
  metrics: Metrics;
  /** Aborted when shutdown starts: stop polling at once. */
  stopping: AbortSignal;
  /** The job id for logs (default: the message id). */
  jobIdOf?: (job: T) => string;
  /** More fields for every line of the job, the consumer's own included (e.g. segment_index). */
  logFieldsOf?: (job: T) => Record<string, unknown>;
  /**
   * How long an aborted job's handler gets, after its release, to clean up (kill FFmpeg,
   * remove its files); default 1.5 s, inside the 2 s the lifecycle allows a stop past the grace.
   */
  abortCleanupMs?: number;
}

export interface Consumer extends Service {
  /** Resolves once polling has ended and nothing is in flight (with `once`: the queue was drained). */
  readonly done: Promise<void>;
}

/** Retry delays: 5 s, 10 s, 20 s … capped at 5 min, with equal jitter so failures spread out. */
export function defaultRetryDelay(receiveCount: number, random: () => number = Math.random): number {
  return Math.ceil(backoffDelayMs(receiveCount, { baseMs: 5000, maxMs: 300_000, jitter: 'equal' }, random) / 1000);
}

/** Ack, release and dead-letter calls that failed on an outage: 0.5 s … 5 s while the lease holds. */
const QUEUE_OP_RETRY = { baseMs: 500, maxMs: 5000, jitter: 'equal' } as const;

/** Receive failures (network, throttling) back off 1 s … 30 s instead of spinning. */
const RECEIVE_BACKOFF = { baseMs: 1000, maxMs: 30_000, jitter: 'equal' } as const;

/**
 * `working`: validating, sizing or running the handler; `settling`: the outcome is being
 * applied (ack, release, DLQ) and is awaited by stop; `aborted`: the deadline took it.
 */
type Phase = 'working' | 'settling' | 'aborted';

interface Job {
  readonly message: QueueMessage;
  jobId: string;
  readonly startedAt: number;
  readonly startedAtIso: string;
  /** Aborted at the shutdown deadline. */
  readonly deadline: AbortController;
  heartbeat: Heartbeat | undefined;
  phase: Phase;
  finished: boolean;
  readonly done: Promise<void>;
  resolveDone: () => void;
  /** The handler and its bookkeeping, settled either way. */
  settled: Promise<void>;
}

/** A failed try carries its class and the decision taken on it. */
type Failed = { ok: false; err: unknown; failure: FailureClass; decision: FailureDecision };
type Outcome = { ok: true } | Failed;

export function createConsumer<T>(opts: ConsumerOptions<T>): Consumer {
  return new QueueConsumer(opts);
}

class QueueConsumer<T> implements Consumer {
  readonly name: string;
  readonly done: Promise<void>;

  readonly #opts: ConsumerOptions<T>;
  readonly #logger: Logger;
  readonly #metrics: ConsumerMetrics;
  readonly #waitSeconds: number;
  readonly #retryDelay: (receiveCount: number) => number;
  readonly #records: RecordsFailed;
  readonly #polling = new AbortController();
  readonly #jobs = new Set<Job>();
  #wakers: Array<() => void> = [];
  readonly #removeReporter: () => void;
  readonly #removeDepth: () => void;
  readonly #onStopping = (): void => this.#stopPolling('shutdown');

  constructor(opts: ConsumerOptions<T>) {
    if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) {
      throw new RangeError(`consumer ${opts.role}: concurrency must be an integer ≥ 1, got ${opts.concurrency}`);
    }
    this.#opts = opts;
    this.name = `consumer:${opts.role}`;
    // The role name on every line, once: run.ts binds it already; a JSON line must not carry the key twice.
    this.#logger = 'role' in opts.logger.bindings() ? opts.logger : opts.logger.child({ role: opts.role });
    this.#metrics = consumerMetrics(opts.metrics, opts.role, opts.concurrency);
    this.#waitSeconds = opts.waitSeconds ?? 20;
    this.#retryDelay = opts.retryDelay ?? ((n) => defaultRetryDelay(n));
    this.#records = !opts.failed ? 'none' : opts.failed.lastReceive ? 'last_receive' : 'bad_input';
    this.#removeReporter = addCurrentJobs(opts.metrics, () => this.#currentJobs());
    // Test doubles of the queue may have no depth.
    this.#removeDepth = typeof opts.queue.depth === 'function' ? reportQueueDepth(opts.metrics, { role: opts.role, queue: opts.queue, logger: this.#logger }) : () => undefined;

    if (opts.stopping.aborted) this.#stopPolling('shutdown');
    else opts.stopping.addEventListener('abort', this.#onStopping, { once: true });

    this.#logger.info(
      { event_type: 'consumer_started', queue: opts.queue.name, concurrency: opts.concurrency, once: opts.once === true },
      `${opts.role}: consuming ${opts.queue.name} (concurrency ${opts.concurrency}${opts.once ? ', once' : ''})`,
    );
    this.done = this.#run();
  }

  async stop(deadline: AbortSignal): Promise<void> {
    this.#stopPolling('stop');
    const onDeadline = (): void => {
      for (const job of this.#jobs) void this.#abortAtDeadline(job, deadline.reason);
    };
    if (deadline.aborted) onDeadline();
    else deadline.addEventListener('abort', onDeadline, { once: true });
    try {
      await this.done;
    } finally {
      deadline.removeEventListener('abort', onDeadline);
    }
  }

  async #run(): Promise<void> {
    try {
      await this.#poll();
    } catch (err) {
      // A bug in the loop itself: stop taking work but still let in-flight jobs end.
      this.#logger.error({ event_type: 'consumer_failed', err }, `${this.#opts.role}: consumer loop failed`);
    }
    while (this.#jobs.size > 0) await Promise.all([...this.#jobs].map((j) => j.done));
    this.#opts.stopping.removeEventListener('abort', this.#onStopping);
    this.#removeReporter();
    this.#removeDepth();
    this.#logger.info({ event_type: 'consumer_stopped', queue: this.#opts.queue.name }, `${this.#opts.role}: consumer stopped`);
  }

  async #poll(): Promise<void> {
    const { queue, concurrency, once } = this.#opts;
    const signal = this.#polling.signal;
    let failures = 0;
    while (!signal.aborted) {
      const free = concurrency - this.#jobs.size;
      if (free <= 0) {
        await this.#changed();
        continue;
      }
      let messages: QueueMessage[];
      try {
        messages = await queue.receive({ max: free, waitSeconds: this.#waitSeconds, visibilitySeconds: this.#opts.visibilitySeconds, signal });
        failures = 0;
      } catch (err) {
        if (signal.aborted) break;
        failures++;
        const delayMs = backoffDelayMs(failures, RECEIVE_BACKOFF);
        this.#logger.warn(
          { event_type: 'receive_failed', queue: queue.name, err, attempt: failures, retry_in_ms: Math.round(delayMs) },
          `${this.#opts.role}: receive failed: ${describeError(err)}`,
        );
        await sleep(delayMs, signal).catch(() => undefined);
        continue;
      }
      if (signal.aborted) {
        // Arrived as the poll was being aborted: hand them straight back.
        await Promise.all(messages.map((m) => this.#queueOp('release', m, () => queue.release(m, 0))));
        break;
      }
      for (const message of messages) this.#start(message);
      if (once && messages.length === 0) {
        if (this.#jobs.size === 0) break;
        // Poll again only once the work in hand is done: an empty poll then means drained.
        while (this.#jobs.size > 0 && !signal.aborted) await this.#changed();
      }
    }
  }

  /** Resolves on the next job completion or stop. */
  #changed(): Promise<void> {
    return new Promise((resolve) => this.#wakers.push(resolve));
  }

  #wake(): void {
    const wakers = this.#wakers;
    this.#wakers = [];
    for (const w of wakers) w();
  }

  #stopPolling(reason: string): void {
    if (this.#polling.signal.aborted) return;
    this.#logger.info({ event_type: 'consumer_stopping', reason, in_flight: this.#jobs.size },
      `${this.#opts.role}: no longer receiving (${reason}); ${this.#jobs.size} job(s) in flight`);
    this.#polling.abort(new Error(`consumer ${this.#opts.role} stopping (${reason})`));
    this.#wake();
  }

  #start(message: QueueMessage): void {
    let resolveDone = (): void => undefined;
    const done = new Promise<void>((resolve) => {
      resolveDone = resolve;
    });
    const job: Job = {
      message,
      jobId: message.id,
      startedAt: performance.now(),
      startedAtIso: new Date().toISOString(),
      deadline: new AbortController(),
      heartbeat: undefined,
      phase: 'working',
      finished: false,
      done,
      resolveDone,
      settled: Promise.resolve(),
    };
    this.#jobs.add(job);
    this.#metrics.received.inc();
    this.#metrics.inFlight.inc();
    jobStarted(this.#opts.metrics);
    // Redeliveries would count retry delays and leases as waiting: the first receive only.
    if (message.sentAt !== undefined && message.receiveCount === 1) this.#metrics.queueLag.observe(Math.max(0, Date.now() - message.sentAt) / 1000);
    job.settled = this.#process(job).then(
      // An aborted job leaves when #abortAtDeadline has released its message: finishing it
      // here, as its handler returns, would let stop() (and the process) end before the release.
      () => { if (job.phase !== 'aborted') this.#finish(job); },
      (err: unknown) => {
        // Every expected failure is handled inside; this is a bug, not a job failure.
        this.#logger.error({ event_type: 'job_crashed', job_id: job.jobId, message_id: message.id, err }, 'job bookkeeping failed');
        this.#finish(job);
      },
    );
  }

  /** Leaves the in-flight set exactly once (a deadline release finishes before the handler returns). */
  #finish(job: Job): void {
    if (job.finished) return;
    job.finished = true;
    this.#jobs.delete(job);
    this.#metrics.inFlight.dec();
    jobEnded(this.#opts.metrics);
    job.resolveDone();
    this.#wake();
  }

  async #process(job: Job): Promise<void> {
    const { queue, role } = this.#opts;
    const { message } = job;

    const parsed = this.#parse(message.body);
    if (!parsed.ok) {
      job.phase = 'settling';
      this.#logger.warn(
        { event_type: 'message_invalid', queue: queue.name, message_id: message.id, receive_count: message.receiveCount, reason: parsed.reason },
        `${role}: invalid message ${message.id}: ${parsed.reason}`,
      );
      await this.#deadLetter(message, `invalid message: ${parsed.reason}`, this.#logger);
      return;
    }
    const value = parsed.value;
    job.jobId = this.#jobIdOf(value, message);
    const fields = this.#logFieldsOf(value);
    const logger = this.#logger.child({ job_id: job.jobId, message_id: message.id, ...fields });
    const lag = message.sentAt === undefined ? {} : { queue_lag_seconds: round(Math.max(0, Date.now() - message.sentAt) / 1000) };
    logger.info({ event_type: 'job_started', receive_count: message.receiveCount, ...lag }, `${role}: job ${job.jobId} started`);

    let outcome: Outcome;
    try {
      const initial = this.#opts.initialTimeoutSeconds ? await this.#opts.initialTimeoutSeconds(value) : undefined;
      if (job.phase !== 'working') return; // the deadline came while sizing; already released
      const hb = startHeartbeat({
        queue,
        message,
        jobId: job.jobId,
        intervalSeconds: this.#opts.heartbeat?.intervalSeconds,
        extensionSeconds: this.#opts.heartbeat?.extensionSeconds,
        extensionOptional: this.#opts.heartbeat?.optional,
        // What the receive asked for; without it the heartbeat assumes one extension's worth.
        leaseSeconds: this.#opts.visibilitySeconds,
        // It writes job_id and message_id itself.
        logger: Object.keys(fields).length > 0 ? this.#logger.child(fields) : this.#logger,
        onExtended: () => this.#metrics.heartbeatExtensions.inc(),
      });
      job.heartbeat = hb;
      // Awaited (not left to the heartbeat) so the handler starts with the lease in place.
      if (initial !== undefined) await hb.extend(initial);
      if (job.phase !== 'working') return;
      hb.signal.throwIfAborted();
      const signal = AbortSignal.any([job.deadline.signal, hb.signal]);
      outcome = await this.#runHandler(value, job, signal, logger);
    } catch (err) {
      // Sizing the lease or starting the heartbeat failed: no try ran, so nothing to wait on or record.
      outcome = this.#decide(job, err, false);
    }
    if (job.phase !== 'working') return; // the deadline took it: released, outcome ignored
    job.phase = 'settling';
    await this.#settle(job, outcome, logger);
  }

  /**
   * The handler, run again on the same receive while it fails on an outage: the message kept
   * and its lease extended, so the outage costs no receive. Shutdown ends the wait.
   */
  async #runHandler(value: T, job: Job, signal: AbortSignal, logger: Logger): Promise<Outcome> {
    const { role } = this.#opts;
    const { message } = job;
    const hb = job.heartbeat!;
    const heldSince = performance.now();
    const wait = this.#opts.outageWait ?? OUTAGE_WAIT;
    for (let tries = 1; ; tries++) {
      // A fresh context per try: what a role keeps of a try (a hold) must not reach the next.
      const ctx: HandlerContext = { message, signal, jobId: job.jobId, logger, extendTo: (seconds) => hb.extend(seconds) };
      let err: unknown;
      try {
        await this.#opts.handler(value, ctx);
        return { ok: true };
      } catch (e) {
        err = e;
      }
      const delay = wait === false ? null : outageDelayMs(tries, (performance.now() - heldSince) / 1000, wait);
      const outcome = await this.#failedTry(value, job, err, ctx, delay !== null);
      if (outcome.decision.message !== 'wait' || delay === null) return outcome;
      this.#metrics.outageWaits.inc();
      logger.warn(
        { event_type: 'job_waiting', try: tries, retry_in_ms: Math.round(delay), held_seconds: round((performance.now() - heldSince) / 1000), reason: describeError(outcome.err), err: outcome.err },
        `${role}: job ${job.jobId} hit an outage (${describeError(outcome.err)}); keeping its message and trying again in ${Math.round(delay / 100) / 10} s`,
      );
      await sleep(delay, AbortSignal.any([signal, this.#opts.stopping])).catch(() => undefined);
      // The lease lost or the worker stopping meanwhile: decided again on the same error.
      if (signal.aborted || this.#opts.stopping.aborted) return this.#decide(job, outcome.err, false);
    }
  }

  /** Classifies and decides a failed try, tells the role, and records the job failed when the decision says so. */
  async #failedTry(value: T, job: Job, err: unknown, ctx: HandlerContext, outageBudgetLeft: boolean): Promise<Failed> {
    const outcome = this.#decide(job, err, outageBudgetLeft);
    const failed = this.#opts.failed;
    if (!failed) return outcome;
    failed.report?.(value, err, { failure: outcome.failure, recordFailed: outcome.decision.recordFailed }, ctx);
    if (!outcome.decision.recordFailed) return outcome;
    try {
      await failed.record(value, err, ctx);
      return outcome;
    } catch (recordErr) {
      // Recording is part of the try: its failure is the try's (an outage of the database is
      // waited out and the job run again), decided with no second record.
      const again = this.#decide(job, recordErr, outageBudgetLeft);
      return { ...again, decision: { ...again.decision, recordFailed: false } };
    }
  }

  /** The one classification and decision (src/domain/failure*.ts), from this delivery's facts. */
  #decide(job: Job, err: unknown, outageBudgetLeft: boolean): Failed {
    const failure = classifyFailure(err, { leaseLost: job.heartbeat?.signal.aborted === true, aborted: job.deadline.signal.aborted });
    const decision = decideFailure({
      failure, receiveCount: job.message.receiveCount, maxReceiveCount: this.#opts.queue.maxReceiveCount,
      stopping: this.#opts.stopping.aborted, outageBudgetLeft, records: this.#records,
    });
    return { ok: false, err, failure, decision };
  }

  async #settle(job: Job, outcome: Outcome, logger: Logger): Promise<void> {
    const { queue, role } = this.#opts;
    const { message } = job;
    const hb = job.heartbeat;
    const seconds = (performance.now() - job.startedAt) / 1000;

    // Stop the heartbeat (awaiting an extension in flight) before touching the message.
    const stopHeartbeat = async (reason: HeartbeatStopReason): Promise<boolean> => {
      if (hb) await hb.stop(reason);
      if (!hb?.signal.aborted) return true;
      this.#leaseLost(job, logger, seconds, outcome.ok ? undefined : outcome.err);
      return false;
    };
    const acked = async (): Promise<boolean> => (await stopHeartbeat('acked')) && this.#queueOp('ack', message, () => queue.ack(message), logger, hb?.leaseUntil());

    if (outcome.ok) {
      if (!(await acked())) return;
      this.#succeeded(job, logger, seconds);
      return;
    }

    const { err, failure, decision } = outcome;
    // The lease may have gone since the decision (while the job was recorded, say).
    if (hb?.signal.aborted || decision.message === 'leave') {
      await hb?.stop('aborted');
      this.#leaseLost(job, logger, seconds, err);
      return;
    }
    const reason = describeError(err);
    const max = queue.maxReceiveCount;
    switch (decision.message) {
      case 'give_back':
        // Stopping while waiting out an outage (or aborted): not the job's failure, back for the next worker at once.
        if (!(await stopHeartbeat('released'))) return;
        logger.warn({ event_type: 'job_released', reason, duration_seconds: round(seconds) },
          `${role}: job ${job.jobId} released at shutdown while waiting out an outage`);
        await this.#queueOp('release', message, () => queue.release(message, 0), logger, hb?.leaseUntil());
        return;
      case 'ack':
        if (failure === 'superseded') {
          // Another delivery has the job now: this message is handled.
          if (await acked()) this.#succeeded(job, logger, seconds);
          return;
        }
        // A bad input, recorded failed by the role: nothing more a retry could do.
        if (!(await acked())) return;
        this.#metrics.failed.inc();
        this.#metrics.duration.observe({ role, outcome: 'failed' }, seconds);
        logger.warn(
          { event_type: 'job_failed', permanent: true, recorded: true, receive_count: message.receiveCount, max_receive_count: max, reason, duration_seconds: round(seconds) },
          `${role}: job ${job.jobId} failed on its input, recorded failed; message acked: ${reason}`,
        );
        return;
      case 'dead_letter': {
        this.#metrics.failed.inc();
        this.#metrics.duration.observe({ role, outcome: 'failed' }, seconds);
        if (!(await stopHeartbeat('dead_lettered'))) return;
        const permanent = failure === 'bad_message' || failure === 'bad_input';
        const dlqReason = permanent ? reason : `failed on receive ${message.receiveCount} of ${max}: ${reason}`;
        logger.error(
          { event_type: 'job_failed', permanent, recorded: decision.recordFailed, receive_count: message.receiveCount, max_receive_count: max, reason, err, duration_seconds: round(seconds) },
          `${role}: job ${job.jobId} failed${permanent ? ' permanently' : ` on its last receive (${message.receiveCount}/${max})`}: ${reason}`,
        );
        await this.#deadLetter(message, dlqReason, logger, hb?.leaseUntil());
        return;
      }
      case 'retry':
      case 'wait': { // never settled as such: #runHandler waits, and decides again when it cannot
        this.#metrics.failed.inc();
        this.#metrics.duration.observe({ role, outcome: 'failed' }, seconds);
        const delaySeconds = Math.max(0, Math.round(this.#retryDelay(message.receiveCount)));
        if (!(await stopHeartbeat('released'))) return;
        logger.warn(
          { event_type: 'job_retry', receive_count: message.receiveCount, max_receive_count: max, delay_seconds: delaySeconds, reason, err, duration_seconds: round(seconds) },
          `${role}: job ${job.jobId} failed (receive ${message.receiveCount}); retrying in ${delaySeconds} s: ${reason}`,
        );
        if (await this.#queueOp('release', message, () => queue.release(message, delaySeconds), logger, hb?.leaseUntil())) this.#metrics.retried.inc();
        return;
      }
    }
  }

  #succeeded(job: Job, logger: Logger, seconds: number): void {
    const { role } = this.#opts;
    this.#metrics.succeeded.inc();
    this.#metrics.duration.observe({ role, outcome: 'succeeded' }, seconds);
    logger.info({ event_type: 'job_succeeded', duration_seconds: round(seconds) }, `${role}: job ${job.jobId} succeeded in ${round(seconds)} s`);
  }

  #leaseLost(job: Job, logger: Logger, seconds: number, err: unknown): void {
    this.#metrics.leaseLost.inc();
    this.#metrics.duration.observe({ role: this.#opts.role, outcome: 'lease_lost' }, seconds);
    logger.warn(
      { event_type: 'job_lease_lost', reason: describeError(job.heartbeat?.signal.reason), err, duration_seconds: round(seconds) },
      `${this.#opts.role}: lost the lease on job ${job.jobId}; leaving the message to its new owner`,
    );
  }

  /** The grace expired: abort the job and give its message back at once (its outcome no longer counts). */
  async #abortAtDeadline(job: Job, reason: unknown): Promise<void> {
    if (job.phase !== 'working') return;
    job.phase = 'aborted';
    job.deadline.abort(reason);
    const { queue, role } = this.#opts;
    const logger = this.#logger.child({ job_id: job.jobId, message_id: job.message.id });
    const hb = job.heartbeat;
    if (hb) await hb.stop('aborted');
    const seconds = (performance.now() - job.startedAt) / 1000;
    if (hb?.signal.aborted) {
      this.#leaseLost(job, logger, seconds, reason);
    } else {
      logger.warn({ event_type: 'job_aborted', reason: 'shutdown grace expired', duration_seconds: round(seconds) },
        `${role}: job ${job.jobId} aborted at the shutdown deadline; releasing its message`);
      if (await this.#queueOp('release', job.message, () => queue.release(job.message, 0), logger)) {
        this.#metrics.duration.observe({ role, outcome: 'aborted' }, seconds);
      }
    }
    // The message is back already; now let the handler's own clean-up (its FFmpeg, its work
    // directory) run before the process may exit, but never wait on a handler that ignores its signal.
    const cleanup = new AbortController();
    await Promise.race([job.settled, sleep(this.#opts.abortCleanupMs ?? 1_500, cleanup.signal).catch(() => undefined)]);
    cleanup.abort();
    this.#finish(job);
  }

  /**
   * To the DLQ with the reason. A queue without one (no RedrivePolicy) cannot keep the
   * message anywhere: it is logged with the reason and deleted, as the Python worker does,
   * rather than redelivered forever.
   */
  async #deadLetter(message: QueueMessage, reason: string, logger: Logger, until?: number): Promise<void> {
    const { queue, role } = this.#opts;
    if (queue.maxReceiveCount === null) {
      logger.error({ event_type: 'message_discarded', queue: queue.name, message_id: message.id, reason, body: message.body.slice(0, 1000) },
        `${role}: ${queue.name} has no dead-letter queue; deleting message ${message.id}: ${reason}`);
      if (await this.#queueOp('ack', message, () => queue.ack(message), logger, until)) this.#metrics.discarded.inc();
      return;
    }
    if (await this.#queueOp('deadLetter', message, () => queue.deadLetter(message, reason), logger, until)) this.#metrics.deadLettered.inc();
  }

  /**
   * Runs a queue call; a failure is logged (the message comes back after its timeout) and
   * resolves false. With `until` (the lease's end), an outage of the queue is retried while
   * the lease holds: an ack lost to a 30 s SQS outage would have the finished job redone.
   */
  async #queueOp(op: string, message: QueueMessage, call: () => Promise<void>, logger: Logger = this.#logger, until?: number): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await call();
        return true;
      } catch (err) {
        const delayMs = backoffDelayMs(attempt, QUEUE_OP_RETRY);
        if (until !== undefined && isOutage(err) && Date.now() + delayMs < until) {
          logger.warn(
            { event_type: 'queue_operation_retry', queue: this.#opts.queue.name, operation: op, message_id: message.id, attempt, retry_in_ms: Math.round(delayMs), lease_left_ms: until - Date.now(), err },
            `${this.#opts.role}: ${op} of message ${message.id} failed (${describeError(err)}); retrying while its lease holds`,
          );
          await sleep(delayMs);
          continue;
        }
        logger.error(
          { event_type: 'queue_operation_failed', queue: this.#opts.queue.name, operation: op, message_id: message.id, attempt, err },
          `${this.#opts.role}: ${op} of message ${message.id} failed: ${describeError(err)}`,
        );
        return false;
      }
    }
  }

  #parse(body: string): ParseResult<T> {
    const { parse, schema } = this.#opts;
    if (parse) return parse(body);
    if (schema) return parseMessageBody(body, schema);
    throw new Error(`consumer ${this.#opts.role}: neither schema nor parse given`);
  }

  #logFieldsOf(value: T): Record<string, unknown> {
    try {
      return this.#opts.logFieldsOf?.(value) ?? {};
    } catch {
      return {};
    }
  }

  #jobIdOf(value: T, message: QueueMessage): string {
    if (!this.#opts.jobIdOf) return message.id;
    try {
      return this.#opts.jobIdOf(value) || message.id;
    } catch {
      return message.id;
    }
  }

  #currentJobs(): unknown[] {
    const now = performance.now();
    return [...this.#jobs].map((j) => ({
      role: this.#opts.role,
      job_id: j.jobId,
      message_id: j.message.id,
      receive_count: j.message.receiveCount,
      started_at: j.startedAtIso,
      seconds: round((now - j.startedAt) / 1000),
      phase: j.phase,
    }));
  }
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
