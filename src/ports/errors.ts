// The errors of the port contract: what an adapter throws and a role or the engine reads.
// Each names its failure class (src/domain/failure.ts) in `failureClass`, so the one
// classification reads a plain field and needs no import of this file.
import type { FailureClass } from '../domain/failure.js';

/** The lease on a message is gone (expired and taken by another worker, or acked). */
export class LeaseLostError extends Error {
  readonly failureClass: FailureClass = 'lease_lost';
  constructor(message: string) {
    super(message);
    this.name = 'LeaseLostError';
  }
}

/** The job is no longer held with this token: another delivery took it over. Stop, change nothing, ack. */
export class HoldLostError extends Error {
  readonly failureClass: FailureClass = 'superseded';
  constructor(message: string) {
    super(message);
    this.name = 'HoldLostError';
  }
}

/**
 * The message can never be worked on (a key that is no segment key, a job that is not the
 * one in the table): dead-lettered at once with the reason; no job is recorded failed.
 * The name stays in dead-letter reasons ("PermanentError: …") that operators read.
 */
export class PermanentError extends Error {
  readonly failureClass: FailureClass = 'bad_message';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentError';
  }
}

/**
 * The job's input can never be processed (not a video, over a limit, refused by the model):
 * the job is recorded failed once and its message acked, no retry.
 */
export class InvalidInputError extends Error {
  readonly failureClass: FailureClass = 'bad_input';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InvalidInputError';
  }
}

/** Not yet (the job is not ready, an object not there yet): retried with backoff, as any error is by default. */
export class RetryableError extends Error {
  readonly failureClass: FailureClass = 'transient';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RetryableError';
  }
}

/**
 * What a database adapter (MediaDb, PipelineDb) throws. `transient` says whether another
 * attempt can succeed (network, 5xx, a lost race) or never will (no such row, no such table).
 */
export class DbError extends Error {
  override readonly name = 'DbError';
  readonly table: string;
  readonly transient: boolean;
  /** HTTP status of the PostgREST response; 0 when none came back (network, timeout). */
  readonly status: number | null;
  /** PostgREST's or Postgres's error code (PGRST116, 23514, …) when it sent one. */
  readonly code: string | null;

  constructor(table: string, message: string, opts: { transient?: boolean; status?: number | null; code?: string | null; cause?: unknown } = {}) {
    super(`${table}: ${message}`, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.table = table;
    this.transient = opts.transient ?? true;
    this.status = opts.status ?? null;
    this.code = opts.code ?? null;
  }
}
