// Upload while encoding, against the real Debian ffmpeg writing a 2-rung HLS ladder of a
// 12 s lavfi clip at 3× realtime (-readrate 3, so about 4 s of encoding), into the fs
// bucket and into S3 (fauxqs). What must hold: segments go up while FFmpeg runs, each file
// once, each playlist after what it lists, the master (index.m3u8, the default name) last,
// right content types, and the store ends up holding exactly the HLS output; a storyboard
// under thumbnails/ goes up at finish(), before the master.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { FsObjectStore } from '../../src/adapters/storage/fs.js';
import { S3ObjectStore, createS3Client } from '../../src/adapters/storage/s3.js';
import { completedSegments, initSegments, resolvePlaylistUri } from '../../src/domain/rugbycodex/hls-playlist.js';
import { locateFfmpeg, runFfmpeg } from '../../src/runtime/ffmpeg/index.js';
import { startLiveUpload } from '../../roles/transcode/live-upload.js';
import type { LiveUploadOptions } from '../../roles/transcode/live-upload.js';
import type { ObjectInfo, ObjectStore } from '../../src/ports/index.js';
import { awsTestClientConfig, startFauxqs } from '../helpers/servers.js';
import type { LocalServer } from '../helpers/servers.js';
import { DelegatingStore } from '../helpers/delegating-store.js';
import { until } from '../helpers/wait.js';

const PREFIX = 'orgs/o1/uploads/u1/streaming/';
const MASTER = 'index.m3u8';
const TYPES: Record<string, string> = {
  m3u8: 'application/vnd.apple.mpegurl',
  ts: 'video/mp2t',
  m4s: 'video/iso.segment',
  mp4: 'video/mp4',
  jpg: 'image/jpeg',
  vtt: 'text/vtt',
};

interface Ladder {
  segmentType: 'mpegts' | 'fmp4';
  /** VOD playlists are written once, at the end: then only temp_file tells a closed segment. */
  playlistType: 'vod' | 'event';
  tempFile: boolean;
}

function ladderArgs(out: string, l: Ladder): string[] {
  const ext = l.segmentType === 'fmp4' ? 'm4s' : 'ts';
  return [
    '-v', 'error',
    '-readrate', '3', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25:duration=12',
    '-readrate', '3', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=12',
    '-filter_complex', '[0:v]split=2[a][b];[a]scale=640:360[v0];[b]scale=320:180[v1]',
    '-map', '[v0]', '-map', '1:a', '-map', '[v1]', '-map', '1:a',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-keyint_min', '50', '-sc_threshold', '0',
    '-b:v:0', '800k', '-b:v:1', '300k', '-c:a', 'aac', '-b:a', '64k',
    '-f', 'hls', '-hls_time', '2', '-hls_playlist_type', l.playlistType, '-hls_segment_type', l.segmentType,
    '-hls_flags', l.tempFile ? 'independent_segments+temp_file' : 'independent_segments',
    '-master_pl_name', MASTER,
    '-hls_segment_filename', join(out, '%v', `seg_%03d.${ext}`),
    '-var_stream_map', 'v:0,a:0,name:360p v:1,a:1,name:180p',
    join(out, '%v', 'index.m3u8'),
  ];
}

interface UploadRecord {
  key: string;
  contentType: string;
  /** Logical clock: every start and end gets the next tick, so order is exact. */
  start: number;
  end: number | null;
  startedAt: number;
  /** Of the file as it was handed over (the uploader may delete it afterwards). */
  sha256: string;
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Delegates to a real store and records every upload; can be told to fail some keys. */
class RecordingStore extends DelegatingStore {
  readonly records: UploadRecord[] = [];
  failKey: RegExp | null = null;
  private clock = 0;

