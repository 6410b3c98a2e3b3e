// The systemd unit template: one generator, the committed file equal to its output; its
// hardening per device variant; who it runs as (never root by accident).
import { describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installService, instancesFor, type ServiceHost } from '../../src/commands/install-service.js';
import { serviceUser } from '../../src/domain/service-user.js';
import {
  DEFAULT_UNIT, UNIT_FILE_NAME, stopTimeoutSeconds, systemdUnit, unitDevicesFor, unsafeUnitValue,
} from '../../src/domain/systemd-unit.js';
import { schema } from '../../src/runtime/config/schema.js';

const committed = fileURLToPath(new URL(`../../deploy/systemd/${UNIT_FILE_NAME}`, import.meta.url));
const directives = (text: string) => text.split('\n').filter((l) => /^[A-Za-z]+=/.test(l));

describe('systemd unit', () => {
  it('deploy/systemd/rugbyworker@.service is exactly systemdUnit(DEFAULT_UNIT)', () => {
    // On a difference: npx tsx -e "import('./src/domain/systemd-unit.ts').then(m=>require('fs').writeFileSync('deploy/systemd/rugbyworker@.service', m.systemdUnit(m.DEFAULT_UNIT)))"
    expect(readFileSync(committed, 'utf8')).toBe(systemdUnit(DEFAULT_UNIT));
  });

  it('the default unit uses the schema defaults for WORK_DIR and SHUTDOWN_GRACE_SECONDS', () => {
    expect(DEFAULT_UNIT.workDir).toBe(schema.WORK_DIR.default);
    expect(DEFAULT_UNIT.shutdownGraceSeconds).toBe(schema.SHUTDOWN_GRACE_SECONDS.default);
  });

  it('is hardened and keeps the documented behaviour', () => {
    const d = directives(systemdUnit(DEFAULT_UNIT));
    expect(d).toEqual(expect.arrayContaining([
      'User=scribe',
      'EnvironmentFile=/home/scribe/rugbycodex/jetson_scripts/.env',
      'ExecStart=/usr/local/bin/rugbyworker --role %i',
      'KillSignal=SIGTERM', 'KillMode=mixed', 'Restart=on-failure',
      'RestartPreventExitStatus=78 2',
      'NoNewPrivileges=yes', 'CapabilityBoundingSet=', 'AmbientCapabilities=',
      'ProtectSystem=strict', 'PrivateTmp=yes', 'ProtectHome=read-only',
      'ReadWritePaths=-/tmp/rugbyworker', 'UMask=0077',
      'ProtectKernelTunables=yes', 'ProtectKernelModules=yes', 'ProtectKernelLogs=yes', 'ProtectControlGroups=yes',
      'ProtectClock=yes', 'ProtectHostname=yes', 'ProtectProc=invisible', 'PrivateMounts=yes',
      'RestrictNamespaces=yes', 'RestrictRealtime=yes', 'RestrictSUIDSGID=yes', 'LockPersonality=yes',
      'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK', 'SystemCallArchitectures=native',
      'SystemCallFilter=@system-service', 'SystemCallFilter=~@privileged @resources', 'SystemCallFilter=capset',
      'SystemCallErrorNumber=EPERM',
      'LimitNOFILE=65536',
      'WantedBy=multi-user.target',
    ]));
    // Measured: Node aborts under it (V8's JIT); /proc/meminfo and the like are read.
    expect(d.some((l) => /^(MemoryDenyWriteExecute|ProcSubset|RemoveIPC)=/.test(l))).toBe(false);
    expect(d.some((l) => l.startsWith('MemoryMax='))).toBe(false); // documented, not set
    const stop = Number(d.find((l) => l.startsWith('TimeoutStopSec='))?.split('=')[1]);
    expect(stop).toBeGreaterThanOrEqual(schema.SHUTDOWN_GRACE_SECONDS.default + 5);
  });

  it('the stop timeout follows a longer grace', () => {
    expect(stopTimeoutSeconds(25)).toBe(60);
    expect(stopTimeoutSeconds(300)).toBe(305);
    expect(directives(systemdUnit({ ...DEFAULT_UNIT, shutdownGraceSeconds: 300, workDir: '/var/lib/rw' }))).toEqual(expect.arrayContaining(['TimeoutStopSec=305', 'ReadWritePaths=-/var/lib/rw']));
  });

  it('no devices: PrivateDevices; a Jetson or NVIDIA GPU: its nodes only, with the groups that own them', () => {
    const none = directives(systemdUnit({ ...DEFAULT_UNIT, devices: 'none', groups: [] }));
    expect(none).toContain('PrivateDevices=yes');
    expect(none.filter((l) => /^(DeviceAllow|DevicePolicy|SupplementaryGroups)=/.test(l))).toEqual([]);

    const jetson = directives(systemdUnit(DEFAULT_UNIT));
    expect(jetson).not.toContain('PrivateDevices=yes'); // it would hide /dev/nvhost-*, /dev/nvmap, /dev/v4l2-nvdec
    expect(jetson).toEqual(expect.arrayContaining([
      'SupplementaryGroups=video render', 'DevicePolicy=closed',
      'DeviceAllow=char-nvhost* rw', 'DeviceAllow=char-host1x* rw', 'DeviceAllow=char-drm rw', 'DeviceAllow=/dev/nvmap rw', 'DeviceAllow=/dev/v4l2-nvdec rw',
    ]));

    const nvidia = directives(systemdUnit({ ...DEFAULT_UNIT, devices: 'nvidia', groups: ['video'] }));
    expect(nvidia.filter((l) => /^(DeviceAllow|DevicePolicy|SupplementaryGroups|PrivateDevices)=/.test(l)))
      .toEqual(['SupplementaryGroups=video', 'DevicePolicy=closed', 'DeviceAllow=char-nvidia* rw']);
    expect(directives(systemdUnit({ ...DEFAULT_UNIT, groups: [] })).some((l) => l.startsWith('SupplementaryGroups='))).toBe(false);
  });

  it('the devices follow what hardware decode detection finds', () => {
    expect(unitDevicesFor({ jetson: true, hasGpu: true })).toBe('jetson');
    expect(unitDevicesFor({ jetson: false, hasGpu: true })).toBe('nvidia');
    expect(unitDevicesFor({ jetson: false, hasGpu: false })).toBe('none');
  });

  it('refuses values that would need quoting or escaping in a unit', () => {
    expect(unsafeUnitValue(DEFAULT_UNIT)).toBeUndefined();
    expect(unsafeUnitValue({ ...DEFAULT_UNIT, execPath: 'rugbyworker' })).toMatch(/executable path "rugbyworker" must be an absolute path/);
    expect(unsafeUnitValue({ ...DEFAULT_UNIT, envFile: '/home/a b/.env' })).toMatch(/\.env path/);
    expect(unsafeUnitValue({ ...DEFAULT_UNIT, workDir: '/tmp/%i' })).toMatch(/WORK_DIR/);
    expect(unsafeUnitValue({ ...DEFAULT_UNIT, workDir: '/tmp/../etc' })).toMatch(/WORK_DIR/);
    expect(unsafeUnitValue({ ...DEFAULT_UNIT, user: 'root\nExecStartPre=/bin/sh' })).toMatch(/user/);
    expect(unsafeUnitValue({ ...DEFAULT_UNIT, groups: ['video', 'a b'] })).toMatch(/group "a b"/);
    expect(unsafeUnitValue({ ...DEFAULT_UNIT, devices: 'all' as never })).toMatch(/devices "all"/);
    expect(() => systemdUnit({ ...DEFAULT_UNIT, envFile: 'x' })).toThrow(/\.env path/);
  });
});

