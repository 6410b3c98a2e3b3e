// The key=value rendering the human-readable line formats share (pretty.ts on a terminal,
// text.ts for stereo-spot's log format): logged text comes from outside (message bodies,
// rows, service errors), so every key and value has its control characters escaped and a
// line stays one line.
import { escapeControlChars, hasControlChars } from '../terminal-text.js';

/** Nested objects as dotted keys, so a line carries no JSON braces; top-level keys in `skip` are left out. */
export function* flattenFields(obj: Record<string, unknown>, skip: ReadonlySet<string>, prefix = ''): Generator<[string, string]> {
  for (const [key, value] of Object.entries(obj)) {
    if (prefix === '' && skip.has(key)) continue;
    const name = prefix ? `${prefix}.${escapeControlChars(key)}` : escapeControlChars(key);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      yield* flattenFields(value as Record<string, unknown>, skip, name);
    } else {
      yield [name, Array.isArray(value) ? value.map(fieldText).join(',') : fieldText(value)];
    }
  }
}

/** Bare when unambiguous, quoted when it has spaces, quotes, `=` or control characters (escaped). */
export function fieldText(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'object') return escapeControlChars(JSON.stringify(value));
  const s = String(value);
  return s === '' || /[\s"=]/.test(s) || hasControlChars(s) ? `"${escapeControlChars(s.replace(/[\\"]/g, '\\$&'))}"` : s;
}
