// Flags → config → start roles, or run one of the commands; commander only. Which adapter
// serves which port is src/wiring/'s choice. Everything past the flags is imported when
// its command runs, so `--version`, `--help` and an operator command evaluate only what
// they use (one bundle: a module reached only through import() is initialised lazily).
import { Command, CommanderError, Option } from 'commander';
import { availableParallelism, hostname } from 'node:os';
import { createRequire } from 'node:module';
import type * as Sea from 'node:sea';
import { ROLE_NAMES, ROLES, roleDefinition } from '../roles/index.js';
import { missingSettings } from './domain/requirements.js';
import { parseRoleSelection } from './domain/role-selection.js';
import type { RoleDefinition } from './ports/index.js';
import type { StereoBackend } from './commands/stereo-local.js';
import { STEREO_MODES, type StereoMode } from './domain/stereo/records.js';
import { LOG_LEVELS, type Config, type ConfigKey } from './runtime/config/schema.js';
import { ConfigError, EXIT, UsageError, UserError } from './runtime/errors.js';
import { versionLine } from './runtime/version.js';
import { createRedactor } from './runtime/redact.js';
import { envSecretValues } from './runtime/config/secrets.js';
import { escapeControlChars } from './runtime/terminal-text.js';
import type { RoleNeeds } from './domain/requirements.js';
import { QUEUE_NAMES, type QueueName } from './domain/queue-names.js';
import type { OperatorContext } from './commands/operator.js';
import { processIo, type Io } from './commands/io.js';

export interface GlobalOptions {
  role?: string;
  listRoles?: boolean;
  version?: boolean;
  config?: string;
  concurrency?: string;
  once?: boolean;
  dryRun?: boolean;
  healthPort?: string;
  logLevel?: string;
}

