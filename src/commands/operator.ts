// What the operator commands (`jobs …`, `dlq …`) share: the context src/cli.ts hands them
// (the configuration's own adapters), the check of the settings a command needs (exit 78
// naming the first one missing, as for roles), and the one line a failed call becomes:
// which call, on which resource, and what the service said.
import type { Io } from './io.js';
import type { OperatorPorts } from '../ports/index.js';
import { missingSettings, type QueueUrlKey, type RoleNeeds, type TableKey } from '../domain/requirements.js';
import type { Config } from '../runtime/config/schema.js';
import { jobIdProblem } from '../domain/stereo/keys.js';
import { ConfigError, EXIT, UsageError, UserError } from '../runtime/errors.js';
import { createLogger, type Logger } from '../runtime/logger/index.js';
import { secretValues } from '../runtime/config/secrets.js';
import { unixSeconds } from '../runtime/clock.js';
import { processTerminal, type Terminal } from './confirm.js';

export interface OperatorContext {
  readonly config: Config;
  readonly ports: OperatorPorts;
  readonly io: Io;
  /** Where to ask for confirmation; null when stdin or stderr is not a terminal. */
  readonly terminal: Terminal | null;
  /** Aborted on SIGINT/SIGTERM: a long command stops at its next safe point. */
  readonly interrupted: AbortSignal;
  /** Unix seconds. */
  readonly now: () => number;
}

/** The settings `command` needs, as a role's: a ConfigError (exit 78) naming the first missing one. */
export function checkSettings(command: string, needs: RoleNeeds, config: Config): void {
  const usesQueues = needs.consumes !== undefined || (needs.sendsTo?.length ?? 0) > 0;
  if (usesQueues && config.QUEUE_BACKEND === 'memory') {
    throw new ConfigError(`QUEUE_BACKEND=memory: ${command} needs the deployment's queues (QUEUE_BACKEND=sqs or redis); an in-process queue ends with its process`);
  }
  const missing = missingSettings([{ name: command, needs }], config);
  if (missing[0]) {
    const more = missing.length > 1 ? ` (and ${missing.length - 1} more: ${missing.slice(1).map((m) => m.key).join(', ')})` : '';
    // requiredSettings says "(role X)"; this is a command, not a role.
    throw new ConfigError(`${missing[0].key} is required: ${missing[0].reason.replace(/ \(role [^)]*\)$/, ` (${command})`)}${more}`);
  }
}

/** Runs one call; any failure but a UserError becomes "CALL on RESOURCE failed: …" (exit 1). */
export async function attempt<T>(call: string, resource: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`${call} on ${resource} failed: ${errorLine(err)}`, EXIT.FAILURE);
  }
}

/** An error (and the cause the SDK or fetch wraps) as one line. */
export function errorLine(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 3; e = (e as { cause?: unknown }).cause, depth++) {
    const text = e instanceof Error ? (e.name && e.name !== 'Error' ? `${e.name}: ${e.message}` : e.message) : String(e);
    const code = (e as { code?: unknown }).code;
    parts.push(typeof code === 'string' && !text.includes(code) ? `${text} (${code})` : text);
  }
  return parts.filter((p, i) => p !== '' && parts.indexOf(p) === i).join(': ').replace(/\s+/g, ' ').trim() || 'unknown error';
}

/** "DynamoDB table NAME (SETTING)". */
export function tableResource(config: Config, key: TableKey): string {
  return `DynamoDB table ${config[key]} (${key})`;
}

/** The queue behind `key` as the backend names it. */
export function queueResource(config: Config, key: QueueUrlKey): string {
  return config.QUEUE_BACKEND === 'redis' ? `the Redis stream of ${key} (REDIS_URL)` : `${config[key]} (${key})`;
}

/** The backend's call for a queue operation, for the failure line. */
export function queueCall(config: Config, op: 'open' | 'depth' | 'peek' | 'redrive' | 'purge' | 'send'): string {
  if (config.QUEUE_BACKEND === 'redis') return `Redis ${{ open: 'connect', depth: 'XLEN', peek: 'XRANGE', redrive: 'redrive script', purge: 'DEL', send: 'XADD' }[op]}`;
  return `SQS ${{
    open: 'GetQueueAttributes (RedrivePolicy)', depth: 'GetQueueAttributes', peek: 'ReceiveMessage', purge: 'PurgeQueue', send: 'SendMessage',
    redrive: 'StartMessageMoveTask or ReceiveMessage/SendMessage/DeleteMessage',
  }[op]}`;
}

export function warn(io: Io, text: string): void {
  io.stderr(`warning: ${text}\n`);
}

/** The adapters' own log lines (a malformed item, a retry) go to stderr, warnings and up unless LOG_LEVEL asks for more. */
export function operatorLogLevel(config: Config): string {
  return config.LOG_LEVEL === 'trace' || config.LOG_LEVEL === 'debug' ? config.LOG_LEVEL : 'warn';
}

/** A job id no key can be made of is a usage error (64), before anything is read. */
export function checkJobId(jobId: string): void {
  const problem = jobIdProblem(jobId);
  if (problem !== null) throw new UsageError(`JOB_ID ${JSON.stringify(jobId)}: ${problem}`);
}

/** SIGINT/SIGTERM abort the signal (a second one ends the process as usual); call the result to stop listening. */
export function interruptOnSignals(): { signal: AbortSignal; dispose(): void } {
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return { signal: ac.signal, dispose: () => { process.off('SIGINT', stop); process.off('SIGTERM', stop); } };
}

export interface RunOperatorOptions {
  /** "jobs diagnose", for messages. */
  name: string;
  needs: RoleNeeds;
  config: Config;
  io: Io;
  /** The configuration's adapters (src/wiring/production-ports.ts). */
  ports: (logger: Logger) => OperatorPorts & { close(): Promise<void> };
  run: (ctx: OperatorContext) => Promise<number>;
}

/** Checks the settings, then runs the command on the ports, which are closed afterwards whatever happens. */
export async function runOperator(opts: RunOperatorOptions): Promise<number> {
  const { config, io } = opts;
  checkSettings(opts.name, opts.needs, config);
  const log = createLogger({
    level: operatorLogLevel(config), environment: config.AXIOM_ENVIRONMENT, secrets: secretValues(config),
    stdout: { write: (line: string) => io.stderr(line) }, pretty: process.stderr.isTTY === true,
  });
  const ports = opts.ports(log.logger.child({ command: opts.name }));
  const interrupt = interruptOnSignals();
  try {
    return await opts.run({ config, ports, io, terminal: processTerminal(), interrupted: interrupt.signal, now: unixSeconds });
  } finally {
    interrupt.dispose();
    await ports.close().catch(() => undefined);
    await log.close();
  }
}
