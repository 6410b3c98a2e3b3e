// The reassembly's join (joinSegments) with real FFmpeg in a work folder whose name holds a
// quote and a space, as a WORK_DIR may: the ffconcat list must name the same files, so the
// join succeeds frame-exactly.
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { locateFfmpeg, type FfmpegBinaries } from '../../src/runtime/ffmpeg/index.js';
import { joinSegments } from '../../roles/stereo/media.js';

let tmp: string;
let bins: FfmpegBinaries;

beforeAll(async () => {
  bins = await locateFfmpeg(process.env);
  tmp = await mkdtemp(join(tmpdir(), 'rw-stereo-join-'));
}, 30_000);

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('joinSegments', () => {
  it("joins the parts of a work folder named \"it's a dir\" frame-exactly", async () => {
    const dir = join(tmp, "it's a dir");
    await mkdir(join(dir, 'parts'), { recursive: true });
    const clip = join(dir, 'clip.mp4');
    // 2 s at 30 fps, a keyframe a second: two 1 s parts of 30 frames.
    await execa(bins.ffmpeg, ['-hide_banner', '-nostdin', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=30', '-t', '2',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '30', '-pix_fmt', 'yuv420p', '-y', clip]);
    await execa(bins.ffmpeg, ['-hide_banner', '-nostdin', '-v', 'error', '-i', clip, '-c', 'copy', '-f', 'segment', '-segment_time', '1',
      '-reset_timestamps', '1', join(dir, 'parts', 'seg_%02d.mp4')]);
    const parts = (await readdir(join(dir, 'parts'))).sort().map((f) => join(dir, 'parts', f));
    expect(parts).toHaveLength(2);

    const joined = await joinSegments({ ffmpeg: bins, parts, output: join(dir, 'final.mp4'), workDir: dir, signal: new AbortController().signal, stallSeconds: 30, probesInFlight: 2 });
    expect(joined.frames).toBe(60);
    expect(joined.durationSeconds).toBeCloseTo(2, 2);
  }, 30_000);
});