export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  let code: number = EXIT.OK;
  const program = buildProgram(io, (c) => { code = c; });
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    if (err instanceof UserError) {
      io.stderr(`rugbyworker: ${terminalLine(err.message, io.env)}\n`);
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
    .option('--dry-run', 'cleanup: list what each pending job would delete (count, bytes, first keys); delete nothing, change no row')
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
    .action(async (cmdOpts: { json?: boolean }, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions>();
      const config = await loadFor(opts, io);
      const { printConfig } = await import('./commands/config.js');
      printConfig(config, io, cmdOpts.json === true);
      setCode(EXIT.OK);
    });

  program
    .command('transcode <file>')
    .description('transcode a local video into an HLS ladder with the transcode role, no cloud needed')
    .requiredOption('--out <dir>', 'where index.m3u8, one folder per rendition and thumbnails/ (the storyboard) go')
    .option('--renditions <heights>', 'rendition heights, e.g. 1080,720,480 (default HLS_RENDITIONS, else the top three of 1080,720,480,360 that fit with libx264, all four with a hardware encoder)')
    .option('--segment-seconds <n>', 'HLS segment length (HLS_SEGMENT_SECONDS, default 6)')
    .option('--serve', 'then serve DIR with a small player page on 127.0.0.1 until Ctrl-C')
    .action(async (file: string, cmdOpts: { out: string; renditions?: string; segmentSeconds?: string; serve?: boolean }, cmd: Command) => {
      const config = await loadFor({ ...cmd.optsWithGlobals<GlobalOptions>() }, io);
      const [{ transcodeLocal }, { transcodeLocalAdapters }, { scaleInProtection }] = await Promise.all([
        import('./commands/transcode-local.js'), import('./wiring/transcode-local-adapters.js'), import('./wiring/scale-in-protection.js'),
      ]);
      setCode(await transcodeLocal({
        file, out: cmdOpts.out, serve: cmdOpts.serve === true, config, io, adapters: transcodeLocalAdapters, scaleInProtection: scaleInProtection(process.env),
        renditions: cmdOpts.renditions === undefined ? undefined : parseHeights(cmdOpts.renditions),
        segmentSeconds: cmdOpts.segmentSeconds === undefined ? undefined : parsePositiveInt('--segment-seconds', cmdOpts.segmentSeconds),
      }));
    });

  program
    .command('stereo <file>')
    .description('turn a local video into stereo with the chunk, segment-infer, trigger and reassemble roles, no cloud needed')
    .addOption(new Option('--mode <mode>', 'sbs: full side by side (twice as wide); anaglyph: red/cyan, same size').choices(STEREO_MODES).makeOptionMandatory())
    .requiredOption('--out <file>', 'where the stereo mp4 goes')
    .option('--segment-seconds <n>', 'segment length (CHUNK_SEGMENT_DURATION_SEC, default 300; cuts land on keyframes)')
    .addOption(new Option('--backend <name>', 'segment inference: ffmpeg (a naive visible stereo) or stub (segments unchanged); http and sagemaker need S3 buckets, so they are refused here').choices(['ffmpeg', 'stub', 'http', 'sagemaker'] satisfies StereoBackend[]).default('ffmpeg'))
    .action(async (file: string, cmdOpts: { mode: StereoMode; out: string; segmentSeconds?: string; backend: StereoBackend }, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const config = await loadFor(globals, io);
      const [{ stereoLocal }, { stereoLocalAdapters }, { scaleInProtection }] = await Promise.all([
        import('./commands/stereo-local.js'), import('./wiring/stereo-local-adapters.js'), import('./wiring/scale-in-protection.js'),
      ]);
      setCode(await stereoLocal({
        file, out: cmdOpts.out, mode: cmdOpts.mode, backend: cmdOpts.backend, config, io, adapters: stereoLocalAdapters, scaleInProtection: scaleInProtection(process.env),
        // Segments are inferred in parallel: one per core unless told otherwise.
        concurrency: globals.concurrency !== undefined || io.env.CONCURRENCY !== undefined ? config.CONCURRENCY : availableParallelism(),
        segmentSeconds: cmdOpts.segmentSeconds === undefined ? undefined : parsePositiveInt('--segment-seconds', cmdOpts.segmentSeconds),
      }));
    });

  program
    .command('doctor')
    .description('check ffmpeg, hardware decode, credentials and every configured endpoint for the chosen roles')
    .action(async (_cmdOpts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions>();
      const roles = opts.role ? selectRoles(opts.role) : [];
      let config: Config | ConfigError;
      try {
        config = await loadFor(opts, io);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        config = err;
      }
      const { runDoctor } = await import('./commands/doctor.js');
      setCode(await runDoctor({ roles, config, io }));
    });

  const jobs = program.command('jobs').description('repair a stuck stereo job (seed 002 runbooks 1 and 3) on the configured tables, buckets and queues');
  jobs
    .command('recover-chunking <job_id>')
    .description('record chunking_complete with total_segments from the segments in the input bucket (runbook 1)')
    .option('--yes', 'change the job without asking (required without a terminal)')
    .action(async (jobId: string, o: { yes?: boolean }, cmd: Command) => {
      const m = await import('./commands/jobs/recover-chunking.js');
      setCode(await operatorCommand(cmd, io, 'jobs recover-chunking', m.needs, (ctx) => m.recoverChunking(ctx, { jobId, yes: o.yes === true }), jobId));
    });
  jobs
    .command('diagnose <job_id>')
    .description('the job, its completions, lock, final.mp4 and queue depths; which step is stuck and the command that repairs it (runbook 3)')
    .option('--json', 'print one JSON object')
    .action(async (jobId: string, o: { json?: boolean }, cmd: Command) => {
      const m = await import('./commands/jobs/diagnose.js');
      setCode(await operatorCommand(cmd, io, 'jobs diagnose', m.needs, (ctx) => m.diagnoseJob(ctx, { jobId, json: o.json === true }), jobId));
    });
  jobs
    .command('trigger-reassembly <job_id>')
    .description('put the reassembly lock and send {"job_id"} to the reassembly queue (runbook 3 step 4)')
    .option('--reset-lock', 'delete a standing lock first (a lost message, a dead reassembly)')
    .action(async (jobId: string, o: { resetLock?: boolean }, cmd: Command) => {
      const m = await import('./commands/jobs/trigger-reassembly.js');
      setCode(await operatorCommand(cmd, io, 'jobs trigger-reassembly', m.needs, (ctx) => m.triggerReassembly(ctx, { jobId, resetLock: o.resetLock === true }), jobId));
    });

  program
    .command('install-service')
    .description('write the systemd unit rugbyworker@.service for this executable and .env (--role NAME: the instance to enable; a list gives one each); prints the systemctl commands to run')
    // Not --env-file: Node itself takes that flag from the executable's arguments.
    .option('--environment-file <path>', 'the .env the unit reads (EnvironmentFile=; default ./.env, must exist)')
    .option('--unit-dir <dir>', 'where the unit goes (default /etc/systemd/system)')
    .option('--force', 'replace a unit file that differs from the one it would write')
    .option('--user <name>', 'the account the worker runs as (User=; default the user who ran sudo; root only when named)')
    .option('--devices <kind>', 'device nodes the unit opens: auto (this machine\'s hardware), none, jetson or nvidia', 'auto')
    .action(async (o: { environmentFile?: string; unitDir?: string; force?: boolean; user?: string; devices?: string }, cmd: Command) => {
      const { role } = cmd.optsWithGlobals<GlobalOptions>();
      if (!role) throw new UsageError(`install-service needs --role NAME (${ROLE_NAMES.join(', ')}, or all)`);
      const { installService } = await import('./commands/install-service.js');
      setCode(await installService({
        envFile: o.environmentFile, unitDir: o.unitDir, role, force: o.force === true, user: o.user, devices: o.devices, execPath: executablePath(), io,
      }));
    });

  const dlq = program.command('dlq').description("a queue's dead letters: inspect, replay or purge them (seed 002 runbook 2)");
  const queueOption = () => new Option('--queue <name>', 'the main queue; its DLQ comes from its redrive policy (Redis: <stream>:dlq)').choices(QUEUE_NAMES).makeOptionMandatory();
  dlq
    .command('inspect')
    .description('show each dead letter (id, receive count, reason, body) without consuming it')
    .addOption(queueOption())
    .option('--max <n>', 'show at most N (default 10)')
    .option('--json', 'print one JSON object')
    .action(async (o: { queue: QueueName; max?: string; json?: boolean }, cmd: Command) => {
      const max = o.max === undefined ? 10 : /^\d+$/.test(o.max) && Number(o.max) >= 1 ? Number(o.max) : undefined;
      if (max === undefined) throw new UsageError(`--max takes a whole number ≥ 1 (got ${JSON.stringify(o.max)})`);
      const m = await import('./commands/dlq/inspect.js');
      const { dlqNeeds } = await import('./commands/dlq/target.js');
      setCode(await operatorCommand(cmd, io, 'dlq inspect', dlqNeeds(o.queue), (ctx) => m.inspectDeadLetters(ctx, { queue: o.queue, max, json: o.json === true })));
    });
  dlq
    .command('replay')
    .description('move the dead letters back to the main queue (asks on a terminal; --yes otherwise)')
    .addOption(queueOption())
    .option('--yes', 'replay without asking (required without a terminal)')
    .action(async (o: { queue: QueueName; yes?: boolean }, cmd: Command) => {
      const [m, { dlqNeeds }] = await Promise.all([import('./commands/dlq/replay.js'), import('./commands/dlq/target.js')]);
      setCode(await operatorCommand(cmd, io, 'dlq replay', dlqNeeds(o.queue), (ctx) => m.replayDeadLetters(ctx, { queue: o.queue, yes: o.yes === true })));
    });
  dlq
    .command('purge')
    .description('delete every dead letter (asks on a terminal; --yes otherwise)')
    .addOption(queueOption())
    .option('--yes', 'purge without asking (required without a terminal)')
    .action(async (o: { queue: QueueName; yes?: boolean }, cmd: Command) => {
      const [m, { dlqNeeds }] = await Promise.all([import('./commands/dlq/purge.js'), import('./commands/dlq/target.js')]);
      setCode(await operatorCommand(cmd, io, 'dlq purge', dlqNeeds(o.queue), (ctx) => m.purgeDeadLetters(ctx, { queue: o.queue, yes: o.yes === true })));
    });

  return program;
}