  override async upload(source: string | NodeJS.ReadableStream, key: string, contentType: string, opts?: { signal?: AbortSignal }): Promise<ObjectInfo> {
    if (typeof source !== 'string') throw new Error('the live uploader is expected to upload files by path');
    const record: UploadRecord = { key, contentType, start: ++this.clock, end: null, startedAt: Date.now(), sha256: sha256(await readFile(source)) };
    this.records.push(record);
    if (this.failKey?.test(key)) throw new Error('simulated store failure: Access Denied');
    const info = await this.inner.upload(source, key, contentType, opts);
    record.end = ++this.clock;
    return info;
  }
}

async function bytesOf(store: ObjectStore, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await store.getStream(key)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Every file under `dir`, relative with '/', sorted. */
async function localFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1).split('\\').join('/')).sort();
}

async function storedKeys(store: ObjectStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.list(PREFIX)) keys.push(o.key);
  return keys.sort();
}

const isSegment = (key: string): boolean => /\.(ts|m4s)$/.test(key);

let ffmpeg: string;
let base: string;
let run = 0;

beforeAll(async () => {
  ffmpeg = (await locateFfmpeg(process.env)).ffmpeg;
  base = await mkdtemp(join(tmpdir(), 'rugbyworker-live-upload-'));
});

afterAll(async () => {
  if (base) await rm(base, { recursive: true, force: true });
});

/** A fresh output folder (with a poster the caller put there) and an fs bucket. */
async function freshRun(): Promise<{ out: string; fs: FsObjectStore }> {
  run++;
  const out = join(base, `out-${run}`);
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'poster.jpg'), 'not an HLS file: the caller uploads it');
  return { out, fs: new FsObjectStore({ root: join(base, `bucket-${run}`), bucket: 'media' }) };
}

/** Runs FFmpeg with the uploader watching; resolves when FFmpeg exited 0 and finish() resolved. */
async function encodeAndUpload(out: string, store: RecordingStore, ladder: Ladder, extra: Partial<LiveUploadOptions> = {}) {
  const live = startLiveUpload({ dir: out, store, prefix: PREFIX, pollMs: 200, tempFile: ladder.tempFile, ...extra });
  try {
    await runFfmpeg(ffmpeg, ladderArgs(out, ladder));
  } catch (err) {
    await live.stop();
    throw err;
  }
  const ffmpegExitedAt = Date.now();
  const summary = await live.finish();
  return { summary, ffmpegExitedAt };
}

/** The ordering and typing rules, checked on what was recorded and what the store holds. */
async function expectOrderedUpload(store: RecordingStore, ffmpegExitedAt: number): Promise<void> {
  const { records } = store;
  const keys = records.map((r) => r.key);
  // Each file exactly once, every upload finished.
  expect(new Set(keys).size).toBe(keys.length);
  expect(records.every((r) => r.end !== null)).toBe(true);

  // Segments went up while FFmpeg was still encoding (well before it exited).
  const early = records.filter((r) => isSegment(r.key) && r.startedAt < ffmpegExitedAt - 1000);
  expect(early.length).toBeGreaterThan(0);

  // The master is the very last upload, begun after every other one ended.
  const master = records.at(-1) as UploadRecord;
  expect(master.key).toBe(PREFIX + MASTER);
  for (const r of records.slice(0, -1)) expect(r.end as number).toBeLessThan(master.start);

  // Each rendition playlist began after everything it lists had ended.
  const byKey = new Map(records.map((r) => [r.key, r]));
  const playlists = records.filter((r) => r.key.endsWith('/index.m3u8') && r !== master);
  expect(playlists.map((r) => r.key).sort()).toEqual([`${PREFIX}180p/index.m3u8`, `${PREFIX}360p/index.m3u8`]);
  for (const p of playlists) {
    const rel = p.key.slice(PREFIX.length);
    const text = (await bytesOf(store, p.key)).toString('utf8');
    const listed = [...initSegments(text), ...completedSegments(text)];
    expect(listed.length).toBeGreaterThanOrEqual(6);
    for (const uri of listed) {
      const seg = byKey.get(PREFIX + (resolvePlaylistUri(rel, uri) as string));
      expect(seg).toBeDefined();
      expect(seg?.end as number).toBeLessThan(p.start);
    }
  }

  // The content type each key was given and the store keeps.
  for (const r of records) {
    const expected = TYPES[r.key.slice(r.key.lastIndexOf('.') + 1)];
    expect([r.key, r.contentType]).toEqual([r.key, expected]);
    expect([r.key, (await store.head(r.key))?.contentType]).toEqual([r.key, expected]);
  }

  // The store holds what was uploaded, byte for byte, and nothing else (no poster).
  expect(await storedKeys(store)).toEqual([...keys].sort());
  for (const r of records) expect([r.key, sha256(await bytesOf(store, r.key))]).toEqual([r.key, r.sha256]);
}

