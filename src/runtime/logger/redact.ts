// Secrets never reach stdout or Axiom. Two nets: by key name on the logged object (before
// serialisation, so any depth), and by value on the finished line (catches secrets inside
// messages, error texts and stacks, whatever the key).
import { pino } from 'pino';
import { REDACTED, isSecretName, redactUrlPassword } from '../config/redact.js';

export { REDACTED };

const MIN_SECRET_LENGTH = 4; // shorter values would blank out ordinary words and numbers
const MAX_DEPTH = 12;

/** `(line) => line` with every occurrence of each secret value replaced by `[REDACTED]`. */
export function createRedactor(secretValues: readonly string[]): (line: string) => string {
  const forms = new Set<string>();
  for (const secret of secretValues) {
    if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) continue;
    forms.add(secret);
    forms.add(JSON.stringify(secret).slice(1, -1)); // as it appears inside a JSON line
    forms.add(encodeURIComponent(secret)); // as it appears inside a URL
  }
  // Longest first, so a secret containing another one is replaced whole.
  const alternatives = [...forms].sort((a, b) => b.length - a.length).map(escapeRegExp);
  const secrets = alternatives.length > 0 ? new RegExp(alternatives.join('|'), 'g') : null;
  return (line) => maskUrlPasswords(secrets ? line.replace(secrets, REDACTED) : line);
}

// `scheme://user:password@host` anywhere in a line (a message, a stack); stops at a quote so
// it never runs across JSON fields.
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^/@:\s"]*:)([^@/\s"]+)@/gi;

function maskUrlPasswords(line: string): string {
  return line.includes('://') ? line.replace(URL_PASSWORD, `$1${REDACTED}@`) : line;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

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
  if (typeof value === 'string') return redactUrlPassword(value);
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
