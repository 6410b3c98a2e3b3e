import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it, expect } from '@jest/globals';
import { execa } from 'execa';
import {
  detectHwDecode, detectHwEncode, FfmpegError, FfmpegNotFoundError, ffmpegVersion, locateFfmpeg, probe, runFfmpeg, systemHwSources,
} from '../../src/runtime/ffmpeg/index.js';
import { videoEncoderArgs } from '../../src/domain/rugbycodex/hls-ladder.js';
import { VIDEO_CONTAINERS } from '../../src/domain/untrusted-media.js';
import type { FfmpegBinaries, FfmpegProgress } from '../../src/runtime/ffmpeg/index.js';

let bins: FfmpegBinaries;
let dir: string;
let clip: string;

/** PIDs of live processes whose command line mentions `marker` (a unique temp path). */
async function processesMentioning(marker: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    const state = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // A zombie has already exited; it only waits to be reaped.
    if (cmdline.includes(marker) && !/^\d+ \(.*\) Z/.test(state)) pids.push(Number(entry));
  }
  return pids;
}

async function rejection(promise: Promise<unknown>): Promise<FfmpegError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(FfmpegError);
    return err as FfmpegError;
  }
  throw new Error('expected an FfmpegError, but the promise resolved');
}

beforeAll(async () => {
  bins = await locateFfmpeg(process.env);
  dir = await mkdtemp(join(tmpdir(), 'rugbyworker-ffmpeg-it-'));
  clip = join(dir, 'clip.mp4');
  await execa(bins.ffmpeg, [
    '-hide_banner', '-nostdin', '-v', 'error',
    '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', '3', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-y', clip,
  ]);
}, 60_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('locateFfmpeg / ffmpegVersion', () => {
  it('finds ffmpeg and ffprobe on PATH and reads the version', async () => {
    const found = await locateFfmpeg({ PATH: '/nonexistent:/usr/bin' });
    expect(found).toEqual({ ffmpeg: '/usr/bin/ffmpeg', ffprobe: '/usr/bin/ffprobe' });
    expect(await ffmpegVersion(found.ffmpeg)).toMatch(/^\d+\.\d+/);
  });

  it('an explicit FFMPEG_PATH wins and ffprobe is found next to it', async () => {
    const found = await locateFfmpeg({ FFMPEG_PATH: '/usr/bin/ffmpeg', PATH: '' });
    expect(found).toEqual({ ffmpeg: '/usr/bin/ffmpeg', ffprobe: '/usr/bin/ffprobe' });
  });

  it('a non-executable FFMPEG_PATH fails with one line naming the variable', async () => {
    const notExec = join(dir, 'not-ffmpeg');
    await writeFile(notExec, 'x', { mode: 0o644 });
    const err = await locateFfmpeg({ FFMPEG_PATH: notExec, PATH: '/usr/bin' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FfmpegNotFoundError);
    expect((err as Error).message).toContain('FFMPEG_PATH');
    expect((err as Error).message).not.toContain('\n');
  });

  it('nothing on PATH: names both variables and what to install', async () => {
    const err = await locateFfmpeg({ PATH: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FfmpegNotFoundError);
    expect((err as Error).message).toMatch(/FFMPEG_PATH.*FFPROBE_PATH.*install ffmpeg/);
  });
});

describe('probe', () => {
  it('reads duration and both streams of the generated clip', async () => {
    const r = await probe(bins.ffprobe, clip);
    expect(r.durationSeconds).not.toBeNull();
    expect(r.durationSeconds!).toBeGreaterThan(2.9);
    expect(r.durationSeconds!).toBeLessThan(3.2);
    expect(r.sizeBytes).toBeGreaterThan(1000);
    expect(r.video).toMatchObject({ codecName: 'h264', width: 320, height: 240, frameRate: 25 });
    expect(r.audio).toMatchObject({ codecName: 'aac' });
  });

  it('an unreadable input is an FfmpegError "exit" with the stderr tail', async () => {
    const bad = join(dir, 'garbage.mp4');
    await writeFile(bad, 'this is not a video\n');
    const err = await rejection(probe(bins.ffprobe, bad));
    expect(err.reason).toBe('exit');
    expect(err.exitCode).toBe(1);
    expect(err.stderrTail).toMatch(/Invalid data/);
    expect(err.message).not.toContain('\n');
  });

  it('every allowed container is a demuxer of this FFmpeg, and the clip remuxed into the common ones is read', async () => {
    const { stdout } = await execa(bins.ffmpeg, ['-hide_banner', '-demuxers']);
    const demuxers = stdout.split('\n').flatMap((l) => /^ D\S* +(\S+)/.exec(l)?.[1]?.split(',') ?? []);
    expect(demuxers).toEqual(expect.arrayContaining([...VIDEO_CONTAINERS]));
    for (const ext of ['mkv', 'ts', 'avi', 'flv']) {
      const file = join(dir, `clip.${ext}`);
      await execa(bins.ffmpeg, ['-hide_banner', '-v', 'error', '-i', clip, '-c', 'copy', '-y', file]);
      expect((await probe(bins.ffprobe, file)).video).toMatchObject({ codecName: 'h264', width: 320 });
    }
  });

  it('an HLS playlist or a concat list naming a clip on this disk is refused, not read', async () => {
    const playlist = join(dir, 'upload.mp4');
    await writeFile(playlist, `#EXTM3U\n#EXT-X-TARGETDURATION:3\n#EXTINF:3.0,\nfile://${clip}\n#EXT-X-ENDLIST\n`);
    const list = join(dir, 'list.mp4');
    await writeFile(list, `ffconcat version 1.0\nfile '${clip}'\n`);
    const refused = await rejection(probe(bins.ffprobe, playlist));
    expect(refused).toMatchObject({ reason: 'exit', refused: 'an HLS playlist, not a video container' });
    expect(refused.message).toBe(`ffprobe ${playlist}: the input is an HLS playlist, not a video container`);
    expect(await rejection(probe(bins.ffprobe, list))).toMatchObject({ refused: 'an FFmpeg concat list, not a video container' });
  });
});

describe('runFfmpeg', () => {
  it('transcodes, reporting progress that ends done at 100 %', async () => {
    const out = join(dir, 'small.mp4');
    const events: FfmpegProgress[] = [];
    await runFfmpeg(bins.ffmpeg, [
      '-y', '-i', clip, '-vf', 'scale=160:120', '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', out,
    ], { durationSeconds: 3, onProgress: (p) => events.push(p), stallSeconds: 20 });
    expect(events.length).toBeGreaterThanOrEqual(1);
    const last = events[events.length - 1]!;
    expect(last).toMatchObject({ done: true, percent: 100 });
    expect(last.frame).toBe(75);
    expect(events.filter((e) => e.done)).toHaveLength(1);
    const result = await probe(bins.ffprobe, out);
    expect(result.video).toMatchObject({ width: 160, height: 120 });
  }, 60_000);

  it('a throwing progress callback does not break the run', async () => {
    let calls = 0;
    await runFfmpeg(bins.ffmpeg, ['-i', clip, '-f', 'null', '-'], {
      durationSeconds: 3,
      onProgress: () => {
        calls++;
        throw new Error('callback bug');
      },
    });
    expect(calls).toBeGreaterThanOrEqual(1);
  }, 30_000);

  it('keeps only the last 40 stderr lines of a chatty run', async () => {
    const { stderrTail } = await runFfmpeg(bins.ffmpeg, ['-v', 'debug', '-i', clip, '-f', 'null', '-']);
    const lines = stderrTail.split('\n');
    expect(lines).toHaveLength(40);
    // The tail, not the head: the banner-free debug log starts with option parsing.
    expect(stderrTail).not.toContain('Splitting the commandline');
    expect(lines[lines.length - 1]).toContain('Statistics:');
  }, 30_000);

  it('a failing command is an FfmpegError "exit" with a bounded stderr tail', async () => {
    const missing = join(dir, 'missing.mp4');
    // -v debug makes plenty of stderr, to show only the tail is kept.
    const err = await rejection(runFfmpeg(bins.ffmpeg, ['-v', 'debug', '-i', missing, '-f', 'null', '-']));
    expect(err.reason).toBe('exit');
    expect(err.exitCode).toBe(1);
    expect(err.stderrTail).toContain('No such file or directory');
    expect(err.stderrTail.split('\n').length).toBeLessThanOrEqual(40);
    expect(err.message).toContain('No such file or directory');
    expect(err.message).not.toContain('\n');
  }, 30_000);

  it('kills an ffmpeg that makes no progress (reading a FIFO nobody writes)', async () => {
    const fifo = join(dir, 'stalled.fifo');
    await execa('mkfifo', [fifo]);
    const started = Date.now();
    const err = await rejection(runFfmpeg(bins.ffmpeg, ['-f', 'mpegts', '-i', fifo, '-f', 'null', '-'], { stallSeconds: 1 }));
    expect(err.reason).toBe('stall');
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(10_000);
    expect(await processesMentioning(fifo)).toEqual([]);
  }, 30_000);

  it('an abort mid-run kills ffmpeg and rejects with "aborted"', async () => {
    const out = join(dir, 'aborted.mp4');
    const controller = new AbortController();
    const events: FfmpegProgress[] = [];
    const started = Date.now();
    const run = runFfmpeg(bins.ffmpeg, [
      '-y', '-f', 'lavfi', '-i', 'testsrc=size=1280x720:rate=30', '-t', '600', '-c:v', 'libx264', '-preset', 'medium', out,
    ], {
      signal: controller.signal,
      durationSeconds: 600,
      onProgress: (p) => {
        events.push(p);
        controller.abort();
      },
    });
    const err = await rejection(run);
    expect(err.reason).toBe('aborted');
    expect(events.length).toBeGreaterThanOrEqual(1);
    expect(events.every((e) => !e.done)).toBe(true);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(await processesMentioning(out)).toEqual([]);
  }, 60_000);

  it('an already-aborted signal rejects without running anything', async () => {
    const err = await rejection(runFfmpeg(bins.ffmpeg, ['-version'], { signal: AbortSignal.abort() }));
    expect(err.reason).toBe('aborted');
  });

  it('a missing binary is an FfmpegError "spawn"', async () => {
    const err = await rejection(runFfmpeg(join(dir, 'no-such-ffmpeg'), ['-version']));
    expect(err.reason).toBe('spawn');
  });
});

describe('hardware decode detection on this machine', () => {
  it('lists cuda/cuvid but cannot decode with them, so the verdict is software', async () => {
    const before = (await readdir(tmpdir())).filter((n) => n.startsWith('rugbyworker-hwprobe-'));
    const v = await detectHwDecode(systemHwSources(bins));
    expect(v.kind).toBe('none');
    expect(v.h264InputArgs).toEqual([]);
    expect(v.hevcInputArgs).toEqual([]);
    expect(v.reason).toMatch(/listed but test decodes? failed: .+|no hardware H\.264 decoder listed/);
    expect(v.reason).not.toContain('\n');
    // Its own probe folders gone (other processes on the machine may come and go meanwhile).
    const after = (await readdir(tmpdir())).filter((n) => n.startsWith('rugbyworker-hwprobe-'));
    expect(after.filter((n) => !before.includes(n))).toEqual([]);
  }, 60_000);

  it('a software decode through tryDecode works, so a failure above is the hardware', async () => {
    const result = await systemHwSources(bins).tryDecode([]);
    expect(result).toEqual({ ok: true, detail: 'decoded a test frame' });
  }, 60_000);
});

describe('hardware encode detection on this machine', () => {
  it('lists h264_nvenc but its test encode fails (no CUDA here), so the verdict is libx264, saying why', async () => {
    const v = await detectHwEncode(systemHwSources(bins), { choice: 'auto', streams: 4 });
    expect({ encoder: v.encoder, hardware: v.hardware }).toEqual({ encoder: 'libx264', hardware: false });
    expect(v.reason).toMatch(/^h264_nvenc listed but test encode failed: .+|^no hardware H\.264 encoder listed/);
    expect(v.reason).not.toContain('\n');
    // It failed on the missing GPU, not on an option this FFmpeg's NVENC does not know.
    expect(v.reason).not.toMatch(/Unrecognized option|not found/i);
  }, 60_000);

  it('the same test encode with libx264 works in four streams at once, so a failure above is the hardware', async () => {
    const rungs = Array.from({ length: 4 }, () => ({ videoKbps: 500, maxrateKbps: 550, bufsizeKbps: 1000 }));
    const result = await systemHwSources(bins).tryEncode(videoEncoderArgs('libx264', { rungs, segmentSeconds: 2, fps: 25 }), 4);
    expect(result).toEqual({ ok: true, detail: 'encoded a test clip in 4 streams at once' });
  }, 60_000);

  it('a misspelt option fails the test encode, naming it', async () => {
    const result = await systemHwSources(bins).tryEncode(['-c:v', 'libx264', '-no-such-option', '1'], 1);
    expect(result.ok).toBe(false);
    expect(result.detail).toMatch(/no-such-option/);
  }, 60_000);
});
