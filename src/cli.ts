// Flags → config → start roles, or run one of the commands. The only place that
// chooses adapters for ports.
import { Command, CommanderError, Option } from 'commander';
import { hostname } from 'node:os';
import { ROLE_NAMES, ROLES, roleDefinition } from '../roles/index.js';
import { missingSettings } from './domain/requirements.js';
import { parseRoleSelection } from './domain/role-selection.js';
import type { RoleDefinition } from './ports.js';
import { runDoctor } from './commands/doctor.js';
import { printConfig } from './commands/config.js';
import { runWorkers } from './commands/run.js';
import { loadConfig } from './runtime/config/load.js';
import { LOG_LEVELS, type Config, type ConfigKey } from './runtime/config/schema.js';
import { ConfigError, EXIT, UsageError, UserError } from './runtime/errors.js';
import { versionLine } from './runtime/version.js';

export interface GlobalOptions {
  role?: string;
  listRoles?: boolean;
  version?: boolean;
  config?: string;
  concurrency?: string;
  once?: boolean;
  healthPort?: string;
  logLevel?: string;
}

export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
}

const defaultIo = (): Io => ({
  stdout: (s) => void process.stdout.write(s),
  stderr: (s) => void process.stderr.write(s),
  env: process.env,
  cwd: process.cwd(),
});

export async function main(argv: string[], io: Io = defaultIo()): Promise<number> {
  let code: number = EXIT.OK;
  const program = buildProgram(io, (c) => { code = c; });
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    if (err instanceof UserError) {
      io.stderr(`rugbyworker: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
  return code;
}

function buildProgram(io: Io, setCode: (code: number) => void): Command {
  const program = new Command('rugbyworker')
    .description('Video worker roles for RugbyCodex and the stereo pipeline, in one executable.')
    .addOption(new Option('--role <names>', `roles to run, comma-separated, or all, or none (runtime only): ${ROLE_NAMES.join(', ')}`))
    .option('--list-roles', 'print every role with a one-line description')
    .option('-v, --version', 'print version, git commit, Node version and architecture')
    .option('--config <file>', 'JSON file of settings (same names as the environment variables)')
    .option('--concurrency <n>', 'messages processed at once per role (CONCURRENCY)')
    .option('--once', 'process until the queue is empty or one unit of work is done, then exit')
    .option('--health-port <port>', 'serve /health and /metrics on this port (HEALTH_PORT)')
    .addOption(new Option('--log-level <level>', 'lowest severity logged (LOG_LEVEL)').choices(LOG_LEVELS))
    .showHelpAfterError('(rugbyworker --help lists the options)')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .action(async (opts: GlobalOptions) => setCode(await runDefault(opts, io)));

  program
    .command('config')
    .description('print the effective configuration, secrets redacted')
    .option('--json', 'print JSON instead of KEY=value lines')
    .action((cmdOpts: { json?: boolean }, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions>();
      printConfig(loadFor(opts, io), io, cmdOpts.json === true);
      setCode(EXIT.OK);
    });

  program
    .command('doctor')
    .description('check ffmpeg, hardware decode, credentials and every configured endpoint for the chosen roles')
    .action(async (_cmdOpts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions>();
      const roles = opts.role ? selectRoles(opts.role) : [];
      let config: Config | ConfigError;
      try {
        config = loadFor(opts, io);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        config = err;
      }
      setCode(await runDoctor({ roles, config, io }));
    });

  return program;
}

async function runDefault(opts: GlobalOptions, io: Io): Promise<number> {
  if (opts.version) {
    io.stdout(`${versionLine()}\n`);
    return EXIT.OK;
  }
  if (opts.listRoles) {
    const width = Math.max(...ROLE_NAMES.map((n) => n.length));
    for (const r of ROLES) io.stdout(`${r.name.padEnd(width)}  ${r.description}\n`);
    return EXIT.OK;
  }
  if (!opts.role) throw new UsageError(`choose what to run with --role (${ROLE_NAMES.join(', ')}, all, none), or see --help`);
  const roles = selectRoles(opts.role);
  const config = loadFor(opts, io);
  const missing = missingSettings(roles, config);
  if (missing[0]) {
    const more = missing.length > 1 ? ` (and ${missing.length - 1} more: ${missing.slice(1).map((m) => m.key).join(', ')})` : '';
    throw new ConfigError(`${missing[0].key} is required: ${missing[0].reason}${more}`);
  }
  const unavailable = roles.filter((r) => !r.start);
  if (unavailable.length > 0) {
    throw new UserError(
      `role ${unavailable.map((r) => r.name).join(', ')} is not available in this build yet (its issue has not landed); nothing was started`,
      EXIT.NOT_AVAILABLE,
    );
  }
  return runWorkers({
    roles,
    config,
    once: opts.once === true,
    instanceId: config.INSTANCE_ID || `${hostname()}-${process.pid}`,
  });
}

function selectRoles(spec: string): RoleDefinition[] {
  const sel = parseRoleSelection(spec, ROLE_NAMES);
  if (!sel.ok) throw new UsageError(sel.error);
  return sel.names.map((n) => roleDefinition(n)).filter((r): r is RoleDefinition => r !== undefined);
}

function loadFor(opts: GlobalOptions, io: Io): Config {
  const flags: Partial<Record<ConfigKey, unknown>> = {
    CONCURRENCY: opts.concurrency,
    HEALTH_PORT: opts.healthPort,
    LOG_LEVEL: opts.logLevel,
  };
  return loadConfig({ env: io.env, file: opts.config, dotenvPath: `${io.cwd}/.env`, flags });
}
