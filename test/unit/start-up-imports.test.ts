// What the executable evaluates before it knows its command: only the command line. Roles,
// commands, adapters and their SDKs are reached through import(), which esbuild turns into
// lazily initialised modules of the one bundle, so --version and --help pay for none of them
// (issue 21: --version 190 ms -> ~35 ms). And src/ has no import cycle (type imports included).
import { describe, expect, it } from '@jest/globals';
import * as esbuild from 'esbuild';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { repoRoot } from '../helpers/binary.js';

/** Files main.ts evaluates at start: its static imports, transitively (import() excluded). */
async function startupClosure(): Promise<string[]> {
  const r = await esbuild.build({
    absWorkingDir: repoRoot, entryPoints: ['src/main.ts'], bundle: true, platform: 'node', format: 'cjs',
    target: 'node24', write: false, metafile: true, logLevel: 'silent', outfile: 'out.cjs',
  });
  const seen = new Set<string>();
  const stack = ['src/main.ts'];
  while (stack.length > 0) {
    const file = stack.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const i of r.metafile.inputs[file]?.imports ?? []) if (i.kind !== 'dynamic-import' && !i.external) stack.push(i.path);
  }
  return [...seen];
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(repoRoot, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(repoRoot, join(e.parentPath, e.name)));
}

/** Relative imports of a source file (static, type-only and re-exports; not import()), as repo paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(repoRoot, file), 'utf8');
  return [...text.matchAll(/^(?:import|export)\s[^;]*?\sfrom\s+'(\.[^']+)'/gms)]
    .map((m) => relative(repoRoot, resolve(repoRoot, dirname(file), (m[1] as string).replace(/\.js$/, '.ts'))));
}

describe('start-up imports', () => {
  it('main.ts evaluates commander and the command line only', async () => {
    const files = await startupClosure();
    const packages = new Set(files.flatMap((f) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(f)?.[1] ?? []));
    expect([...packages]).toEqual(['commander']);
    const heavy = files.filter((f) => /^src\/(adapters|wiring|lambda)\/|^src\/runtime\/(logger|ffmpeg|config\/load)|^roles\/[^/]+\/|^src\/commands\/(?!io\.ts$)/.test(f));
    expect(heavy).toEqual([]);
  });

  it('no file under src/commands imports src/cli.ts, and src/ and roles/ have no import cycle', () => {
    const files = [...sourceFiles('src'), ...sourceFiles('roles')];
    const graph = new Map(files.map((f) => [f, importsOf(f)]));
    expect(files.filter((f) => f.startsWith('src/commands/') && graph.get(f)?.includes('src/cli.ts'))).toEqual([]);
    // Depth-first search; a grey node met again closes a cycle.
    const state = new Map<string, 'grey' | 'black'>();
    const cycles: string[][] = [];
    const visit = (f: string, path: string[]): void => {
      state.set(f, 'grey');
      for (const next of graph.get(f) ?? []) {
        if (state.get(next) === 'grey') cycles.push([...path.slice(path.indexOf(next)), next]);
        else if (!state.has(next)) visit(next, [...path, next]);
      }
      state.set(f, 'black');
    };
    for (const f of files) if (!state.has(f)) visit(f, [f]);
    expect(cycles).toEqual([]);
  });
});
