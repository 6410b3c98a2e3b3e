// `npm run image`: the linux-x64 OCI image, offline from any registry, as
// dist/rugbyworker-<version>-linux-x64.oci.tar and its .sha256. The one description of the
// image is deploy/Dockerfile; this builds that file with buildah (chroot isolation, vfs
// storage in a temp dir), so what Docker users build and what the release ships agree.
//   1. Base: Debian 12 minbase by debootstrap from this machine's configured apt mirror,
//      slimmed as debian:bookworm-slim is (Debian's own deb.debian.org sources included),
//      imported as `debian:bookworm-slim` (the Dockerfile's FROM). Cached as a tar for a week
//      in ~/.cache/rugbyworker/image (--cache).
//   2. `buildah build -f deploy/Dockerfile` with the version, commit, source and date labels,
//      committed once (no --layers: on vfs every step's layer is a full copy, 3× the time),
//      so the image is the base layer and one layer of FFmpeg, the user and the executable.
//      Its RUN reads this machine's mirror from a read-only bind mount over debian.sources:
//      the image keeps Debian's (a build host's internal mirror, or credentials in its URL,
//      never ship), and the source label is a public address (no token from a git remote).
//   3. `buildah push … oci-archive:`, then the sha256 and the sizes.
// Needs root (debootstrap, chroot, buildah's storage); installs buildah and debootstrap
// through build/ensure-system.sh. Options:
//   --no-build     use dist/rugbyworker-linux-x64 as it is (else build/build.mjs runs first)
//   --out DIR      write the archive there instead of dist/ (the tests use it)
//   --cache DIR    where the base root file system is cached
//   --mirror URL   Debian mirror for debootstrap (default: DEBIAN_MIRROR, else apt's own)
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, openSync, closeSync, readdirSync, readFileSync } from 'node:fs';
import { copyFile, link, mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fullCommit, packageVersion } from '../esbuild.config.mjs';
import { debianSources, mirrorFor, parseAptSources } from './apt-sources.mjs';
import { sha256, size } from './files.mjs';
import { publicSourceUrl } from './source-url.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const dist = join(root, 'dist');
export const DOCKERFILE = join(root, 'deploy', 'Dockerfile');
const BINARY = 'dist/rugbyworker-linux-x64'; // the Dockerfile's default ARG BINARY
const SUITE = 'bookworm';
export const BASE_NAME = 'docker.io/library/debian:bookworm-slim';
const BASE_MAX_AGE_MS = 7 * 24 * 3600 * 1000; // pick up Debian's point releases
const DEFAULT_MIRROR = 'http://deb.debian.org/debian';
const DEFAULT_SECURITY = 'http://deb.debian.org/debian-security';
const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
/** debian:bookworm-slim's apt sources, relative to the root. */
export const APT_SOURCES_FILE = 'etc/apt/sources.list.d/debian.sources';
// What debuerreotype's --slimify leaves out of debian:*-slim (its dpkg.cfg.d/docker).
export const SLIM_EXCLUDES = ['/usr/share/doc/*', '/usr/share/groff/*', '/usr/share/info/*',
  '/usr/share/linda/*', '/usr/share/lintian/*', '/usr/share/locale/*', '/usr/share/man/*'];
const SLIM_INCLUDES = ['/usr/share/doc/*/copyright'];
// The official image's runtime config, which `FROM debian:bookworm-slim` inherits.
const BASE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function imageName(version = packageVersion()) {
  return `rugbyworker-${version}-linux-x64.oci.tar`;
}

function parseArgs(argv) {
  const cacheHome = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  const opts = { build: true, out: dist, cache: join(cacheHome, 'rugbyworker', 'image'), mirror: process.env.DEBIAN_MIRROR || undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--no-build') opts.build = false;
    else if (a === '--out' || a === '--cache' || a === '--mirror') {
      const v = argv[++i];
      if (!v) throw new Error(`${a} needs a value`);
      if (a === '--mirror') opts.mirror = v;
      else opts[a.slice(2)] = resolve(v);
    } else throw new Error(`unknown argument '${a}' (known: --no-build, --out DIR, --cache DIR, --mirror URL)`);
  }
  return opts;
}

/** apt's configured sources on this machine (sources.list and sources.list.d). */
function aptSources() {
  const files = [];
  if (existsSync('/etc/apt/sources.list')) files.push('/etc/apt/sources.list');
  const d = '/etc/apt/sources.list.d';
  if (existsSync(d)) for (const f of readdirSync(d).sort()) if (/\.(list|sources)$/.test(f)) files.push(join(d, f));
  return files.flatMap((f) => parseAptSources(readFileSync(f, 'utf8'), { deb822: f.endsWith('.sources') }));
}

