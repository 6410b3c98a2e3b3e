// An "ffmpeg" that stands in for a machine with NVENC whose encoder then fails: every run
// that does not ask for h264_nvenc is the real ffmpeg; a run that does behaves as `mode` says.
// - die-after-upload: encodes (libx264 standing in for NVENC, read at twice real time) until
//   the file `go` exists (the test creates it once a segment was uploaded), then kills its
//   ffmpeg and exits 1 as a lost encoder would;
// - hang: says and writes nothing, for the stall watchdog;
// - fail-all: every run exits 1, libx264 ones too (a failure that is not the encoder's).
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { videoEncoderArgs } from '../../src/domain/rugbycodex/hls-ladder.js';

export type FakeNvencMode = 'die-after-upload' | 'hang' | 'fail-all';

/** Options NVENC's ladder arguments have and libx264's do not: dropped when libx264 stands in. */
function nvencOnlyOptions(): string[] {
  const flags = (args: string[]) => args.filter((a) => a.startsWith('-'));
  const opts = { rungs: [{ videoKbps: 1, maxrateKbps: 1, bufsizeKbps: 1 }], segmentSeconds: 6, fps: 30 };
  const x264 = new Set(flags(videoEncoderArgs('libx264', opts)));
  return flags(videoEncoderArgs('h264_nvenc', opts)).filter((f) => !x264.has(f));
}

/** Writes the fake as `dir`/ffmpeg-<name> and returns its path. */
export async function writeFakeNvenc(dir: string, name: string, opts: { realFfmpeg: string; mode: FakeNvencMode; go?: string }): Promise<string> {
  const path = join(dir, `ffmpeg-${name}`);
  const script = `#!${process.execPath}
const { spawn } = require('node:child_process');
const { existsSync } = require('node:fs');
const REAL = ${JSON.stringify(opts.realFfmpeg)};
const MODE = ${JSON.stringify(opts.mode)};
const GO = ${JSON.stringify(opts.go ?? '')};
const NVENC_ONLY = new Set(${JSON.stringify(nvencOnlyOptions())});
const args = process.argv.slice(2);
let child = null;
process.on('SIGTERM', () => { if (child) child.kill('SIGKILL'); process.exit(143); });
const fail = (why) => { if (child) child.kill('SIGKILL'); process.stderr.write('[h264_nvenc @ 0x0] fake NVENC: ' + why + '\\n'); process.exit(1); };
const real = (argv) => { child = spawn(REAL, argv, { stdio: 'inherit' }); return child; };
if (MODE === 'fail-all') fail('every run fails here');
else if (!args.includes('h264_nvenc')) real(args).on('exit', (code) => process.exit(code === null ? 1 : code));
else if (MODE === 'hang') setInterval(() => {}, 1 << 30);
else {
  const out = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (NVENC_ONLY.has(a)) { i++; continue; }
    if (a === '-preset') { out.push('-preset', 'ultrafast'); i++; continue; }
    if (a === '-i') out.push('-readrate', '2');
    out.push(a === 'h264_nvenc' ? 'libx264' : a);
  }
  real(out).on('exit', () => fail('encoder exited'));
  setInterval(() => { if (existsSync(GO)) fail('encoder lost mid-stream'); }, 50);
}
`;
  await writeFile(path, script);
  await chmod(path, 0o755);
  return path;
}
