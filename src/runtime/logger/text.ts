// LOG_FORMAT=text: one line per event in stereo-spot's Python log format
// (shared-types/…/logging_config.py@b622b25: `%(asctime)s [%(levelname)s] %(name)s: %(message)s`,
// datefmt `%Y-%m-%dT%H:%M:%SZ`), so that the web UI's "Open logs" link finds our lines: its
// CloudWatch Logs Insights query (aws-adapters/…/operator_links.py@b622b25) keeps lines
// matching /\[(INFO|WARNING|ERROR)\]/ and /job_id=<JOB_ID>/, and a JSON line is invisible to it
// (STEREO-SPOT-MAIN.md §8). Our fields follow the message as key=value, job_id first:
//
//   2026-02-26T17:37:23Z [INFO] rugbyworker.chunk: chunking job abc started job_id=abc event_type=chunk_started segments=3
//
// The input is the logger's JSON line after redaction (logger.ts redacts it again as text);
// every key and value has its control characters escaped, so an event is one line whatever
// a message body or an error text holds.
import { escapeControlChars } from '../terminal-text.js';
import { fieldText, flattenFields } from './fields.js';

export interface TextFormatOptions {
  /** Append the error's stack (escaped onto the same line); checked per line so a runtime level change applies. */
  showStack?: () => boolean;
  /** For an event without a usable timestamp. */
  now?: () => Date;
}

/**
 * Python's level names. The query keeps INFO, WARNING and ERROR only: fatal is written as
 * ERROR (Python's CRITICAL would be invisible to it); trace and debug as DEBUG (below the
 * default level, and not meant for the job page).
 */
const LEVELS: Record<string, string> = {
  trace: 'DEBUG', debug: 'DEBUG', info: 'INFO', warning: 'WARNING', error: 'ERROR', fatal: 'ERROR',
};

// On the line elsewhere (timestamp, level, name, message, job_id, err), or noise.
const SKIP = new Set(['timestamp', 'environment', 'severity', 'message', 'job_id', 'err', '_time', 'role', 'command']);

/** `(jsonLine) => textLine` (both newline-terminated). A line that is not a JSON object is kept, escaped onto one line. */
export function createTextFormatter(opts: TextFormatOptions = {}): (line: string) => string {
  const showStack = opts.showStack ?? (() => false);
  const now = opts.now ?? (() => new Date());
  return (line) => {
    let event: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(line);
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      event = parsed as Record<string, unknown>;
    } catch {
      return `${pythonTime(now())} [INFO] rugbyworker: ${escapeControlChars(line.replace(/\n$/, ''))}\n`;
    }
    const severity = typeof event.severity === 'string' ? event.severity : 'info';
    const level = LEVELS[severity] ?? escapeControlChars(severity.toUpperCase());
    const err = event.err !== null && typeof event.err === 'object' ? event.err as { message?: unknown; type?: unknown; stack?: unknown } : undefined;
    const message = firstText(event.message, event.event_type, err?.message);

    const parts = [`${timestampOf(event.timestamp, now)} [${level}] ${loggerName(event)}: ${escapeControlChars(message)}`];
    if (event.job_id !== undefined) parts.push(`job_id=${fieldText(event.job_id)}`);
    const skip = message === event.event_type ? new Set([...SKIP, 'event_type']) : SKIP;
    for (const [key, value] of flattenFields(event, skip)) parts.push(`${key}=${value}`);
    if (err) {
      // `logger.error(err)` makes err.message the message: not twice.
      if (err.message !== undefined && err.message !== message) parts.push(`err=${fieldText(err.message)}`);
      if (err.type !== undefined) parts.push(`err_type=${fieldText(err.type)}`);
      if (showStack() && typeof err.stack === 'string') parts.push(`stack=${fieldText(err.stack)}`);
    }
    return `${parts.join(' ')}\n`;
  };
}

/** `%Y-%m-%dT%H:%M:%SZ` of an instant, in UTC. */
export function pythonTime(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

/** The event's own time (the logger's ISO-8601 timestamp with microseconds), to the second. */
function timestampOf(timestamp: unknown, now: () => Date): string {
  const d = typeof timestamp === 'string' ? new Date(timestamp) : null;
  return pythonTime(d !== null && !Number.isNaN(d.getTime()) ? d : now());
}

/** Python's `%(name)s`: the program, then the role (or operator command) the line comes from. */
function loggerName(event: Record<string, unknown>): string {
  const sub = typeof event.role === 'string' && event.role !== '' ? event.role : typeof event.command === 'string' && event.command !== '' ? event.command : null;
  return sub === null ? 'rugbyworker' : `rugbyworker.${escapeControlChars(sub.replace(/\s+/g, '_'))}`;
}

function firstText(...candidates: unknown[]): string {
  for (const c of candidates) if (c !== undefined && c !== null && String(c) !== '') return String(c);
  return '';
}
