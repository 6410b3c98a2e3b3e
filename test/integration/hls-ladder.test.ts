// The ladder arguments against the real (Debian) ffmpeg: what the master playlist says,
// that renditions are cut at the same instants, that portrait and audio-less sources work,
// and that the storyboard made in the same pass has one tile per segment.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { probeOwnOutput } from '../helpers/probe-own-output.js';
import { locateFfmpeg, probe, runFfmpeg } from '../../src/runtime/ffmpeg/index.js';
import type { FfmpegBinaries, ProbeResult } from '../../src/runtime/ffmpeg/index.js';
import { buildLadderArgs, copyableAudioBps, chooseRungs, renditionsFor } from '../../src/domain/rugbycodex/hls-ladder.js';
import type { LadderArgsOptions, Rung } from '../../src/domain/rugbycodex/hls-ladder.js';
import { tileHeight } from '../../src/domain/rugbycodex/storyboard.js';
import { writeStoryboardVtt } from '../../roles/transcode/storyboard.js';

const SEGMENT_SECONDS = 2;
const CLIP_SECONDS = 8;

let bins: FfmpegBinaries;
let dir: string;
let landscape: string; // 1280x720, 30 fps, with audio
let portrait: string; // 360x640, 25 fps, no audio
let rotated: string; // the landscape clip with a 90° display matrix
let long: string; // 640x360, 25 fps, with audio, 14 s: 6 s segments → 6, 6, 2
let many: string; // 320x180, 25 fps, no audio, 27 s: 1 s segments → 27, more than a sheet holds

