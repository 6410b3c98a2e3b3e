// `rugbyworker transcode FILE --out DIR` on the shipped x64 executable (issue 4), as a person
// on a laptop would run it: an 8 s 1280x720 clip with audio → DIR/index.m3u8 with two
// renditions, VOD playlists whose segments are all there, DIR/thumbnails/ (the storyboard); `--serve` plays
// in headless Chromium (hls.js) and stops cleanly on SIGTERM; HLS_SEGMENT_TYPE=fmp4 plays
// too; a file of random bytes fails with one line on stderr and leaves no index.m3u8, and so
// does a source over a limit (MAX_SOURCE_*); SIGTERM mid-transcode exits 143 at once, leaving nothing.
// Not a TTY, so the executable logs JSON events on stdout and the path of index.m3u8 last.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { exePath, runExe, spawnExe, waitForExit, waitForHttp } from '../helpers/binary.js';
import { playInChromium, requireChromium } from '../helpers/browser.js';

const CLIP_SECONDS = 8;
const FPS = 30;
const SEGMENT_SECONDS = 2;
const ARGS = ['--renditions', '720,360', '--segment-seconds', String(SEGMENT_SECONDS)];
const RENDITIONS = [
  { name: '720p', width: 1280, height: 720 },
  { name: '360p', width: 640, height: 360 },
];

let work: string; // temp dir: the clip, the output folders, and the executable's cwd (no stray .env)
let clip: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  if (!existsSync(exePath())) throw new Error(`${exePath()} is missing: run \`npm run build\``);
  work = await mkdtemp(join(tmpdir(), 'rw-e2e-transcode-'));
  clip = join(work, 'match clip.mp4'); // a space in the name, as real uploads have
  await execa('ffmpeg', [
    '-hide_banner', '-nostdin', '-v', 'error',
    '-f', 'lavfi', '-i', `testsrc2=size=1280x720:rate=${FPS}`,
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(CLIP_SECONDS), '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-y', clip,
  ], { timeout: 60_000 });
}, 90_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (work) await rm(work, { recursive: true, force: true });
});

type LogEvent = Record<string, unknown> & { event_type?: string };

/** stdout: one JSON event per line, then the path of index.m3u8 as the last line. */
function splitStdout(stdout: string): { events: LogEvent[]; last: string } {
  const lines = stdout.trimEnd().split('\n');
  const last = lines.pop() ?? '';
  return { events: lines.map((l) => JSON.parse(l) as LogEvent), last };
}

/** Variant playlist URIs and RESOLUTIONs of a master playlist. */
function variantsOf(master: string): Array<{ uri: string; resolution: string | undefined }> {
  const lines = master.split('\n').map((l) => l.trim()).filter(Boolean);
  const out: Array<{ uri: string; resolution: string | undefined }> = [];
  lines.forEach((line, i) => {
    if (line.startsWith('#EXT-X-STREAM-INF:')) out.push({ uri: lines[i + 1]!, resolution: /RESOLUTION=(\d+x\d+)/.exec(line)?.[1] });
  });
  return out;
}

