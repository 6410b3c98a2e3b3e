// An error in words, for logs, dead-letter reasons and rows (issue 21: one helper instead of a
// copy per file). What a failure means is src/domain/failure.ts; the errors a role or adapter
// throws to say so, src/ports/errors.ts.

/** One line for logs and dead-letter reasons: `Name: message` (no name for a plain Error), newlines folded, at most 1000 characters. */
export function describeError(err: unknown): string {
  const text = err instanceof Error ? `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}` : String(err);
  return text.replace(/\s*\n\s*/g, ' ').slice(0, 1000);
}

/** An error's own message as it is (a thrown non-Error as text), for callers that shape it themselves. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
