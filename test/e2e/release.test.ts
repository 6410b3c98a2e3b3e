// The release (issue 11 item 5): both GitHub workflows pass @action-validator/cli (and a broken
// copy does not, so the check can fail), they run what they must, and build/release.mjs
// --no-build turns the dist/ of `npm run build` (build/test.mjs builds before the tests) into a
// release folder whose SHA256SUMS `sha256sum -c` accepts and whose notes name every file.
// The folders are made under dist/ so the ~200 MB of executables are hard links, not copies.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, link, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { distDir, repoRoot } from '../helpers/binary.js';

const run = promisify(execFile);
const validator = join(repoRoot, 'node_modules', '.bin', 'action-validator');
const workflows = join(repoRoot, '.github', 'workflows');
const releaseScript = join(repoRoot, 'build', 'release.mjs');
const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
const BUILT = ['rugbyworker-linux-x64', 'rugbyworker-linux-arm64', 'lambda/reassembly-trigger.zip'];
const image = `rugbyworker-${version}-linux-x64.oci.tar`;

interface Exit { code: number; stdout: string; stderr: string }

async function exec(file: string, args: string[], cwd = repoRoot): Promise<Exit> {
  try {
    const { stdout, stderr } = await run(file, args, { cwd, encoding: 'utf8', maxBuffer: 16 << 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
  }
}

const validate = (file: string) => exec(validator, [file]);
const release = (...args: string[]) => exec(process.execPath, [releaseScript, '--no-build', ...args]);

function yml(name: string): string {
  return readFileSync(join(workflows, name), 'utf8');
}

describe('GitHub workflows', () => {
  let tmp: string;
  beforeAll(async () => { tmp = await mkdtemp(join(tmpdir(), 'rw-workflows-')); });
  afterAll(async () => { await rm(tmp, { recursive: true, force: true }); });

  test.each(['ci.yml', 'release.yml'])('%s passes action-validator', async (name) => {
    const r = await validate(join(workflows, name));
    expect({ code: r.code, out: r.stdout + r.stderr }).toEqual({ code: 0, out: expect.any(String) });
  }, 60_000);

  test('a broken workflow fails action-validator (the check can fail)', async () => {
    const broken = join(tmp, 'ci.yml');
    await writeFile(broken, yml('ci.yml').replace(/runs-on:/g, 'runs_on:'));
    const r = await validate(broken);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/runs_on|runs-on/);
    const unparsable = join(tmp, 'release.yml');
    await writeFile(unparsable, `${yml('release.yml')}\n  bad: [\n`);
    expect((await validate(unparsable)).code).not.toBe(0);
  }, 60_000);

  test('ci.yml runs exactly .ci/run on push and pull_request, well within 90 minutes', () => {
    const ci = yml('ci.yml');
    expect(ci).toMatch(/^on:\n {2}push:\n {2}pull_request:\n/m);
    const runs = [...ci.matchAll(/^\s+run: (.*)$/gm)].map((m) => m[1] ?? '');
    expect(runs).toContain('.ci/run');
    expect(runs.filter((r) => r !== '.ci/run').every((r) => r.startsWith('git config --global --add safe.directory'))).toBe(true);
    const minutes = Number(/timeout-minutes: (\d+)/.exec(ci)?.[1]);
    expect(minutes).toBeGreaterThan(0);
    expect(minutes).toBeLessThanOrEqual(60);
    // .ci/run is what the README calls the test command.
    expect(readFileSync(join(repoRoot, '.ci', 'run'), 'utf8')).toMatch(/^npm ci && npm test$/m);
  });

  test('release.yml: v* tags, contents: write, tests, release.mjs, notes from RELEASE_NOTES.md', () => {
    const rel = yml('release.yml');
    expect(rel).toMatch(/tags:\n\s+- 'v\*'/);
    expect(rel).toMatch(/permissions:\n {2}contents: write/);
    const at = (s: string) => rel.indexOf(s);
    expect(at('run: .ci/run')).toBeGreaterThan(0);
    expect(at('run: npm run image -- --no-build')).toBeGreaterThan(at('run: .ci/run'));
    expect(at('node build/release.mjs --no-build --tag "$GITHUB_REF_NAME"')).toBeGreaterThan(at('run: npm run image -- --no-build'));
    expect(rel).toContain('body_path: dist/release/RELEASE_NOTES.md');
    expect(rel).toContain('files: dist/release/*');
    expect(Number(/timeout-minutes: (\d+)/.exec(rel)?.[1])).toBeLessThan(90);
  });

  test("release.yml's tag check fails clearly on a tag that is not v<version>, passes on the right one", async () => {
    const rel = yml('release.yml');
    const block = /- name: Tag matches package.json version\n\s+run: \|\n((?:\s{10}.*\n)+)/.exec(rel)?.[1];
    expect(block).toBeDefined();
    const script = block!.split('\n').map((l) => l.slice(10)).join('\n');
    const sh = (tag: string) => new Promise<Exit>((resolve) => {
      execFile('bash', ['-euo', 'pipefail', '-c', script], { cwd: repoRoot, env: { ...process.env, GITHUB_REF_NAME: tag } },
        (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    });
    const wrong = await sh('v999.0.0');
    expect(wrong.code).not.toBe(0);
    expect(wrong.stdout).toContain(`::error::tag v999.0.0 does not match package.json version ${version} (expected v${version})`);
    expect((await sh(`v${version}`)).code).toBe(0);
  });
});

describe('build/release.mjs --no-build', () => {
  let work: string;
  beforeAll(async () => {
    const missing = BUILT.filter((f) => !existsSync(join(distDir, f)));
    if (missing.length > 0) throw new Error(`dist/ lacks ${missing.join(', ')}: run npm run build first (npm test does)`);
    work = await mkdtemp(join(distDir, '.release-test-'));
  });
  afterAll(async () => { if (work) await rm(work, { recursive: true, force: true }); });

  async function check(out: string, expected: string[]): Promise<string> {
    expect((await readdir(out)).sort()).toEqual([...expected, 'SHA256SUMS', 'RELEASE_NOTES.md'].sort());
    const sums = readFileSync(join(out, 'SHA256SUMS'), 'utf8');
    expect(sums.trimEnd().split('\n').map((l) => /^[0-9a-f]{64} {2}(\S+)$/.exec(l)?.[1])).toEqual(expected);
    const c = await exec('sha256sum', ['-c', 'SHA256SUMS'], out);
    expect(c.code).toBe(0);
    expect(c.stdout.trim().split('\n').sort()).toEqual(expected.map((f) => `${f}: OK`).sort());
    const notes = readFileSync(join(out, 'RELEASE_NOTES.md'), 'utf8');
    expect(notes).toContain(`# rugbyworker ${version}`);
    const head = (await exec('git', ['rev-parse', 'HEAD'])).stdout.trim();
    if (head) expect(notes).toContain(`commit ${head}`);
    for (const line of sums.trimEnd().split('\n')) {
      const [sha = '', name = ''] = line.split(/ {2}/);
      expect(notes).toMatch(new RegExp(`\\| \`${name.replace(/\./g, '\\.')}\` \\| [0-9.]+ [kM]B \\(\\d+ bytes\\) \\| \`${sha}\` \\|`));
    }
    // The README's install steps, as the README has them.
    expect(notes).toContain('sha256sum -c SHA256SUMS --ignore-missing');
    expect(notes).toContain('--version');
    return notes;
  }

  test('on the current dist/: the executables and the Lambda zip, checksums sha256sum accepts', async () => {
    const out = join(work, 'release');
    const r = await release('--out', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const withImage = existsSync(join(distDir, image));
    const notes = await check(out, ['rugbyworker-linux-x64', 'rugbyworker-linux-arm64', 'reassembly-trigger.zip', ...(withImage ? [image] : [])]);
    if (!withImage) {
      expect(r.stdout).toContain(`no OCI image: dist/${image} does not exist`);
      expect(notes).toContain('No OCI image archive in this release');
    }
    // The executables' sums agree with the ones the build wrote.
    const built = readFileSync(join(distDir, 'SHA256SUMS'), 'utf8');
    for (const exe of ['rugbyworker-linux-x64', 'rugbyworker-linux-arm64']) {
      const line = readFileSync(join(out, 'SHA256SUMS'), 'utf8').split('\n').find((l) => l.endsWith(`  ${exe}`));
      expect(built).toContain(`${line}\n`);
    }
  }, 60_000);

  test('the OCI image archive is included, summed and named in the notes when it exists', async () => {
    const from = join(work, 'dist');
    await mkdir(join(from, 'lambda'), { recursive: true });
    for (const f of BUILT) await link(join(distDir, f), join(from, f)).catch(() => copyFile(join(distDir, f), join(from, f)));
    await writeFile(join(from, image), 'not really an image, but bytes to sum\n');
    const out = join(work, 'with-image');
    const r = await release('--dist', from, '--out', out, '--tag', `v${version}`);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const notes = await check(out, ['rugbyworker-linux-x64', 'rugbyworker-linux-arm64', 'reassembly-trigger.zip', image]);
    expect(notes).toContain(`\`${image}\` is the OCI image archive`);
    expect(r.stdout).not.toContain('no OCI image');
  }, 60_000);

  test('fails in one line on a tag that is not v<version>, and on a dist/ without the build', async () => {
    const wrong = await release('--tag', 'v999.0.0', '--out', join(work, 'never'));
    expect(wrong.code).toBe(1);
    expect(wrong.stderr.trim()).toBe(`release failed: tag v999.0.0 does not match package.json version ${version} (expected tag v${version})`);
    // A tagged release without the image fails naming it (the workflow makes it first).
    const from = join(work, 'no-image');
    await mkdir(join(from, 'lambda'), { recursive: true });
    for (const f of BUILT) await link(join(distDir, f), join(from, f)).catch(() => copyFile(join(distDir, f), join(from, f)));
    const noImage = await release('--dist', from, '--tag', `v${version}`, '--out', join(work, 'never'));
    expect(noImage.code).toBe(1);
    expect(noImage.stderr.trim()).toBe(`release failed: ${relative(repoRoot, from)}/${image} is missing: a tagged release ships the OCI image (npm run image)`);
    const empty = join(work, 'empty');
    await mkdir(empty);
    const none = await release('--dist', empty, '--out', join(work, 'never'));
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^release failed: missing .*rugbyworker-linux-x64.*: run npm run build/);
    expect(existsSync(join(work, 'never'))).toBe(false);
  }, 60_000);
});