/** Media URIs (init section first) a rendition playlist lists. */
function mediaOf(playlist: string): string[] {
  const init = [...playlist.matchAll(/#EXT-X-MAP:URI="([^"]+)"/g)].map((m) => m[1]!);
  const segments = playlist.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  return [...init, ...segments];
}

/**
 * DIR holds one complete ladder: index.m3u8 naming both renditions, each a VOD playlist
 * with ENDLIST of 2 s segments that all exist, and the storyboard; nothing else. Returns the
 * media file names of each rendition.
 */
async function checkOutput(out: string, ext: 'ts' | 'm4s'): Promise<Record<string, string[]>> {
  expect((await readdir(out)).sort()).toEqual(['360p', '720p', 'index.m3u8', 'thumbnails']);
  const variants = variantsOf(await readFile(join(out, 'index.m3u8'), 'utf8'));
  expect(variants).toEqual(RENDITIONS.map((r) => ({ uri: `${r.name}/index.m3u8`, resolution: `${r.width}x${r.height}` })));
  const media: Record<string, string[]> = {};
  for (const r of RENDITIONS) {
    const playlist = await readFile(join(out, r.name, 'index.m3u8'), 'utf8');
    expect(playlist).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(playlist.trimEnd().endsWith('#EXT-X-ENDLIST')).toBe(true);
    const durations = [...playlist.matchAll(/#EXTINF:([\d.]+),/g)].map((m) => Number(m[1]));
    expect(durations).toHaveLength(CLIP_SECONDS / SEGMENT_SECONDS);
    for (const d of durations) expect(d).toBeCloseTo(SEGMENT_SECONDS, 1);
    const files = mediaOf(playlist);
    expect(files.filter((f) => f.endsWith(`.${ext}`))).toHaveLength(durations.length);
    for (const f of files) expect({ f, size: (await stat(join(out, r.name, f))).size > 0 }).toEqual({ f, size: true });
    // The folder holds what the playlist lists, nothing half-written.
    expect((await readdir(join(out, r.name))).sort()).toEqual(['index.m3u8', ...files].sort());
    media[r.name] = files;
  }
  // The storyboard: one sheet (a real JPEG) and one cue per segment.
  expect((await readdir(join(out, 'thumbnails'))).sort()).toEqual(['storyboard.vtt', 'storyboard_000.jpg']);
  const sheet = await readFile(join(out, 'thumbnails', 'storyboard_000.jpg'));
  expect(sheet.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
  const vtt = await readFile(join(out, 'thumbnails', 'storyboard.vtt'), 'utf8');
  expect(vtt.match(/#xywh=/g)).toHaveLength(CLIP_SECONDS / SEGMENT_SECONDS);
  return media;
}

/** Decodes every video frame of a playlist with ffprobe: size, codec, frame count, duration. */
async function decodePlaylist(playlist: string): Promise<{ codec: string; width: number; height: number; frames: number; duration: number; audio: boolean }> {
  const { stdout } = await execa('ffprobe', [
    '-v', 'error', '-count_frames', '-show_entries', 'stream=codec_type,codec_name,width,height,nb_read_frames:format=duration',
    '-of', 'json', playlist,
  ], { timeout: 60_000 });
  const info = JSON.parse(stdout) as { streams: Array<Record<string, string | number>>; format: { duration: string } };
  const video = info.streams.find((s) => s.codec_type === 'video')!;
  return {
    codec: String(video.codec_name), width: Number(video.width), height: Number(video.height),
    frames: Number(video.nb_read_frames), duration: Number(info.format.duration),
    audio: info.streams.some((s) => s.codec_type === 'audio'),
  };
}

/** Starts `transcode --serve` and waits for "watch it at URL" on stderr; collects its output. */
async function startServe(out: string, env: Record<string, string> = {}): Promise<{ child: ChildProcess; url: string; output: () => { stdout: string; stderr: string } }> {
  const child = spawnExe(['transcode', clip, '--out', out, ...ARGS, '--serve'], { cwd: work, env });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => { stdout += c.toString(); });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "watch it at" line within 90 s; stderr: ${stderr}; stdout tail: ${stdout.slice(-2000)}`)), 90_000);
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
      const m = /watch it at (http:\/\/\S+)/.exec(stderr);
      if (m) { clearTimeout(timer); resolve(m[1]!); }
    });
    child.once('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`exited (${code ?? signal}) before serving; stderr: ${stderr}`)); });
  });
  return { child, url, output: () => ({ stdout, stderr }) };
}

/** SIGTERM ends serve mode: exit 0, and the server is gone. */
async function stopServe(child: ChildProcess, url: string): Promise<void> {
  child.kill('SIGTERM');
  expect(await waitForExit(child, 10_000)).toBe(0);
  await expect(waitForHttp(url, 300)).rejects.toThrow(/ECONNREFUSED/);
}

describe('rugbyworker transcode (local mode)', () => {
  it('CLIP --out DIR --renditions 720,360 --segment-seconds 2 → index.m3u8, two VOD renditions, storyboard', async () => {
    const out = join(work, 'out-ts');
    const r = await runExe(['transcode', clip, '--out', out, ...ARGS], { cwd: work, timeoutMs: 120_000 });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const { events, last } = splitStdout(r.stdout);
    expect(last).toBe(join(out, 'index.m3u8'));
    const done = events.filter((e) => e.event_type === 'transcode_completed');
    expect(done).toHaveLength(1);
    expect(done[0]).toMatchObject({ renditions: ['720p', '360p'], hardware_decode: false, encoder: 'libx264', video_seconds: CLIP_SECONDS });
    // The start-up verdicts, side by side: this ffmpeg lists h264_nvenc, whose test encode fails without a GPU.
    expect(events.find((e) => e.event_type === 'transcode_ready')).toMatchObject({
      decode: 'none', encoder: 'libx264', encode_reason: expect.stringMatching(/^h264_nvenc listed but test encode failed: |^no hardware H\.264 encoder listed/),
    });

    const media = await checkOutput(out, 'ts');
    expect(media['720p']).toEqual(['seg_00000.ts', 'seg_00001.ts', 'seg_00002.ts', 'seg_00003.ts']);
    // The 720p playlist decodes, every frame, at 1280x720, with its audio.
    expect(await decodePlaylist(join(out, '720p', 'index.m3u8'))).toEqual({
      codec: 'h264', width: 1280, height: 720, frames: CLIP_SECONDS * FPS, duration: expect.closeTo(CLIP_SECONDS, 0), audio: true,
    });
    const small = await decodePlaylist(join(out, '360p', 'index.m3u8'));
    expect({ width: small.width, height: small.height }).toEqual({ width: 640, height: 360 });
    const sheet = await execa('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,width,height', '-of', 'csv=p=0', join(out, 'thumbnails', 'storyboard_000.jpg')]);
    expect(sheet.stdout.trim()).toBe('mjpeg,1600,900');
  }, 180_000);

  it('--serve: prints the 127.0.0.1 URL, Chromium plays past 2 s with both levels, SIGTERM exits 0', async () => {
    requireChromium();
    const out = join(work, 'out-serve');
    const { child, url, output } = await startServe(out);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(splitStdout(output().stdout).last).toBe(join(out, 'index.m3u8'));
    await checkOutput(out, 'ts');
    const played = await playInChromium(url, { seconds: 2, timeoutMs: 45_000 });
    expect(played.fatal).toBeNull();
    expect(played.currentTime).toBeGreaterThan(2);
    expect(played.levels).toBe(2);
    expect((await waitForHttp(`${url}thumbnails/storyboard.vtt`, 2_000)).status).toBe(200);
    await stopServe(child, url);
    expect(output().stderr.trim().split('\n')).toEqual([`watch it at ${url} (Ctrl-C to stop)`]);
  }, 180_000);

  it('HLS_SEGMENT_TYPE=fmp4: init + .m4s renditions that Chromium plays', async () => {
    requireChromium();
    const out = join(work, 'out-fmp4');
    const { child, url } = await startServe(out, { HLS_SEGMENT_TYPE: 'fmp4' });
    const media = await checkOutput(out, 'm4s');
    for (const [i, r] of RENDITIONS.entries()) {
      expect(media[r.name]![0]).toBe(`init_${i}.mp4`);
      expect(await readFile(join(out, r.name, 'index.m3u8'), 'utf8')).toContain(`#EXT-X-MAP:URI="init_${i}.mp4"`);
    }
    expect(await decodePlaylist(join(out, '720p', 'index.m3u8'))).toMatchObject({ codec: 'h264', width: 1280, height: 720, frames: CLIP_SECONDS * FPS });
    const played = await playInChromium(url, { seconds: 2, timeoutMs: 45_000 });
    expect(played.fatal).toBeNull();
    expect(played.currentTime).toBeGreaterThan(2);
    expect(played.levels).toBe(2);
    await stopServe(child, url);
  }, 180_000);

  it('SIGTERM mid-transcode: exit 143 within seconds, one line on stderr, nothing in DIR, no FFmpeg left', async () => {
    const out = join(work, 'out-sigterm');
    const child = spawnExe(['transcode', clip, '--out', out, ...ARGS], { cwd: work });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no transcoding progress within 60 s; stdout tail: ${stdout.slice(-2000)}`)), 60_000);
      child.stdout!.on('data', (c: Buffer) => {
        stdout += c.toString();
        if (/"event_type":"transcode_progress"[^\n]*"phase":"transcoding"/.test(stdout)) { clearTimeout(timer); resolve(); }
      });
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`exited (${code}) before transcoding`)); });
    });
    const stopped = Date.now();
    child.kill('SIGTERM');
    expect(await waitForExit(child, 30_000)).toBe(143);
    expect(Date.now() - stopped).toBeLessThan(10_000);
    expect(stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^rugbyworker: transcode of .*match clip\.mp4 interrupted \(SIGTERM\); nothing written$/)]);
    expect(stdout).not.toContain('index.m3u8\n');
    expect(await readdir(out)).toEqual([]);
    expect((await execa('pgrep', ['-f', out], { reject: false })).stdout).toBe('');
  }, 90_000);

  it('a file of random bytes: exit 1, one line on stderr naming the file and the problem, no index.m3u8', async () => {
    const bad = join(work, 'not-a-video.mp4');
    await writeFile(bad, randomBytes(256 * 1024));
    const out = join(work, 'out-bad');
    const r = await runExe(['transcode', bad, '--out', out, ...ARGS], { cwd: work, timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^rugbyworker: transcode of .*not-a-video\.mp4 failed: INVALID_INPUT: cannot read the video: .*Invalid data found when processing input$/);
    expect(lines[0]).not.toMatch(/\.rugbyworker|\/input:/); // names the video, not the scratch copy
    expect(r.stdout).not.toContain('index.m3u8');
    const failed = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as LogEvent);
    expect(failed.filter((e) => e.event_type === 'transcode_failed')).toEqual([expect.objectContaining({ error_code: 'INVALID_INPUT', permanent: true })]);
    // Nothing is left in DIR: no playlists, no work folder.
    expect(existsSync(join(out, 'index.m3u8'))).toBe(false);
    expect(await readdir(out).catch(() => [])).toEqual([]);
  }, 90_000);

  it('a source over a limit: exit 1, INVALID_INPUT naming the limit and the value, nothing encoded, nothing in DIR', async () => {
    // One gray 8192x4320 frame: 100 kB that ask for 35 Mpx a frame, over the default 8K.
    const big = join(work, 'big.mp4');
    await execa('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-f', 'lavfi', '-i', 'color=c=gray:size=8192x4320:rate=30', '-frames:v', '1',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-y', big], { timeout: 60_000 });
    const cases = [
      { file: big, env: {}, reason: 'source is 8192x4320 (35.4 Mpx), over MAX_SOURCE_PIXELS 33177600' },
      // The setting is read: the 30 fps clip against a 25 fps limit.
      { file: clip, env: { MAX_SOURCE_FRAME_RATE: '25' }, reason: 'source is 30 fps, over MAX_SOURCE_FRAME_RATE 25' },
    ];
    for (const [i, c] of cases.entries()) {
      const out = join(work, `out-limit-${i}`);
      const r = await runExe(['transcode', c.file, '--out', out, ...ARGS], { cwd: work, env: c.env, timeoutMs: 60_000 });
      expect([r.code, r.stderr.trimEnd()]).toEqual([1, `rugbyworker: transcode of ${c.file} failed: INVALID_INPUT: ${c.reason}`]);
      const events = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as LogEvent);
      expect(events.filter((e) => e.event_type === 'transcode_failed')).toEqual([expect.objectContaining({ error_code: 'INVALID_INPUT', permanent: true, error_message: c.reason })]);
      // Refused after the probe, before any encode.
      expect(events.filter((e) => e.event_type === 'transcode_progress' && e.phase === 'transcoding')).toEqual([]);
      expect(await readdir(out).catch(() => [])).toEqual([]);
    }
  }, 90_000);
});
