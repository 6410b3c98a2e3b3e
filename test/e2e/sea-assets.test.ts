// The executables carry hls.min.js as a SEA asset (build/build.mjs `assets`), which
// roles/transcode/serve/player-assets.ts reads with sea.getAsset() for the `--serve` page.
// The CLI has no command that prints an asset, so this checks the bytes: SEA assets are
// stored verbatim in the injected blob, so the whole file must appear in each
// executable, and not come from the bundle (the bundle never includes hls.js).
import { describe, expect, test } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { distDir, exePath, type Arch } from '../helpers/binary.js';

const hlsJs = readFileSync(createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js'));

describe('SEA assets', () => {
  test('dist/bundle.cjs does not contain hls.js (it is a browser library, shipped as an asset)', () => {
    const bundle = readFileSync(join(distDir, 'bundle.cjs'));
    expect(bundle.indexOf(hlsJs.subarray(0, 256))).toBe(-1);
  });

  test.each<Arch>(['x64', 'arm64'])('dist/rugbyworker-linux-%s holds hls.min.js byte for byte', (arch) => {
    const exe = exePath(arch);
    if (!existsSync(exe)) throw new Error(`${exe} is missing: run \`npm run build\``);
    expect(readFileSync(exe).indexOf(hlsJs)).toBeGreaterThan(0);
  });
});
