// `rugbyworker stereo FILE --mode sbs|anaglyph --out FILE` on the shipped x64 executable
// (issue 10), as a person on a laptop would run it: a 5 s 320x180 clip with audio in 2 s
// segments through chunk, segment-infer, trigger and reassemble in one process. Every run
// gets its own TMPDIR, which must be empty afterwards. Not a TTY, so JSON events go to
// stdout and the output path is the last line.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { chromium } from 'playwright-core';
import { exePath, runExe, spawnExe, waitForExit, type RunResult } from '../helpers/binary.js';
import { CHROMIUM, requireChromium } from '../helpers/browser.js';

const WIDTH = 320;
const HEIGHT = 180;
const FPS = 30;
const CLIP_SECONDS = 5;
const SEGMENTS = 3; // 2 + 2 + 1 s

let work: string;
let clip: string;
const children: ChildProcess[] = [];

/** An H.264 + AAC clip with a keyframe every second, so 2 s cuts land where asked. */
async function makeClip(file: string, seconds: number): Promise<void> {
  await execa('ffmpeg', [
    '-hide_banner', '-nostdin', '-v', 'error',
    '-f', 'lavfi', '-i', `testsrc2=size=${WIDTH}x${HEIGHT}:rate=${FPS}`,
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-g', String(FPS), '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-y', file,
  ], { timeout: 60_000 });
}

beforeAll(async () => {
  if (!existsSync(exePath())) throw new Error(`${exePath()} is missing: run \`npm run build\``);
  work = await mkdtemp(join(tmpdir(), 'rw-e2e-stereo-'));
  clip = join(work, 'match clip.mp4'); // a space, as real file names have
  await makeClip(clip, CLIP_SECONDS);
}, 90_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (work) await rm(work, { recursive: true, force: true });
});

let runs = 0;
/** A fresh TMPDIR for the run, so what it leaves behind can be seen. */
async function freshTmp(): Promise<string> {
  const dir = join(work, `tmp-${++runs}`);
  await mkdir(dir);
  return dir;
}

async function stereo(args: string[]): Promise<RunResult & { tmp: string }> {
  const tmp = await freshTmp();
  const r = await runExe(['stereo', ...args], { cwd: work, env: { TMPDIR: tmp }, timeoutMs: 150_000 });
  return { ...r, tmp };
}

type LogEvent = Record<string, unknown> & { event_type?: string };

function splitStdout(stdout: string): { events: LogEvent[]; last: string } {
  const lines = stdout.trimEnd().split('\n');
  const last = lines.pop() ?? '';
  return { events: lines.map((l) => JSON.parse(l) as LogEvent), last };
}

/** Every frame decoded: size, frames, duration and whether there is audio. */
async function decode(file: string): Promise<{ width: number; height: number; frames: number; duration: number; audio: boolean }> {
  const { stdout } = await execa('ffprobe', [
    '-v', 'error', '-count_frames', '-show_entries', 'stream=codec_type,width,height,nb_read_frames:format=duration', '-of', 'json', file,
  ], { timeout: 60_000 });
  const info = JSON.parse(stdout) as { streams: Array<Record<string, string | number>>; format: { duration: string } };
  const video = info.streams.find((s) => s.codec_type === 'video')!;
  return {
    width: Number(video.width), height: Number(video.height), frames: Number(video.nb_read_frames),
    duration: Number(info.format.duration), audio: info.streams.some((s) => s.codec_type === 'audio'),
  };
}

