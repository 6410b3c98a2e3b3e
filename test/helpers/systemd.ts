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
