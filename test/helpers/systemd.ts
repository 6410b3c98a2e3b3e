// `systemd-analyze verify` of a unit template, instantiated for a role: exit 0 and not a
// single warning (an unknown key or a bad value is only a warning to systemd).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Why systemd-analyze cannot run here, or undefined when it can. */
export function systemdAnalyzeMissing(): string | undefined {
  const r = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  if (r.error) return `systemd-analyze is not installed (Debian package systemd): ${r.error.message}`;
  return r.status === 0 ? undefined : `systemd-analyze --version exited ${r.status}: ${r.stderr.trim()}`;
}

/** Verifies `rugbyworker@<instance>.service` from the template text, in a directory of its own. */
export function verifyTemplate(text: string, instance = 'transcode'): { code: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'rw-systemd-'));
  writeFileSync(join(dir, 'rugbyworker@.service'), text);
  const r = spawnSync('systemd-analyze', ['verify', join(dir, `rugbyworker@${instance}.service`)], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

/** `systemd-analyze security --offline=true` of `rugbyworker@<instance>.service`: its overall exposure (0 safest … 10). */
export function securityExposure(text: string, instance = 'transcode'): { exposure: number; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'rw-systemd-'));
  writeFileSync(join(dir, 'rugbyworker@.service'), text);
  const r = spawnSync('systemd-analyze', ['security', '--offline=true', '--no-pager', join(dir, `rugbyworker@${instance}.service`)], { encoding: 'utf8', timeout: 30_000 });
  const output = `${r.stdout}${r.stderr}`.trim();
  const m = /Overall exposure level for \S+: (\d+(?:\.\d+)?)/.exec(output);
  if (!m) throw new Error(`systemd-analyze security gave no exposure level (exit ${r.status}):\n${output}`);
  return { exposure: Number(m[1]), output };
}
