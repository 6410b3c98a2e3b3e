// The release's CycloneDX SBOM, rugbyworker-<version>.cdx.json: npm's own (`npm sbom`, npm 9.5
// or newer) read from package-lock.json, which is what `npm ci` installs and the build bundles
// (runtime packages have scope "required"; build and test tools "optional", flagged
// cdx:npm:package:development), plus the Node binaries the executables embed, which npm does
// not know about, with their pinned checksums (build/node-pins.mjs).
// `npm sbom --omit dev` is not used: with --package-lock-only it drops runtime packages that
// a dev tool also depends on (pino, @aws-sdk/client-s3, ... with npm 11.19).
import { execFile } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ARCHES, NODE_VERSION } from './node-dist.mjs';
import { NODE_PINS } from './node-pins.mjs';

const run = promisify(execFile);
const root = dirname(dirname(fileURLToPath(import.meta.url)));

export function sbomName(version) {
  return `rugbyworker-${version}.cdx.json`;
}

function nodeComponent(arch) {
  const pin = NODE_PINS[NODE_VERSION]?.[arch];
  if (!pin) throw new Error(`node-linux-${arch}@${NODE_VERSION} has no pinned checksums in build/node-pins.mjs`);
  const name = `node-linux-${arch}`;
  return {
    'bom-ref': `${name}@${NODE_VERSION}`,
    type: 'platform',
    name,
    version: NODE_VERSION,
    scope: 'required',
    description: `Node.js ${NODE_VERSION}, embedded (stripped, SEA blob injected) in rugbyworker-linux-${arch}`,
    purl: `pkg:npm/${name}@${NODE_VERSION}`,
    // The npm tarball's sha512, as for npm's own components.
    hashes: [{ alg: 'SHA-512', content: Buffer.from(pin.tarball.replace(/^sha512-/, ''), 'base64').toString('hex') }],
    properties: [{ name: 'rugbyworker:bin/node:sha256', value: pin.node }],
  };
}

/** The SBOM as an object; `version` and `commit` name the release. */
export async function makeSbom({ version, commit }) {
  let stdout;
  try {
    ({ stdout } = await run('npm', ['sbom', '--sbom-format', 'cyclonedx', '--sbom-type', 'application', '--package-lock-only'],
      { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 }));
  } catch (err) {
    const why = String(err?.stderr || err?.message || err).trim().split('\n')[0];
    throw new Error(`npm sbom failed (it needs npm 9.5 or newer): ${why}`, { cause: err });
  }
  const bom = JSON.parse(stdout);
  const app = bom.metadata?.component;
  if (bom.bomFormat !== 'CycloneDX' || !app || !Array.isArray(bom.components)) throw new Error('npm sbom did not print a CycloneDX document');
  // npm names the root component after the checkout's folder.
  app.name = 'rugbyworker';
  app.version = version;
  app.properties = [...(app.properties ?? []), { name: 'rugbyworker:commit', value: commit }];
  const nodes = ARCHES.map(nodeComponent);
  bom.components.push(...nodes);
  const rootDeps = bom.dependencies?.find((d) => d.ref === app['bom-ref']);
  if (rootDeps) rootDeps.dependsOn = [...(rootDeps.dependsOn ?? []), ...nodes.map((n) => n['bom-ref'])];
  return bom;
}
