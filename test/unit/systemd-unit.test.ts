// The systemd unit template: one generator, the committed file equal to its output.
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installService, instancesFor } from '../../src/commands/install-service.js';
import { DEFAULT_UNIT, UNIT_FILE_NAME, stopTimeoutSeconds, systemdUnit, unsafeUnitValue } from '../../src/domain/systemd-unit.js';
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
      'NoNewPrivileges=yes', 'ProtectSystem=strict', 'PrivateTmp=yes', 'ProtectHome=read-only',
      'ReadWritePaths=-/tmp/rugbyworker', 'LimitNOFILE=65536',
      'WantedBy=multi-user.target',
    ]));
    expect(d.some((l) => l.startsWith('MemoryMax='))).toBe(false); // documented, not set
    const stop = Number(d.find((l) => l.startsWith('TimeoutStopSec='))?.split('=')[1]);
    expect(stop).toBeGreaterThanOrEqual(schema.SHUTDOWN_GRACE_SECONDS.default + 5);
  });

  it('the stop timeout follows a longer grace', () => {
    expect(stopTimeoutSeconds(25)).toBe(60);
    expect(stopTimeoutSeconds(300)).toBe(305);
    expect(directives(systemdUnit({ ...DEFAULT_UNIT, shutdownGraceSeconds: 300, workDir: '/var/lib/rw' }))).toEqual(expect.arrayContaining(['TimeoutStopSec=305', 'ReadWritePaths=-/var/lib/rw']));
  });

  it('refuses values that would need quoting or escaping in a unit', () => {
    expect(unsafeUnitValue(DEFAULT_UNIT)).toBeUndefined();
    expect(unsafeUnitValue({ ...DEFAULT_UNIT, execPath: 'rugbyworker' })).toMatch(/executable path "rugbyworker" must be an absolute path/);
    expect(unsafeUnitValue({ ...DEFAULT_UNIT, envFile: '/home/a b/.env' })).toMatch(/\.env path/);
    expect(unsafeUnitValue({ ...DEFAULT_UNIT, workDir: '/tmp/%i' })).toMatch(/WORK_DIR/);
    expect(unsafeUnitValue({ ...DEFAULT_UNIT, workDir: '/tmp/../etc' })).toMatch(/WORK_DIR/);
    expect(unsafeUnitValue({ ...DEFAULT_UNIT, user: 'root\nExecStartPre=/bin/sh' })).toMatch(/user/);
    expect(() => systemdUnit({ ...DEFAULT_UNIT, envFile: 'x' })).toThrow(/\.env path/);
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

  it('takes WORK_DIR and SHUTDOWN_GRACE_SECONDS from the .env, the user from SUDO_USER', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rw-unit-'));
    writeFileSync(join(dir, '.env'), 'WORK_DIR=/var/lib/rugbyworker\nSHUTDOWN_GRACE_SECONDS=120\n');
    const { out, io: i } = io(dir);
    expect(installService({ role: 'cleanup', unitDir: 'units', force: false, execPath: '/opt/rw/rugbyworker', io: i })).toBe(0);
    const text = readFileSync(join(dir, 'units', UNIT_FILE_NAME), 'utf8');
    expect(text).toBe(systemdUnit({ execPath: '/opt/rw/rugbyworker', envFile: join(dir, '.env'), user: 'scribe', workDir: '/var/lib/rugbyworker', shutdownGraceSeconds: 120 }));
    expect(out.join('')).toContain('sudo systemctl enable --now rugbyworker@cleanup\n');
  });
});
