// The hls.js browser build the local player page loads. Inside the executable it is a
// SEA asset (build/build.mjs adds it): there `require()` reaches only built-ins, so
// node_modules is not there to read. From source (tests, `node dist/bundle.cjs`) it is
// read from node_modules.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Sea from 'node:sea';

/** The asset key build/build.mjs gives hls.min.js in the SEA config. */
export const HLS_JS_ASSET = 'hls.min.js';
const HLS_JS_MODULE = 'hls.js/dist/hls.min.js';

let cached: string | undefined;

/** Text of hls.js's `dist/hls.min.js`; read once, then cached. */
export function hlsJsSource(): string {
  cached ??= load();
  return cached;
}

function load(): string {
  // In the CJS bundle esbuild.config.mjs defines import.meta.url as the bundle's (or,
  // in a SEA, the executable's) file URL, so this works in every form. A require made
  // here is synchronous and loads built-ins even inside a SEA.
  const req = createRequire(import.meta.url);
  const sea = req('node:sea') as typeof Sea;
  if (sea.isSea()) {
    try {
      return sea.getAsset(HLS_JS_ASSET, 'utf8');
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new Error(`this executable has no '${HLS_JS_ASSET}' asset (${why}): rebuild it with \`npm run build\``, { cause: err });
    }
  }
  let file: string;
  try {
    file = req.resolve(HLS_JS_MODULE);
  } catch (err) {
    throw new Error(`cannot find ${HLS_JS_MODULE} from ${import.meta.url}: run \`npm install\``, { cause: err });
  }
  return readFileSync(file, 'utf8');
}
