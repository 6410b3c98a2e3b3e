// How a handler tells the engine what a failure means. A PermanentError goes to the
// dead-letter queue at once (retrying cannot help: a missing input, a corrupt file);
// anything else is retryable: the message is released with a backoff delay and comes
// back until the queue's maxReceiveCount is reached.

export type FailureKind = 'permanent' | 'retryable';

export class PermanentError extends Error {
  readonly permanent = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentError';
  }
}

/** Explicitly retryable; the default for any error, so this mostly documents intent. */
export class RetryableError extends Error {
  readonly permanent = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RetryableError';
  }
}

/**
 * `permanent` for a PermanentError or any error carrying `permanent: true` (so an error
 * from another copy of this module, or a library that marks its own, still counts).
 */
export function classifyError(err: unknown): FailureKind {
  if (err instanceof PermanentError) return 'permanent';
  if (typeof err === 'object' && err !== null && (err as { permanent?: unknown }).permanent === true) return 'permanent';
  return 'retryable';
}

/** One line for logs and dead-letter reasons. */
export function errorMessage(err: unknown): string {
  const text = err instanceof Error ? `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}` : String(err);
  return text.replace(/\s*\n\s*/g, ' ').slice(0, 1000);
}
