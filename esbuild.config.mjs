// Bundles src/main.ts into one CommonJS file, dist/bundle.cjs: the script a Node
// Single Executable Application embeds (inside a SEA `require()` reaches only
// built-in modules, so every dependency has to be in this one file).
// `node esbuild.config.mjs` builds the bundle; build/build.mjs imports `bundle()`.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

export const root = dirname(fileURLToPath(import.meta.url));
export const entry = join(root, 'src', 'main.ts');
export const outfile = join(root, 'dist', 'bundle.cjs');

export function packageVersion() {
  return JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
}

/** `RUGBYWORKER_COMMIT`, else `git rev-parse --short HEAD`, else "unknown" (outside git). */
export function gitCommit() {
  if (process.env.RUGBYWORKER_COMMIT) return process.env.RUGBYWORKER_COMMIT;
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'],
    }).trim() || 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The full commit hash when git knows it (release notes, image labels), else gitCommit()'s. */
export function fullCommit() {
  if (process.env.RUGBYWORKER_COMMIT) return process.env.RUGBYWORKER_COMMIT;
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'],
    }).trim() || gitCommit();
  } catch {
    return gitCommit();
  }
}

// In a CJS bundle esbuild turns `import.meta` into an empty object, so ESM-only
// packages that do `fileURLToPath(import.meta.url)` (execa and friends) would crash.
// Point the `import.meta` properties at values computed once in the banner. Inside a
// SEA `__filename` is the executable's path, and `require('url')` is a built-in.
const META = '__rugbyworker_import_meta';
const banner = `var ${META}_url=require("url").pathToFileURL(__filename).href,`
  + `${META}_filename=__filename,${META}_dirname=__dirname;`;

/** esbuild options for dist/bundle.cjs; `overrides` are merged on top. */
export function buildOptions(overrides = {}) {
  return {
    absWorkingDir: root,
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'warning',
    banner: { js: banner },
    define: {
      __RUGBYWORKER_VERSION__: JSON.stringify(packageVersion()),
      __RUGBYWORKER_COMMIT__: JSON.stringify(gitCommit()),
      'import.meta.url': `${META}_url`,
      'import.meta.filename': `${META}_filename`,
      'import.meta.dirname': `${META}_dirname`,
    },
    ...overrides,
  };
}

/** Builds dist/bundle.cjs; resolves with esbuild's result. */
export function bundle(overrides = {}) {
  return esbuild.build(buildOptions(overrides));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = Date.now();
  await bundle();
  process.stdout.write(`bundled ${outfile} in ${Date.now() - started} ms\n`);
}
