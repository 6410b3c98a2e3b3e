// `rugbyworker install-service` on the shipped executable, into a temporary --unit-dir:
// the unit it writes names this executable and .env, passes systemd-analyze verify and is
// rated at most 3.0 by systemd-analyze security, for a Jetson too; as root it names no
// User=root unless told to.
import { describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unitDevicesFor } from '../../src/domain/systemd-unit.js';
import { readPlatform } from '../../src/runtime/ffmpeg/hw-platform.js';
import { readTextFile } from '../../src/runtime/ffmpeg/hw-sources.js';
import { exePath, runExe } from '../helpers/binary.js';
import { securityExposure, systemdAnalyzeMissing, verifyTemplate } from '../helpers/systemd.js';

const cwd = mkdtempSync(join(tmpdir(), 'rw-install-'));
const envFile = join(cwd, '.env');
writeFileSync(envFile, 'RC_DEVICE_NAME=jetson-1\nSHUTDOWN_GRACE_SECONDS=90\n');
const unitDir = join(cwd, 'units');
const unitPath = join(unitDir, 'rugbyworker@.service');
// --devices none: the same unit on any machine (auto has a test of its own below).
const install = (...extra: string[]) => runExe(['install-service', '--unit-dir', unitDir, '--devices', 'none', ...extra], { cwd, env: { SUDO_USER: 'scribe' } });
const missingAnalyze = systemdAnalyzeMissing();

describe('rugbyworker install-service', () => {
  it('writes the unit for this executable and ./.env, and prints the systemctl commands', async () => {
    const r = await install('--role', 'transcode');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`wrote ${unitPath} (User=scribe, ExecStart=${exePath()}, EnvironmentFile=${envFile}, devices: none)\n`
      + 'then run:\n  sudo systemctl daemon-reload\n  sudo systemctl enable --now rugbyworker@transcode\n');
    const text = readFileSync(unitPath, 'utf8');
    expect(text).toContain(`\nExecStart=${exePath()} --role %i\n`);
    expect(text).toContain(`\nEnvironmentFile=${envFile}\n`);
    expect(text).toContain('\nTimeoutStopSec=95\n'); // the .env's SHUTDOWN_GRACE_SECONDS + 5
  });

  (missingAnalyze ? it.skip : it)('the written unit passes systemd-analyze verify, and security rates it at most 3.0', () => {
    expect(verifyTemplate(readFileSync(unitPath, 'utf8'), 'transcode')).toEqual({ code: 0, output: '' });
    expect(securityExposure(readFileSync(unitPath, 'utf8'), 'transcode').exposure).toBeLessThanOrEqual(3);
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

  it('--devices jetson: the Jetson\'s nodes and groups (those this machine has), still at most 3.0', async () => {
    const dir = join(cwd, 'jetson-units');
    const r = await runExe(['install-service', '--role', 'transcode', '--unit-dir', dir, '--devices', 'jetson'], { cwd, env: { SUDO_USER: 'scribe' } });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/, devices: jetson( with [a-z, ]+)?\)\n/);
    const text = readFileSync(join(dir, 'rugbyworker@.service'), 'utf8');
    expect(text).toContain('\nDevicePolicy=closed\nDeviceAllow=char-nvhost* rw\n');
    expect(text).not.toContain('PrivateDevices=');
    if (!missingAnalyze) expect(securityExposure(text).exposure).toBeLessThanOrEqual(3);
  });

  it('auto: the devices that hardware decode detection finds on this machine', async () => {
    const dir = join(cwd, 'auto-units');
    const r = await runExe(['install-service', '--role', 'transcode', '--unit-dir', dir], { cwd, env: { SUDO_USER: 'scribe' } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`, devices: ${unitDevicesFor(await readPlatform({ readFile: readTextFile }))}`);
  });

  it('run as root (a root shell, sudo from one): no silent User=root, one line, exit 64; --user root or --user NAME writes that', async () => {
    const dir = join(cwd, 'root-units');
    const asRoot = (...extra: string[]) => runExe(['install-service', '--role', 'transcode', '--unit-dir', dir, '--devices', 'none', ...extra], { cwd, env: { SUDO_USER: 'root', SUDO_UID: '0' } });
    const refused = await asRoot();
    expect(refused.code).toBe(64);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toBe('rugbyworker: install-service will not run the worker as root (root, uid 0): name its account with --user NAME (the one owning the .env and WORK_DIR), or --user root to insist\n');
    expect(existsSync(dir)).toBe(false);
    if (process.getuid?.() === 0) { // no sudo at all: the process's own user
      const bare = await runExe(['install-service', '--role', 'transcode', '--unit-dir', dir, '--devices', 'none'], { cwd });
      expect(bare.code).toBe(64);
      expect(existsSync(dir)).toBe(false);
    }
    const named = await asRoot('--user', 'rugbyworker');
    expect(named.code).toBe(0);
    expect(readFileSync(join(dir, 'rugbyworker@.service'), 'utf8')).toContain('\nUser=rugbyworker\n');
    const insisted = await asRoot('--user', 'root', '--force');
    expect(insisted.code).toBe(0);
    expect(readFileSync(join(dir, 'rugbyworker@.service'), 'utf8')).toContain('\nUser=root\n');
  });
});
