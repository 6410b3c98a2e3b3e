// The shipped executable inside the systemd unit's sandbox (issue 20): the system calls,
// address families and capabilities rugbyworker@.service allows are enough to transcode
// (ffprobe, the hardware probe, FFmpeg started through `setpriv --pdeathsig KILL`) and to make
// stereo (chunk, segment-infer, reassemble). systemd cannot start units here (it is not PID 1
// in a container), so test/helpers/sandbox.ts applies the unit's filter the way systemd does.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { DEFAULT_UNIT, systemdUnit } from '../../src/domain/systemd-unit.js';
import { cleanEnv, exePath } from '../helpers/binary.js';
import { sandboxMissing, unitSandbox } from '../helpers/sandbox.js';

const missing = sandboxMissing();
if (missing) console.warn(`SKIPPED systemd sandbox tests: ${missing}`);

function run(cmd: string[], timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd[0]!, cmd.slice(1), { env: cleanEnv(), timeout: timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8', maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

(missing ? describe.skip : describe)('the executable in the unit\'s system-call sandbox', () => {
  let work: string;
  let clip: string;
  let sandbox: string[];
  const plain = systemdUnit({ ...DEFAULT_UNIT, devices: 'none', groups: [] });

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'rw-sandbox-e2e-'));
    clip = join(work, 'clip.mp4');
    sandbox = unitSandbox(plain);
    await execa('ffmpeg', [
      '-hide_banner', '-nostdin', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30',
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '4',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '30', '-pix_fmt', 'yuv420p', '-c:a', 'aac', clip,
    ]);
  }, 60_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('setpriv --pdeathsig KILL works inside (the worker\'s probe; its FFmpeg dies with it); without capset it exits 127', async () => {
    expect(await run([...sandbox, 'setpriv', '--pdeathsig', 'KILL', '--', 'true'])).toMatchObject({ code: 0 });
    // The parent of the setpriv'd sleep is SIGKILLed: the kernel kills the sleep too.
    const r = await run([...sandbox, 'sh', '-c', 'setpriv --pdeathsig KILL -- sleep 30 & echo $!; sleep 0.5; kill -9 $$']);
    const child = Number(r.stdout.trim());
    expect(child).toBeGreaterThan(0);
    await new Promise((res) => setTimeout(res, 300));
    const state = existsSync(`/proc/${child}/stat`) ? readFileSync(`/proc/${child}/stat`, 'utf8').split(') ')[1]?.[0] : 'gone';
    expect(['Z', 'X', 'gone']).toContain(state);

    const withoutCapset = unitSandbox(plain.replace('SystemCallFilter=capset\n', ''));
    const refused = await run([...withoutCapset, 'setpriv', '--pdeathsig', 'KILL', '--', 'true']);
    expect(refused.code).toBe(127);
    expect(refused.stderr).toContain('activate capabilities: Operation not permitted');
  }, 30_000);

  it('transcode FILE --out DIR: the HLS ladder', async () => {
    const out = join(work, 'hls');
    const r = await run([...sandbox, exePath(), 'transcode', clip, '--out', out, '--renditions', '240', '--segment-seconds', '2'], 90_000);
    if (r.code !== 0) console.log(r.stdout, r.stderr);
    expect(r.code).toBe(0);
    expect(readFileSync(join(out, 'index.m3u8'), 'utf8')).toContain('#EXT-X-STREAM-INF');
  }, 120_000);

  it('stereo FILE: chunk, segment-infer (ffmpeg) and reassemble', async () => {
    const out = join(work, 'stereo.mp4');
    const r = await run([...sandbox, exePath(), 'stereo', clip, '--mode', 'anaglyph', '--out', out, '--segment-seconds', '2'], 90_000);
    if (r.code !== 0) console.log(r.stdout, r.stderr);
    expect(r.code).toBe(0);
    expect(existsSync(out)).toBe(true);
  }, 120_000);
});