/**
 * An error line for stderr: its secrets masked as the logs mask them (a library's error may
 * quote a URL with its password, a value convict echoes) and its control characters escaped.
 */
export function terminalLine(text: string, env: Readonly<Record<string, string | undefined>> = {}): string {
  return escapeControlChars(createRedactor(envSecretValues(env))(text), { multiline: true });
}

/** A jobs or dlq command on the configuration's own adapters (src/wiring/production-ports.ts), its settings checked first. */
async function operatorCommand(cmd: Command, io: Io, name: string, needs: RoleNeeds, run: (ctx: OperatorContext) => Promise<number>, jobId?: string): Promise<number> {
  const { runOperator, checkJobId } = await import('./commands/operator.js');
  if (jobId !== undefined) checkJobId(jobId);
  const config = await loadFor(cmd.optsWithGlobals<GlobalOptions>(), io);
  const { productionPorts } = await import('./wiring/production-ports.js');
  return runOperator({ name, needs, config, io, run, ports: (logger) => productionPorts(config, logger) });
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
  const noDryRun = opts.dryRun ? roles.filter((r) => !r.dryRun) : [];
  if (noDryRun.length > 0) throw new UsageError(`--dry-run is not supported by role ${noDryRun.map((r) => r.name).join(', ')} (only ${ROLES.filter((r) => 'dryRun' in r && r.dryRun).map((r) => r.name).join(', ')})`);
  const config = await loadFor(opts, io);
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
  const [{ runWorkers }, { productionPorts }, { scaleInProtection }] = await Promise.all([
    import('./commands/run.js'), import('./wiring/production-ports.js'), import('./wiring/scale-in-protection.js'),
  ]);
  return runWorkers({
    roles,
    config,
    once: opts.once === true,
    dryRun: opts.dryRun === true,
    instanceId: config.INSTANCE_ID || config.RC_DEVICE_NAME || `${hostname()}-${process.pid}`,
    ports: (logger, deps) => productionPorts(config, logger, deps),
    scaleInProtection: scaleInProtection(process.env),
  });
}

