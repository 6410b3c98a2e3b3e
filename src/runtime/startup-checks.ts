// Before any role takes a message: credentials the services refuse stop the worker with
// exit 78 naming the settings to fix, instead of a retry loop that ends every job in the
// dead-letter queue. A service that is merely unreachable does not stop the start: the
// roles wait for it (and /health says so).
import type { QueueUrlKey } from '../domain/requirements.js';
import type { RoleDefinition, RolePorts } from '../ports/index.js';
import { ConfigError } from './errors.js';
import { describeError } from '../domain/describe-error.js';
import { isRefusedCredential } from '../domain/failure.js';

async function refused(what: Promise<unknown>, settings: string, service: string): Promise<void> {
  try {
    await what;
  } catch (err) {
    if (isRefusedCredential(err)) throw new ConfigError(`${service} refused the credentials (${settings}): ${describeError(err)}`);
    // Unreachable or anything else: the roles' own calls will retry it.
  }
}

/** Rejects with a ConfigError when a service the roles need refuses its credentials. */
export async function checkCredentials(roles: readonly RoleDefinition[], ports: RolePorts): Promise<void> {
  const checks: Array<Promise<void>> = [];
  if (roles.some((r) => r.needs.mediaDb)) {
    checks.push(refused(ports.mediaDb().ping(), 'SUPABASE_SERVICE_ROLE_KEY', 'Supabase'));
  }
  const queues = new Set<QueueUrlKey>(roles.flatMap((r) => [r.needs.consumes, ...(r.needs.sendsTo ?? [])].filter((k): k is QueueUrlKey => k !== undefined)));
  for (const key of queues) {
    // Opening reads the queue's attributes (SQS GetQueueAttributes): a call the role makes anyway.
    // A policy that refuses that call does not stop the start (the adapter does without it, and
    // an AccessDenied proves the credentials good); credentials the service does not accept do.
    checks.push(refused(ports.queue(key), 'AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or the instance/task role', `the queue of ${key}`));
  }
  // Settled together, so the first refusal found is reported after every check has run.
  const results = await Promise.allSettled(checks);
  const first = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (first) throw first.reason;
}
