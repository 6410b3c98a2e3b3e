// ffmpeg/ffprobe present, a real encode works, and which decoder and encoder a job would use.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../runtime/config/schema.js';
import { encoderChoice } from '../../domain/rugbycodex/video-encoder.js';
import { DEFAULT_RUNG_HEIGHTS } from '../../domain/rugbycodex/hls-ladder.js';
import { cachedHwDecode, cachedHwEncode, ffmpegVersion, locateConfiguredFfmpeg, probe, runFfmpeg, type FfmpegBinaries } from '../../runtime/ffmpeg/index.js';
import { oneLine, timed, type CheckResult } from './check.js';

export async function ffmpegChecks(config: Config, env: Readonly<Record<string, string | undefined>>, required: boolean): Promise<CheckResult[]> {
  let bins: FfmpegBinaries;
  try {
    bins = await locateConfiguredFfmpeg(config, env.PATH);
  } catch (err) {
    return [{ name: 'ffmpeg', ok: false, required, detail: oneLine(err) }];
  }
  return Promise.all([
    timed('ffmpeg', required, 10_000, async () => ({ ok: true, detail: `${await ffmpegVersion(bins.ffmpeg)} at ${bins.ffmpeg}` })),
    timed('ffprobe', required, 10_000, async () => ({ ok: true, detail: `${await ffmpegVersion(bins.ffprobe)} at ${bins.ffprobe}` })),
    timed('ffmpeg self-test', required, 60_000, () => selfTest(bins)),
    timed('hardware decode', false, 60_000, async () => {
      const v = await cachedHwDecode(bins);
      const mode = v.kind === 'none' ? 'software decode' : `${v.kind} hardware decode (${v.h264InputArgs.join(' ')})`;
      return { ok: true, detail: `${mode}; ${v.reason}` };
    }),
    timed('hardware encode', false, 60_000, async () => {
      const v = await cachedHwEncode(bins, { choice: encoderChoice(config.HLS_ENCODER), streams: (config.HLS_RENDITIONS ?? DEFAULT_RUNG_HEIGHTS).length });
      return { ok: true, detail: `${v.hardware ? `${v.encoder} hardware encode` : 'libx264 (software encode)'}; ${v.reason}` };
    }),
  ]);
}

// Encodes one second of H.264/AAC exactly as jobs do (libx264 + aac) and reads it back.
async function selfTest(bins: FfmpegBinaries): Promise<{ ok: boolean; detail: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'rugbyworker-doctor-'));
  try {
    const out = join(dir, 'selftest.mp4');
    const started = performance.now();
    await runFfmpeg(bins.ffmpeg, [
      '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440',
      '-t', '1', '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-y', out,
    ], { stallSeconds: 30, durationSeconds: 1 });
    const p = await probe(bins.ffprobe, out);
    const seconds = ((performance.now() - started) / 1000).toFixed(2);
    const ok = p.video?.codecName === 'h264' && p.audio?.codecName === 'aac' && (p.durationSeconds ?? 0) > 0.9;
    return { ok, detail: ok ? `encoded and read back 1 s of H.264/AAC in ${seconds} s` : `test encode is not H.264/AAC of 1 s: ${JSON.stringify({ v: p.video?.codecName, a: p.audio?.codecName, d: p.durationSeconds })}` };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