describe('serviceUser', () => {
  it('the user who ran sudo, else the current one; root only when named', () => {
    expect(serviceUser({ sudo: { name: 'scribe', uid: 1000 }, current: { name: 'root', uid: 0 } })).toEqual({ ok: true, user: 'scribe' });
    expect(serviceUser({ current: { name: 'scribe', uid: 1000 } })).toEqual({ ok: true, user: 'scribe' });
    expect(serviceUser({ explicit: 'rugbyworker', sudo: { name: 'scribe' }, current: { name: 'root', uid: 0 } })).toEqual({ ok: true, user: 'rugbyworker' });
    expect(serviceUser({ explicit: 'root', current: { name: 'root', uid: 0 } })).toEqual({ ok: true, user: 'root' });
    // A root shell, `sudo` from one (SUDO_USER=root), another name for uid 0:
    for (const o of [
      { current: { name: 'root', uid: 0 } },
      { sudo: { name: 'root', uid: 0 }, current: { name: 'root', uid: 0 } },
      { sudo: { name: 'toor', uid: 0 }, current: { name: 'root', uid: 0 } },
      { sudo: { name: '' }, current: { name: 'root', uid: 0 } },
    ]) {
      const r = serviceUser(o);
      expect(r).toEqual({ ok: false, error: expect.stringContaining('install-service will not run the worker as root') });
      expect(!r.ok && r.error).toMatch(/--user NAME .*--user root to insist$/);
    }
  });
});

