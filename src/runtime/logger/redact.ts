// Secrets never reach stdout or Axiom. Two nets: by key name on the logged object (before
// serialisation, so any depth), and by value on the finished line (createRedactor, the one
// /health and the error lines use too: secrets inside messages, error texts and stacks).
import { pino } from 'pino';
import { isSecretName } from '../config/redact.js';
import { REDACTED, createRedactor, redactText } from '../redact.js';

export { REDACTED, createRedactor };

const MAX_DEPTH = 12;

/** Secret-looking key, also in header (`x-api-key`) and camelCase (`accessKeyId`) spelling. */
export function isSecretKey(key: string): boolean {
  if (isSecretName(key)) return true;
  const snake = key.replace(/-/g, '_').replace(/([a-z0-9])([A-Z])/g, '$1_$2');
  return snake !== key && isSecretName(snake);
}

/**
 * A copy of a logged object with secret-named keys masked at any depth, URL passwords masked,
 * and errors serialised (`type`, `message`, `stack`, own fields) so their fields are checked
 * too. Never mutates the caller's object. Used as pino's `formatters.log` and `.bindings`.
 */
export function redactObject<T extends object>(obj: T): T {
  return walk(obj, 0, new WeakSet()) as T;
}

function walk(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[Object]';
  seen.add(value);
  try {
    if (isError(value)) return walk(pino.stdSerializers.err(value), depth, seen);
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') {
      // Dates, URLs, Buffers…: what JSON.stringify would print, then checked like the rest.
      return walk(toJSON.call(value), depth + 1, seen);
    }
    if (Array.isArray(value)) return value.map((v) => walk(v, depth + 1, seen));
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      const v = (value as Record<string, unknown>)[key];
      out[key] = isSecretKey(key) && v !== undefined && v !== null && typeof v !== 'boolean'
        ? REDACTED
        : walk(v, depth + 1, seen);
    }
    return out;
  } finally {
    // Only ancestors count as cycles; the same object twice side by side is fine.
    seen.delete(value);
  }
}

// Also errors from another realm (vm contexts, test runners), where instanceof fails.
function isError(value: object): value is Error {
  return value instanceof Error || Object.prototype.toString.call(value) === '[object Error]';
}
