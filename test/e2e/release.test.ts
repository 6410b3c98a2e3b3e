// The release (issue 11 item 5, issue 20 item 8): both GitHub workflows pass
// @action-validator/cli (and a broken copy does not, so the check can fail), they run what they
// must, every action is pinned by commit SHA, and only the publish job, which installs and runs
// nothing from the repository, may write; build/release.mjs --no-build turns the dist/ of
// `npm run build` (build/test.mjs builds before the tests) into a release folder with the
// CycloneDX SBOM, whose SHA256SUMS `sha256sum -c` accepts and whose notes name every file.
// The folders are made under dist/ so the ~200 MB of executables are hard links, not copies.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, link, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { NODE_VERSION } from '../../build/node-dist.mjs';
import { NODE_PINS } from '../../build/node-pins.mjs';
import { distDir, repoRoot } from '../helpers/binary.js';

const run = promisify(execFile);
const validator = join(repoRoot, 'node_modules', '.bin', 'action-validator');
const workflows = join(repoRoot, '.github', 'workflows');
const releaseScript = join(repoRoot, 'build', 'release.mjs');
const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
const BUILT = ['rugbyworker-linux-x64', 'rugbyworker-linux-arm64', 'lambda/reassembly-trigger.zip'];
const image = `rugbyworker-${version}-linux-x64.oci.tar`;
const sbom = `rugbyworker-${version}.cdx.json`;

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

// action-validator 0.6.0, the newest on npm, carries a workflow schema older than GitHub's
// `attestations` permission (2024), which the provenance step needs: the validator sees the
// workflow without that one line.
const ATTESTATIONS = /^ +attestations: write\b.*\n/m;

/** The jobs of a workflow (2-space indented keys under `jobs:`), each with its text. */
function jobsOf(text: string): Map<string, string> {
  const body = text.slice(text.indexOf('\njobs:\n') + 7);
  const parts = body.split(/^ {2}(?=[\w-]+:\n)/m).filter((p) => p.trim());
  return new Map(parts.map((p) => [p.slice(0, p.indexOf(':')), p]));
}

