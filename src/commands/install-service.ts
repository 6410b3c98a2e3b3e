// `rugbyworker install-service --role NAME`: writes the systemd unit template for this
// executable, .env and machine (its hardware decides which device nodes the unit opens), and
// prints the systemctl commands to run (it runs none).
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { ROLE_NAMES } from '../../roles/index.js';
import { parseRoleSelection } from '../domain/role-selection.js';
import { serviceUser, type Account } from '../domain/service-user.js';
import {
  DEVICE_GROUPS, UNIT_DEVICES, UNIT_FILE_NAME, systemdUnit, unitDevicesFor, unsafeUnitValue, type UnitDevices, type UnitOptions,
} from '../domain/systemd-unit.js';
import { loadConfig } from '../runtime/config/load.js';
import { EXIT, UsageError, UserError } from '../runtime/errors.js';
import { readPlatform } from '../runtime/ffmpeg/hw-platform.js';
import { readTextFile } from '../runtime/ffmpeg/hw-sources.js';

/** What the unit depends on in this machine; tests pass another. */
export interface ServiceHost {
  /** As hardware decode detection sees it (the same platform files). */
  platform(): Promise<{ jetson: boolean; hasGpu: boolean }>;
  /** Names of the groups this machine has (/etc/group). */
  groups(): Promise<string[]>;
}

export const systemHost: ServiceHost = {
  platform: () => readPlatform({ readFile: readTextFile }),
  groups: async () => (await readTextFile('/etc/group') ?? '').split('\n').map((l) => l.split(':')[0] ?? '').filter(Boolean),
};

export interface InstallServiceOptions {
  role: string;
  envFile?: string;
  unitDir?: string;
  force: boolean;
  /** --user: the account the worker runs as; else the sudo user, never root unless named. */
  user?: string;
  /** --devices: auto (this machine's hardware) or one of UNIT_DEVICES. */
  devices?: string;
  /** The executable the unit starts (process.execPath in the SEA). */
  execPath: string;
  io: { stdout: (s: string) => void; env: Readonly<Record<string, string | undefined>>; cwd: string };
  host?: ServiceHost;
}

/** systemd instance names for a --role spec: one unit per role, or rugbyworker@all. */
export function instancesFor(spec: string): string[] {
  const sel = parseRoleSelection(spec, ROLE_NAMES);
  if (!sel.ok) throw new UsageError(sel.error);
  if (sel.names.length === 0) throw new UsageError('install-service needs a role that does work (--role none only serves /health): choose from ' + `${ROLE_NAMES.join(', ')}, or all`);
  return spec.trim() === 'all' ? ['all'] : sel.names;
}

export async function installService(o: InstallServiceOptions): Promise<number> {
  const instances = instancesFor(o.role);
  const choice = o.devices ?? 'auto';
  if (choice !== 'auto' && !(UNIT_DEVICES as readonly string[]).includes(choice)) {
    throw new UsageError(`--devices ${JSON.stringify(choice)} is not one of auto, ${UNIT_DEVICES.join(', ')}`);
  }
  const envFile = resolve(o.io.cwd, o.envFile ?? '.env');
  if (!existsSync(envFile) || !statSync(envFile).isFile()) {
    throw new UserError(`${envFile} does not exist: the unit reads its settings from it (--environment-file PATH)`, EXIT.FAILURE);
  }
  const who = serviceUser({ explicit: o.user, sudo: sudoAccount(o.io.env), current: currentAccount() });
  if (!who.ok) throw new UsageError(who.error);
  // The settings the unit itself depends on, as the service will see them: the .env alone.
  const config = loadConfig({ env: {}, dotenvPath: envFile });
  const host = o.host ?? systemHost;
  const devices: UnitDevices = choice === 'auto' ? unitDevicesFor(await host.platform()) : choice as UnitDevices;
  // A group the machine lacks would stop the unit from starting (216/GROUP).
  const present = devices === 'none' ? [] : await host.groups();
  const unit: UnitOptions = {
    execPath: o.execPath,
    envFile,
    user: who.user,
    workDir: resolve('/', config.WORK_DIR), // the service's working directory is /
    shutdownGraceSeconds: config.SHUTDOWN_GRACE_SECONDS,
    devices,
    groups: DEVICE_GROUPS.filter((g) => present.includes(g)),
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
    const groups = unit.groups.length > 0 ? ` with ${unit.groups.join(', ')}` : '';
    o.io.stdout(`${existing === undefined ? 'wrote' : 'replaced'} ${path} (User=${unit.user}, ExecStart=${unit.execPath}, EnvironmentFile=${envFile}, devices: ${devices}${groups})\n`);
  }
  const units = instances.map((i) => `rugbyworker@${i}`).join(' ');
  o.io.stdout(`then run:\n  sudo systemctl daemon-reload\n  sudo systemctl enable --now ${units}\n`);
  return EXIT.OK;
}

function sudoAccount(env: Readonly<Record<string, string | undefined>>): Account | undefined {
  if (!env.SUDO_USER) return undefined;
  const uid = env.SUDO_UID;
  return { name: env.SUDO_USER, uid: uid !== undefined && /^\d+$/.test(uid) ? Number(uid) : undefined };
}

function currentAccount(): Account {
  const me = userInfo();
  return { name: me.username, uid: me.uid };
}
