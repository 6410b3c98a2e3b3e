// Human-readable lines for a terminal (pino-pretty would be a transport, which a SEA cannot
// load): `HH:MM:SS.mmm LEVEL event_type job=… message key=value …`. Logged text comes from
// outside (message bodies, rows, service errors): its control characters are shown escaped,
// never sent to the terminal, and only the stack keeps its line breaks.
import { escapeControlChars } from '../terminal-text.js';
import { fieldText as text, flattenFields } from './fields.js';

export interface PrettyOptions {
  /** ANSI colours; default: on unless `NO_COLOR` is set (https://no-color.org). */
  colors?: boolean;
  /** Print error stacks; checked per line so a runtime level change takes effect. */
  showStack?: () => boolean;
}

const RESET = '\x1b[0m';
const DIM = '\x1b[2m';
const COLORS: Record<string, string> = {
  trace: '\x1b[90m',
  debug: '\x1b[36m',
  info: '\x1b[32m',
  warning: '\x1b[33m',
  error: '\x1b[31m',
  fatal: '\x1b[1;35m',
};

// Shown elsewhere on the line, or noise on a terminal.
const SKIP = new Set(['timestamp', 'environment', 'severity', 'event_type', 'job_id', 'message', 'err', '_time']);

/** `(jsonLine) => prettyLine` (both newline-terminated); unparseable input passes through. */
export function createPrettyFormatter(opts: PrettyOptions = {}): (line: string) => string {
  const colors = opts.colors ?? !process.env.NO_COLOR;
  const showStack = opts.showStack ?? (() => false);
  const paint = (code: string | undefined, s: string): string => (colors && code ? `${code}${s}${RESET}` : s);

  return (line) => {
    let event: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(line);
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return escapeControlChars(line, { multiline: true });
      event = parsed as Record<string, unknown>;
    } catch {
      return escapeControlChars(line, { multiline: true });
    }
    const severity = typeof event.severity === 'string' ? event.severity : 'info';
    const parts = [
      paint(DIM, clock(event.timestamp)),
      paint(COLORS[severity], escapeControlChars(severity.toUpperCase().padEnd(7))),
    ];
    if (event.event_type !== undefined) parts.push(paint(colors ? '\x1b[1m' : undefined, text(event.event_type)));
    if (event.job_id !== undefined) parts.push(`job=${text(event.job_id)}`);
    const err = event.err as { message?: unknown; stack?: unknown } | undefined;
    // `logger.error(err)` copies err.message into message: print it once.
    const message = event.message === undefined || event.message === '' ? undefined : String(event.message);
    if (message !== undefined && message !== err?.message) parts.push(escapeControlChars(message));
    for (const [key, value] of flattenFields(event, SKIP)) parts.push(`${paint(DIM, `${key}=`)}${value}`);

    let out = parts.join(' ');
    if (err && typeof err === 'object') {
      out += ` ${paint(COLORS.error, `err=${text(err.message ?? '')}`)}`;
      if (showStack() && typeof err.stack === 'string') out += `\n${paint(DIM, escapeControlChars(err.stack, { multiline: true }))}`;
    }
    return `${out}\n`;
  };
}

/** Local wall-clock time of day: a terminal is read by a person in their own zone. */
function clock(timestamp: unknown): string {
  const d = typeof timestamp === 'string' ? new Date(timestamp) : new Date();
  const t = Number.isNaN(d.getTime()) ? new Date() : d;
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(t.getHours())}:${p(t.getMinutes())}:${p(t.getSeconds())}.${p(t.getMilliseconds(), 3)}`;
}
