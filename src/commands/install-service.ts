// `rugbyworker install-service --role NAME`: writes the systemd unit template for this
// executable and .env, and prints the systemctl commands to run (it runs none).
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { ROLE_NAMES } from '../../roles/index.js';
import { parseRoleSelection } from '../domain/role-selection.js';
import { UNIT_FILE_NAME, systemdUnit, unsafeUnitValue, type UnitOptions } from '../domain/systemd-unit.js';
import { loadConfig } from '../runtime/config/load.js';
import { EXIT, UsageError, UserError } from '../runtime/errors.js';

export interface InstallServiceOptions {
  role: string;
  envFile?: string;
  unitDir?: string;
  force: boolean;
  /** The executable the unit starts (process.execPath in the SEA). */
  execPath: string;
  io: { stdout: (s: string) => void; env: Readonly<Record<string, string | undefined>>; cwd: string };
}

/** systemd instance names for a --role spec: one unit per role, or rugbyworker@all. */
export function instancesFor(spec: string): string[] {
  const sel = parseRoleSelection(spec, ROLE_NAMES);
  if (!sel.ok) throw new UsageError(sel.error);
  if (sel.names.length === 0) throw new UsageError('install-service needs a role that does work (--role none only serves /health): choose from ' + `${ROLE_NAMES.join(', ')}, or all`);
  return spec.trim() === 'all' ? ['all'] : sel.names;
}

export function installService(o: InstallServiceOptions): number {
  const instances = instancesFor(o.role);
  const envFile = resolve(o.io.cwd, o.envFile ?? '.env');
  if (!existsSync(envFile) || !statSync(envFile).isFile()) {
    throw new UserError(`${envFile} does not exist: the unit reads its settings from it (--environment-file PATH)`, EXIT.FAILURE);
  }
  // The settings the unit itself depends on, as the service will see them: the .env alone.
  const config = loadConfig({ env: {}, dotenvPath: envFile });
  const unit: UnitOptions = {
    execPath: o.execPath,
    envFile,
    user: o.io.env.SUDO_USER || userInfo().username,
    workDir: resolve('/', config.WORK_DIR), // the service's working directory is /
    shutdownGraceSeconds: config.SHUTDOWN_GRACE_SECONDS,
  };
  const bad = unsafeUnitValue(unit);
  if (bad) throw new UserError(`cannot write the unit: ${bad}`, EXIT.FAILURE);
  const text = systemdUnit(unit);
  const unitDir = resolve(o.io.cwd, o.unitDir ?? '/etc/systemd/system');
  const path = join(unitDir, UNIT_FILE_NAME);
  const existing = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  if (existing === text) {
    o.io.stdout(`${path} is up to date\n`);
  } else {
    if (existing !== undefined && !o.force) {
      throw new UserError(`${path} exists and differs from the unit for ${unit.execPath} and ${envFile}: not overwritten (--force replaces it)`, EXIT.FAILURE);
    }
    try {
      mkdirSync(unitDir, { recursive: true });
      writeFileSync(path, text, { mode: 0o644 });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new UserError(`cannot write ${path}: ${e.code === 'EACCES' || e.code === 'EPERM' ? 'permission denied (run it with sudo)' : e.message}`, EXIT.FAILURE);
    }
    o.io.stdout(`${existing === undefined ? 'wrote' : 'replaced'} ${path} (User=${unit.user}, ExecStart=${unit.execPath}, EnvironmentFile=${envFile})\n`);
  }
  const units = instances.map((i) => `rugbyworker@${i}`).join(' ');
  o.io.stdout(`then run:\n  sudo systemctl daemon-reload\n  sudo systemctl enable --now ${units}\n`);
  return EXIT.OK;
}
