// `rugbyworker install-service` on the shipped executable, into a temporary --unit-dir:
// the unit it writes names this executable and .env, and passes systemd-analyze verify.
import { describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exePath, runExe } from '../helpers/binary.js';
import { systemdAnalyzeMissing, verifyTemplate } from '../helpers/systemd.js';

const cwd = mkdtempSync(join(tmpdir(), 'rw-install-'));
const envFile = join(cwd, '.env');
writeFileSync(envFile, 'RC_DEVICE_NAME=jetson-1\nSHUTDOWN_GRACE_SECONDS=90\n');
const unitDir = join(cwd, 'units');
const unitPath = join(unitDir, 'rugbyworker@.service');
const install = (...extra: string[]) => runExe(['install-service', '--unit-dir', unitDir, ...extra], { cwd, env: { SUDO_USER: 'scribe' } });
const missingAnalyze = systemdAnalyzeMissing();

describe('rugbyworker install-service', () => {
  it('writes the unit for this executable and ./.env, and prints the systemctl commands', async () => {
    const r = await install('--role', 'transcode');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`wrote ${unitPath} (User=scribe, ExecStart=${exePath()}, EnvironmentFile=${envFile})\n`
      + 'then run:\n  sudo systemctl daemon-reload\n  sudo systemctl enable --now rugbyworker@transcode\n');
    const text = readFileSync(unitPath, 'utf8');
    expect(text).toContain(`\nExecStart=${exePath()} --role %i\n`);
    expect(text).toContain(`\nEnvironmentFile=${envFile}\n`);
    expect(text).toContain('\nTimeoutStopSec=95\n'); // the .env's SHUTDOWN_GRACE_SECONDS + 5
  });

  (missingAnalyze ? it.skip : it)('the written unit passes systemd-analyze verify', () => {
    expect(verifyTemplate(readFileSync(unitPath, 'utf8'), 'transcode')).toEqual({ code: 0, output: '' });
  });

  it('says it is up to date on a rerun, another role only changes the commands', async () => {
    const r = await install('--role', 'cleanup,chunk');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${unitPath} is up to date\nthen run:\n  sudo systemctl daemon-reload\n  sudo systemctl enable --now rugbyworker@cleanup rugbyworker@chunk\n`);
  });

  it('refuses to overwrite a changed file in one line (exit 1); --force replaces it', async () => {
    const written = readFileSync(unitPath, 'utf8');
    writeFileSync(unitPath, written.replace('LimitNOFILE=65536', 'LimitNOFILE=1024'));
    const refused = await install('--role', 'transcode');
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toBe(`rugbyworker: ${unitPath} exists and differs from the unit for ${exePath()} and ${envFile}: not overwritten (--force replaces it)\n`);
    expect(readFileSync(unitPath, 'utf8')).toContain('LimitNOFILE=1024');

    const forced = await install('--role', 'transcode', '--force');
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(new RegExp(`^replaced ${unitPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} `));
    expect(readFileSync(unitPath, 'utf8')).toBe(written);
  });

  it('refuses a missing .env (exit 1) and writes nothing', async () => {
    const dir = join(cwd, 'other-units');
    const r = await runExe(['install-service', '--role', 'transcode', '--unit-dir', dir, '--environment-file', 'nope/.env'], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`rugbyworker: ${join(cwd, 'nope/.env')} does not exist: the unit reads its settings from it (--environment-file PATH)\n`);
    expect(existsSync(dir)).toBe(false);
    const again = await runExe(['install-service', '--role', 'transcode', '--unit-dir', dir], { cwd: unitDir });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`${join(unitDir, '.env')} does not exist`);
  });

  it('an unknown role is a usage error listing the roles (exit 64); --role is required', async () => {
    const r = await install('--role', 'transcoder');
    expect(r.code).toBe(64);
    expect(r.stderr).toBe("rugbyworker: unknown role 'transcoder' (valid roles: transcode, cleanup, chunk, segment-infer, trigger, reassemble, or all, or none)\n");
    const none = await install();
    expect(none.code).toBe(64);
    expect(none.stderr).toBe('rugbyworker: install-service needs --role NAME (transcode, cleanup, chunk, segment-infer, trigger, reassemble, or all)\n');
  });
});