/** The uploaded tree equals the local HLS output (the caller's poster aside). */
async function expectSameTree(store: ObjectStore, out: string): Promise<void> {
  const local = (await localFiles(out)).filter((f) => f !== 'poster.jpg');
  expect(await storedKeys(store)).toEqual(local.map((f) => PREFIX + f).sort());
  for (const f of local) {
    const same = (await bytesOf(store, PREFIX + f)).equals(await readFile(join(out, f)));
    expect([f, same]).toEqual([f, true]);
  }
}

describe('live HLS upload (fs bucket)', () => {
  it('ts, VOD playlists, -hls_flags temp_file: segments go up during the encode, master last, same tree', async () => {
    const { out, fs } = await freshRun();
    const store = new RecordingStore(fs);
    const told: Array<{ rendition: string; path: string; at: number }> = [];
    const { summary, ffmpegExitedAt } = await encodeAndUpload(out, store, { segmentType: 'mpegts', playlistType: 'vod', tempFile: true }, {
      deleteUploaded: false, onSegment: (seg) => told.push({ ...seg, at: Date.now() }),
    });
    await expectOrderedUpload(store, ffmpegExitedAt);
    await expectSameTree(store, out);
    expect(store.records.filter((r) => isSegment(r.key)).length).toBeGreaterThanOrEqual(12);
    // Each segment told once, with its rendition, most of them while FFmpeg was still encoding.
    const segments = store.records.filter((r) => isSegment(r.key)).map((r) => r.key.slice(PREFIX.length));
    expect(told.map((t) => t.path).sort()).toEqual(segments.sort());
    for (const t of told) expect(t.path.startsWith(`${t.rendition}/`) && ['360p', '180p'].includes(t.rendition)).toBe(true);
    expect(told.filter((t) => t.at < ffmpegExitedAt - 1000).length).toBeGreaterThan(told.length / 2);
    expect(summary.objects).toBe(store.records.length);
    expect(summary.bytes).toBe((await Promise.all((await localFiles(out)).filter((f) => f !== 'poster.jpg').map((f) => readFile(join(out, f))))).reduce((n, b) => n + b.length, 0));
    expect(await fs.exists(`${PREFIX}poster.jpg`)).toBe(false);
  }, 60_000);

  it('fmp4, EVENT playlists (known from the playlist alone), segments deleted once uploaded: the stored ladder decodes whole', async () => {
    const { out, fs } = await freshRun();
    const store = new RecordingStore(fs);
    const { ffmpegExitedAt } = await encodeAndUpload(out, store, { segmentType: 'fmp4', playlistType: 'event', tempFile: false });
    await expectOrderedUpload(store, ffmpegExitedAt);
    expect(store.records.map((r) => r.key)).toEqual(expect.arrayContaining([`${PREFIX}360p/init_0.mp4`, `${PREFIX}180p/init_1.mp4`]));
    // deleteUploaded (the default) removed every media file; playlists and the poster stay.
    expect(await localFiles(out)).toEqual(['180p/index.m3u8', '360p/index.m3u8', MASTER, 'poster.jpg']);
    for (const f of ['180p/index.m3u8', '360p/index.m3u8', MASTER]) {
      expect((await bytesOf(store, PREFIX + f)).equals(await readFile(join(out, f)))).toBe(true);
    }
    // The media is gone locally, so the proof the stored copies are whole is decoding them.
    let decoded = 0;
    const { stderrTail } = await runFfmpeg(ffmpeg, ['-v', 'error', '-i', fs.pathFor(PREFIX + MASTER), '-map', '0', '-f', 'null', '-'], {
      onProgress: (p) => { decoded = p.outTimeSeconds ?? decoded; },
    });
    expect(stderrTail).toBe('');
    expect(decoded).toBeGreaterThan(11.5);
  }, 60_000);

  it('stop() mid-run leaves no master in the store, though FFmpeg had already written one', async () => {
    const { out, fs } = await freshRun();
    const store = new RecordingStore(fs);
    const live = startLiveUpload({ dir: out, store, prefix: PREFIX, pollMs: 200 });
    const ffmpegStop = new AbortController();
    const encoding = runFfmpeg(ffmpeg, ladderArgs(out, { segmentType: 'mpegts', playlistType: 'event', tempFile: false }), { signal: ffmpegStop.signal }).catch((e: unknown) => e);
    // EVENT mode writes the master after the first segments: wait for it and an upload.
    await until('the master playlist and an upload', 20_000, () => existsSync(join(out, MASTER)) && store.records.some((r) => r.end !== null), { everyMs: 50 });
    await live.stop();
    const uploadsAtStop = store.records.length;
    ffmpegStop.abort();
    await encoding;
    await new Promise((r) => setTimeout(r, 600)); // a few poll periods: nothing more may start
    expect(store.records.length).toBe(uploadsAtStop);
    expect(await fs.exists(PREFIX + MASTER)).toBe(false);
    expect(store.records.some((r) => r.key.endsWith('.m3u8'))).toBe(false);
    await expect(live.finish()).rejects.toThrow('live upload stopped');
  }, 60_000);

  it('a failed upload rejects finish() with one line naming the key; no playlist goes up', async () => {
    const { out, fs } = await freshRun();
    const store = new RecordingStore(fs);
    store.failKey = /180p\/seg_002\.ts$/;
    const told: Error[] = [];
    const err = await encodeAndUpload(out, store, { segmentType: 'mpegts', playlistType: 'vod', tempFile: true }, { onError: (e) => told.push(e) })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(told).toEqual([err]); // the same error, once: a caller could stop FFmpeg there
    expect((err as Error).message).toBe(`upload of ${PREFIX}180p/seg_002.ts failed: simulated store failure: Access Denied`);
    expect(await fs.exists(PREFIX + MASTER)).toBe(false);
    expect(store.records.some((r) => r.key.endsWith('.m3u8'))).toBe(false);
  }, 60_000);

  it('refuses to upload a master that references a playlist that was not uploaded', async () => {
    const { out, fs } = await freshRun();
    await mkdir(join(out, '720p'));
    await writeFile(join(out, '720p', 'index.m3u8'), '#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg_000.ts\n#EXT-X-ENDLIST\n');
    await writeFile(join(out, '720p', 'seg_000.ts'), 'segment');
    await writeFile(join(out, MASTER), '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n720p/index.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=1\n1080p/index.m3u8\n');
    const store = new RecordingStore(fs);
    const live = startLiveUpload({ dir: out, store, prefix: PREFIX });
    await expect(live.finish()).rejects.toThrow('index.m3u8 references 1080p/index.m3u8, which was not uploaded');
    expect(store.records.map((r) => r.key).sort()).toEqual([`${PREFIX}720p/index.m3u8`, `${PREFIX}720p/seg_000.ts`]);
  });
});

