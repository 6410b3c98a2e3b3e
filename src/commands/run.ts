// Worker mode: logger, metrics, health server and lifecycle around the chosen roles.
import type { Config } from '../runtime/config/schema.js';
import { createLogger, type LogFormat } from '../runtime/logger/index.js';
import { HealthServer } from '../runtime/health.js';
import { DependencyHealth } from '../runtime/dependency-health.js';
import { checkCredentials } from '../runtime/startup-checks.js';
import { Lifecycle } from '../runtime/lifecycle.js';
import { Metrics } from '../runtime/metrics.js';
import { ScaleInGuard, type TaskProtectionPort } from '../runtime/in-flight.js';
import { reportWorkDirSpace } from '../runtime/workdir.js';
import { createRedactor } from '../runtime/redact.js';
import { secretValues } from '../runtime/config/secrets.js';
import { version } from '../runtime/version.js';
import type { RoleDefinition, RolePorts, RoleService } from '../ports/index.js';
import type { Logger } from 'pino';

export interface RunOptions {
  roles: RoleDefinition[];
  config: Config;
  once: boolean;
  /** --dry-run, for roles that honour it (the command line has checked). */
  dryRun?: boolean;
  instanceId: string;
  /** The adapters behind the roles' ports (chosen by src/wiring/), reporting their calls to `deps`. */
  ports: (logger: Logger, deps: DependencyHealth) => RolePorts & { close(): Promise<void> };
  /** Where log lines go instead of stdout (local mode draws a progress bar from them). */
  logOutput?: { write(line: string): unknown };
  /** Scale-in protection while a job is in flight (src/wiring/scale-in-protection.ts: the ECS agent's, on ECS). */
  scaleInProtection?: TaskProtectionPort;
}

export async function runWorkers({ roles, config, once, dryRun, instanceId, ports, logOutput, scaleInProtection }: RunOptions): Promise<number> {
  const log = createLogger({
    level: config.LOG_LEVEL,
    environment: config.AXIOM_ENVIRONMENT,
    secrets: secretValues(config),
    format: config.LOG_FORMAT as LogFormat,
    // Local mode reads the JSON lines (its progress bar): always JSON there.
    ...(logOutput ? { stdout: logOutput, pretty: false, format: 'json' as const } : {}),
    axiom: config.AXIOM_API_TOKEN ? { token: config.AXIOM_API_TOKEN, dataset: config.AXIOM_DATASET, url: config.AXIOM_URL } : undefined,
  });
  const logger = log.logger.child({ instance_id: instanceId });
  const metrics = new Metrics({ instanceId, logger });
  // The roles that run FFmpeg fill WORK_DIR.
  if (roles.some((r) => r.needs.ffmpeg)) reportWorkDirSpace(metrics, config.WORK_DIR);
  const lifecycle = new Lifecycle({ logger, graceSeconds: config.SHUTDOWN_GRACE_SECONDS, flush: log.flush });
  lifecycle.install();
  const roleNames = roles.map((r) => r.name);

  const deps = new DependencyHealth({ logger, metrics });
  // What the logger masks, masked wherever else error texts go: /health, /metrics, the device row.
  const redact = createRedactor(secretValues(config));
  let healthPort: number | null = null;
  if (config.HEALTH_PORT !== null) {
    const health = new HealthServer({ port: config.HEALTH_PORT, host: config.HEALTH_HOST, instanceId, roles: roleNames, version, metrics, logger, redact });
    // One check per service the roles have called: 503 naming it while it is down.
    deps.onAdded((name) => health.addCheck(name, () => deps.check(name)));
    healthPort = (await health.start()).port;
    lifecycle.add({ name: 'health', stop: () => health.stop() });
  }
  logger.info({ event_type: 'worker_started', roles: roleNames, version, health_port: healthPort, pid: process.pid }, `rugbyworker ${version} started`);

  const rolePorts = ports(logger, deps);
  // Added before the roles, so it is stopped after them.
  lifecycle.add({ name: 'ports', stop: () => rolePorts.close() });
  // Scale-in protection while a job is in flight (on ECS). Added before the roles, so it is
  // cleared after they have released their jobs.
  if (scaleInProtection) lifecycle.add(new ScaleInGuard({ port: scaleInProtection, logger }).attach(metrics));
  const ctx = { config, instanceId, logger, metrics, stopping: lifecycle.stopping, concurrency: config.CONCURRENCY, once, dryRun: dryRun === true, ports: rolePorts };
  const services: RoleService[] = [];
  try {
    await checkCredentials(roles, rolePorts);
    // The admin dashboard's row for this device. Added before the roles, so its offline beat comes after they stop.
    if (config.RC_DEVICE_NAME && config.SUPABASE_URL && roles.some((r) => r.needs.mediaDb)) {
      // Loaded only here: reading the device's facts brings the child-process library.
      const [{ startDeviceHeartbeat }, { deviceProblems }, { systemDeviceSources }] = await Promise.all([
        import('../runtime/device/heartbeat.js'), import('../runtime/device/problems.js'), import('../runtime/device/facts.js'),
      ]);
      lifecycle.add(startDeviceHeartbeat({
        name: config.RC_DEVICE_NAME, intervalMs: config.DEVICE_HEARTBEAT_SECONDS * 1000, db: rolePorts.mediaDb(),
        problems: () => deviceProblems(deps, { redact }), sources: systemDeviceSources(), logger,
      }));
    }
    for (const role of roles) {
      if (!role.start) continue;
      const service = await role.start({ ...ctx, logger: logger.child({ role: role.name }) });
      lifecycle.add(service);
      services.push(service);
    }
  } catch (err) {
    // A role that cannot start (no ffmpeg, say) must end the process with its one-line
    // error, not leave it alive and idle: stop what did start, then let the CLI report it.
    await lifecycle.shutdown('a role failed to start', 1);
    lifecycle.uninstall();
    await log.close();
    throw err;
  }
  // --once: every role finishes its unit of work (or a signal comes first), then a normal
  // shutdown; a role whose unit of work failed (exitCode) makes the exit code non-zero.
  const finishedFirst = once && await Promise.race([Promise.all(services.map((s) => s.done)).then(() => true), lifecycle.done.then(() => false)]);
  const code = finishedFirst
    ? await lifecycle.shutdown('once', Math.max(0, ...services.map((s) => s.exitCode?.() ?? 0)))
    : await lifecycle.done;
  lifecycle.uninstall();
  await log.close();
  return code;
}
