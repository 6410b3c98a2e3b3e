// The ladder arguments against the real (Debian) ffmpeg: what the master playlist says,
// that renditions are cut at the same instants, that portrait and audio-less sources work.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { locateFfmpeg, probe, runFfmpeg } from '../../src/runtime/ffmpeg/index.js';
import type { FfmpegBinaries, ProbeResult } from '../../src/runtime/ffmpeg/index.js';
import {
  buildLadderArgs, buildPosterArgs, chooseRungs, posterAtSeconds, renditionsFor,
} from '../../src/domain/hls-ladder.js';
import type { LadderArgsOptions, Rung } from '../../src/domain/hls-ladder.js';

const SEGMENT_SECONDS = 2;
const CLIP_SECONDS = 8;

let bins: FfmpegBinaries;
let dir: string;
let landscape: string; // 1280x720, 30 fps, with audio
let portrait: string; // 360x640, 25 fps, no audio
let rotated: string; // the landscape clip with a 90° display matrix

async function makeClip(file: string, size: string, rate: number, audio: boolean): Promise<void> {
  await execa(bins.ffmpeg, [
    '-hide_banner', '-nostdin', '-v', 'error',
    '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${rate}`,
    ...(audio ? ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'] : []),
    '-t', String(CLIP_SECONDS), '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p',
    ...(audio ? ['-c:a', 'aac'] : []), '-y', file,
  ]);
}

beforeAll(async () => {
  bins = await locateFfmpeg(process.env);
  dir = await mkdtemp(join(tmpdir(), 'rugbyworker-hls-it-'));
  landscape = join(dir, 'landscape.mp4');
  portrait = join(dir, 'portrait.mp4');
  rotated = join(dir, 'rotated.mp4');
  await Promise.all([makeClip(landscape, '1280x720', 30, true), makeClip(portrait, '360x640', 25, false)]);
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

async function checkMaster(enc: Encoded): Promise<void> {
  const variants = parseMaster(await readFile(join(enc.outDir, 'master.m3u8'), 'utf8'));
  const expected = renditionsFor(enc.rungs, enc.info.audio !== null);
  expect(variants.map((v) => v.uri)).toEqual(expected.map((r) => r.playlist));
  expect(variants.map((v) => Number(v.attrs.BANDWIDTH))).toEqual(expected.map((r) => r.bandwidth));
  expect(variants.map((v) => v.attrs.RESOLUTION)).toEqual(expected.map((r) => `${r.width}x${r.height}`));
  // One folder per rendition, nothing else beside the master playlist.
  expect((await readdir(enc.outDir)).sort()).toEqual([...enc.rungs.map((r) => r.name), 'master.m3u8'].sort());
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

  it('portrait 360x640 without audio stays portrait, video only', async () => {
    const enc = await encode('ts-portrait', portrait, [360, 240]);
    expect(enc.rungs.map((r) => [r.name, r.width, r.height])).toEqual([['360p', 360, 640], ['240p', 240, 426]]);
    await checkMaster(enc);
    await checkAlignedSegments(enc);
    const master = await readFile(join(enc.outDir, 'master.m3u8'), 'utf8');
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

  it('the poster arguments make one JPEG ~10 % in, scaled down to the width', async () => {
    const outFile = join(dir, 'poster.jpg');
    const args = buildPosterArgs({ input: landscape, inputArgs: [], atSeconds: posterAtSeconds(CLIP_SECONDS), outFile, width: 320 });
    await runFfmpeg(bins.ffmpeg, ['-v', 'error', ...args]);
    const info = await probe(bins.ffprobe, outFile);
    expect(info.video).toMatchObject({ codecName: 'mjpeg', width: 320, height: 180 });
    const bytes = await readFile(outFile);
    expect(bytes.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
  }, 60_000);

  it('a portrait poster of a rotated source is portrait', async () => {
    const outFile = join(dir, 'poster-rotated.jpg');
    await runFfmpeg(bins.ffmpeg, ['-v', 'error', ...buildPosterArgs({ input: rotated, inputArgs: [], atSeconds: 1, outFile, width: 360 })]);
    expect(await streamsOf(outFile)).toMatchObject({ width: 360, height: 640 });
  }, 60_000);
});
