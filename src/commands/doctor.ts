// `rugbyworker doctor`: one line per check, ✓ or ✗ with the reason; exit 1 when a
// check the chosen roles depend on fails.
import type { Io } from './io.js';
import { missingSettings, requiredSettings } from '../domain/requirements.js';
import type { RoleDefinition } from '../ports/index.js';
import type { Config } from '../runtime/config/schema.js';
import { ConfigError, EXIT } from '../runtime/errors.js';
import { versionLine } from '../runtime/version.js';
import { createRedactor } from '../runtime/redact.js';
import { envSecretValues, secretValues } from '../runtime/config/secrets.js';
import { escapeControlChars } from '../runtime/terminal-text.js';
import type { CheckResult } from './doctor/check.js';
import { credentialChecks } from './doctor/credentials.js';
import { endpointChecks } from './doctor/endpoint-checks.js';
import { ffmpegChecks } from './doctor/ffmpeg-checks.js';
import { sqsPermissionChecks } from './doctor/sqs-permissions.js';
import { stereoPermissionChecks } from './doctor/stereo-permissions.js';
import { describeTopology, detectTopology, type TopologySetting } from '../domain/stereo/topology.js';

export interface DoctorOptions {
  /** Chosen roles; none means the local mode (only ffmpeg is required). */
  roles: RoleDefinition[];
  config: Config | ConfigError;
  io: Io;
}

export async function runDoctor({ roles, config, io }: DoctorOptions): Promise<number> {
  io.stdout(`${versionLine()}\n`);
  // A detail is often a service's or a library's error text: masked and escaped as the logs are.
  const redact = createRedactor(config instanceof ConfigError ? envSecretValues(io.env) : secretValues(config));
  const print = (c: CheckResult) => io.stdout(`${c.ok ? '✓' : '✗'} ${c.name}: ${escapeControlChars(redact(c.detail))}${!c.ok && !c.required ? ' (not required)' : ''}\n`);
  if (config instanceof ConfigError) {
    print({ name: 'configuration', ok: false, required: true, detail: config.message });
    io.stdout('doctor: the configuration is invalid; fix it first\n');
    return EXIT.FAILURE;
  }
  const scope = roles.length > 0 ? `roles ${roles.map((r) => r.name).join(', ')}` : 'local mode';
  const missing = missingSettings(roles, config);
  const requiredKeys = new Set(roles.flatMap((r) => requiredSettings(r.name, r.needs, config).map((x) => x.key)));
  const needsFfmpeg = roles.length === 0 || roles.some((r) => r.needs.ffmpeg);

  const results: CheckResult[] = [
    { name: 'configuration', ok: missing.length === 0, required: true, detail: missing.length === 0 ? `every setting ${scope} needs is present` : `${missing.length} missing` },
    ...missing.map((m) => ({ name: m.key, ok: false, required: true, detail: `not set: ${m.reason}` })),
    ...credentialChecks(config, roles),
    // Which stereo-spot deployment the stereo roles serve, and which variables said so.
    ...(roles.some((r) => r.needs.tables?.includes('JOBS_TABLE_NAME'))
      ? [{ name: 'stereo topology', ok: true, required: false, detail: describeTopology(detectTopology(io.env, config.STEREO_TOPOLOGY as TopologySetting)) }]
      : []),
  ];
  results.forEach(print);
  const slow = [
    ...(await ffmpegChecks(config, io.env, needsFfmpeg)), ...(await Promise.all(endpointChecks(config, requiredKeys))),
    ...(await Promise.all(sqsPermissionChecks(config, roles))).flat(),
    ...(missing.length === 0 ? await stereoPermissionChecks(config, roles) : []),
  ];
  slow.forEach(print);

  const failed = [...results, ...slow].filter((c) => !c.ok && c.required);
  io.stdout(failed.length === 0 ? `doctor: ready for ${scope}\n` : `doctor: ${failed.length} problem${failed.length > 1 ? 's' : ''} for ${scope}: ${failed.map((c) => c.name).join(', ')}\n`);
  return failed.length === 0 ? EXIT.OK : EXIT.FAILURE;
}
