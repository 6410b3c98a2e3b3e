// The process logger: pino writing one JSON event per line, with the seed's fields in the
// seed's order (`timestamp`, `environment`, `severity`, then the caller's fields), redacted,
// to stdout (pretty on a terminal, or stereo-spot's text lines with format 'text') and, when
// configured, to Axiom (always JSON).
import { pino } from 'pino';
import type { Logger } from 'pino';
import { AxiomStream } from './axiom-stream.js';
import type { WritableText } from './axiom-stream.js';
import { createPrettyFormatter } from './pretty.js';
import { createTextFormatter } from './text.js';
import type { LogFormat } from '../config/schema.js';
import { createRedactor, redactObject } from './redact.js';
import { isoMicros } from './timestamp.js';

export interface AxiomLogOptions {
  token: string;
  dataset: string;
  url?: string;
  stderr?: WritableText;
  fetch?: typeof globalThis.fetch;
  flushIntervalMs?: number;
}

export interface CreateLoggerOptions {
  /** trace, debug, info, warn, error, fatal (or silent). */
  level: string;
  /** The `environment` field of every event (`AXIOM_ENVIRONMENT`). */
  environment: string;
  /** Values masked wherever they appear (the Axiom token is added automatically). */
  secrets?: string[];
  /** Human lines instead of JSON on stdout; default: stdout is a TTY. Ignored with format 'text'. */
  pretty?: boolean;
  /** LOG_FORMAT: 'json' (default; pretty as above) or 'text' (stereo-spot's Python format, text.ts), on stdout only. */
  format?: LogFormat;
  /** Default: fd 1, synchronous, so nothing is lost on exit. */
  stdout?: WritableText;
  axiom?: AxiomLogOptions;
}

export interface LoggerHandle {
  logger: Logger;
  /** Resolves once events logged so far have been sent to Axiom (or it failed). */
  flush(): Promise<void>;
  /** Final flush; call at shutdown. */
  close(): Promise<void>;
}

// Python's logging says `warning`; Axiom queries of the old workers use those names.
const SEVERITY: Record<number, string> = {
  10: 'trace', 20: 'debug', 30: 'info', 40: 'warning', 50: 'error', 60: 'fatal',
};

export function createLogger(opts: CreateLoggerOptions): LoggerHandle {
  const secrets = [...(opts.secrets ?? []), ...(opts.axiom ? [opts.axiom.token] : [])];
  const redactLine = createRedactor(secrets);
  const stdout: WritableText & { flushSync?: () => void } =
    opts.stdout ?? pino.destination({ dest: 1, sync: true });
  const axiom = opts.axiom ? new AxiomStream(opts.axiom) : null;

  // Stacks on a terminal only at debug level, read live so `logger.level = …` applies.
  const self: { logger?: Logger } = {};
  const showStack = (): boolean => self.logger?.isLevelEnabled('debug') ?? false;
  const text = opts.format === 'text' ? createTextFormatter({ showStack }) : null;
  const pretty = text === null && (opts.pretty ?? process.stdout.isTTY === true) ? createPrettyFormatter({ showStack }) : null;
  // Text lines are redacted once more as text: a value is unescaped from its JSON form there.
  const human = text ? (line: string) => redactLine(text(line)) : pretty;

  // One stream for pino: the redacted line goes to stdout and to Axiom (always as JSON).
  const fanOut = {
    write(line: string): void {
      const safe = redactLine(line);
      stdout.write(human ? human(safe) : safe);
      axiom?.write(safe);
    },
    // pino calls this after `fatal`, right before the process usually exits.
    flushSync(): void {
      stdout.flushSync?.();
    },
  };

  const logger = pino({
    level: opts.level,
    messageKey: 'message',
    base: { environment: opts.environment }, // no pid/hostname
    // pino opens each line with the level formatter's output: an empty one makes the line
    // start with the timestamp (hence no leading comma here); severity comes from the mixin.
    formatters: { level: () => ({}), bindings: redactObject, log: redactObject },
    timestamp: () => `"timestamp":"${isoMicros()}"`,
    mixin: (_obj, level) => ({ severity: SEVERITY[level] ?? String(level) }),
    // formatters.log already serialised errors (so their fields get redacted too).
    serializers: { err: (value: unknown) => value },
  }, fanOut);
  self.logger = logger;
  redactChildBindings(logger);

  return {
    logger,
    flush: () => axiom?.flush() ?? Promise.resolve(),
    close: () => axiom?.close() ?? Promise.resolve(),
  };
}

// pino applies formatters.bindings to the root's bindings only. Children are created with
// Object.create(parent), so these own properties are inherited by every descendant.
function redactChildBindings(logger: Logger): void {
  const child = logger.child;
  const setBindings = logger.setBindings;
  logger.child = function (this: Logger, bindings, options) {
    return child.call(this, redactObject(bindings), options);
  } as Logger['child'];
  logger.setBindings = function (this: Logger, bindings) {
    setBindings.call(this, redactObject(bindings));
  };
}
