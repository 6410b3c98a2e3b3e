// The committed rule file through Debian's promtool (build/ensure-system.sh installs it):
// `check rules` (it parses, every expression is valid PromQL) and `test rules` (every alert
// fires in its firing cases and stays silent in the others). The unit cases are shown to
// bite: with every alert made unable to fire, each firing case fails, and nothing else.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DEPLOY_DIR, RULES_FILE, RULES_TEST_FILE } from '../../build/monitoring.js';
import { ALERT_RULES, rulesFile, rulesTestFile } from '../../build/monitoring/rules.js';
import { toYaml } from '../../build/monitoring/yaml.js';

const run = promisify(execFile);
const PROMETHEUS_DIR = join(DEPLOY_DIR, 'prometheus');

async function promtool(args: string[], cwd: string): Promise<{ code: number; out: string }> {
  try {
    const r = await run('promtool', args, { cwd, timeout: 30_000 });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof e.code === 'string') throw err; // promtool missing: bash build/ensure-system.sh prometheus
    return { code: e.code ?? -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

let tmp: string;
beforeAll(async () => { tmp = await mkdtemp(join(tmpdir(), 'rw-promtool-')); });
afterAll(async () => { if (tmp) await rm(tmp, { recursive: true, force: true }); });

describe('deploy/prometheus through promtool', () => {
  it('check rules: the file parses and every rule is valid', async () => {
    const r = await promtool(['check', 'rules', RULES_FILE], PROMETHEUS_DIR);
    expect(r).toEqual({ code: 0, out: expect.stringContaining(`SUCCESS: ${ALERT_RULES.length + (rulesFile() as { groups: Array<{ rules: unknown[] }> }).groups[0]!.rules.length} rules found`) });
  });

  it('test rules: every alert fires when it should and is silent when it should not', async () => {
    const r = await promtool(['test', 'rules', RULES_TEST_FILE], PROMETHEUS_DIR);
    expect(r).toEqual({ code: 0, out: expect.stringContaining('SUCCESS') });
  });

  it('the cases bite: alerts that can never fire fail exactly the firing cases', async () => {
    const never = rulesFile() as { groups: Array<{ rules: Array<{ alert?: string; expr: string }> }> };
    for (const rule of never.groups[1]!.rules) rule.expr = 'vector(1) > 2';
    await writeFile(join(tmp, RULES_FILE), toYaml(never));
    await writeFile(join(tmp, RULES_TEST_FILE), toYaml(rulesTestFile(RULES_FILE)));
    const r = await promtool(['test', 'rules', RULES_TEST_FILE], tmp);
    expect(r.code).not.toBe(0);
    const failed = [...r.out.matchAll(/^\s*name: (.+?),\s*$/gm)].map((m) => m[1]).sort();
    const firing = ALERT_RULES.flatMap((a) => a.cases.filter((k) => k.firing.length > 0).map((k) => `${a.alert}: ${k.name}`)).sort();
    expect(failed).toEqual(firing);
  });
});