/** Runs a command with its output appended to the log; throws naming it, with the log's tail. */
function run(log, cmd, args, what = `${cmd} ${args[0] ?? ''}`.trim()) {
  const fd = openSync(log, 'a');
  try {
    const r = spawnSync(cmd, args, { stdio: ['ignore', fd, fd], encoding: 'utf8' });
    if (r.error) throw new Error(`${what}: ${r.error.message}`);
    if (r.status !== 0) {
      const tail = readFileSync(log, 'utf8').trimEnd().split('\n').slice(-15).join('\n');
      throw new Error(`${what} failed (exit ${r.status}); the end of ${log}:\n${tail}`);
    }
  } finally {
    closeSync(fd);
  }
}

/** Like run, but returns stdout (buildah prints container names and mount points). */
function output(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${(r.stderr || r.error?.message || '').trim()}`);
  return r.stdout.trim();
}

const IMAGE_APT_SOURCES = debianSources({ suite: SUITE, mirror: DEFAULT_MIRROR, security: DEFAULT_SECURITY, keyring: KEYRING });

/**
 * The apt sources of the build: `build` (this machine's mirrors, as debootstrap used) is what
 * the Dockerfile's apt-get reads, bind-mounted over APT_SOURCES_FILE for its RUN only; `image`
 * is what the image keeps, Debian's own as in debian:bookworm-slim.
 */
export function aptPlan(mirror, security) {
  return { image: IMAGE_APT_SOURCES, build: debianSources({ suite: SUITE, mirror, security, keyring: KEYRING }) };
}

/** The slimming, deb822 sources (`imageSources`) and clean-up a debootstrapped tree gets to match debian:bookworm-slim. */
export function slimScript(imageSources) {
  const cfg = [...SLIM_EXCLUDES.map((p) => `path-exclude ${p}`), ...SLIM_INCLUDES.map((p) => `path-include ${p}`)];
  return [
    'set -eu',
    `printf '%s\\n' ${cfg.map((l) => `'${l}'`).join(' ')} > etc/dpkg/dpkg.cfg.d/docker`,
    // Files already installed by debootstrap, before those rules existed.
    "find usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete",
    "find usr/share/doc -mindepth 1 -type d -empty -delete",
    'rm -rf usr/share/groff/* usr/share/info/* usr/share/linda/* usr/share/lintian/* usr/share/locale/* usr/share/man/*',
    // debootstrap's sources.list names the mirror it used.
    'rm -f etc/apt/sources.list',
    `cat > ${APT_SOURCES_FILE} <<'EOF'\n${imageSources}EOF`,
    // The build host's name and resolver are not the image's.
    'rm -f etc/hostname etc/resolv.conf',
    'rm -rf var/cache/apt/archives/*.deb var/cache/apt/*.bin var/lib/apt/lists/* var/log/apt/* var/log/dpkg.log var/log/bootstrap.log',
  ].join('\n');
}

/** The image's labels (deploy/Dockerfile's ARGs); `remote` becomes a public address or nothing. */
export function imageLabels({ version, commit, remote, created }) {
  return { VERSION: version, REVISION: commit, SOURCE: publicSourceUrl(remote), CREATED: created };
}

/** `buildah build`'s arguments (after the storage options) for deploy/Dockerfile. */
export function buildahBuildArgs({ labels, buildSources, tag, context }) {
  return ['build', '--isolation', 'chroot', '--pull=never', '--format', 'docker',
    ...Object.entries(labels).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
    '--volume', `${buildSources}:/${APT_SOURCES_FILE}:ro`,
    '-f', DOCKERFILE, '-t', tag, context];
}

/** The cached base tar for these mirrors, made (debootstrap + slimming) when missing or old. */
async function baseTar({ cache, mirror, log, say }) {
  const script = slimScript(IMAGE_APT_SOURCES);
  const recipe = JSON.stringify({ SUITE, variant: 'minbase', mirror, script });
  const key = createHash('sha256').update(recipe).digest('hex').slice(0, 16);
  const tar = join(cache, `debian-${SUITE}-slim-${key}.tar`);
  if (existsSync(tar) && Date.now() - (await stat(tar)).mtimeMs < BASE_MAX_AGE_MS) {
    say(`base: cached ${tar}`);
    return tar;
  }
  await mkdir(cache, { recursive: true });
  const work = await mkdtemp(join(cache, 'debootstrap-'));
  try {
    const t0 = Date.now();
    const rootfs = join(work, 'rootfs');
    say(`base: debootstrap --variant=minbase ${SUITE} from ${mirror}`);
    run(log, existsSync('/usr/sbin/debootstrap') ? '/usr/sbin/debootstrap' : 'debootstrap', ['--variant=minbase', SUITE, rootfs, mirror], 'debootstrap');
    run(log, 'sh', ['-c', `cd "$1" && ${script}`, 'slim', rootfs], 'slimming the base');
    // Device nodes are the runtime's to provide; an image ships an empty /dev.
    run(log, 'tar', ['-C', rootfs, '--numeric-owner', '--exclude=./dev/*', '-cf', `${tar}.partial`, '.'], 'tar of the base');
    await rename(`${tar}.partial`, tar);
    say(`base: ${size((await stat(tar)).size)} in ${((Date.now() - t0) / 1000).toFixed(0)} s, cached as ${tar}`);
    return tar;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Where the code comes from, as given: IMAGE_SOURCE, the GitHub Actions repository, or git's origin (imageLabels cleans it). */
function sourceRemote() {
  if (process.env.IMAGE_SOURCE) return process.env.IMAGE_SOURCE;
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repo } = process.env;
  if (server && repo) return `${server}/${repo}`;
  const r = spawnSync('git', ['remote', 'get-url', 'origin'], { cwd: root, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : '';
}

export async function buildImage({ build = true, out = dist, cache, mirror, say = console.log } = {}) {
  const t0 = Date.now();
  if (process.getuid?.() !== 0) {
    throw new Error('npm run image needs root (debootstrap, chroot and buildah\'s storage): run it with sudo');
  }
  const ensure = spawnSync('bash', [join(root, 'build', 'ensure-system.sh'), 'buildah', 'debootstrap'], { stdio: 'inherit' });
  if (ensure.status !== 0) throw new Error('buildah and debootstrap are needed (build/ensure-system.sh could not install them)');
  if (build) {
    const r = spawnSync(process.execPath, [join(root, 'build', 'build.mjs')], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('npm run build failed');
  }
  const binary = join(root, BINARY);
  if (!existsSync(binary)) throw new Error(`${BINARY} is missing: run npm run build (or drop --no-build)`);

  const sources = aptSources();
  mirror ??= mirrorFor(sources, SUITE) ?? DEFAULT_MIRROR;
  const security = mirrorFor(sources, `${SUITE}-security`) ?? DEFAULT_SECURITY;
  await mkdir(cache, { recursive: true });
  const log = join(cache, 'last-build.log');
  await writeFile(log, '');
  const base = await baseTar({ cache, mirror, log, say });

  const version = packageVersion();
  const archive = join(out, imageName(version));
  const work = await mkdtemp(join(tmpdir(), 'rugbyworker-image-'));
  const storage = ['--root', join(work, 'storage'), '--runroot', join(work, 'run'), '--storage-driver', 'vfs'];
  const buildah = (...args) => ['buildah', [...storage, ...args]];
  try {
    say(`image: importing the base as ${BASE_NAME}`);
    const ctr = output(...buildah('from', 'scratch'));
    const mnt = output(...buildah('mount', ctr));
    run(log, 'tar', ['-C', mnt, '--numeric-owner', '-xpf', base], 'unpacking the base');
    run(log, ...buildah('umount', ctr));
    run(log, ...buildah('config', '--env', `PATH=${BASE_PATH}`, '--cmd', '["bash"]', ctr));
    run(log, ...buildah('commit', '--rm', '--quiet', ctr, BASE_NAME), 'buildah commit (base)');

    // The context holds only what the Dockerfile copies (deploy/Dockerfile.dockerignore's rule).
    const context = join(work, 'context');
    await mkdir(join(context, dirname(BINARY)), { recursive: true });
    await link(binary, join(context, BINARY)).catch(() => copyFile(binary, join(context, BINARY)));
    const commit = fullCommit();
    const labels = imageLabels({ version, commit, remote: sourceRemote(), created: new Date().toISOString() });
    // Outside the context: the image never copies it, RUN sees it through the bind mount only.
    const buildSources = join(work, 'build.sources');
    await writeFile(buildSources, aptPlan(mirror, security).build);
    say(`image: buildah build -f deploy/Dockerfile (version ${version}, commit ${commit}; log ${log})`);
    run(log, ...buildah(...buildahBuildArgs({ labels, buildSources, tag: `localhost/rugbyworker:${version}`, context })), 'buildah build -f deploy/Dockerfile');

    await mkdir(out, { recursive: true });
    await rm(`${archive}.partial`, { force: true });
    run(log, ...buildah('push', '--quiet', `localhost/rugbyworker:${version}`, `oci-archive:${archive}.partial:rugbyworker:${version}`), 'buildah push (oci-archive)');
    await rename(`${archive}.partial`, archive);
  } finally {
    spawnSync('buildah', [...storage, 'rm', '--all'], { stdio: 'ignore' });
    await rm(work, { recursive: true, force: true });
  }

  const sum = await sha256(archive);
  await writeFile(`${archive}.sha256`, `${sum}  ${basename(archive)}\n`);
  const bytes = (await stat(archive)).size;
  const seconds = (Date.now() - t0) / 1000;
  say(`image: ${archive} ${size(bytes)} (gzip layers), sha256 ${sum}, built in ${seconds.toFixed(0)} s`);
  return { archive, sha256: sum, bytes, seconds };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    const { archive } = await buildImage(parseArgs(process.argv.slice(2)));
    console.log(archive);
  } catch (err) {
    console.error(`image failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
