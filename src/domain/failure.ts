// One classification of every failure a role or an adapter can meet (issue 21, DESIGN §2
// "Failure, in one place"). Pure: it reads plain fields of the error and of its causes (a
// port error's `failureClass`, FfmpegError's `reason`/`exitCode`/`refused`, a socket `code`,
// an HTTP status or AWS `$metadata`, a name), nearest layer first, and the first layer with
// a word on it decides. What becomes of the message and the job: failure-decision.ts.
//
// - bad_message: the message can never be worked on (no such key, the wrong job): to the DLQ.
// - bad_input: the job's input can never be processed (not a video, over a limit, FFmpeg
//   exited cleanly on it): the job is recorded failed once.
// - outage: the service a call went to did not answer, or said it is unavailable: waited
//   out on the same receive.
// - transient: anything else: retried with backoff (the default).
// - lease_lost: the message is someone else's now. superseded: the job is (another
//   delivery took it over). aborted: the shutdown deadline took the job.
import { isAccessDenied, isCredentialError } from './aws-error-codes.js';

export const FAILURE_CLASSES = ['bad_message', 'bad_input', 'outage', 'transient', 'lease_lost', 'superseded', 'aborted'] as const;
export type FailureClass = (typeof FAILURE_CLASSES)[number];

/** What the engine knows besides the error; its own signals win over whatever the error says. */
export interface EngineFacts {
  /** The heartbeat lost the message's lease (an FFmpeg killed for it exits like a bad input would). */
  leaseLost?: boolean;
  /** The shutdown deadline aborted the job. */
  aborted?: boolean;
}

export function classifyFailure(err: unknown, facts: EngineFacts = {}): FailureClass {
  if (facts.leaseLost) return 'lease_lost';
  if (facts.aborted) return 'aborted';
  return nearest(err, layerClass) ?? 'transient';
}

/** Whether `err` is an outage of the service a call went to: the job is not at fault (outage-wait.ts). */
export function isOutage(err: unknown): boolean {
  return classifyFailure(err) === 'outage';
}

/**
 * FFmpeg could not write (ENOSPC): the work disk's trouble, not the input's, though FFmpeg
 * exits cleanly with it.
 */
export function isDiskFull(text: string): boolean {
  return /No space left on device|ENOSPC/i.test(text);
}

/** A socket-level failure anywhere in `err`'s cause chain: the connection broke or never came. */
export function isNetworkError(err: unknown): boolean {
  return nearest(err, (e) => (socketFailed(e) || e.name === 'TimeoutError' ? true : undefined)) ?? false;
}

/** The service answered that these credentials are not accepted (401/403, or an AWS credential code). */
export function isRefusedCredential(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const status = statusOf(err as Layer);
  return status === 401 || status === 403 || isCredentialError(err);
}

/**
 * Whether `err` says the dependency is unusable, for /health: unreachable (connection refused,
 * reset, timed out, a 5xx) or refusing our credentials (401/403). Errors with an answer in
 * them (a missing object, a failed condition, a lost lease, one call the IAM policy refuses) say it is up.
 */
export function isDependencyFailure(err: unknown): boolean {
  return nearest(err, (e) => {
    // The policy refuses one call (a task role made for the Python workers): the service
    // answered, and accepted the credentials; the role does without the call.
    if (isAccessDenied(e)) return false;
    if (socketFailed(e) || (typeof e.name === 'string' && UNREACHABLE_NAMES.has(e.name)) || isRefusedCredential(e) || noPostgrestAnswer(e)) return true;
    const status = statusOf(e);
    return status === undefined ? undefined : status >= 500;
  }) ?? false;
}

type Layer = Record<string, unknown>;

/** The first verdict `test` gives on `err` or its causes (5 deep), nearest first; undefined when none has one. */
function nearest<V>(err: unknown, test: (e: Layer) => V | undefined, depth = 0): V | undefined {
  if (typeof err !== 'object' || err === null || depth > 4) return undefined;
  const e = err as Layer;
  return test(e) ?? nearest(e.cause, test, depth + 1);
}

function layerClass(e: Layer): FailureClass | undefined {
  // The port errors (and a role's own) say what they are.
  if (typeof e.failureClass === 'string' && (FAILURE_CLASSES as readonly string[]).includes(e.failureClass)) return e.failureClass as FailureClass;
  if (e.name === 'FfmpegError') return ffmpegClass(e);
  if (socketFailed(e) || (typeof e.name === 'string' && OUTAGE_NAMES.has(e.name)) || noPostgrestAnswer(e)) return 'outage';
  // A definite answer: a 4xx (or a 500 about this request) is not waited out, whatever its cause.
  const status = statusOf(e);
  if (status !== undefined) return OUTAGE_STATUSES.has(status) ? 'outage' : 'transient';
  return undefined;
}

/**
 * A clean exit (a code, not a signal) on the input is the input's fault, for every role:
 * refused by the container allow-list, or unreadable. A stall, an abort, a kill (the OOM
 * killer), a missing binary or a full disk is this worker's trouble: another try can succeed.
 */
function ffmpegClass(e: Layer): FailureClass {
  if (typeof e.refused === 'string') return 'bad_input';
  const diskFull = typeof e.stderrTail === 'string' && isDiskFull(e.stderrTail);
  return e.reason === 'exit' && typeof e.exitCode === 'number' && !diskFull ? 'bad_input' : 'transient';
}

// Node's and undici's socket-level codes: nothing answered.
const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH',
  'ENETUNREACH', 'ECONNABORTED', 'ESOCKETTIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED',
]);
// For /health: the service is unusable.
const UNREACHABLE_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RedisUnavailableError', 'ServiceUnavailable', 'InternalError']);
// For the engine: only "nobody answered" or "the service says it is unavailable": a 500 is an
// answer about this request (an inference server rejecting a segment), and must not be waited out.
const OUTAGE_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RedisUnavailableError', 'ServiceUnavailable', 'SlowDown']);
const OUTAGE_STATUSES = new Set([502, 503, 504]);

const socketFailed = (e: Layer): boolean => typeof e.code === 'string' && NETWORK_CODES.has(e.code);
// PostgREST/supabase-js: no status at all when nothing came back.
const noPostgrestAnswer = (e: Layer): boolean => e.name === 'DbError' && e.status === 0;

function statusOf(e: Layer): number | undefined {
  const meta = e.$metadata as { httpStatusCode?: unknown } | undefined;
  const s = meta?.httpStatusCode ?? e.status ?? e.statusCode;
  return typeof s === 'number' && s > 0 ? s : undefined;
}
