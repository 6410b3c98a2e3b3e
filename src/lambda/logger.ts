// The Lambda's logger: the process logger of the executable (one JSON event per line,
// same fields, redacted) on stdout, which Lambda ships to CloudWatch. No Axiom, no
// config loader: LOG_LEVEL and AXIOM_ENVIRONMENT are read as the executable reads them.
import { pino } from 'pino';
import type { Logger } from 'pino';
import { createLogger } from '../runtime/logger/logger.js';

let logger: Logger | undefined;

/** Created on first use, then the same for the container's life. */
export function lambdaLogger(env: NodeJS.ProcessEnv): Logger {
  if (logger) return logger;
  const level = env.LOG_LEVEL || 'info';
  if (!(level in pino.levels.values)) throw new Error(`LOG_LEVEL must be one of ${Object.keys(pino.levels.values).join(', ')}, got ${JSON.stringify(level)}`);
  logger = createLogger({
    level,
    environment: env.AXIOM_ENVIRONMENT || 'production',
    // Lambda puts the role's session credentials in the environment: never in a line.
    secrets: [env.AWS_SECRET_ACCESS_KEY, env.AWS_SESSION_TOKEN].filter((s): s is string => Boolean(s)),
    pretty: false,
  }).logger;
  return logger;
}
