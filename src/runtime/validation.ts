// Message bodies are JSON checked against a zod schema before any work (DESIGN §4): an
// invalid one is dead-lettered with a one-line reason instead of failing every retry.
import type { ZodType } from 'zod';

export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Longest reason kept: a DLQ attribute and a log line, not a dump of the body. */
const MAX_REASON = 500;

export function parseMessageBody<T>(body: string, schema: ZodType<T>): ParseResult<T> {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (err) {
    return { ok: false, reason: clip(`invalid JSON: ${err instanceof Error ? err.message : String(err)}`) };
  }
  const result = schema.safeParse(json);
  if (result.success) return { ok: true, value: result.data };
  const issues = result.error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    return path ? `${path}: ${issue.message}` : issue.message;
  });
  return { ok: false, reason: clip(`schema: ${issues.join('; ')}`) };
}

function clip(text: string): string {
  const line = text.replace(/\s*\n\s*/g, ' ');
  return line.length > MAX_REASON ? `${line.slice(0, MAX_REASON - 1)}…` : line;
}