describe('installService', () => {
  const io = (cwd: string) => {
    const out: string[] = [];
    return { out, io: { stdout: (s: string) => void out.push(s), env: { SUDO_USER: 'scribe' }, cwd } };
  };

  it('one instance per role named, rugbyworker@all for all; none and unknown roles are usage errors', () => {
    expect(instancesFor('transcode')).toEqual(['transcode']);
    expect(instancesFor('chunk, reassemble')).toEqual(['chunk', 'reassemble']);
    expect(instancesFor('all')).toEqual(['all']);
    expect(() => instancesFor('none')).toThrow(expect.objectContaining({ exitCode: 64 }));
    expect(() => instancesFor('transcoder')).toThrow(expect.objectContaining({ exitCode: 64, message: expect.stringContaining('valid roles: transcode, cleanup') }));
  });

  const host = (platform: { jetson: boolean; hasGpu: boolean }, groups = ['root', 'video', 'scribe']): ServiceHost => ({
    platform: async () => platform, groups: async () => groups,
  });
  const jetson = host({ jetson: true, hasGpu: true });

  it('takes WORK_DIR and SHUTDOWN_GRACE_SECONDS from the .env, the user from SUDO_USER, the devices from the hardware', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rw-unit-'));
    writeFileSync(join(dir, '.env'), 'WORK_DIR=/var/lib/rugbyworker\nSHUTDOWN_GRACE_SECONDS=120\n');
    const { out, io: i } = io(dir);
    expect(await installService({ role: 'cleanup', unitDir: 'units', force: false, execPath: '/opt/rw/rugbyworker', io: i, host: jetson })).toBe(0);
    const text = readFileSync(join(dir, 'units', UNIT_FILE_NAME), 'utf8');
    // This Jetson has no render group: a missing one would keep the unit from starting.
    expect(text).toBe(systemdUnit({
      execPath: '/opt/rw/rugbyworker', envFile: join(dir, '.env'), user: 'scribe', workDir: '/var/lib/rugbyworker', shutdownGraceSeconds: 120, devices: 'jetson', groups: ['video'],
    }));
    expect(out.join('')).toContain(', devices: jetson with video)\n');
    expect(out.join('')).toContain('sudo systemctl enable --now rugbyworker@cleanup\n');

    await installService({ role: 'cleanup', unitDir: 'plain', force: false, execPath: '/opt/rw/rugbyworker', io: i, host: host({ jetson: false, hasGpu: false }) });
    expect(readFileSync(join(dir, 'plain', UNIT_FILE_NAME), 'utf8')).toContain('\nPrivateDevices=yes\n');
    await installService({ role: 'cleanup', unitDir: 'forced', force: false, devices: 'nvidia', execPath: '/opt/rw/rugbyworker', io: i, host: jetson });
    expect(readFileSync(join(dir, 'forced', UNIT_FILE_NAME), 'utf8')).toContain('\nDeviceAllow=char-nvidia* rw\nProtectKernelTunables=yes\n');
  });

  it('as root without a sudo user: refuses in one line (exit 64) and writes nothing, unless --user names one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rw-unit-'));
    writeFileSync(join(dir, '.env'), '');
    const asRoot = { stdout: () => undefined, env: { SUDO_USER: 'root', SUDO_UID: '0' }, cwd: dir };
    await expect(installService({ role: 'transcode', unitDir: 'units', force: false, execPath: '/opt/rw/rugbyworker', io: asRoot, host: jetson }))
      .rejects.toThrow(expect.objectContaining({ exitCode: 64, message: expect.stringMatching(/^install-service will not run the worker as root \(root, uid 0\): name its account with --user NAME/) }));
    expect(existsSync(join(dir, 'units'))).toBe(false);
    await installService({ role: 'transcode', unitDir: 'units', force: false, user: 'root', execPath: '/opt/rw/rugbyworker', io: asRoot, host: jetson });
    expect(readFileSync(join(dir, 'units', UNIT_FILE_NAME), 'utf8')).toContain('\nUser=root\n');
  });

  it('--devices other than auto, none, jetson, nvidia is a usage error', async () => {
    const { io: i } = io(tmpdir());
    await expect(installService({ role: 'transcode', force: false, devices: 'gpu', execPath: '/x', io: i, host: jetson }))
      .rejects.toThrow(expect.objectContaining({ exitCode: 64, message: '--devices "gpu" is not one of auto, none, jetson, nvidia' }));
  });
});
