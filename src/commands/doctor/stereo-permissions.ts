// Which AWS permissions the credentials hold for each chosen stereo role beyond its queue's
// (src/domain/stereo/task-permissions.ts), asked with calls that change nothing
// (src/adapters/aws/permission-probe.ts): one line per permission, present or missing with
// what the role does without it; only required ones fail doctor. A permission of a setting
// left unset (segment-infer's REASSEMBLY_* in upstream's video-worker task) is not asked.
import { AwsPermissionProbe } from '../../adapters/aws/permission-probe.js';
import { checkName, resourceName, STEREO_ROLE_PERMISSIONS, type RolePermission } from '../../domain/stereo/task-permissions.js';
import type { RoleDefinition } from '../../ports/index.js';
import type { Config } from '../../runtime/config/schema.js';
import type { CheckResult } from './check.js';

const LIMIT_MS = 8000;

type StereoRole = keyof typeof STEREO_ROLE_PERMISSIONS;

function settingOf(need: RolePermission): string {
  const on = need.on;
  return 'queue' in on ? on.queue : 'bucket' in on ? on.bucket : on.table;
}

export async function stereoPermissionChecks(config: Config, roles: readonly RoleDefinition[]): Promise<CheckResult[]> {
  if (config.QUEUE_BACKEND === 'memory') return [];
  // One line per permission, required if any chosen role requires it.
  const needs = new Map<string, RolePermission>();
  for (const role of roles) {
    for (const need of STEREO_ROLE_PERMISSIONS[role.name as StereoRole] ?? []) {
      const key = checkName(need);
      const seen = needs.get(key);
      if (!seen || (need.required && !seen.required)) needs.set(key, need);
    }
  }
  const asked = [...needs.values()].filter((n) => Boolean(config[settingOf(n) as keyof Config]));
  const unset = [...needs.values()].filter((n) => !asked.includes(n));
  const name = (n: RolePermission): string => `${n.action} on ${resourceName(n.on)} (${String(config[settingOf(n) as keyof Config] || 'unset')})`;
  let verdicts: string[];
  try {
    verdicts = await Promise.race([
      new AwsPermissionProbe(config).probe(asked),
      new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error(`no answer within ${LIMIT_MS / 1000} s`)), LIMIT_MS).unref()),
    ]);
  } catch (err) {
    verdicts = asked.map(() => `unknown: ${(err as Error).message}`);
  }
  return [
    ...asked.map((n, i) => {
      const v = verdicts[i] ?? 'unknown';
      return { name: name(n), required: n.required, ok: v === 'present', detail: v === 'present' ? 'present' : v === 'missing' ? `missing: without it ${n.without}` : `could not tell (${v})` };
    }),
    ...unset.map((n) => ({ name: name(n), required: false, ok: true, detail: `not asked: ${settingOf(n)} is not set${n.required ? '' : `, so ${n.without}`}` })),
  ];
}
