// Errors as the engine writes them in logs and dead-letter reasons. What a failure means is
// src/domain/failure.ts; the errors a role or adapter throws to say so, src/ports/errors.ts.

/** One line for logs and dead-letter reasons. */
export function errorMessage(err: unknown): string {
  const text = err instanceof Error ? `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}` : String(err);
  return text.replace(/\s*\n\s*/g, ' ').slice(0, 1000);
}
