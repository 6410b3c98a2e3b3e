// `npm run release`: assembles dist/release/ as the GitHub release publishes it
// (.github/workflows/release.yml only calls this script):
//   rugbyworker-linux-x64, rugbyworker-linux-arm64   the executables of build/build.mjs
//   reassembly-trigger.zip                           the Lambda zip (build/lambda.mjs)
//   rugbyworker-<version>-linux-x64.oci.tar          the OCI image, when `npm run image` made it
//   rugbyworker-<version>.cdx.json                   the CycloneDX SBOM (build/sbom.mjs)
//   SHA256SUMS                                       over all of the above (`sha256sum -c SHA256SUMS`)
//   RELEASE_NOTES.md                                 version, commit, files, the README's Install steps
// Builds first (build/build.mjs) unless --no-build. Options:
//   --no-build     use dist/ as it is (fails, naming the file, when something is missing)
//   --tag TAG      fail unless TAG is v<package.json version> (the release workflow passes the git tag)
//                  and the OCI image archive is there
//   --out DIR      write there instead of dist/release (the tests use it)
//   --dist DIR     take the built files from DIR instead of dist/ (the tests use it)
// Files are hard-linked from dist/ (copied when that is not possible): ~200 MB in no time.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, link, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fullCommit, packageVersion } from '../esbuild.config.mjs';
import { ARCHES } from './node-dist.mjs';
import { lambdaZip } from './lambda.mjs';
import { imageName } from './image.mjs';
import { sha256, size } from './files.mjs';
import { makeSbom, sbomName } from './sbom.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const dist = join(root, 'dist');

export function imageArchive(version = packageVersion(), from = dist) {
  return join(from, imageName(version));
}

function parseArgs(argv) {
  const opts = { build: true, tag: undefined, out: join(dist, 'release'), from: dist };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--no-build') opts.build = false;
    else if (a === '--tag' || a === '--out' || a === '--dist') {
      const v = argv[++i];
      if (!v) throw new Error(`${a} needs a value`);
      if (a === '--tag') opts.tag = v;
      else if (a === '--out') opts.out = resolve(v);
      else opts.from = resolve(v);
    } else throw new Error(`unknown argument '${a}' (known: --no-build, --tag TAG, --out DIR, --dist DIR)`);
  }
  return opts;
}

/** The README's "## Install" section, without its heading, up to the next "## " heading. */
export function installSection(readme) {
  const lines = readme.split('\n');
  const start = lines.findIndex((l) => /^## Install\s*$/.test(l));
  if (start < 0) return undefined;
  let end = lines.findIndex((l, i) => i > start && /^## /.test(l));
  if (end < 0) end = lines.length;
  return lines.slice(start + 1, end).join('\n').trim();
}

/** A path as the messages show it: relative to the checkout when inside it. */
function shown(path) {
  return path.startsWith(root + '/') ? path.slice(root.length + 1) : path;
}

async function place(src, dest) {
  try {
    await link(src, dest);
  } catch {
    await copyFile(src, dest);
  }
}

export async function release({ build = true, tag, out = join(dist, 'release'), from = dist, log = console.log } = {}) {
  const version = packageVersion();
  if (tag !== undefined && tag !== `v${version}`) {
    throw new Error(`tag ${tag} does not match package.json version ${version} (expected tag v${version})`);
  }
  if (build) {
    const r = spawnSync(process.execPath, [join(root, 'build', 'build.mjs')], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('npm run build failed');
  }

  const required = [...ARCHES.map((a) => join(from, `rugbyworker-linux-${a}`)), join(from, relative(dist, lambdaZip))];
  const missing = required.filter((f) => !existsSync(f));
  if (missing.length > 0) {
    throw new Error(`missing ${missing.map(shown).join(', ')}: run npm run build (or drop --no-build)`);
  }
  const image = imageArchive(version, from);
  const hasImage = existsSync(image);
  // A tagged release (the workflow) ships the image; a local one may go without it.
  if (tag !== undefined && !hasImage) {
    throw new Error(`${shown(image)} is missing: a tagged release ships the OCI image (npm run image)`);
  }
  const sources = hasImage ? [...required, image] : required;

  // out is emptied first: never the checkout, dist/ itself or a folder that holds them.
  const holds = (dir, path) => path === dir || path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
  if ([root, dist, from].some((p) => holds(resolve(out), resolve(p)))) {
    throw new Error(`refusing --out ${out}: it holds the checkout or the built files`);
  }
  const install = installSection(await readFile(join(root, 'README.md'), 'utf8'));
  if (!install) throw new Error('README.md has no "## Install" section for the release notes');
  const commit = fullCommit();
  const sbom = await makeSbom({ version, commit });

  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  for (const src of sources) await place(src, join(out, basename(src)));
  await writeFile(join(out, sbomName(version)), `${JSON.stringify(sbom, null, 2)}\n`);
  const files = [];
  for (const name of [...sources.map((src) => basename(src)), sbomName(version)]) {
    const { size: bytes } = await stat(join(out, name));
    files.push({ name, bytes, sha: await sha256(join(out, name)) });
  }
  await writeFile(join(out, 'SHA256SUMS'), files.map((f) => `${f.sha}  ${f.name}\n`).join(''));

  const notes = [
    `# rugbyworker ${version}`,
    '',
    `Version ${version}, commit ${commit}.`,
    '',
    '| file | size | sha256 |',
    '|---|---:|---|',
    ...files.map((f) => `| \`${f.name}\` | ${size(f.bytes)} (${f.bytes} bytes) | \`${f.sha}\` |`),
    '',
    hasImage
      ? `\`${basename(image)}\` is the OCI image archive (linux-x64).`
      : 'No OCI image archive in this release (`npm run image` had not made one).',
    '',
    `\`${sbomName(version)}\` is the CycloneDX SBOM: the npm packages from package-lock.json (runtime`
      + ' dependencies have scope `required`, build and test tools `optional`) and the embedded Node binaries.',
    'The release workflow attests build provenance for every file in `SHA256SUMS`: check one with'
      + ' `gh attestation verify <file> --repo <owner>/<repo>`, or offline against the attached'
      + ` \`rugbyworker-${version}.provenance.sigstore.json\` with \`--bundle\`.`,
    '',
    '## Install',
    '',
    install,
    '',
  ].join('\n');
  await writeFile(join(out, 'RELEASE_NOTES.md'), notes);

  log(`rugbyworker ${version} (commit ${commit}) in ${shown(out)}/`);
  for (const f of files) log(`  ${f.name.padEnd(42)} ${size(f.bytes).padStart(9)}  ${f.sha}`);
  log(`  ${'SHA256SUMS'.padEnd(42)}`);
  log(`  ${'RELEASE_NOTES.md'.padEnd(42)}`);
  if (!hasImage) log(`  no OCI image: ${shown(image)} does not exist (npm run image makes it); released without it`);
  return { out, files, hasImage };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    await release(parseArgs(process.argv.slice(2)));
  } catch (err) {
    console.error(`release failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
