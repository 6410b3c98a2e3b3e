// Precedence: schema defaults < JSON file (--config) < .env < environment < CLI flags.
import convict from 'convict';
import { parse as parseDotenv } from 'dotenv';
import { existsSync, readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import { registerFormats } from './formats.js';
import { redactSetting } from './redact.js';
import { insecureEndpointProblem } from './insecure-endpoints.js';
import { schema, type Config, type ConfigKey } from './schema.js';

export interface LoadConfigOptions {
  env: Readonly<Record<string, string | undefined>>;
  /** JSON file of settings keyed by their variable names. */
  file?: string;
  /** `.env` file; read when it exists. */
  dotenvPath?: string;
  flags?: Partial<Record<ConfigKey, unknown>>;
}

export function loadConfig(opts: LoadConfigOptions): Config {
  registerFormats();
  const env = { ...readDotenv(opts.dotenvPath), ...nonEmpty(opts.env) };
  const conf = convict(schema, { env, args: [] });
  if (opts.file) conf.load(readJsonFile(opts.file));
  for (const [key, value] of Object.entries(opts.flags ?? {})) {
    if (value !== undefined) conf.set(key, value);
  }
  try {
    conf.validate({ allowed: 'strict' });
  } catch (err) {
    throw new ConfigError(configErrorLine((err as Error).message, opts.file));
  }
  const cfg = withTranscodeQueue(conf.getProperties() as Config);
  const insecure = insecureEndpointProblem(cfg);
  if (insecure) throw new ConfigError(insecure);
  if (cfg.HEARTBEAT_EXTENSION_SECONDS <= cfg.HEARTBEAT_INTERVAL_SECONDS) {
    throw new ConfigError(
      `HEARTBEAT_EXTENSION_SECONDS must be greater than HEARTBEAT_INTERVAL_SECONDS (${cfg.HEARTBEAT_EXTENSION_SECONDS} ≤ ${cfg.HEARTBEAT_INTERVAL_SECONDS}), or the lease lapses between beats`,
    );
  }
  if (cfg.VERBOSE_LOGGING && !('LOG_LEVEL' in env) && opts.flags?.LOG_LEVEL === undefined) return { ...cfg, LOG_LEVEL: 'debug' };
  return cfg;
}

/**
 * The live .env names the transcode queue SQS_TRANSCODE_QUEUE_URL, the seed README
 * SQS_QUEUE_URL: either works, and both must agree when both are set.
 */
function withTranscodeQueue(cfg: Config): Config {
  const { SQS_TRANSCODE_QUEUE_URL: live, SQS_QUEUE_URL: seed } = cfg;
  if (live && seed && live !== seed) {
    throw new ConfigError(`SQS_TRANSCODE_QUEUE_URL and SQS_QUEUE_URL both name the transcode queue but differ (${live} vs ${seed}): set one of them`);
  }
  return live || !seed ? cfg : { ...cfg, SQS_TRANSCODE_QUEUE_URL: seed };
}

/** The effective configuration with secrets masked, for `rugbyworker config`. */
export function redactedConfig(cfg: Config): Record<string, unknown> {
  return Object.fromEntries(Object.entries(cfg).map(([k, v]) => [k, redactSetting(k, v)]));
}

// systemd EnvironmentFile lines like `HEALTH_PORT=` mean "unset", not "empty string".
function nonEmpty(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') out[k] = v;
  return out;
}

function readDotenv(path: string | undefined): Record<string, string> {
  if (!path || !existsSync(path)) return {};
  try {
    return nonEmpty(parseDotenv(readFileSync(path)));
  } catch (err) {
    throw new ConfigError(`cannot read ${path}: ${(err as Error).message}`);
  }
}

function readJsonFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`--config ${path}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`--config ${path}: not valid JSON (${(err as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`--config ${path}: expected a JSON object of settings such as {"BUCKET_NAME": "media"}`);
  }
  return parsed as Record<string, unknown>;
}

// Convict reports every problem on its own line as `KEY: message: value was "x"`;
// start-up reports the first, worded as a sentence.
function configErrorLine(message: string, file: string | undefined): string {
  const first = message.split('\n')[0] ?? message;
  const undeclared = /configuration param '([^']+)' not declared in the schema/.exec(first);
  if (undeclared) {
    return `${file ? `--config ${file}: ` : ''}${undeclared[1]} is not a rugbyworker setting (see \`rugbyworker config\` for the list)`;
  }
  const m = /^([A-Z0-9_]+): (.*?)(?:: value was (.*))?$/.exec(first);
  if (!m) return first;
  const [, key, what, value] = m;
  const expected = what?.replace(/^must be one of the possible values: (.*)$/, 'must be one of $1');
  return `${key} ${expected}${value !== undefined ? ` (got ${value})` : ''}`;
}