describe('live HLS upload of a storyboard (fs bucket)', () => {
  it('uploads thumbnails/ at finish(), after FFmpeg exited and before the master; a poster.jpg at the top stays local', async () => {
    const { out, fs } = await freshRun(); // with the caller's poster.jpg at the top
    await mkdir(join(out, '360p'));
    await mkdir(join(out, 'thumbnails'));
    await writeFile(join(out, '360p', 'seg_000.ts'), 'segment 0');
    await writeFile(join(out, '360p', 'seg_001.ts'), 'segment 1');
    await writeFile(join(out, 'thumbnails', 'storyboard_000.jpg'), 'sheet 0');
    await writeFile(join(out, 'thumbnails', 'storyboard_001.jpg'), 'sheet 1, still being written');
    const store = new RecordingStore(fs);
    const live = startLiveUpload({ dir: out, store, prefix: PREFIX, pollMs: 20, tempFile: true });
    // While "FFmpeg" runs, the renamed segments go up, the sheets (written in place) do not.
    await until('two uploads', 5000, () => store.records.filter((r) => r.end !== null).length >= 2, { everyMs: 20 });
    await new Promise((r) => setTimeout(r, 200)); // several more polls
    expect(store.records.map((r) => r.key).sort()).toEqual([`${PREFIX}360p/seg_000.ts`, `${PREFIX}360p/seg_001.ts`]);

    // "FFmpeg" exits: the playlists and the VTT are written, then finish().
    await writeFile(join(out, '360p', 'index.m3u8'), '#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg_000.ts\n#EXTINF:2.0,\nseg_001.ts\n#EXT-X-ENDLIST\n');
    await writeFile(join(out, MASTER), '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,RESOLUTION=640x360\n360p/index.m3u8\n');
    await writeFile(join(out, 'thumbnails', 'storyboard_001.jpg'), 'sheet 1');
    await writeFile(join(out, 'thumbnails', 'storyboard.vtt'), 'WEBVTT\n');
    await live.finish();

    const byKey = new Map(store.records.map((r) => [r.key.slice(PREFIX.length), r]));
    const thumbs = ['thumbnails/storyboard.vtt', 'thumbnails/storyboard_000.jpg', 'thumbnails/storyboard_001.jpg'];
    expect([...byKey.keys()].sort()).toEqual(['360p/index.m3u8', '360p/seg_000.ts', '360p/seg_001.ts', MASTER, ...thumbs].sort());
    const master = store.records.at(-1)!;
    expect(master.key).toBe(PREFIX + MASTER);
    for (const t of thumbs) {
      const r = byKey.get(t)!;
      expect([t, r.end! < master.start, r.contentType]).toEqual([t, true, TYPES[t.slice(t.lastIndexOf('.') + 1)]]);
    }
    // The sheet as it was at the end, not the half-written one.
    expect((await bytesOf(fs, `${PREFIX}thumbnails/storyboard_001.jpg`)).toString()).toBe('sheet 1');
    expect(await fs.exists(`${PREFIX}poster.jpg`)).toBe(false);
    expect(await localFiles(out)).toEqual([MASTER, '360p/index.m3u8', 'poster.jpg'].sort()); // uploaded media deleted
  });
});

describe('live HLS upload (S3 on fauxqs)', () => {
  let faux: LocalServer;
  let s3: S3ObjectStore;
  let destroy: () => void;

  beforeAll(async () => {
    faux = await startFauxqs();
    const client = createS3Client(awsTestClientConfig(faux.endpoint));
    await client.send(new CreateBucketCommand({ Bucket: 'media' }));
    s3 = new S3ObjectStore({ client, bucket: 'media', partSizeBytes: 8 * 1024 * 1024 });
    destroy = () => client.destroy();
  });

  afterAll(async () => {
    destroy?.();
    await faux?.stop();
  });

  it('fmp4, VOD, -hls_flags temp_file: segments go up during the encode, master last, same tree', async () => {
    const { out } = await freshRun();
    const store = new RecordingStore(s3);
    const { ffmpegExitedAt } = await encodeAndUpload(out, store, { segmentType: 'fmp4', playlistType: 'vod', tempFile: true }, { deleteUploaded: false });
    await expectOrderedUpload(store, ffmpegExitedAt);
    await expectSameTree(store, out);
    expect(store.records.filter((r) => isSegment(r.key)).length).toBeGreaterThanOrEqual(12);
  }, 60_000);
});
