// The reassembly-trigger Lambda as `npm run build` ships it (dist/lambda/reassembly-trigger.zip),
// run the way Lambda runs it: index.js unzipped into a directory of its own (no
// node_modules anywhere above it, so only what is bundled can load), required once by a
// child `node` with the function's environment, its `handler` then invoked again and again
// in that process, so module state lives on between invocations as in a warm container.
// Results come back on fd 3; stdout carries only what the function logs.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { cleanEnv, distDir } from './binary.js';

export const lambdaZipPath = join(distDir, 'lambda', 'reassembly-trigger.zip');

export interface UnpackedLambda {
  dir: string;
  /** Every entry name in the zip. */
  entries: string[];
  indexBytes: number;
  zipBytes: number;
  remove(): Promise<void>;
}

/** Unzips the built zip into a fresh temporary directory (the function's /var/task). */
export async function unpackLambda(zipPath = lambdaZipPath): Promise<UnpackedLambda> {
  const zip = await readFile(zipPath);
  const files = unzipSync(zip);
  const dir = await mkdtemp(join(tmpdir(), 'rw-lambda-'));
  for (const [name, data] of Object.entries(files)) {
    if (name.includes('/')) continue; // nothing nested is expected; the test names any entry
    await writeFile(join(dir, name), data);
  }
  return {
    dir,
    entries: Object.keys(files),
    indexBytes: files['index.js']?.length ?? 0,
    zipBytes: zip.length,
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

export type Invocation = { ok: true; value: unknown } | { ok: false; error: { name: string; message: string } };

export interface ContainerRun {
  /** Per round, per event of the round: what the handler resolved or rejected with. */
  rounds: Invocation[][];
  /** Names the module exports. */
  exports: string[];
  stdout: string;
  stderr: string;
  code: number | null;
}

// Each round's events are invoked at once (Promise.all), rounds one after the other.
const CONTAINER = `
const fs = require('node:fs');
const input = JSON.parse(fs.readFileSync(0, 'utf8'));
const mod = require(input.index);
(async () => {
  const rounds = [];
  let n = 0;
  for (const events of input.rounds) {
    rounds.push(await Promise.all(events.map((event) => mod.handler(event, { awsRequestId: 'request-' + ++n }).then(
      (value) => ({ ok: true, value }),
      (err) => ({ ok: false, error: { name: String(err && err.name), message: String(err && err.message) } }),
    ))));
  }
  fs.writeSync(3, JSON.stringify({ rounds, exports: Object.keys(mod) }));
})();
`;

/** One warm container: requires index.js from `dir` with `env` (and PATH, HOME only), then runs `rounds`. */
export function runContainer(dir: string, env: Record<string, string | undefined>, rounds: unknown[][], timeoutMs = 15_000): Promise<ContainerRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', CONTAINER], { cwd: dir, env: cleanEnv(env), stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    let stdout = '';
    let stderr = '';
    let result = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => { stdout += c; });
    child.stderr.setEncoding('utf8').on('data', (c: string) => { stderr += c; });
    const fd3 = child.stdio[3] as NodeJS.ReadableStream;
    fd3.setEncoding('utf8');
    fd3.on('data', (c: string) => { result += c; });
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      if (result === '') {
        reject(new Error(`the Lambda container exited ${code} without results: ${stderr.trim().split('\n').slice(-5).join(' | ')}`));
        return;
      }
      const parsed = JSON.parse(result) as { rounds: Invocation[][]; exports: string[] };
      resolve({ ...parsed, stdout, stderr, code });
    });
    child.stdin.end(JSON.stringify({ index: join(dir, 'index.js'), rounds }));
  });
}
