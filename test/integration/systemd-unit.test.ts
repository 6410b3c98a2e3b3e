// The committed unit template passes `systemd-analyze verify` for every role, with its
// ExecStart and EnvironmentFile pointed at files that exist here (a stub executable, an empty
// .env); every variant of it (no devices, a Jetson's, an NVIDIA GPU's; User=root when asked
// for) is rated at most 3.0 by `systemd-analyze security --offline=true` (8.6 before issue 20).
import { describe, expect, it } from '@jest/globals';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROLE_NAMES } from '../../roles/index.js';
import { DEFAULT_UNIT, UNIT_DEVICES, systemdUnit } from '../../src/domain/systemd-unit.js';
import { securityExposure, systemdAnalyzeMissing, verifyTemplate } from '../helpers/systemd.js';

const missing = systemdAnalyzeMissing();
if (missing) console.warn(`SKIPPED systemd-unit tests: ${missing}`);

(missing ? describe.skip : describe)('systemd-analyze verify', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rw-unit-files-'));
  const stub = join(dir, 'rugbyworker');
  writeFileSync(stub, '#!/bin/sh\nexit 0\n');
  chmodSync(stub, 0o755);
  const envFile = join(dir, '.env');
  writeFileSync(envFile, '');
  const committed = readFileSync(fileURLToPath(new URL('../../deploy/systemd/rugbyworker@.service', import.meta.url)), 'utf8');
  const local = committed
    .replace(`ExecStart=${DEFAULT_UNIT.execPath} `, `ExecStart=${stub} `)
    .replace(`EnvironmentFile=${DEFAULT_UNIT.envFile}\n`, `EnvironmentFile=${envFile}\n`);

  it.each([...ROLE_NAMES, 'all'])('deploy/systemd/rugbyworker@.service as rugbyworker@%s', (role) => {
    expect(local).not.toBe(committed);
    expect(verifyTemplate(local, role)).toEqual({ code: 0, output: '' });
  });

  it('a WORK_DIR outside /tmp and a longer grace', () => {
    const text = systemdUnit({ ...DEFAULT_UNIT, execPath: stub, envFile, workDir: '/var/lib/rugbyworker', shutdownGraceSeconds: 600 });
    expect(verifyTemplate(text)).toEqual({ code: 0, output: '' });
  });

  it('catches a mistake (so a pass means something)', () => {
    const r = verifyTemplate(local.replace('LimitNOFILE=65536', 'LimitNOFILE=lots'));
    expect(r.output).toMatch(/LimitNOFILE|resource value/);
    expect(verifyTemplate(committed).code).not.toBe(0); // /usr/local/bin/rugbyworker is not here
  });
});

(missing ? describe.skip : describe)('systemd-analyze security', () => {
  const MAX_EXPOSURE = 3.0;

  it.each(UNIT_DEVICES)('the unit with devices %s: exposure at most 3.0, and it verifies', (devices) => {
    const text = systemdUnit({ ...DEFAULT_UNIT, devices, groups: devices === 'none' ? [] : DEFAULT_UNIT.groups });
    const { exposure, output } = securityExposure(text);
    if (exposure > MAX_EXPOSURE) console.log(output);
    expect(exposure).toBeLessThanOrEqual(MAX_EXPOSURE);
    const stub = mkdtempSync(join(tmpdir(), 'rw-unit-files-'));
    writeFileSync(join(stub, 'rugbyworker'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    writeFileSync(join(stub, '.env'), '');
    expect(verifyTemplate(systemdUnit({ ...DEFAULT_UNIT, devices, execPath: join(stub, 'rugbyworker'), envFile: join(stub, '.env') }))).toEqual({ code: 0, output: '' });
  });

  it('deploy/systemd/rugbyworker@.service for every role, and User=root when named', () => {
    const committed = readFileSync(fileURLToPath(new URL('../../deploy/systemd/rugbyworker@.service', import.meta.url)), 'utf8');
    for (const role of [...ROLE_NAMES, 'all']) expect(securityExposure(committed, role).exposure).toBeLessThanOrEqual(MAX_EXPOSURE);
    expect(securityExposure(systemdUnit({ ...DEFAULT_UNIT, user: 'root' })).exposure).toBeLessThanOrEqual(MAX_EXPOSURE);
  });

  it('rates a unit without the hardening above 3.0 (so a pass means something)', () => {
    const text = systemdUnit(DEFAULT_UNIT);
    const bare = text.slice(0, text.indexOf('# Hardening')) + text.slice(text.indexOf('LimitNOFILE='));
    expect(securityExposure(bare).exposure).toBeGreaterThan(MAX_EXPOSURE);
  });
});