/** The mp4 opened in Chromium's own player: the picture size it decodes, once it has played past 1 s. */
async function seenInChromium(file: string): Promise<{ videoWidth: number; videoHeight: number }> {
  requireChromium();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--autoplay-policy=no-user-gesture-required'], timeout: 30_000 });
  try {
    const page = await browser.newPage();
    await page.goto(pathToFileURL(file).href, { timeout: 30_000 });
    // A media document: the page is one <video> element. The project's tsconfig has no DOM lib.
    return await page.evaluate(async () => {
      type Video = { muted: boolean; currentTime: number; videoWidth: number; videoHeight: number; error: { message: string } | null; play(): Promise<void> };
      const v = (globalThis as unknown as { document: { querySelector(s: string): Video | null } }).document.querySelector('video');
      if (!v) throw new Error('no <video> element');
      v.muted = true;
      await v.play();
      const started = Date.now();
      while (v.currentTime <= 1) {
        if (v.error || Date.now() - started > 20_000) throw new Error(`did not play past 1 s: ${v.error?.message ?? `at ${v.currentTime} s`}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return { videoWidth: v.videoWidth, videoHeight: v.videoHeight };
    });
  } finally {
    await browser.close();
  }
}

async function expectClean(tmp: string, dir: string, expected: string[]): Promise<void> {
  expect(await readdir(tmp)).toEqual([]);
  // No part file left beside the output.
  expect((await readdir(dir)).sort()).toEqual(expected.sort());
}

describe('rugbyworker stereo (local mode)', () => {
  it.each([
    { backend: 'ffmpeg', mode: 'sbs', width: 2 * WIDTH },
    { backend: 'ffmpeg', mode: 'anaglyph', width: WIDTH },
    // The stub copies each segment unchanged: the source's size in either mode.
    { backend: 'stub', mode: 'sbs', width: WIDTH },
    { backend: 'stub', mode: 'anaglyph', width: WIDTH },
  ])('--backend $backend --mode $mode: every frame, the duration and the audio, $width px wide', async ({ backend, mode, width }) => {
    const dir = join(work, `out-${backend}-${mode}`);
    const out = join(dir, 'final.mp4');
    const r = await stereo([clip, '--mode', mode, '--backend', backend, '--out', out, '--segment-seconds', '2']);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const { events, last } = splitStdout(r.stdout);
    expect(last).toBe(out);
    const progress = events.filter((e) => e.event_type === 'stereo_progress');
    expect(progress.at(-1)).toMatchObject({ total: SEGMENTS, chunked: SEGMENTS, inferred: SEGMENTS, joined: SEGMENTS, percent: 100 });
    expect(events.filter((e) => e.event_type === 'segment_completed')).toHaveLength(SEGMENTS);
    expect(events.filter((e) => e.event_type === 'reassembly_completed')).toHaveLength(1);
    expect(await decode(out)).toEqual({ width, height: HEIGHT, frames: CLIP_SECONDS * FPS, duration: expect.closeTo(CLIP_SECONDS, 1), audio: true });
    await expectClean(r.tmp, dir, ['final.mp4']);
  }, 180_000);

  it('the sbs output plays in Chromium as a picture twice as wide as the source', async () => {
    const out = join(work, 'out-ffmpeg-sbs', 'final.mp4');
    if (!existsSync(out)) throw new Error(`${out} is missing: the ffmpeg sbs case above must run first`);
    expect(await seenInChromium(out)).toEqual({ videoWidth: 2 * WIDTH, videoHeight: HEIGHT });
    expect(await seenInChromium(clip)).toEqual({ videoWidth: WIDTH, videoHeight: HEIGHT });
  }, 120_000);

  it('a corrupt input: exit 1, one line naming the file, no output, no temp file', async () => {
    const bad = join(work, 'corrupt.mp4');
    await writeFile(bad, randomBytes(64 * 1024));
    const dir = join(work, 'out-corrupt');
    const r = await stereo([bad, '--mode', 'sbs', '--out', join(dir, 'final.mp4')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^rugbyworker: .*corrupt\.mp4.*Invalid data/)]);
    await expectClean(r.tmp, dir, []);
  }, 120_000);

  it('a missing input: exit 1, one line naming the file, nothing made', async () => {
    const r = await stereo(['no-such-clip.mp4', '--mode', 'sbs', '--out', join(work, 'out-missing.mp4')]);
    expect({ code: r.code, stderr: r.stderr, stdout: r.stdout }).toEqual({ code: 1, stderr: 'rugbyworker: no-such-clip.mp4: no such file\n', stdout: '' });
    expect(existsSync(join(work, 'out-missing.mp4'))).toBe(false);
    expect(await readdir(r.tmp)).toEqual([]);
  }, 60_000);

  it('an unknown --mode is a usage error (64) naming the valid modes', async () => {
    const r = await stereo([clip, '--mode', '3d', '--out', join(work, 'out-3d.mp4')]);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain("argument '3d' is invalid. Allowed choices are anaglyph, sbs.");
    expect(existsSync(join(work, 'out-3d.mp4'))).toBe(false);
  }, 60_000);

  it('--backend http is refused in one line (64): the model server cannot read a local bucket', async () => {
    const r = await stereo([clip, '--mode', 'sbs', '--backend', 'http', '--out', join(work, 'out-http.mp4')]);
    expect(r.code).toBe(64);
    expect(r.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^rugbyworker: --backend http cannot run locally: .*s3:\/\/.*use --backend ffmpeg or stub/)]);
  }, 60_000);

  it('SIGTERM mid-run: exit 143, no output, the temp dir removed, no FFmpeg left', async () => {
    const long = join(work, 'long.mp4');
    await makeClip(long, 24);
    const tmp = await freshTmp();
    const dir = join(work, 'out-sigterm');
    const child = spawnExe(['--concurrency', '1', 'stereo', long, '--mode', 'sbs', '--out', join(dir, 'final.mp4'), '--segment-seconds', '2'], { cwd: work, env: { TMPDIR: tmp } });
    children.push(child);
    let stdout = '';
    // Stopped once a segment is through inference and the others are still to do.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no inferred segment within 90 s; stdout tail: ${stdout.slice(-2000)}`)), 90_000);
      child.stdout!.on('data', (c: Buffer) => {
        stdout += c.toString();
        if (/"event_type":"stereo_progress"[^\n]*"inferred":[1-9]/.test(stdout)) { clearTimeout(timer); resolve(); }
      });
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`exited (${code}) before any segment was inferred`)); });
    });
    expect(await readdir(tmp)).not.toEqual([]);
    child.kill('SIGTERM');
    expect(await waitForExit(child, 30_000)).toBe(143);
    expect(stdout).not.toContain('"percent":100');
    expect(await readdir(tmp)).toEqual([]);
    expect(existsSync(dir) ? await readdir(dir) : []).toEqual([]);
    const ffmpegs = await execa('pgrep', ['-f', tmp], { reject: false });
    expect(ffmpegs.stdout).toBe('');
  }, 180_000);
});