async function makeClip(file: string, size: string, rate: number, audio: boolean, seconds = CLIP_SECONDS): Promise<void> {
  await execa(bins.ffmpeg, [
    '-hide_banner', '-nostdin', '-v', 'error',
    '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${rate}`,
    ...(audio ? ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'] : []),
    '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p',
    ...(audio ? ['-c:a', 'aac'] : []), '-y', file,
  ]);
}

beforeAll(async () => {
  bins = await locateFfmpeg(process.env);
  dir = await mkdtemp(join(tmpdir(), 'rugbyworker-hls-it-'));
  landscape = join(dir, 'landscape.mp4');
  portrait = join(dir, 'portrait.mp4');
  rotated = join(dir, 'rotated.mp4');
  long = join(dir, 'long.mp4');
  many = join(dir, 'many.mp4');
  await Promise.all([
    makeClip(landscape, '1280x720', 30, true), makeClip(portrait, '360x640', 25, false),
    makeClip(long, '640x360', 25, true, 14), makeClip(many, '320x180', 25, false, 27),
  ]);
  // ffmpeg 5.1 turns the legacy rotate tag into a display matrix when writing MP4.
  await execa(bins.ffmpeg, ['-v', 'error', '-i', landscape, '-c', 'copy', '-metadata:s:v', 'rotate=90', '-y', rotated]);
}, 60_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Encoded {
  outDir: string;
  rungs: Rung[];
  info: ProbeResult;
}

/** Probes `input`, picks the rungs and encodes the whole ladder in one ffmpeg run. */
async function encode(
  name: string, input: string, wanted: number[] | undefined, extra: Partial<LadderArgsOptions> = {},
): Promise<Encoded> {
  const info = await probe(bins.ffprobe, input);
  const video = info.video!;
  const rungs = chooseRungs({ width: video.width!, height: video.height!, rotation: video.rotation ?? null }, wanted);
  const outDir = join(dir, name);
  // FFmpeg's image muxer makes no folder: produceLadder creates thumbnails/ as this does.
  if (extra.storyboardTileHeight !== undefined) await mkdir(join(outDir, 'thumbnails'), { recursive: true });
  const args = buildLadderArgs({
    input,
    inputArgs: [],
    rungs,
    hasAudio: info.audio !== null,
    fps: video.frameRate ?? null,
    segmentSeconds: SEGMENT_SECONDS,
    segmentType: 'ts',
    outDir,
    preset: 'ultrafast',
    ...extra,
  });
  await runFfmpeg(bins.ffmpeg, ['-v', 'error', ...args], { durationSeconds: info.durationSeconds ?? undefined, stallSeconds: 30 });
  return { outDir, rungs, info };
}

interface Variant {
  attrs: Record<string, string>;
  uri: string;
}

function parseMaster(text: string): Variant[] {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  const variants: Variant[] = [];
  lines.forEach((line, i) => {
    if (!line.startsWith('#EXT-X-STREAM-INF:')) return;
    const attrs: Record<string, string> = {};
    for (const m of line.slice('#EXT-X-STREAM-INF:'.length).matchAll(/([A-Z-]+)=("[^"]*"|[^,]*)/g)) attrs[m[1]!] = m[2]!.replace(/"/g, '');
    variants.push({ attrs, uri: lines[i + 1]! });
  });
  return variants;
}

/** EXTINF durations of a media playlist. */
function durations(playlist: string): number[] {
  return [...playlist.matchAll(/#EXTINF:([\d.]+),/g)].map((m) => Number(m[1]));
}

async function checkMaster(enc: Encoded, besides: string[] = [], copiedAudioBps: number | null = null): Promise<void> {
  const variants = parseMaster(await readFile(join(enc.outDir, 'index.m3u8'), 'utf8'));
  const expected = renditionsFor(enc.rungs, enc.info.audio !== null, copiedAudioBps);
  expect(variants.map((v) => v.uri)).toEqual(expected.map((r) => r.playlist));
  expect(variants.map((v) => Number(v.attrs.BANDWIDTH))).toEqual(expected.map((r) => r.bandwidth));
  expect(variants.map((v) => v.attrs.RESOLUTION)).toEqual(expected.map((r) => `${r.width}x${r.height}`));
  // One folder per rendition (and what the caller asked for), nothing else beside the master playlist.
  expect((await readdir(enc.outDir)).sort()).toEqual([...enc.rungs.map((r) => r.name), ...besides, 'index.m3u8'].sort());
}

/** Segment durations per rendition: identical lists mean keyframes at the same instants. */
async function checkAlignedSegments(enc: Encoded): Promise<number[]> {
  const lists: number[][] = [];
  for (const rung of enc.rungs) {
    const playlist = await readFile(join(enc.outDir, rung.name, 'index.m3u8'), 'utf8');
    expect(playlist).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(playlist).toContain('#EXT-X-ENDLIST');
    lists.push(durations(playlist));
  }
  for (const list of lists) expect(list).toEqual(lists[0]);
  const first = lists[0]!;
  for (const d of first.slice(0, -1)) expect(d).toBeCloseTo(SEGMENT_SECONDS, 1);
  expect(first.reduce((a, b) => a + b, 0)).toBeCloseTo(CLIP_SECONDS, 0);
  return first;
}

/** `HH:MM:SS.mmm` of `seconds`, written independently of the code under test. */
function vttTime(seconds: number): string {
  const ms = Math.round(seconds * 1000);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}.${pad(ms % 1000, 3)}`;
}

/** Mean luma of each tile of a 5×5 sheet, row by row, decoded by ffmpeg. */
async function tileLuma(sheet: string, tileH: number): Promise<number[]> {
  const { stdout } = await execa(bins.ffmpeg, ['-v', 'error', '-i', sheet, '-f', 'rawvideo', '-pix_fmt', 'gray', '-'], { encoding: 'buffer' });
  const width = 5 * 320;
  expect(stdout.length).toBe(width * 5 * tileH);
  const sums = new Array<number>(25).fill(0);
  for (let y = 0; y < 5 * tileH; y++) {
    for (let x = 0; x < width; x++) sums[Math.floor(y / tileH) * 5 + Math.floor(x / 320)]! += stdout[y * width + x]!;
  }
  return sums.map((s) => s / (320 * tileH));
}

/** width, height and stream kinds of one file, straight from ffprobe. */
async function streamsOf(file: string): Promise<{ width: number; height: number; kinds: string[] }> {
  const info = await probe(bins.ffprobe, file);
  return { width: info.video!.width!, height: info.video!.height!, kinds: info.streams.map((s) => s.codecType).sort() };
}

describe('HLS ladder with the real ffmpeg', () => {
  it('1280x720 with audio → 720/480/360 TS renditions, master with BANDWIDTH and RESOLUTION, aligned 2 s segments', async () => {
    const enc = await encode('ts-landscape', landscape, undefined);
    expect(enc.rungs.map((r) => r.name)).toEqual(['720p', '480p', '360p']);
    await checkMaster(enc);
    expect(await checkAlignedSegments(enc)).toEqual([2, 2, 2, 2]);
    for (const rung of enc.rungs) {
      const files = (await readdir(join(enc.outDir, rung.name))).sort();
      expect(files).toEqual(['index.m3u8', 'seg_00000.ts', 'seg_00001.ts', 'seg_00002.ts', 'seg_00003.ts']);
      expect(await streamsOf(join(enc.outDir, rung.name, 'seg_00001.ts'))).toEqual({ width: rung.width, height: rung.height, kinds: ['audio', 'video'] });
    }
  }, 120_000);

  it('AAC audio copied into every rung: no audio encode, the source AAC in each segment, BANDWIDTH as renditionsFor says', async () => {
    const info = await probe(bins.ffprobe, landscape);
    const copied = copyableAudioBps(info.audio);
    expect(copied).toBeGreaterThan(0);
    const enc = await encode('ts-copied-audio', landscape, [480, 360], { copyAudio: true });
    await checkMaster(enc, [], copied);
    await checkAlignedSegments(enc);
    for (const rung of enc.rungs) {
      const seg = await probe(bins.ffprobe, join(enc.outDir, rung.name, 'seg_00001.ts'));
      expect(seg.audio).toMatchObject({ codecName: 'aac', channels: info.audio!.channels });
    }
  }, 120_000);

  it('portrait 360x640 without audio stays portrait, video only', async () => {
    const enc = await encode('ts-portrait', portrait, [360, 240]);
    expect(enc.rungs.map((r) => [r.name, r.width, r.height])).toEqual([['360p', 360, 640], ['240p', 240, 426]]);
    await checkMaster(enc);
    await checkAlignedSegments(enc);
    const master = await readFile(join(enc.outDir, 'index.m3u8'), 'utf8');
    expect(master).not.toContain('mp4a');
    expect(await streamsOf(join(enc.outDir, '240p', 'seg_00000.ts'))).toEqual({ width: 240, height: 426, kinds: ['video'] });
  }, 120_000);

  it('a landscape frame with a 90° display matrix comes out portrait', async () => {
    const enc = await encode('ts-rotated', rotated, [360]);
    expect(enc.info.video!.rotation).not.toBe(0);
    expect(enc.rungs.map((r) => [r.name, r.width, r.height])).toEqual([['360p', 360, 640]]);
    await checkMaster(enc);
    expect(await streamsOf(join(enc.outDir, '360p', 'seg_00000.ts'))).toMatchObject({ width: 360, height: 640 });
  }, 120_000);

  it('fMP4: .m4s segments after an init file per rendition, also aligned', async () => {
    const enc = await encode('fmp4', landscape, [480, 360], { segmentType: 'fmp4' });
    await checkMaster(enc);
    expect(await checkAlignedSegments(enc)).toEqual([2, 2, 2, 2]);
    for (const [i, rung] of enc.rungs.entries()) {
      const folder = join(enc.outDir, rung.name);
      const files = (await readdir(folder)).sort();
      expect(files).toEqual(['index.m3u8', `init_${i}.mp4`, 'seg_00000.m4s', 'seg_00001.m4s', 'seg_00002.m4s', 'seg_00003.m4s']);
      expect(await readFile(join(folder, 'index.m3u8'), 'utf8')).toContain(`#EXT-X-MAP:URI="init_${i}.mp4"`);
      // A fragment is playable only after its init segment, as a player reads them.
      const joined = join(dir, `joined-${rung.name}.mp4`);
      await writeFile(joined, Buffer.concat([await readFile(join(folder, `init_${i}.mp4`)), await readFile(join(folder, 'seg_00001.m4s'))]));
      expect(await streamsOf(joined)).toEqual({ width: rung.width, height: rung.height, kinds: ['audio', 'video'] });
    }
  }, 120_000);

  it('with the storyboard: a 14 s clip in 6 s segments → one sheet with 3 tiles, and a 3-cue VTT from the real playlist', async () => {
    const tiles = tileHeight(640, 360);
    const enc = await encode('storyboard', long, [360], { segmentSeconds: 6, storyboardTileHeight: tiles });
    await checkMaster(enc, ['thumbnails']);
    const playlist = await readFile(join(enc.outDir, '360p', 'index.m3u8'), 'utf8');
    const segs = durations(playlist);
    expect(segs).toHaveLength(3);
    expect(segs[0]).toBeCloseTo(6, 1);
    expect(segs[1]).toBeCloseTo(6, 1);
    expect(segs[2]).toBeCloseTo(2, 1);

    const thumbs = join(enc.outDir, 'thumbnails');
    expect((await readdir(thumbs)).sort()).toEqual(['storyboard_000.jpg']);
    const sheet = join(thumbs, 'storyboard_000.jpg');
    expect((await probeOwnOutput(bins.ffprobe, sheet)).video).toMatchObject({ codecName: 'mjpeg', width: 5 * 320, height: 5 * tiles });
    // Tiles 0-2 hold a picture, the other 22 are the tile filter's black padding.
    const lit = (await tileLuma(sheet, tiles)).map((y) => y > 20);
    expect(lit).toEqual(Array.from({ length: 25 }, (_, i) => i < 3));

    const files = await writeStoryboardVtt(enc.outDir, '360p', tiles);
    expect(files).toEqual({ sheets: 1, frameCount: 3, width: 320, height: tiles });
    const vtt = await readFile(join(thumbs, 'storyboard.vtt'), 'utf8');
    const cues = [...vtt.matchAll(/^(\S+) --> (\S+)\n(\S+)$/gm)].map((m) => [m[1], m[2], m[3]]);
    expect(cues).toHaveLength(3);
    expect(cues.map((c) => c[2])).toEqual([0, 320, 640].map((x) => `storyboard_000.jpg#xywh=${x},0,320,${tiles}`));
    expect(cues[0]![0]).toBe('00:00:00.000');
    // The cues follow the playlist's durations, to the last one's end.
    const total = segs.reduce((a, b) => a + b, 0);
    expect(cues[2]![1]).toBe(vttTime(total));
    expect(cues[1]![1]).toBe(vttTime(segs[0]! + segs[1]!));
  }, 120_000);

  it('more segments than a sheet holds: 27 one-second segments → sheets 000 (25 tiles) and 001 (2 tiles), 27 cues', async () => {
    const tiles = tileHeight(320, 180);
    const enc = await encode('storyboard-many', many, [180], { segmentSeconds: 1, storyboardTileHeight: tiles });
    expect(durations(await readFile(join(enc.outDir, '180p', 'index.m3u8'), 'utf8'))).toHaveLength(27);
    const thumbs = join(enc.outDir, 'thumbnails');
    expect((await readdir(thumbs)).sort()).toEqual(['storyboard_000.jpg', 'storyboard_001.jpg']);
    expect((await tileLuma(join(thumbs, 'storyboard_000.jpg'), tiles)).every((y) => y > 20)).toBe(true);
    expect((await tileLuma(join(thumbs, 'storyboard_001.jpg'), tiles)).map((y) => y > 20)).toEqual(Array.from({ length: 25 }, (_, i) => i < 2));

    expect(await writeStoryboardVtt(enc.outDir, '180p', tiles)).toMatchObject({ sheets: 2, frameCount: 27 });
    const texts = [...(await readFile(join(thumbs, 'storyboard.vtt'), 'utf8')).matchAll(/^storyboard_.*$/gm)].map((m) => m[0]);
    expect(texts).toHaveLength(27);
    expect(texts[24]).toBe(`storyboard_000.jpg#xywh=1280,${4 * tiles},320,${tiles}`);
    expect(texts[25]).toBe(`storyboard_001.jpg#xywh=0,0,320,${tiles}`);
    expect(texts[26]).toBe(`storyboard_001.jpg#xywh=320,0,320,${tiles}`);
  }, 120_000);
});
