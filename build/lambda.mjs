// dist/lambda/reassembly-trigger.zip: src/lambda/reassembly-trigger.ts bundled by esbuild
// into one index.js (handler `index.handler`, nodejs22.x or nodejs24.x), zipped by fflate.
// The AWS SDK is bundled, not taken from the runtime: the function runs the SDK version
// the tests ran. A fixed mtime and attributes make the same code give the same zip, so
// Terraform's source_code_hash changes only when the code does.
// `node build/lambda.mjs` builds it alone; build/build.mjs imports `buildLambda()`.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { zipSync } from 'fflate';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
export const lambdaEntry = join(root, 'src', 'lambda', 'reassembly-trigger.ts');
export const lambdaZip = join(root, 'dist', 'lambda', 'reassembly-trigger.zip');

// DOS time is local time: built from local fields, every time zone writes the same bytes.
const FIXED_MTIME = new Date(1980, 0, 1, 0, 0, 0);
// A Unix regular file, rw-r--r-- (Lambda needs its files world-readable).
const UNIX = 3;
const REGULAR_644 = (0o100644 << 16) >>> 0;

/** Bundles and zips; resolves with the sizes in bytes. */
export async function buildLambda() {
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: [lambdaEntry],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    // Names kept (no identifier minifying): a stack in CloudWatch then reads putAndSend,
    // DynamoDbPipelineDb.getLock…, for some 50 kB more in the zip.
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'warning',
    write: false,
    outfile: 'index.js',
  });
  const [index] = result.outputFiles;
  const zip = zipSync({ 'index.js': [index.contents, { level: 9, mtime: FIXED_MTIME, os: UNIX, attrs: REGULAR_644 }] });
  await mkdir(dirname(lambdaZip), { recursive: true });
  // Renamed into place: a reader never sees half a zip.
  const partial = `${lambdaZip}.partial`;
  await writeFile(partial, zip);
  await rename(partial, lambdaZip);
  return { indexBytes: index.contents.length, zipBytes: zip.length };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  const { indexBytes, zipBytes } = await buildLambda();
  process.stdout.write(`built ${lambdaZip} (index.js ${indexBytes} bytes, zip ${zipBytes} bytes) in ${Date.now() - started} ms\n`);
}