/** This executable's path; from source (node dist/bundle.cjs) there is none to put in a unit. */
function executablePath(): string {
  const sea = createRequire(import.meta.url)('node:sea') as typeof Sea;
  if (!sea.isSea()) throw new UserError('install-service writes a unit for the executable: run it from dist/rugbyworker-linux-<arch>, not from node', EXIT.FAILURE);
  return process.execPath;
}

function selectRoles(spec: string): RoleDefinition[] {
  const sel = parseRoleSelection(spec, ROLE_NAMES);
  if (!sel.ok) throw new UsageError(sel.error);
  return sel.names.map((n) => roleDefinition(n)).filter((r): r is RoleDefinition => r !== undefined);
}

/** The configuration (convict and dotenv are loaded here, not for --version or --help). */
async function loadFor(opts: GlobalOptions, io: Io): Promise<Config> {
  const { loadConfig } = await import('./runtime/config/load.js');
  const flags: Partial<Record<ConfigKey, unknown>> = {
    CONCURRENCY: opts.concurrency,
    HEALTH_PORT: opts.healthPort,
    LOG_LEVEL: opts.logLevel,
  };
  return loadConfig({ env: io.env, file: opts.config, dotenvPath: `${io.cwd}/.env`, flags });
}

function parseHeights(spec: string): number[] {
  const heights = spec.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (heights.length === 0 || !heights.every((h) => /^\d+p?$/.test(h))) {
    throw new UsageError(`--renditions takes heights such as 1080,720,480 (got ${JSON.stringify(spec)})`);
  }
  return heights.map((h) => Number(h.replace(/p$/, '')));
}

function parsePositiveInt(flag: string, value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`${flag} takes a whole number of seconds (got ${JSON.stringify(value)})`);
  return Number(value);
}
