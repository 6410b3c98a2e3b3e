// Hardware decode fallback of the transcode ladder (issue 4): produceLadder with the real
// Debian ffmpeg, a real probed source and the fs bucket, given a HwVerdict that claims
// hardware decode this machine cannot do. What must hold: a failed hardware attempt is
// logged once (hw_decode_fallback, naming the decoder) and the ladder is encoded again in
// software; the store ends up with exactly the software output, index.m3u8 last, even when
// the hardware attempt had already uploaded segments; an aborted job never falls back; and
// a source that is neither h264 nor hevc never gets the hardware arguments.
// Hardware encode fallback (issue 19), the same way: h264_nvenc, which this ffmpeg lists and
// cannot run, and a fake ffmpeg whose "NVENC" dies mid-stream, hangs or takes libx264 down
// with it. A failed hardware encode is logged once (hw_encode_fallback) and the ladder is
// encoded again with libx264; once libx264 has encoded the job, later jobs of the process
// start with libx264; an abort, a stall or a failure libx264 shares is no fallback.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { FsObjectStore } from '../../src/adapters/storage/fs.js';
import { completedSegments, initSegments, masterVariants, resolvePlaylistUri } from '../../src/domain/rugbycodex/hls-playlist.js';
import type { ObjectInfo, ObjectStore } from '../../src/ports/index.js';
import { locateFfmpeg, probe } from '../../src/runtime/ffmpeg/index.js';
import { probeOwnOutput } from '../helpers/probe-own-output.js';
import type { FfmpegBinaries, HwVerdict, ProbeResult } from '../../src/runtime/ffmpeg/index.js';
import { TranscodeStepError } from '../../roles/transcode/errors.js';
import { produceLadder } from '../../roles/transcode/produce-ladder.js';
import { clearDeviceCondition, deviceConditions, HW_DECODE, HW_ENCODE, setDeviceCondition } from '../../src/runtime/device-conditions.js';
import { hwEncodeFailedEarlier } from '../../roles/transcode/hw-encode-failures.js';
import type { LadderJob, LadderResult } from '../../roles/transcode/produce-ladder.js';
import { DelegatingStore } from '../helpers/delegating-store.js';
import { writeFakeNvenc } from '../helpers/fake-nvenc.js';

const PREFIX = 'orgs/o1/uploads/u1/streaming/';
const MASTER = `${PREFIX}index.m3u8`;
const CLIP_SECONDS = 6;
const SEGMENT_SECONDS = 2;
const RUNGS = [360, 240];

type LogEvent = Record<string, unknown> & { event_type?: string; level: number; seq: number };

/** Log lines and uploads on one clock, so "uploaded before the fallback" can be asserted. */
class Timeline {
  private clock = 0;
  tick(): number { return ++this.clock; }
}

/** The fs bucket, recording every upload: key, start tick, end tick (null while running), success. */
class RecordingStore extends DelegatingStore {
  readonly uploads: Array<{ key: string; seq: number; end: number | null; ok: boolean }> = [];
  constructor(inner: FsObjectStore, private readonly timeline: Timeline) {
    super(inner);
  }

  override async upload(source: string | NodeJS.ReadableStream, key: string, contentType: string, opts?: { signal?: AbortSignal }): Promise<ObjectInfo> {
    const record: RecordingStore['uploads'][number] = { key, seq: this.timeline.tick(), end: null, ok: false };
    this.uploads.push(record);
    try {
      const info = await this.inner.upload(source, key, contentType, opts);
      record.ok = true;
      return info;
    } finally {
      record.end = this.timeline.tick();
    }
  }
}

let bins: FfmpegBinaries;
let base: string;
let h264Clip: string; // 640x360, 30 fps, aac audio
let corruptMid: string; // the same with garbage 60 % in: software decode conceals it, a strict decoder stops there
let mpeg4Clip: string; // MPEG-4 part 2 video, aac audio
let hevcClip: string; // HEVC video, no audio
let run = 0;

