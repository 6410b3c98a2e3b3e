// Worker mode: logger, metrics, health server and lifecycle around the chosen roles.
import type { Config } from '../runtime/config/schema.js';
import { createLogger } from '../runtime/logger/index.js';
import { HealthServer } from '../runtime/health.js';
import { Lifecycle } from '../runtime/lifecycle.js';
import { Metrics } from '../runtime/metrics.js';
import { secretValues } from '../runtime/config/secrets.js';
import { version } from '../runtime/version.js';
import type { RoleDefinition } from '../ports.js';

export interface RunOptions {
  roles: RoleDefinition[];
  config: Config;
  once: boolean;
  instanceId: string;
}

export async function runWorkers({ roles, config, once, instanceId }: RunOptions): Promise<number> {
  const log = createLogger({
    level: config.LOG_LEVEL,
    environment: config.AXIOM_ENVIRONMENT,
    secrets: secretValues(config),
    axiom: config.AXIOM_API_TOKEN ? { token: config.AXIOM_API_TOKEN, dataset: config.AXIOM_DATASET, url: config.AXIOM_URL } : undefined,
  });
  const logger = log.logger.child({ instance_id: instanceId });
  const metrics = new Metrics({ instanceId, logger });
  const lifecycle = new Lifecycle({ logger, graceSeconds: config.SHUTDOWN_GRACE_SECONDS, flush: log.flush });
  lifecycle.install();
  const roleNames = roles.map((r) => r.name);

  let healthPort: number | null = null;
  if (config.HEALTH_PORT !== null) {
    const health = new HealthServer({ port: config.HEALTH_PORT, host: config.HEALTH_HOST, instanceId, roles: roleNames, version, metrics, logger });
    healthPort = (await health.start()).port;
    lifecycle.add({ name: 'health', stop: () => health.stop() });
  }
  logger.info({ event_type: 'worker_started', roles: roleNames, version, health_port: healthPort, pid: process.pid }, `rugbyworker ${version} started`);

  const ctx = { config, logger, metrics, stopping: lifecycle.stopping, concurrency: config.CONCURRENCY, once };
  const finished: Promise<void>[] = [];
  for (const role of roles) {
    if (!role.start) continue;
    const service = await role.start({ ...ctx, logger: logger.child({ role: role.name }) });
    lifecycle.add(service);
    finished.push(service.done ?? Promise.resolve());
  }
  // --once: every role finishes its unit of work (or a signal comes first), then a normal shutdown.
  const code = once
    ? await Promise.race([Promise.all(finished).then(() => lifecycle.shutdown('once')), lifecycle.done])
    : await lifecycle.done;
  lifecycle.uninstall();
  await log.close();
  return code;
}
