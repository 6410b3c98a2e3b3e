// deploy/Dockerfile is the one description of the image (build/image.mjs builds it with
// buildah; test/e2e/image.test.ts runs what comes out). These checks keep it in step with
// what cannot be built from it: deploy/ecs's health check, WORK_DIR and port, the base name
// build/image.mjs imports, the executable names build/build.mjs writes, and the
// .dockerignore Docker users get. Also the apt-sources parser image.mjs takes the mirror from,
// and what of the build host stays out of the image (issue 20): its apt mirror (RUN reads it
// from a read-only bind mount, the image keeps Debian's sources) and a git remote's credentials
// (the source label is a public address).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { renderEcsFiles } from '../../build/ecs.js';
import { APT_SOURCES_FILE, BASE_NAME, aptPlan, buildahBuildArgs, imageLabels, slimScript } from '../../build/image.mjs';
import { mirrorFor, parseAptSources } from '../../build/apt-sources.mjs';
import { publicSourceUrl } from '../../build/source-url.mjs';
import { repoRoot } from '../helpers/binary.js';

const text = readFileSync(join(repoRoot, 'deploy', 'Dockerfile'), 'utf8');

/** Instructions as [KEYWORD, rest], comments dropped and `\` continuations joined. */
function instructions(dockerfile: string): Array<[string, string]> {
  const joined = dockerfile.split('\n').filter((l) => !/^\s*#/.test(l)).join('\n').replace(/\\\n/g, ' ');
  return joined.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => {
    const m = /^(\w+)\s+(.*)$/.exec(l);
    if (!m) throw new Error(`not an instruction: ${l}`);
    return [m[1]!.toUpperCase(), m[2]!.trim()];
  });
}
const all = instructions(text);
const one = (k: string): string => {
  const found = all.filter(([i]) => i === k);
  expect({ k, n: found.length }).toEqual({ k, n: 1 });
  return found[0]![1];
};
const keyValues = (s: string): Map<string, string> =>
  new Map([...s.matchAll(/([\w.-]+)=("(?:[^"\\]|\\.)*"|\S*)/g)].map((m) => [m[1]!, m[2]!.replace(/^"|"$/g, '')]));

const ecs = JSON.parse(renderEcsFiles().get('transcode.task-definition.json')!) as {
  containerDefinitions: Array<{ environment: Array<{ name: string; value: string }>; healthCheck: { command: string[]; interval: number; timeout: number; retries: number; startPeriod: number }; mountPoints: Array<{ containerPath: string }> }>;
};
const container = ecs.containerDefinitions[0]!;
const ecsEnv = new Map(container.environment.map((e) => [e.name, e.value]));

describe('deploy/Dockerfile', () => {
  it('starts from the base build/image.mjs imports, and ENTRYPOINT/CMD are exec form', () => {
    expect(`docker.io/library/${one('FROM')}`).toBe(BASE_NAME);
    expect(JSON.parse(one('ENTRYPOINT'))).toEqual(['rugbyworker']);
    expect(JSON.parse(one('CMD'))).toEqual(['--help']);
    expect(one('STOPSIGNAL')).toBe('SIGTERM');
  });

  it('HEALTHCHECK is exactly deploy/ecs\'s healthCheck (command and timings)', () => {
    const hc = one('HEALTHCHECK');
    const m = /^((?:--[\w-]+=\S+\s+)*)CMD\s+(\[.*\])$/.exec(hc);
    expect(m).not.toBeNull();
    const opts = keyValues(m![1]!.replace(/--/g, ''));
    const secs = (k: string) => Number(/^(\d+)s$/.exec(opts.get(k) ?? '')?.[1]);
    expect({ interval: secs('interval'), timeout: secs('timeout'), startPeriod: secs('start-period'), retries: Number(opts.get('retries')) })
      .toEqual({ interval: container.healthCheck.interval, timeout: container.healthCheck.timeout, startPeriod: container.healthCheck.startPeriod, retries: container.healthCheck.retries });
    expect(['CMD', ...(JSON.parse(m![2]!) as string[])]).toEqual(container.healthCheck.command);
  });

  it('WORK_DIR, the volume, the health host and port agree with deploy/ecs', () => {
    const env = keyValues(one('ENV'));
    expect(env.get('WORK_DIR')).toBe(ecsEnv.get('WORK_DIR'));
    expect(container.mountPoints.map((p) => p.containerPath)).toEqual([env.get('WORK_DIR')]);
    expect(JSON.parse(one('VOLUME'))).toEqual([env.get('WORK_DIR')]);
    expect(one('WORKDIR')).toBe(env.get('WORK_DIR'));
    expect(env.get('HEALTH_HOST')).toBe(ecsEnv.get('HEALTH_HOST'));
    expect(env.get('HEALTH_PORT')).toBe(ecsEnv.get('HEALTH_PORT'));
    expect(one('EXPOSE')).toBe(ecsEnv.get('HEALTH_PORT'));
  });

  it('one non-root user: USER is the uid useradd makes, and it owns WORK_DIR', () => {
    const [uid, gid] = one('USER').split(':');
    expect(Number(uid)).toBeGreaterThan(0);
    const run = one('RUN');
    expect(run).toContain(`useradd --uid ${uid} --user-group`);
    expect(run).toContain(`install -d -o ${uid} -g ${gid} -m 0750 ${keyValues(one('ENV')).get('WORK_DIR')}`);
    expect(run).toMatch(/apt-get install -y --no-install-recommends ffmpeg\b/);
  });

  it('copies the executable build/build.mjs writes to /usr/local/bin/rugbyworker, and labels version, revision, source', () => {
    const args = new Map(all.filter(([k]) => k === 'ARG').map(([, v]) => [v.split('=')[0]!, v.split('=')[1] ?? '']));
    expect(args.get('BINARY')).toBe('dist/rugbyworker-linux-x64');
    expect(one('COPY')).toBe('${BINARY} /usr/local/bin/rugbyworker');
    const labels = keyValues(one('LABEL'));
    expect(labels.get('org.opencontainers.image.version')).toBe('${VERSION}');
    expect(labels.get('org.opencontainers.image.revision')).toBe('${REVISION}');
    expect(labels.get('org.opencontainers.image.source')).toBe('${SOURCE}');
    for (const a of ['VERSION', 'REVISION', 'SOURCE', 'CREATED']) expect(args.has(a)).toBe(true);
  });

  it('Dockerfile.dockerignore sends Docker only the two executables', () => {
    const rules = readFileSync(join(repoRoot, 'deploy', 'Dockerfile.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    expect(rules).toEqual(['*', '!dist/rugbyworker-linux-x64', '!dist/rugbyworker-linux-arm64']);
  });
});

describe('apt sources (the mirror the image is debootstrapped from)', () => {
  it('deb822 stanzas: several URIs and suites, continuation lines, disabled and deb-src stanzas skipped', () => {
    const text = [
      'Types: deb', 'URIs: http://mirror.example/debian', 'Suites: bookworm bookworm-updates', 'Components: main', '',
      '# a comment', 'Types: deb-src', 'URIs: http://src.example/debian', 'Suites: bookworm', '',
      'Types: deb', 'URIs: http://off.example/debian', 'Suites: bookworm', 'Enabled: no', '',
      'Types: deb', 'URIs: http://security.example/debian-security', 'Suites: bookworm-security', 'Components: main', ' contrib',
    ].join('\n');
    const sources = parseAptSources(text, { deb822: true });
    expect(sources).toEqual([
      { uri: 'http://mirror.example/debian', suites: ['bookworm', 'bookworm-updates'], components: ['main'] },
      { uri: 'http://security.example/debian-security', suites: ['bookworm-security'], components: ['main', 'contrib'] },
    ]);
    expect(mirrorFor(sources, 'bookworm')).toBe('http://mirror.example/debian');
    expect(mirrorFor(sources, 'bookworm-security')).toBe('http://security.example/debian-security');
    expect(mirrorFor(sources, 'trixie')).toBeUndefined();
  });

  it('one-line sources.list: options in brackets, comments, deb-src skipped', () => {
    const text = [
      '# deb http://commented.example/debian bookworm main',
      'deb-src http://src.example/debian bookworm main',
      'deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://one.example/debian bookworm main contrib',
      'deb http://security.example/debian-security bookworm-security main # trailing comment',
    ].join('\n');
    expect(parseAptSources(text)).toEqual([
      { uri: 'http://one.example/debian', suites: ['bookworm'], components: ['main', 'contrib'] },
      { uri: 'http://security.example/debian-security', suites: ['bookworm-security'], components: ['main'] },
    ]);
  });
});

describe('what of the build host stays out of the image', () => {
  const mirror = 'http://builder:s3cret@apt.internal.example/debian';
  const security = 'http://builder:s3cret@apt.internal.example/debian-security';

  it('the source label: a public address, never a git remote\'s credentials, token or ssh login', () => {
    expect(publicSourceUrl('https://user:ghp_token@github.com/owner/repo.git')).toBe('https://github.com/owner/repo');
    expect(publicSourceUrl('https://x-access-token:ghs_abc@github.com/owner/repo')).toBe('https://github.com/owner/repo');
    expect(publicSourceUrl('https://oauth2:glpat-xyz@gitlab.example:8443/group/repo.git/')).toBe('https://gitlab.example:8443/group/repo');
    expect(publicSourceUrl('https://github.com/owner/repo.git?private_token=abc#readme')).toBe('https://github.com/owner/repo');
    expect(publicSourceUrl('git@github.com:owner/repo.git')).toBe('https://github.com/owner/repo');
    expect(publicSourceUrl('ssh://git@github.com:22/owner/repo.git')).toBe('https://github.com/owner/repo');
    expect(publicSourceUrl('http://git.example:8080/owner/repo')).toBe('http://git.example:8080/owner/repo');
    expect(publicSourceUrl('https://github.com/owner/repo')).toBe('https://github.com/owner/repo');
    for (const local of ['/home/me/repo', 'file:///home/me/repo', '', 'not a url', undefined]) expect(publicSourceUrl(local)).toBe('');
    const labels = imageLabels({ version: '1.2.3', commit: 'abc', remote: 'https://user:ghp_token@github.com/owner/repo.git', created: '2026-01-01T00:00:00Z' });
    expect(labels).toEqual({ VERSION: '1.2.3', REVISION: 'abc', SOURCE: 'https://github.com/owner/repo', CREATED: '2026-01-01T00:00:00Z' });
  });

  it('apt: the image keeps Debian\'s sources; the host\'s mirror reaches RUN through a read-only bind mount only', () => {
    const plan = aptPlan(mirror, security);
    expect(parseAptSources(plan.image, { deb822: true })).toEqual([
      { uri: 'http://deb.debian.org/debian', suites: ['bookworm', 'bookworm-updates'], components: ['main'] },
      { uri: 'http://deb.debian.org/debian-security', suites: ['bookworm-security'], components: ['main'] },
    ]);
    expect(parseAptSources(plan.build, { deb822: true }).map((x) => x.uri)).toEqual([mirror, security]);
    // The base's slimming writes the image's sources and drops debootstrap's sources.list (it names the mirror).
    const script = slimScript(plan.image);
    expect(script).not.toContain('apt.internal.example');
    expect(script).toContain('rm -f etc/apt/sources.list\n');
    expect(script).toContain(`cat > ${APT_SOURCES_FILE} <<'EOF'\n${plan.image}EOF`);
    // buildah build: the mirror only as a file mounted over debian.sources, nothing of it in an argument.
    const args = buildahBuildArgs({ labels: imageLabels({ version: '1', commit: 'abc', remote: 'https://u:ghp_token@github.com/o/r', created: 'now' }), buildSources: '/tmp/x/build.sources', tag: 'rw:1', context: '/tmp/x/context' });
    expect(args.slice(args.indexOf('--volume'), args.indexOf('--volume') + 2)).toEqual(['--volume', `/tmp/x/build.sources:/${APT_SOURCES_FILE}:ro`]);
    expect(args.filter((a) => /s3cret|ghp_token|apt\.internal/.test(a))).toEqual([]);
  });
});