/** `key: value` pairs of the permissions block indented by `indent` (comments dropped). */
function permissionsOf(text: string, indent: number): Record<string, string> | undefined {
  const pad = ' '.repeat(indent);
  const m = new RegExp(`^${pad}permissions:(.*)\\n((?:${pad}  .*\\n)*)`, 'm').exec(text);
  if (!m) return undefined;
  const inline = (m[1] ?? '').replace(/#.*/, '').trim();
  if (inline) return inline === '{}' ? {} : { '*': inline };
  return Object.fromEntries((m[2] ?? '').split('\n').filter((l) => l.trim())
    .map((l) => l.replace(/#.*/, '').trim().split(/:\s*/) as [string, string]));
}

describe('GitHub workflows', () => {
  let tmp: string;
  beforeAll(async () => { tmp = await mkdtemp(join(tmpdir(), 'rw-workflows-')); });
  afterAll(async () => { await rm(tmp, { recursive: true, force: true }); });

  test.each(['ci.yml', 'release.yml'])('%s passes action-validator', async (name) => {
    const text = yml(name);
    const file = join(tmp, `valid-${name}`);
    await writeFile(file, text.replace(ATTESTATIONS, ''));
    const r = await validate(file);
    expect({ code: r.code, out: r.stdout + r.stderr }).toEqual({ code: 0, out: expect.any(String) });
    // That line is all the validator does not see, and the one thing it objects to.
    if (ATTESTATIONS.test(text)) {
      const asIs = await validate(join(workflows, name));
      if (asIs.code !== 0) expect(asIs.stdout + asIs.stderr).toContain("Additional property 'attestations' is not allowed");
    }
  }, 60_000);

  test.each(['ci.yml', 'release.yml'])('%s pins every action by full commit SHA, the tag in a comment', (name) => {
    const uses = [...yml(name).matchAll(/^\s*(?:- )?\s*uses:\s*(.*)$/gm)].map((m) => m[1] ?? '');
    expect(uses.length).toBeGreaterThan(0);
    for (const u of uses) expect(u).toMatch(/^[\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
    // No checkout leaves the token in .git/config for npm install scripts and tests to read.
    const checkouts = yml(name).split(/^\s*- /m).filter((step) => /uses: actions\/checkout@/.test(step));
    for (const step of checkouts) expect(step).toMatch(/persist-credentials: false/);
  });

  test('only the publish job may write, and it checks out, installs and runs nothing from the repository', () => {
    const ci = yml('ci.yml');
    expect(permissionsOf(ci, 0)).toEqual({ contents: 'read' });
    for (const [, job] of jobsOf(ci)) expect(permissionsOf(job, 2)).toBeUndefined();

    const rel = yml('release.yml');
    expect(permissionsOf(rel, 0)).toEqual({});
    const jobs = jobsOf(rel);
    expect([...jobs.keys()]).toEqual(['build', 'publish']);
    const writers = [...jobs].filter(([, job]) => {
      const p = permissionsOf(job, 4);
      expect(p).toBeDefined(); // every job states its permissions
      return Object.values(p ?? {}).some((v) => /write/.test(v));
    }).map(([name]) => name);
    expect(writers).toEqual(['publish']);
    expect(permissionsOf(jobs.get('build')!, 4)).toEqual({ contents: 'read' });
    expect(permissionsOf(jobs.get('publish')!, 4)).toEqual({ contents: 'write', 'id-token': 'write', attestations: 'write' });

    const publish = jobs.get('publish')!;
    expect(publish).toMatch(/^ {4}needs: build$/m);
    expect(publish).not.toMatch(/container:|actions\/checkout|actions\/setup-node/);
    const runs = [...publish.matchAll(/^\s+run: (.*)$/gm)].map((m) => m[1] ?? '');
    expect(runs.length).toBeGreaterThan(0);
    for (const r of runs) expect(r).not.toMatch(/\b(npm|npx|node|yarn|pnpm)\b|\.ci\/run|build\//);
    // It publishes what the build job handed over, after checking it.
    const at = (s: string) => publish.indexOf(s);
    expect(at('actions/download-artifact@')).toBeGreaterThan(0);
    expect(at('run: sha256sum -c SHA256SUMS')).toBeGreaterThan(at('actions/download-artifact@'));
    expect(at('actions/attest-build-provenance@')).toBeGreaterThan(at('run: sha256sum -c SHA256SUMS'));
    expect(publish).toContain('subject-checksums: dist/release/SHA256SUMS');
    expect(at('gh release create')).toBeGreaterThan(at('actions/attest-build-provenance@'));
    expect(jobs.get('build')).toMatch(/actions\/upload-artifact@[0-9a-f]{40} # v[\d.]+\n\s+with:\n\s+name: release\n\s+path: dist\/release\//);
  });

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

  test('release.yml: v* tags, tests, release.mjs, notes from RELEASE_NOTES.md', () => {
    const rel = yml('release.yml');
    expect(rel).toMatch(/tags:\n\s+- 'v\*'/);
    const build = jobsOf(rel).get('build') ?? '';
    const at = (s: string) => build.indexOf(s);
    expect(at('run: .ci/run')).toBeGreaterThan(0);
    expect(at('run: npm run image -- --no-build')).toBeGreaterThan(at('run: .ci/run'));
    expect(at('node build/release.mjs --no-build --tag "$GITHUB_REF_NAME"')).toBeGreaterThan(at('run: npm run image -- --no-build'));
    expect(at('actions/upload-artifact@')).toBeGreaterThan(at('node build/release.mjs'));
    expect(rel).toContain('gh release create "$GITHUB_REF_NAME" dist/release/* --verify-tag --title "rugbyworker $GITHUB_REF_NAME" --notes-file dist/release/RELEASE_NOTES.md');
    const minutes = [...rel.matchAll(/timeout-minutes: (\d+)/g)].map((m) => Number(m[1]));
    expect(minutes).toHaveLength(2);
    for (const m of minutes) expect(m).toBeLessThan(90);
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

  async function check(out: string, built: string[]): Promise<string> {
    const expected = [...built, sbom];
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

  test('the SBOM: CycloneDX from the lockfile, every runtime dependency, the embedded Node binaries with their pins', async () => {
    const out = join(work, 'sbom');
    const r = await release('--out', out);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const bom = JSON.parse(readFileSync(join(out, sbom), 'utf8')) as {
      bomFormat: string; specVersion: string;
      metadata: { component: { name: string; version: string; properties: { name: string; value: string }[] } };
      components: { name: string; version: string; scope: string; type: string; hashes?: { alg: string; content: string }[]; properties?: { name: string; value: string }[] }[];
    };
    expect(bom.bomFormat).toBe('CycloneDX');
    expect(Number(bom.specVersion)).toBeGreaterThanOrEqual(1.5);
    expect(bom.metadata.component).toMatchObject({ name: 'rugbyworker', version });
    const head = (await exec('git', ['rev-parse', 'HEAD'])).stdout.trim();
    if (head) expect(bom.metadata.component.properties).toContainEqual({ name: 'rugbyworker:commit', value: head });
    // Every package the lockfile installs for production is listed as required, at its locked version.
    const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string; dev?: boolean; devOptional?: boolean; name?: string }> };
    const runtime = Object.entries(lock.packages).filter(([path, p]) => path && !p.dev && !p.devOptional)
      .map(([path, p]) => `${p.name ?? path.split('node_modules/').pop()}@${p.version}`);
    const required = new Set(bom.components.filter((c) => c.scope === 'required').map((c) => `${c.name}@${c.version}`));
    expect(runtime.length).toBeGreaterThan(50);
    expect(runtime.filter((p) => !required.has(p))).toEqual([]);
    for (const dep of ['pino', '@aws-sdk/client-s3', 'execa']) expect([...required].some((p) => p.startsWith(`${dep}@`))).toBe(true);
    // The embedded Node, which npm does not know about, with the checksums the build enforces.
    for (const arch of ['x64', 'arm64'] as const) {
      const node = bom.components.find((c) => c.name === `node-linux-${arch}`);
      const pin = NODE_PINS[NODE_VERSION]![arch]!;
      expect(node).toMatchObject({ version: NODE_VERSION, scope: 'required', type: 'platform' });
      expect(node?.hashes).toEqual([{ alg: 'SHA-512', content: Buffer.from(pin.tarball.slice(7), 'base64').toString('hex') }]);
      expect(node?.properties).toContainEqual({ name: 'rugbyworker:bin/node:sha256', value: pin.node });
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
