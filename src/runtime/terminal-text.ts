// Text from outside (a queue message, a row, an error from a service) shown on a terminal:
// control characters made visible, so a body carrying `\x1b]0;…\x07` (set the window title),
// `\x1b[2J` (clear the screen) or their 8-bit forms (U+009B CSI…) cannot drive the terminal,
// and bidirectional overrides cannot reorder what is shown.

const NAMED: Record<number, string> = { 0x0a: '\\n', 0x09: '\\t', 0x0d: '\\r' };

/** C0, DEL, C1, and the bidi embeddings, overrides and isolates; tab and newline only when `escapeLines`. */
function isControl(code: number, escapeLines: boolean): boolean {
  if (code === 0x0a || code === 0x09) return escapeLines;
  return code < 0x20 || (code >= 0x7f && code <= 0x9f) || (code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069);
}

function escapeCode(code: number): string {
  return NAMED[code] ?? (code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
}

/**
 * `text` with each control character as an escape (`\x1b`, `\r`, `\u202e`). Newlines and
 * tabs stay as they are when `multiline` (output that is multi-line by design), else they
 * are escaped too (`\n`, `\t`).
 */
export function escapeControlChars(text: string, opts: { multiline?: boolean } = {}): string {
  const escapeLines = opts.multiline !== true;
  let out = '';
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (!isControl(code, escapeLines)) continue;
    out += text.slice(from, i) + escapeCode(code);
    from = i + 1;
  }
  return from === 0 ? text : out + text.slice(from);
}

/** Whether `text` holds a character escapeControlChars would escape (newlines and tabs included). */
export function hasControlChars(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (isControl(text.charCodeAt(i), true)) return true;
  return false;
}

/**
 * A JSON text with the characters JSON.stringify leaves raw but a terminal obeys (DEL, C1,
 * bidi) as \u escapes: still the same JSON value.
 */
export function terminalSafeJson(json: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < json.length; i++) {
    const code = json.charCodeAt(i);
    if (code < 0x7f || !isControl(code, false)) continue;
    out += `${json.slice(from, i)}\\u${code.toString(16).padStart(4, '0')}`;
    from = i + 1;
  }
  return from === 0 ? json : out + json.slice(from);
}