async function makeClip(file: string, videoCodec: string[], audio: boolean): Promise<void> {
  await execa(bins.ffmpeg, [
    '-hide_banner', '-nostdin', '-v', 'error',
    '-f', 'lavfi', '-i', `testsrc2=size=640x360:rate=30:duration=${CLIP_SECONDS}`,
    ...(audio ? ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${CLIP_SECONDS}`] : []),
    ...videoCodec, '-pix_fmt', 'yuv420p', ...(audio ? ['-c:a', 'aac'] : []), '-y', file,
  ], { timeout: 60_000 });
}

beforeAll(async () => {
  bins = await locateFfmpeg(process.env);
  base = await mkdtemp(join(tmpdir(), 'rugbyworker-hw-fallback-'));
  h264Clip = join(base, 'h264.mp4');
  mpeg4Clip = join(base, 'mpeg4.mp4');
  hevcClip = join(base, 'hevc.mp4');
  corruptMid = join(base, 'h264-corrupt-mid.mp4');
  await Promise.all([
    makeClip(h264Clip, ['-c:v', 'libx264', '-preset', 'ultrafast'], true),
    makeClip(mpeg4Clip, ['-c:v', 'mpeg4', '-q:v', '5'], true),
    makeClip(hevcClip, ['-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=error'], false),
  ]);
  // The moov box is at the end (no faststart): 60 % into the file is media data.
  const bytes = await readFile(h264Clip);
  const at = Math.floor(bytes.length * 0.6);
  // Fixed garbage (a hash chain), so every run damages the file the same way.
  for (let i = 0, block = Buffer.from('hw-fallback'); i < 4000; i += block.length) {
    block = createHash('sha256').update(block).digest();
    block.copy(bytes, at + i);
  }
  await writeFile(corruptMid, bytes);
}, 120_000);

afterAll(async () => {
  if (base) await rm(base, { recursive: true, force: true });
});

/** A verdict as detectHwDecode would give on a desktop NVIDIA machine, but made up by the test. */
function claimedHw(h264InputArgs: string[], hevcInputArgs: string[] = []): HwVerdict {
  return {
    kind: 'nvidia', h264InputArgs, hevcInputArgs, platform: 'test: claimed NVIDIA GPU',
    reason: 'injected by hw-fallback.test.ts',
  };
}

interface Run {
  store: RecordingStore;
  fs: FsObjectStore;
  bucketRoot: string;
  workDir: string;
  events: LogEvent[];
  logger: Logger;
  timeline: Timeline;
  controller: AbortController;
  source: ProbeResult;
  job: LadderJob;
  progress: number;
}

/** A fresh bucket, work folder and capturing logger for one produceLadder call on `input`. */
async function prepare(input: string, hw: HwVerdict, onLog?: (e: LogEvent, r: Run) => void, storyboard = false): Promise<Run> {
  run++;
  const bucketRoot = join(base, `bucket-${run}`);
  const workDir = join(base, `work-${run}`);
  await mkdir(workDir, { recursive: true });
  const timeline = new Timeline();
  const fs = new FsObjectStore({ root: bucketRoot, bucket: 'media' });
  const store = new RecordingStore(fs, timeline);
  const events: LogEvent[] = [];
  const controller = new AbortController();
  const source = await probe(bins.ffprobe, input);
  const r = { store, fs, bucketRoot, workDir, events, timeline, controller, source, progress: 0 } as Run;
  // pino writes to this stream synchronously, inside the log call.
  r.logger = pino({ level: 'debug', base: undefined }, {
    write(line: string) {
      const e = { ...(JSON.parse(line) as Record<string, unknown>), seq: timeline.tick() } as LogEvent;
      events.push(e);
      onLog?.(e, r);
    },
  });
  r.job = {
    ffmpeg: bins, hw, input, source, workDir, store, prefix: PREFIX, storyboard, rungHeights: RUNGS,
    segmentSeconds: SEGMENT_SECONDS, segmentType: 'ts', stallSeconds: 30, preset: 'ultrafast',
    signal: controller.signal, logger: r.logger, onProgress: () => { r.progress++; },
  };
  return r;
}

const ofType = (r: Run, type: string): LogEvent[] => r.events.filter((e) => e.event_type === type);
/** The argument lists of every ffmpeg run (logged at debug level by runFfmpeg). */
const ffmpegRuns = (r: Run): string[][] => ofType(r, 'ffmpeg_start').map((e) => e.args as string[]);

async function storedKeys(store: ObjectStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.list(PREFIX)) keys.push(o.key);
  return keys.sort();
}

async function text(store: ObjectStore, key: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of await store.getStream(key)) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Every file under `dir` (relative, '/'), including the fs store's sidecars and temp files. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1)).sort();
}

/** The storyboard's keys a result reports: its sheets and the VTT. */
function storyboardKeys(result: LadderResult): string[] {
  if (result.storyboard === null) return [];
  const sheets = Array.from({ length: result.storyboard.sheets }, (_, i) => `${PREFIX}thumbnails/storyboard_${String(i).padStart(3, '0')}.jpg`);
  return [...sheets, `${PREFIX}thumbnails/storyboard.vtt`];
}

/**
 * The store holds exactly one complete ladder: master → rendition playlists (VOD, ENDLIST)
 * → segments (and the storyboard, when made), nothing more, no temp files, and index.m3u8
 * was the last upload. Returns the keys each rendition playlist references.
 */
async function checkCompleteLadder(r: Run, result: LadderResult): Promise<Map<string, string[]>> {
  const master = await text(r.store, MASTER);
  const variants = masterVariants(master);
  expect(variants).toEqual(result.rungs.map((x) => `${x.name}/index.m3u8`));
  const expected = new Set([MASTER, ...storyboardKeys(result)]);
  const referenced = new Map<string, string[]>();
  for (const v of variants) {
    const playlist = await text(r.store, PREFIX + v);
    expect(playlist).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(playlist).toContain('#EXT-X-ENDLIST');
    const media = [...initSegments(playlist), ...completedSegments(playlist)].map((u) => PREFIX + resolvePlaylistUri(v, u)!);
    expect(media.length).toBe(CLIP_SECONDS / SEGMENT_SECONDS);
    referenced.set(v, media);
    expected.add(PREFIX + v);
    for (const k of media) expected.add(k);
  }
  expect(await storedKeys(r.store)).toEqual([...expected].sort());
  // On disk: only objects and their metadata sidecars; no `\<uuid>.tmp` of an interrupted upload.
  const onDisk = await filesUnder(r.bucketRoot);
  expect(onDisk.filter((f) => f.endsWith('.tmp'))).toEqual([]);
  const done = r.store.uploads.filter((u) => u.ok).sort((a, b) => a.end! - b.end!);
  expect(done.at(-1)?.key).toBe(MASTER);
  expect(done.filter((u) => u.key === MASTER)).toHaveLength(1);
  // The top rendition decodes, at its size, straight from the bucket.
  const top = await probeOwnOutput(bins.ffprobe, r.fs.pathFor(PREFIX + variants[0]!));
  expect({ width: top.video?.width, height: top.video?.height }).toEqual({ width: result.rungs[0]!.width, height: result.rungs[0]!.height });
  expect(top.durationSeconds).toBeCloseTo(CLIP_SECONDS, 0);
  return referenced;
}

/**
 * A run that failed after some of its segments went up, then a fallback run: the failed one
 * had uploaded segments and no playlist, all of them ended before the fallback was logged,
 * the store holds exactly the fallback run's complete ladder with every early segment
 * written again, and the failed attempt's local folder is gone.
 */
async function checkFailedAttemptReplaced(r: Run, result: LadderResult, fallbackAt: number, failedDir: string): Promise<void> {
  // The failed attempt did upload segments, and no playlist, before it failed…
  const early = r.store.uploads.filter((u) => u.seq < fallbackAt);
  expect(early.filter((u) => u.ok && /\.ts$/.test(u.key)).length).toBeGreaterThan(0);
  expect(early.filter((u) => u.key.endsWith('.m3u8'))).toEqual([]);
  // …each of them had ended (succeeded or been cancelled) before the fallback was logged,
  // so none can land on top of the next run's output.
  const nextStart = ofType(r, 'ffmpeg_start')[1]!.seq;
  expect(early.filter((u) => u.end === null || u.end > fallbackAt)).toEqual([]);
  expect(r.store.uploads.filter((u) => u.seq > fallbackAt).every((u) => u.seq > nextStart)).toBe(true);

  const referenced = await checkCompleteLadder(r, result);
  // Every segment the failed attempt uploaded was written again by the next run.
  const nextKeys = new Set(r.store.uploads.filter((u) => u.seq > nextStart && u.ok).map((u) => u.key));
  for (const u of early) expect({ key: u.key, rewritten: nextKeys.has(u.key) }).toEqual({ key: u.key, rewritten: true });
  expect([...referenced.values()].flat().every((k) => nextKeys.has(k))).toBe(true);
  // The failed attempt's local output is gone (a Jetson's disk holds one attempt, not two).
  expect(await readdir(r.workDir)).not.toContain(failedDir);
}

describe('produceLadder with a hardware decoder that does not work here', () => {
  it('h264_cuvid (no CUDA here) → one hw_decode_fallback warning naming it, then a complete software ladder with its storyboard', async () => {
    const r = await prepare(h264Clip, claimedHw(['-c:v', 'h264_cuvid']), undefined, true);
    expect(r.source.video?.codecName).toBe('h264');
    const result = await produceLadder(r.job);

    expect(result.hardwareDecode).toBe(false);
    expect(result.rungs.map((x) => x.name)).toEqual(['360p', '240p']);
    const fallbacks = ofType(r, 'hw_decode_fallback');
    expect(fallbacks).toHaveLength(1);
    expect(fallbacks[0]).toMatchObject({ level: 40, decoder: '-c:v h264_cuvid' });
    expect(String(fallbacks[0]!.error)).toMatch(/exited with code/);
    expect(String(fallbacks[0]!.stderr_tail)).toMatch(/cuvid|cuda/i);
    // Two ffmpeg runs: the hardware one with the decoder before -i, then software without it.
    const runs = ffmpegRuns(r);
    expect(runs).toHaveLength(2);
    expect(runs[0]!.slice(0, runs[0]!.indexOf('-i'))).toEqual(expect.arrayContaining(['-c:v', 'h264_cuvid']));
    expect(runs[1]).not.toContain('h264_cuvid');
    expect(fallbacks[0]!.seq).toBeLessThan(ofType(r, 'ffmpeg_start')[1]!.seq);

    const referenced = await checkCompleteLadder(r, result);
    // Nothing of the failed attempt reached the store (ffmpeg failed before writing a segment).
    expect(r.store.uploads.filter((u) => u.seq < fallbacks[0]!.seq)).toEqual([]);
    // The storyboard of the software run: one tile per 2 s segment of the top rung (640x360 → 360p, tiles 320x180).
    expect(result.storyboard).toEqual({ sheets: 1, frameCount: CLIP_SECONDS / SEGMENT_SECONDS, width: 320, height: 180 });
    expect(runs[1]!.at(-1)).toMatch(/\/hls-sw\/thumbnails\/storyboard_%03d\.jpg$/);
    expect(await text(r.store, `${PREFIX}thumbnails/storyboard.vtt`)).toMatch(/^WEBVTT\n/);
    expect(result.objects).toBe(1 + storyboardKeys(result).length + [...referenced.values()].reduce((n, m) => n + 1 + m.length, 0));
    // The device heartbeat reports the device degraded, naming the decoder, until a hardware decode works again.
    expect(deviceConditions()).toEqual([expect.objectContaining({ name: HW_DECODE, detail: expect.stringMatching(/^-c:v h264_cuvid failed, decoding in software: .*exited with code/) })]);
  }, 120_000);

  it('a hardware decode that works clears the condition a fallback set', async () => {
    setDeviceCondition(HW_DECODE, '-c:v h264_cuvid failed, decoding in software: injected');
    // The software h264 decoder, named as a hardware one would be: this "hardware" attempt succeeds.
    const r = await prepare(h264Clip, claimedHw(['-c:v', 'h264']));
    const result = await produceLadder(r.job);
    expect(result.hardwareDecode).toBe(true);
    expect(deviceConditions()).toEqual([]);
  }, 60_000);

  it('a decoder that fails mid-stream, after segments went up: the software run replaces them, nothing stale remains', async () => {
    // Stands in for a hardware decoder that gives up on damaged data the software decoder
    // conceals: strict error detection and exit on the first decode error. -readrate keeps
    // it slow enough that the first segments are uploaded before it fails.
    const strict = ['-readrate', '2', '-err_detect', 'explode', '-xerror'];
    const r = await prepare(corruptMid, claimedHw(strict));
    const result = await produceLadder(r.job);

    expect(result.hardwareDecode).toBe(false);
    const fallbacks = ofType(r, 'hw_decode_fallback');
    expect(fallbacks).toHaveLength(1);
    expect(fallbacks[0]).toMatchObject({ decoder: strict.join(' ') });
    await checkFailedAttemptReplaced(r, result, fallbacks[0]!.seq, 'hls-hw');
  }, 120_000);
});

describe('produceLadder never falls back for an aborted job', () => {
  it('aborted as the hardware ffmpeg exits with an error → throws, no fallback, no second ffmpeg, no master', async () => {
    // runFfmpeg logs ffmpeg_failed just before it throws the 'exit' error: aborting the job
    // right there is the shutdown that arrives while the hardware attempt is failing.
    const r = await prepare(h264Clip, claimedHw(['-c:v', 'h264_cuvid']), (e, run) => {
      if (e.event_type === 'ffmpeg_failed') run.controller.abort(new Error('shutdown'));
    });
    const err = await produceLadder(r.job).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(TranscodeStepError);
    expect((err as TranscodeStepError).failure).toMatchObject({ kind: 'ffmpeg', reason: 'exit' });
    expect(r.controller.signal.aborted).toBe(true);
    expect(ofType(r, 'ffmpeg_failed')).toHaveLength(1);
    expect(ofType(r, 'hw_decode_fallback')).toEqual([]);
    expect(ffmpegRuns(r)).toHaveLength(1);
    expect(await r.fs.exists(MASTER)).toBe(false);
  }, 60_000);

  it('aborted while the hardware attempt is encoding → throws, no fallback, no second ffmpeg, no master', async () => {
    // A "hardware" decoder that works but slowly, so the abort lands mid-encode.
    const r = await prepare(h264Clip, claimedHw(['-readrate', '1', '-c:v', 'h264']));
    r.job.onProgress = () => { r.progress++; if (r.progress === 2) r.controller.abort(new Error('shutdown')); };
    const started = Date.now();
    const err = await produceLadder(r.job).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(TranscodeStepError);
    expect((err as TranscodeStepError).failure).toMatchObject({ kind: 'ffmpeg', reason: 'aborted' });
    expect(Date.now() - started).toBeLessThan(CLIP_SECONDS * 1000);
    expect(ofType(r, 'hw_decode_fallback')).toEqual([]);
    expect(ffmpegRuns(r)).toHaveLength(1);
    expect(ffmpegRuns(r)[0]).toContain('-readrate');
    expect(await r.fs.exists(MASTER)).toBe(false);
  }, 60_000);
});

describe('hardware arguments go only to the codec they are for', () => {
  it('an MPEG-4 part 2 source is decoded in software: the hw args are never used', async () => {
    const r = await prepare(mpeg4Clip, claimedHw(['-c:v', 'h264_cuvid'], ['-c:v', 'hevc_cuvid']));
    expect(r.source.video?.codecName).toBe('mpeg4');
    const result = await produceLadder(r.job);
    expect(result.hardwareDecode).toBe(false);
    expect(ofType(r, 'hw_decode_fallback')).toEqual([]);
    const runs = ffmpegRuns(r);
    expect(runs).toHaveLength(1);
    expect(runs[0]!.join(' ')).not.toMatch(/cuvid/);
    await checkCompleteLadder(r, result);
  }, 120_000);

  it('an HEVC source gets the hevc args (not the h264 ones), and falls back from them too', async () => {
    const r = await prepare(hevcClip, claimedHw(['-c:v', 'h264_cuvid'], ['-c:v', 'hevc_cuvid']));
    expect(r.source.video?.codecName).toBe('hevc');
    const result = await produceLadder(r.job);
    expect(result.hardwareDecode).toBe(false);
    const fallbacks = ofType(r, 'hw_decode_fallback');
    expect(fallbacks).toHaveLength(1);
    expect(fallbacks[0]).toMatchObject({ decoder: '-c:v hevc_cuvid' });
    const runs = ffmpegRuns(r);
    expect(runs).toHaveLength(2);
    expect(runs[0]).toContain('hevc_cuvid');
    expect(runs.flat()).not.toContain('h264_cuvid');
    expect(runs[1]!.join(' ')).not.toMatch(/cuvid/);
    await checkCompleteLadder(r, result);
  }, 120_000);
});

/** No hardware decode: the encoder alone is on trial. */
const softwareDecode: HwVerdict = { kind: 'none', h264InputArgs: [], hevcInputArgs: [], platform: 'test', reason: 'software decode' };
/** The video encoder of an ffmpeg run: the -c:v after -i (one before it is a decoder). */
const encoderOf = (args: string[]) => args[args.indexOf('-c:v', args.indexOf('-i')) + 1];

/** The real ffmpeg under a name of its own: what the process remembers is per ffmpeg binary. */
async function ffmpegAlias(name: string): Promise<string> {
  const path = join(base, `ffmpeg-${name}`);
  await symlink(bins.ffmpeg, path);
  return path;
}

/** Runs `r` with `ffmpeg` and asks it for NVENC. */
function withNvenc(r: Run, ffmpeg: string): Run {
  r.job.ffmpeg = { ...bins, ffmpeg };
  r.job.encoder = 'h264_nvenc';
  return r;
}

/** Creates `go` once a segment is in the bucket: the fake NVENC's cue to die. */
class CueStore extends DelegatingStore {
  constructor(inner: ObjectStore, private readonly go: string) {
    super(inner);
  }

  override async upload(source: string | NodeJS.ReadableStream, key: string, contentType: string, opts?: { signal?: AbortSignal }): Promise<ObjectInfo> {
    const info = await this.inner.upload(source, key, contentType, opts);
    if (key.endsWith('.ts')) await writeFile(this.go, '');
    return info;
  }
}

describe('produceLadder with a hardware encoder that fails (issue 19)', () => {
  afterEach(() => clearDeviceCondition(HW_ENCODE));

  it('h264_nvenc (no CUDA here) → one hw_encode_fallback warning, a complete libx264 ladder with its storyboard; the next job starts with libx264', async () => {
    const ffmpeg = await ffmpegAlias('no-cuda');
    const r = withNvenc(await prepare(h264Clip, softwareDecode, undefined, true), ffmpeg);
    const result = await produceLadder(r.job);

    expect({ encoder: result.encoder, hardwareDecode: result.hardwareDecode }).toEqual({ encoder: 'libx264', hardwareDecode: false });
    const fallbacks = ofType(r, 'hw_encode_fallback');
    expect(fallbacks).toHaveLength(1);
    expect(fallbacks[0]).toMatchObject({ level: 40, encoder: 'h264_nvenc' });
    expect(String(fallbacks[0]!.error)).toMatch(/exited with code/);
    expect(String(fallbacks[0]!.stderr_tail)).toMatch(/libcuda|nvenc/i);
    expect(ofType(r, 'hw_decode_fallback')).toEqual([]);
    // Two runs: NVENC with its own arguments, then libx264 with its own.
    const runs = ffmpegRuns(r);
    expect(runs.map(encoderOf)).toEqual(['h264_nvenc', 'libx264']);
    expect(runs[0]).toEqual(expect.arrayContaining(['-forced-idr', '-no-scenecut']));
    expect(runs[1]).not.toContain('-forced-idr');
    expect(runs[1]!.at(-1)).toMatch(/\/hls-sw\/thumbnails\/storyboard_%03d\.jpg$/);
    expect(fallbacks[0]!.seq).toBeLessThan(ofType(r, 'ffmpeg_start')[1]!.seq);

    await checkCompleteLadder(r, result);
    expect(r.store.uploads.filter((u) => u.seq < fallbacks[0]!.seq)).toEqual([]);
    expect(result.storyboard).toEqual({ sheets: 1, frameCount: CLIP_SECONDS / SEGMENT_SECONDS, width: 320, height: 180 });
    expect(await readdir(r.workDir)).not.toContain('hls-sw-hwenc');
    // Remembered, and the device heartbeat says degraded, naming the encoder.
    expect(hwEncodeFailedEarlier(ffmpeg, 'h264_nvenc')).toMatch(/exited with code/);
    expect(deviceConditions().filter((c) => c.name === HW_ENCODE)).toEqual([expect.objectContaining({ detail: expect.stringMatching(/^h264_nvenc failed a job, encoding with libx264 until restart: .*exited with code/) })]);

    // The next job of this process: libx264 from the start, no failed attempt, no warning.
    const next = withNvenc(await prepare(h264Clip, softwareDecode), ffmpeg);
    const again = await produceLadder(next.job);
    expect(again.encoder).toBe('libx264');
    expect(ffmpegRuns(next).map(encoderOf)).toEqual(['libx264']);
    expect(ofType(next, 'hw_encode_fallback')).toEqual([]);
    expect(ofType(next, 'hw_encode_skipped')).toEqual([expect.objectContaining({ encoder: 'h264_nvenc', reason: expect.stringMatching(/exited with code/) })]);
    await checkCompleteLadder(next, again);
  }, 120_000);

  it('an encoder that dies mid-stream, after segments went up: the libx264 run replaces them, nothing stale remains', async () => {
    const go = join(base, 'go-mid-stream');
    const ffmpeg = await writeFakeNvenc(base, 'mid-stream', { realFfmpeg: bins.ffmpeg, mode: 'die-after-upload', go });
    const r = withNvenc(await prepare(h264Clip, softwareDecode), ffmpeg);
    r.job.store = new CueStore(r.store, go);
    const result = await produceLadder(r.job);

    expect(result.encoder).toBe('libx264');
    const fallbacks = ofType(r, 'hw_encode_fallback');
    expect(fallbacks).toHaveLength(1);
    expect(String(fallbacks[0]!.error)).toMatch(/exited with code 1: \[h264_nvenc @ 0x0\] fake NVENC: encoder lost mid-stream/);
    expect(ffmpegRuns(r).map(encoderOf)).toEqual(['h264_nvenc', 'libx264']);
    await checkFailedAttemptReplaced(r, result, fallbacks[0]!.seq, 'hls-sw-hwenc');
    expect(hwEncodeFailedEarlier(ffmpeg, 'h264_nvenc')).toBeDefined();
  }, 120_000);

  it('hardware decode and encode both failing: the decoder is dropped first, then the encoder; one warning each, three runs', async () => {
    const ffmpeg = await ffmpegAlias('both');
    const r = withNvenc(await prepare(h264Clip, claimedHw(['-c:v', 'h264_cuvid'])), ffmpeg);
    const result = await produceLadder(r.job);

    expect({ encoder: result.encoder, hardwareDecode: result.hardwareDecode }).toEqual({ encoder: 'libx264', hardwareDecode: false });
    expect(r.events.filter((e) => /^hw_(de|en)code_fallback$/.test(String(e.event_type))).map((e) => e.event_type)).toEqual(['hw_decode_fallback', 'hw_encode_fallback']);
    const runs = ffmpegRuns(r);
    expect(runs.map((a) => [a.includes('h264_cuvid'), encoderOf(a)])).toEqual([[true, 'h264_nvenc'], [false, 'h264_nvenc'], [false, 'libx264']]);
    await checkCompleteLadder(r, result);
    expect((await readdir(r.workDir)).filter((name) => name.includes('hw'))).toEqual([]);
  }, 120_000);
});

describe('produceLadder does not fall back from a hardware encoder, nor remember it, when the encoder is not what failed', () => {
  afterEach(() => clearDeviceCondition(HW_ENCODE));

  it('aborted while the hardware encoder runs → throws, one ffmpeg, nothing remembered, no master', async () => {
    const ffmpeg = await writeFakeNvenc(base, 'abort', { realFfmpeg: bins.ffmpeg, mode: 'die-after-upload', go: join(base, 'never') });
    const r = withNvenc(await prepare(h264Clip, softwareDecode), ffmpeg);
    r.job.onProgress = () => { r.progress++; if (r.progress === 2) r.controller.abort(new Error('shutdown')); };
    const err = await produceLadder(r.job).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(TranscodeStepError);
    expect((err as TranscodeStepError).failure).toMatchObject({ kind: 'ffmpeg', reason: 'aborted' });
    expect(ofType(r, 'hw_encode_fallback')).toEqual([]);
    expect(ffmpegRuns(r)).toHaveLength(1);
    expect(hwEncodeFailedEarlier(ffmpeg, 'h264_nvenc')).toBeUndefined();
    expect(await r.fs.exists(MASTER)).toBe(false);
  }, 60_000);

  it('a hardware encoder that stalls → killed as a stall, no fallback, nothing remembered', async () => {
    const ffmpeg = await writeFakeNvenc(base, 'hang', { realFfmpeg: bins.ffmpeg, mode: 'hang' });
    const r = withNvenc(await prepare(h264Clip, softwareDecode), ffmpeg);
    r.job.stallSeconds = 1;
    const err = await produceLadder(r.job).then(() => null, (e: unknown) => e);
    expect((err as TranscodeStepError).failure).toMatchObject({ kind: 'ffmpeg', reason: 'stall' });
    expect(ofType(r, 'hw_encode_fallback')).toEqual([]);
    expect(ffmpegRuns(r)).toHaveLength(1);
    expect(hwEncodeFailedEarlier(ffmpeg, 'h264_nvenc')).toBeUndefined();
  }, 60_000);

  it('libx264 fails as well (the failure was not the encoder\'s) → the job fails; the encoder is not remembered nor the device degraded', async () => {
    const ffmpeg = await writeFakeNvenc(base, 'fail-all', { realFfmpeg: bins.ffmpeg, mode: 'fail-all' });
    const r = withNvenc(await prepare(h264Clip, softwareDecode), ffmpeg);
    const err = await produceLadder(r.job).then(() => null, (e: unknown) => e);
    expect((err as TranscodeStepError).failure).toMatchObject({ kind: 'ffmpeg', reason: 'exit' });
    expect(ofType(r, 'hw_encode_fallback')).toHaveLength(1);
    expect(ffmpegRuns(r).map(encoderOf)).toEqual(['h264_nvenc', 'libx264']);
    expect(hwEncodeFailedEarlier(ffmpeg, 'h264_nvenc')).toBeUndefined();
    expect(deviceConditions().map((c) => c.name)).not.toContain(HW_ENCODE);
  }, 60_000);
});
