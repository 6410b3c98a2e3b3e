// The optional permissions of a stereo role (src/domain/stereo/task-permissions.ts), asked at
// start-up with calls that change nothing: each missing one is logged once per process as a
// warning naming it and what the role does without it. An unknown answer (no answer at all)
// counts as present: the call itself will tell (the first AccessDenied, see refused()).
import type { Logger } from 'pino';
import type { RolePorts } from '../../src/ports/index.js';
import { isAccessDenied } from '../../src/domain/aws-error-codes.js';
import { checkName, resourceName, type RolePermission } from '../../src/domain/stereo/task-permissions.js';
import { describeError } from '../../src/domain/describe-error.js';

// Once per process (its ports): two roles of one process probing one permission say it once.
const saidBy = new WeakMap<RolePorts, Set<string>>();

function warn(ports: RolePorts, logger: Logger, role: string, need: RolePermission, reason: string): void {
  const name = checkName(need);
  let said = saidBy.get(ports);
  if (!said) saidBy.set(ports, (said = new Set()));
  if (said.has(name)) return;
  said.add(name);
  logger.warn(
    { event_type: 'permission_missing', role, permission: need.action, resource: resourceName(need.on), required: need.required, reason },
    `${name} refused by the IAM policy; without it ${need.without}`,
  );
}

/** The permissions of `needs` the credentials lack (each logged once); [] without a probe (local mode). */
export async function missingPermissions(ports: RolePorts, needs: readonly RolePermission[], role: string, logger: Logger): Promise<RolePermission[]> {
  const probe = ports.permissions?.();
  if (!probe || needs.length === 0) return [];
  const verdicts = await probe.probe(needs).catch((err: unknown) => {
    logger.warn({ event_type: 'permission_probe_failed', role, err }, `could not ask which permissions ${role} has: ${describeError(err)}`);
    return needs.map(() => 'unknown' as const);
  });
  const missing = needs.filter((_n, i) => verdicts[i] === 'missing');
  for (const need of missing) warn(ports, logger, role, need, 'probed at start-up');
  return missing;
}

/** Whether `err` is a refusal of one of `needs`' calls; if so it is logged once (as if probed) and true. */
export function refused(err: unknown, ports: RolePorts, needs: readonly RolePermission[], role: string, logger: Logger): boolean {
  if (!isAccessDenied(err)) return false;
  const text = describeError(err);
  const need = needs.find((n) => text.includes(n.action)) ?? needs[0];
  if (need) warn(ports, logger, role, need, text);
  return true;
}
