// The transcode role end to end on the live RugbyCodex contract: the real role code through
// the production ports (src/wiring/production-ports.ts) on real fauxqs SQS + S3, the real
// Debian ffmpeg, and the PostgREST stand-in that applies every request supabase-js sends
// to real PostgreSQL holding the live tables (so a wrong column or enum value fails here as
// it fails live) and records them. The live message goes in → index.m3u8 where the player
// looks, the ladder and the storyboard in the asset's bucket, rows in RUGBYCODEX.md's
// order, message gone; finished jobs do nothing; a corrupt file fails the job and the
// asset; a message naming the wrong job is dead-lettered untouched; a SIGKILLed worker's
// job is finished by a second worker after the visibility timeout, exactly once.
import { spawn, execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, statSync, readdirSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { pino } from 'pino';
import { roleDefinition } from '../../roles/index.js';
import { productionPorts } from '../../src/wiring/production-ports.js';
import { loadConfig } from '../../src/runtime/config/load.js';
import { Metrics } from '../../src/runtime/metrics.js';
import { probeOwnOutput } from '../helpers/probe-own-output.js';
import { locateFfmpeg, probe, type FfmpegBinaries } from '../../src/runtime/ffmpeg/index.js';
import type { PostgrestStandin, RecordedRequest, Row } from '../helpers/postgrest-standin.js';
import { cleanEnv, exePath, repoRoot } from '../helpers/binary.js';
import { BUCKET, EMPTY, SECOND_BUCKET, SERVICE_KEY, liveMessage, makeClip, startRugbyCodex, type Queues, type RugbyCodex, type Upload, type UploadOptions } from '../helpers/rugbycodex.js';

const TYPES = { m3u8: 'application/vnd.apple.mpegurl', ts: 'video/mp2t', jpg: 'image/jpeg', vtt: 'text/vtt' } as const;
const JOB_WITH_ASSET = 'id,org_id,media_asset_id,type,state,attempt,started_at,updated_at,payload,media_assets:media_asset_id(id,org_id,bucket,storage_path,base_org_storage_path,processing_stage,status,streaming_ready)';

type LogEvent = Record<string, unknown> & { event_type?: string };

let codex: RugbyCodex;
let standin: PostgrestStandin;
let s3: S3Client;
let sqs: SQSClient;
let bins: FfmpegBinaries;
let tmp: string;
let shortClip: string; // 1280x720, 6 s, 30 fps, with audio
let longClip: string; // 1280x720, 30 s: a job that takes several seconds
let corruptFile: string; // pseudo-random bytes

/** Deterministic garbage (xorshift32), so the corrupt case is the same on every run. */
function garbage(bytes: number, seed = 0x2545f491): Buffer {
  const out = Buffer.alloc(bytes);
  let x = seed;
  for (let i = 0; i < bytes; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

beforeAll(async () => {
  bins = await locateFfmpeg(process.env);
  tmp = await mkdtemp(join(tmpdir(), 'rugbyworker-transcode-role-'));
  codex = await startRugbyCodex();
  ({ standin, s3, sqs } = codex);
  shortClip = join(tmp, 'short.mp4');
  longClip = join(tmp, 'long.mp4');
  corruptFile = join(tmp, 'corrupt.mp4');
  await Promise.all([makeClip(bins.ffmpeg, shortClip, 6), makeClip(bins.ffmpeg, longClip, 30), writeFile(corruptFile, garbage(512 * 1024))]);
}, 60_000);

afterAll(async () => {
  await codex?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------- fixtures

const createQueues = (visibilitySeconds = 30): Promise<Queues> => codex.createQueues({ visibilitySeconds });
const seedUpload = (file: string, opts?: UploadOptions): Promise<Upload> => codex.seedUpload(file, opts);
const workerEnv = (queueUrl: string, workDir: string, extra?: Record<string, string>): Record<string, string> => codex.workerEnv(queueUrl, workDir, extra);
const depth = (url: string) => codex.depth(url);

interface Run {
  events: LogEvent[];
  of(type: string): LogEvent[];
}

/**
 * The transcode role in this process, as runWorkers starts it: productionPorts from the
 * configuration. With `once` (the default) it returns when a receive comes back empty with
 * nothing in flight; with `until`, it keeps polling until a log event matches, then stops.
 */
async function runRole(queueUrl: string, workDir: string, opts: {
  instanceId?: string; env?: Record<string, string>; until?: (e: LogEvent) => boolean;
} = {}): Promise<Run> {
  const config = loadConfig({ env: workerEnv(queueUrl, workDir, opts.env) });
  const events: LogEvent[] = [];
  let matched: () => void = () => undefined;
  const untilMatched = new Promise<void>((resolve) => { matched = resolve; });
  const logger = pino({ level: 'info', base: undefined }, {
    write: (line: string) => {
      const e = JSON.parse(line) as LogEvent;
      events.push(e);
      if (opts.until?.(e)) matched();
    },
  });
  const instanceId = opts.instanceId ?? 'worker-in-process';
  const ports = productionPorts(config, logger);
  const stopping = new AbortController();
  const start = roleDefinition('transcode')?.start;
  if (!start) throw new Error('the transcode role has no start()');
  const service = await start({
    config, instanceId, logger: logger.child({ instance_id: instanceId, role: 'transcode' }), metrics: new Metrics({ instanceId, defaultMetrics: false }),
    stopping: stopping.signal, concurrency: 1, once: !opts.until, ports,
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      opts.until ? untilMatched : service.done ?? Promise.resolve(),
      new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`worker did not finish: ${JSON.stringify(events.slice(-5))}`)), 60_000); }),
    ]);
  } finally {
    clearTimeout(timer);
    stopping.abort();
    await service.stop(AbortSignal.timeout(5000));
    await ports.close();
  }
  return { events, of: (type) => events.filter((e) => e.event_type === type) };
}

async function send(queueUrl: string, body: string): Promise<void> {
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
}

interface Listed { key: string; etag: string; size: number; lastModified: string }

async function listAll(prefix = '', bucket = BUCKET): Promise<Listed[]> {
  const out: Listed[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) out.push({ key: o.Key!, etag: o.ETag ?? '', size: o.Size ?? 0, lastModified: o.LastModified?.toISOString() ?? '' });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

async function getText(key: string, bucket = BUCKET): Promise<string> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return res.Body!.transformToString();
}

async function download(key: string, file: string, bucket = BUCKET): Promise<void> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  await writeFile(file, await res.Body!.transformToByteArray());
}

/** The URIs (non-comment lines) of a playlist. */
const uris = (playlist: string): string[] => playlist.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
const extinf = (playlist: string): number[] => [...playlist.matchAll(/^#EXTINF:([\d.]+),/gm)].map((m) => Number(m[1]));

async function entries(dir: string): Promise<string[]> {
  return readdir(dir).catch((err: NodeJS.ErrnoException) => { if (err.code === 'ENOENT') return []; throw err; });
}

function shape(r: RecordedRequest): { method: string; table: string; query: RecordedRequest['query']; prefer: string | undefined; body: unknown } {
  return { method: r.method, table: r.table, query: r.query, prefer: r.headers.prefer, body: r.body };
}

const bodyKeys = (r: RecordedRequest): string => (typeof r.body === 'object' && r.body !== null ? Object.keys(r.body).sort().join() : '');
/** A progress write: transcode_progress (and transcoding again) of the asset, or progress of the held job. */
const isProgress = (r: RecordedRequest): boolean =>
  r.method === 'PATCH' && ((r.table === 'media_assets' && r.query.processing_stage === 'in.(uploaded,transcoding)') || (r.table === 'jobs' && bodyKeys(r) === 'progress,updated_at'));
/** The holder's heartbeat, or the check of its hold before an asset write: updated_at alone. */
const isHoldWrite = (r: RecordedRequest): boolean => r.method === 'PATCH' && r.table === 'jobs' && bodyKeys(r) === 'updated_at';
const writes = (requests: readonly RecordedRequest[]): RecordedRequest[] => requests.filter((r) => r.method !== 'GET');

function expectServiceKeyOnEveryRequest(requests: readonly RecordedRequest[]): void {
  for (const r of requests) {
    expect({ path: r.path, apikey: r.headers.apikey, authorization: r.headers.authorization, injected: r.injected, status: r.status })
      .toEqual({ path: `/rest/v1/${r.table}`, apikey: SERVICE_KEY, authorization: `Bearer ${SERVICE_KEY}`, injected: false, status: expect.any(Number) });
    expect(r.status).toBeLessThan(300); // PostgreSQL took every request
  }
}

async function deadLetters(dlqUrl: string, want: number): Promise<Map<string, string>> {
  const letters = new Map<string, string>();
  for (let round = 0; round < 5 && letters.size < want; round++) {
    const res = await sqs.send(new ReceiveMessageCommand({
      QueueUrl: dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 0, MessageAttributeNames: ['All'],
    }));
    for (const m of res.Messages ?? []) letters.set(m.Body ?? '', m.MessageAttributes?.rugbyworker_reason?.StringValue ?? '');
  }
  return letters;
}

// ---------------------------------------------------------------------------- tests

describe('transcode role on the live contract (fauxqs SQS + S3, ffmpeg, PostgREST stand-in on PostgreSQL)', () => {
  // Case 1 leaves its succeeded job here for the redelivery case.
  let done: { upload: Upload; queues: Queues; workDir: string } | undefined;

  it('the live message → index.m3u8 where the player looks, ladder + storyboard with their Content-Types, rows in RUGBYCODEX.md order, message gone', async () => {
    const queues = await createQueues();
    const upload = await seedUpload(shortClip);
    const workDir = join(tmp, 'work-happy');
    standin.clearRequests();
    await send(queues.queueUrl, upload.body);

    const run = await runRole(queues.queueUrl, workDir, { instanceId: 'worker-happy' });
    expect(run.of('transcode_failed')).toEqual([]);
    expect(run.of('transcode_completed')).toHaveLength(1);
    expect(run.of('job_succeeded')).toHaveLength(1);

    // S3: index.m3u8 on top, one folder per rendition, the storyboard in thumbnails/; nothing else new.
    const { streaming } = upload;
    expect(streaming).toBe(`orgs/${upload.org}/uploads/${upload.asset}/streaming/`);
    const master = await getText(`${streaming}index.m3u8`);
    const variants = uris(master);
    expect(variants).toEqual(['720p/index.m3u8', '480p/index.m3u8', '360p/index.m3u8']);
    expect(master.match(/#EXT-X-STREAM-INF:/g)).toHaveLength(3);
    const objects = await listAll(`orgs/${upload.org}/`);
    const expected = [upload.key, `${streaming}index.m3u8`, `${streaming}thumbnails/storyboard.vtt`, `${streaming}thumbnails/storyboard_000.jpg`];
    let durations: number[] = [];
    for (const variant of variants) {
      const rendition = variant.split('/')[0]!;
      const playlist = await getText(`${streaming}${variant}`);
      expect(playlist).toContain('#EXT-X-ENDLIST');
      const segs = uris(playlist);
      expect(segs.length).toBe(3); // 6 s in 2 s segments
      for (const seg of segs) expect(seg).toMatch(/^seg_\d{5}\.ts$/); // relative, .ts
      if (rendition === '720p') durations = extinf(playlist);
      expected.push(`${streaming}${variant}`, ...segs.map((s) => `${streaming}${rendition}/${s}`));
    }
    expect(objects.map((o) => o.key).sort()).toEqual([...expected].sort());
    for (const o of objects) {
      expect(o.size).toBeGreaterThan(0);
      if (o.key === upload.key) continue;
      const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: o.key }));
      expect({ key: o.key, type: head.ContentType }).toEqual({ key: o.key, type: TYPES[o.key.slice(o.key.lastIndexOf('.') + 1) as keyof typeof TYPES] });
    }
    const segment = join(tmp, 'seg-happy.ts');
    await download(`${streaming}360p/seg_00000.ts`, segment);
    expect((await probe(bins.ffprobe, segment)).video).toMatchObject({ height: 360, codecName: 'h264' });

    // Storyboard: one 320x180 tile per segment, cue times the playlist's, on a 5x5 sheet.
    const sheet = join(tmp, 'sheet-happy.jpg');
    await download(`${streaming}thumbnails/storyboard_000.jpg`, sheet);
    expect((await probeOwnOutput(bins.ffprobe, sheet)).video).toMatchObject({ width: 1600, height: 900 });
    const vtt = await getText(`${streaming}thumbnails/storyboard.vtt`);
    expect(durations).toEqual([2, 2, 2]);
    expect(vtt).toBe([
      'WEBVTT', '',
      '00:00:00.000 --> 00:00:02.000', 'storyboard_000.jpg#xywh=0,0,320,180', '',
      '00:00:02.000 --> 00:00:04.000', 'storyboard_000.jpg#xywh=320,0,320,180', '',
      '00:00:04.000 --> 00:00:06.000', 'storyboard_000.jpg#xywh=640,0,320,180', '',
    ].join('\n'));

    // Rows as RUGBYCODEX.md leaves them.
    expect(await standin.row('jobs', upload.job)).toMatchObject({
      state: 'succeeded', progress: 1, attempt: 1, error_code: null, error_message: null, started_at: expect.any(String), finished_at: expect.any(String),
      result: { playlist: `${streaming}index.m3u8`, duration_seconds: expect.any(Number), renditions: [
        { name: '720p', width: 1280, height: 720, bandwidth: expect.any(Number) }, { name: '480p', width: 854, height: 480, bandwidth: expect.any(Number) },
        { name: '360p', width: 640, height: 360, bandwidth: expect.any(Number) },
      ] },
    });
    const sprite = `${streaming}thumbnails/storyboard_000.jpg`;
    expect(await standin.row('media_assets', upload.asset)).toMatchObject({
      status: 'ready', processing_stage: 'complete', streaming_ready: true, transcode_progress: 100, bucket: BUCKET,
      thumbnail_path: sprite, thumbnail_sprite_path: sprite, thumbnail_vtt_path: `${streaming}thumbnails/storyboard.vtt`,
      thumbnail_frame_count: 3, thumbnail_interval_seconds: 2, thumbnail_width: 320, thumbnail_height: 180,
    });

    // The exact PostgREST calls, in RUGBYCODEX.md's order (progress writes aside).
    const requests = standin.requests;
    expectServiceKeyOnEveryRequest(requests);
    const J = `eq.${upload.job}`;
    const A = { id: `eq.${upload.asset}`, org_id: `eq.${upload.org}` };
    const claim = requests.find((r) => r.method === 'PATCH' && r.table === 'jobs' && (r.body as Row).state === 'running')!;
    const token = String((claim.body as Row).started_at);
    const held = { id: J, state: 'eq.running', started_at: `eq.${token}`, select: 'id' };
    const progress = requests.filter(isProgress);
    expect(progress.length).toBeGreaterThanOrEqual(2); // the first report is saved at once
    for (const p of progress) {
      if (p.table === 'media_assets') expect(p).toMatchObject({ query: { ...A, processing_stage: 'in.(uploaded,transcoding)', select: 'id' }, body: { processing_stage: 'transcoding' } });
      else expect(p.query).toEqual(held);
    }
    // Before each asset write of the holder, its hold is checked on the job row.
    const holdWrites = requests.filter(isHoldWrite);
    expect(holdWrites.length).toBeGreaterThanOrEqual(3);
    expect(holdWrites.slice(-1)[0]!.query).toEqual({ ...held, state: 'eq.succeeded' });
    for (const w of holdWrites.slice(0, -1)) expect(w.query).toEqual(held);
    expect(requests.filter((r) => !isProgress(r) && !isHoldWrite(r)).map(shape)).toEqual([
      { method: 'GET', table: 'jobs', query: { select: JOB_WITH_ASSET, id: J }, prefer: undefined, body: undefined },
      {
        method: 'PATCH', table: 'jobs', query: { id: J, state: 'eq.queued', select: 'id' }, prefer: 'return=representation',
        body: {
          state: 'running', started_at: token, updated_at: token, attempt: 1, progress: 0, finished_at: null, error_code: null, error_message: null,
          payload: { holder: { message_id: expect.any(String), worker: 'worker-happy' } },
        },
      },
      {
        method: 'PATCH', table: 'media_assets', query: { ...A, processing_stage: 'in.(uploaded,transcoding,transcoded,complete,failed)', select: 'id' }, prefer: 'return=representation',
        body: { processing_stage: 'transcoding', transcode_progress: 0 },
      },
      {
        method: 'PATCH', table: 'media_assets', query: { ...A, processing_stage: 'in.(uploaded,transcoding,transcoded)', select: 'id' }, prefer: 'return=representation',
        body: { processing_stage: 'transcoded', transcode_progress: 100 },
      },
      {
        method: 'PATCH', table: 'media_assets', query: { ...A, processing_stage: 'in.(uploaded,transcoding,transcoded)', select: 'id' }, prefer: 'return=representation',
        body: {
          streaming_ready: true, thumbnail_path: sprite, thumbnail_sprite_path: sprite, thumbnail_vtt_path: `${streaming}thumbnails/storyboard.vtt`,
          thumbnail_frame_count: 3, thumbnail_interval_seconds: 2, thumbnail_width: 320, thumbnail_height: 180,
        },
      },
      {
        method: 'PATCH', table: 'jobs', query: held, prefer: 'return=representation',
        body: { state: 'succeeded', finished_at: expect.any(String), progress: 1, result: expect.any(Object), updated_at: expect.any(String) },
      },
      {
        method: 'PATCH', table: 'media_assets', query: { ...A, processing_stage: 'in.(uploaded,transcoding,transcoded,complete)', select: 'id' }, prefer: 'return=representation',
        body: { processing_stage: 'complete', status: 'ready', streaming_ready: true },
      },
    ]);

    expect(await depth(queues.queueUrl)).toEqual(EMPTY);
    expect(await depth(queues.dlqUrl!)).toEqual(EMPTY);
    expect(await entries(workDir)).toEqual([]);
    done = { upload, queues, workDir };
  }, 60_000);

  it('a redelivered succeeded job and a canceled job are acked with one read each: no write, no S3 change', async () => {
    if (!done) throw new Error('needs the succeeded job of the previous test');
    const { upload, queues, workDir } = done;
    const canceled = await seedUpload(shortClip);
    await standin.update('jobs', canceled.job, { state: 'canceled' });
    const before = [...await listAll(), ...await listAll('', SECOND_BUCKET)];
    const rowsBefore = await Promise.all([standin.row('jobs', upload.job), standin.row('media_assets', upload.asset), standin.row('jobs', canceled.job), standin.row('media_assets', canceled.asset)]);
    standin.clearRequests();
    await send(queues.queueUrl, upload.body);
    await send(queues.queueUrl, canceled.body);

    const run = await runRole(queues.queueUrl, workDir, { instanceId: 'worker-redelivery' });
    expect(run.of('transcode_skipped').map((e) => e.state).sort()).toEqual(['canceled', 'succeeded']);
    expect(run.of('transcode_started')).toEqual([]);
    expect(run.of('job_succeeded')).toHaveLength(2); // acked
    expect(standin.requests.map((r) => `${r.method} ${r.table}`)).toEqual(['GET jobs', 'GET jobs']);
    expectServiceKeyOnEveryRequest(standin.requests);
    expect(await Promise.all([standin.row('jobs', upload.job), standin.row('media_assets', upload.asset), standin.row('jobs', canceled.job), standin.row('media_assets', canceled.asset)])).toEqual(rowsBefore);
    expect([...await listAll(), ...await listAll('', SECOND_BUCKET)]).toEqual(before);
    expect(await depth(queues.queueUrl)).toEqual(EMPTY);
    expect(await depth(queues.dlqUrl!)).toEqual(EMPTY);
  }, 30_000);

  it('an empty base_org_storage_path and a second bucket: read from and written to that bucket, under orgs/{org}/uploads/', async () => {
    const queues = await createQueues();
    const upload = await seedUpload(shortClip, { bucket: SECOND_BUCKET, base: '  ' });
    expect(upload.streaming).toBe(`orgs/${upload.org}/uploads/${upload.asset}/streaming/`);
    await send(queues.queueUrl, upload.body);
    const run = await runRole(queues.queueUrl, join(tmp, 'work-second'), { env: { HLS_RENDITIONS: '360' } });
    expect(run.of('transcode_completed')).toHaveLength(1);
    expect(uris(await getText(`${upload.streaming}index.m3u8`, SECOND_BUCKET))).toEqual(['360p/index.m3u8']);
    expect((await listAll(`${upload.streaming}thumbnails/`, SECOND_BUCKET)).map((o) => o.key.slice(upload.streaming.length)).sort()).toEqual(['thumbnails/storyboard.vtt', 'thumbnails/storyboard_000.jpg']);
    expect(await listAll(`orgs/${upload.org}/`)).toEqual([]); // nothing in the default bucket
    expect(await standin.row('media_assets', upload.asset)).toMatchObject({ processing_stage: 'complete', status: 'ready', streaming_ready: true });
  }, 60_000);

  it('a succeeded job whose asset is not playable (worker stopped between the writes; complete-upload called again): restored when its output is there, nothing else', async () => {
    const queues = await createQueues();
    const upload = await seedUpload(shortClip);
    await standin.update('jobs', upload.job, { state: 'succeeded', progress: 1, started_at: '2026-11-24T10:01:00Z' });
    await standin.update('media_assets', upload.asset, { processing_stage: 'uploaded', status: 'uploaded', streaming_ready: true });
    await codex.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${upload.streaming}index.m3u8`, Body: '#EXTM3U\n' }));
    standin.clearRequests();
    await send(queues.queueUrl, upload.body);
    const run = await runRole(queues.queueUrl, join(tmp, 'work-heal'));
    expect(run.of('transcode_asset_restored')).toHaveLength(1);
    expect(run.of('transcode_started')).toEqual([]);
    expect(writes(standin.requests).map(shape)).toEqual([{
      method: 'PATCH', table: 'media_assets', query: { id: `eq.${upload.asset}`, org_id: `eq.${upload.org}`, processing_stage: 'in.(uploaded,transcoding,transcoded,complete,failed)', select: 'id' },
      prefer: 'return=representation', body: { processing_stage: 'complete', status: 'ready', streaming_ready: true },
    }]);
    // Looked at again once complete-upload's late write could have landed: still playable, done.
    expect(standin.requests.filter((r) => r.method === 'GET')).toHaveLength(2);
    expect(await standin.row('media_assets', upload.asset)).toMatchObject({ processing_stage: 'complete', status: 'ready', streaming_ready: true });
    expect(await standin.row('jobs', upload.job)).toMatchObject({ state: 'succeeded' });
  }, 30_000);

  it('a succeeded job whose asset was moved back and whose output is gone is encoded again, once', async () => {
    const queues = await createQueues();
    const upload = await seedUpload(shortClip);
    await standin.update('jobs', upload.job, { state: 'succeeded', progress: 1, started_at: '2026-11-24T10:01:00Z', finished_at: '2026-11-24T10:02:00Z' });
    await standin.update('media_assets', upload.asset, { processing_stage: 'uploaded', status: 'uploaded', streaming_ready: true });
    await send(queues.queueUrl, upload.body);
    const run = await runRole(queues.queueUrl, join(tmp, 'work-reencode'), { env: { HLS_RENDITIONS: '360' } });
    expect(run.of('transcode_output_missing')).toHaveLength(1);
    expect(run.of('transcode_completed')).toHaveLength(1);
    expect(await standin.row('jobs', upload.job)).toMatchObject({ state: 'succeeded', progress: 1 });
    expect(await standin.row('media_assets', upload.asset)).toMatchObject({ processing_stage: 'complete', status: 'ready', streaming_ready: true });
    expect(uris(await getText(`${upload.streaming}index.m3u8`))).toEqual(['360p/index.m3u8']);
  }, 60_000);

  it('a corrupt file: job failed with INVALID_INPUT, asset processing_stage failed, the message acked, no retry, no output', async () => {
    const queues = await createQueues();
    const upload = await seedUpload(corruptFile, { name: 'broken.mp4' });
    const workDir = join(tmp, 'work-corrupt');
    standin.clearRequests();
    await send(queues.queueUrl, upload.body);

    const run = await runRole(queues.queueUrl, workDir, { instanceId: 'worker-corrupt' });
    expect(run.of('job_started')).toHaveLength(1);
    expect(run.of('transcode_failed')).toEqual([expect.objectContaining({ error_code: 'INVALID_INPUT', permanent: true })]);
    expect(run.of('job_retry')).toEqual([]);
    expect(run.of('job_failed')).toEqual([expect.objectContaining({ permanent: true, recorded: true })]); // a bad input is recorded and acked

    const job = (await standin.row('jobs', upload.job))!;
    expect(job).toMatchObject({ state: 'failed', error_code: 'INVALID_INPUT', attempt: 1, finished_at: expect.any(String) });
    expect(String(job.error_message)).toMatch(new RegExp(`cannot read the video: .*${upload.key.replaceAll('/', '\\/')}`));
    expect(await standin.row('media_assets', upload.asset)).toMatchObject({ processing_stage: 'failed', status: 'failed', streaming_ready: false });
    const failWrites = writes(standin.requests).filter((r) => !isProgress(r)).slice(2).map(shape);
    expect(failWrites).toEqual([
      {
        method: 'PATCH', table: 'jobs', query: { id: `eq.${upload.job}`, state: 'eq.running', started_at: `eq.${String(job.started_at).replace('+00:00', 'Z')}`, select: 'id' },
        prefer: 'return=representation',
        body: { state: 'failed', finished_at: expect.any(String), error_code: 'INVALID_INPUT', error_message: job.error_message, updated_at: expect.any(String) },
      },
      {
        method: 'PATCH', table: 'media_assets', query: { id: `eq.${upload.asset}`, org_id: `eq.${upload.org}`, processing_stage: 'in.(uploaded,transcoding,transcoded)', select: 'id' },
        prefer: 'return=representation', body: { processing_stage: 'failed', status: 'failed' },
      },
    ]);
    expectServiceKeyOnEveryRequest(standin.requests);
    expect((await listAll(`orgs/${upload.org}/`)).map((o) => o.key)).toEqual([upload.key]);
    expect(await depth(queues.queueUrl)).toEqual(EMPTY);
    expect(await depth(queues.dlqUrl!)).toEqual(EMPTY);
    expect(await entries(workDir)).toEqual([]);
  }, 30_000);

  it('a transient failure is retried after a backoff; on the last allowed receive the rows are marked failed and the message dead-lettered', async () => {
    const queues = await codex.createQueues({ visibilitySeconds: 30, maxReceives: 2 });
    const upload = await seedUpload(shortClip);
    const workDir = join(tmp, 'work-transient');
    standin.clearRequests();
    // Supabase answers 500 to the first two requests: the read of each delivery. (Not 503:
    // supabase-js itself retries a GET on 503, with 1 s, 2 s, 4 s pauses.)
    standin.failNext(2, { status: 500, message: 'could not connect to the database' });
    await send(queues.queueUrl, upload.body);

    const run = await runRole(queues.queueUrl, workDir, {
      instanceId: 'worker-transient', until: (e) => e.event_type === 'job_failed' || e.event_type === 'job_succeeded',
    });
    const retries = run.of('job_retry');
    expect(retries.map((e) => e.receive_count)).toEqual([1]);
    expect(retries[0]!.delay_seconds).toBeGreaterThanOrEqual(2.5); // 5 s with jitter
    expect(run.of('transcode_failed').map((e) => [e.error_code, e.permanent, e.last_attempt])).toEqual([['DB_ERROR', false, false], ['DB_ERROR', false, true]]);
    expect(run.of('job_failed')).toEqual([expect.objectContaining({ receive_count: 2, permanent: false })]);
    expect(run.of('transcode_started')).toEqual([]);

    expect(await standin.row('jobs', upload.job)).toMatchObject({ state: 'failed', error_code: 'DB_ERROR', started_at: null });
    expect(String((await standin.row('jobs', upload.job))!.error_message)).toMatch(/HTTP 500.*could not connect to the database/);
    expect(await standin.row('media_assets', upload.asset)).toMatchObject({ processing_stage: 'failed' });
    expect(standin.requests.filter((r) => r.injected)).toHaveLength(2);
    expect(await depth(queues.queueUrl)).toEqual(EMPTY);
    expect([...(await deadLetters(queues.dlqUrl!, 1)).keys()]).toEqual([upload.body]);
    expect(await entries(workDir)).toEqual([]);
  }, 60_000);

  it('invalid bodies, an unknown job and a message whose org_id or media_id differs from the row go to the DLQ with the reason; nothing is written', async () => {
    const queues = await createQueues();
    const upload = await seedUpload(shortClip);
    const rowsBefore = await Promise.all([standin.row('jobs', upload.job), standin.row('media_assets', upload.asset)]);
    const objectsBefore = await listAll();
    standin.clearRequests();
    const bodies = {
      oldShape: JSON.stringify({ job_id: upload.job, media_asset_id: upload.asset, key: upload.key }),
      otherType: JSON.stringify({ job_id: upload.job, media_id: upload.asset, org_id: upload.org, type: 'narration' }),
      notJson: 'transcode please',
      unknownJob: liveMessage({ job: randomUUID(), asset: upload.asset, org: upload.org }),
      otherOrg: liveMessage({ job: upload.job, asset: upload.asset, org: randomUUID() }),
      otherMedia: liveMessage({ job: upload.job, asset: randomUUID(), org: upload.org }),
    };
    for (const body of Object.values(bodies)) await send(queues.queueUrl, body);

    const run = await runRole(queues.queueUrl, join(tmp, 'work-invalid'));
    expect(run.of('message_invalid')).toHaveLength(3);
    expect(run.of('job_failed')).toHaveLength(3);
    expect(run.of('transcode_started')).toEqual([]);
    expect(standin.requests.map((r) => r.method)).toEqual(['GET', 'GET', 'GET']); // the three row checks; no write
    expect(await Promise.all([standin.row('jobs', upload.job), standin.row('media_assets', upload.asset)])).toEqual(rowsBefore);
    expect(await listAll()).toEqual(objectsBefore);
    expect(await depth(queues.queueUrl)).toEqual(EMPTY);

    const letters = await deadLetters(queues.dlqUrl!, 6);
    expect([...letters.keys()].sort()).toEqual(Object.values(bodies).sort());
    expect(letters.get(bodies.oldShape)).toMatch(/^invalid message: .*media_id/);
    expect(letters.get(bodies.otherType)).toMatch(/^invalid message: .*type/);
    expect(letters.get(bodies.notJson)).toMatch(/^invalid message: invalid JSON/);
    expect(letters.get(bodies.unknownJob)).toMatch(/no job .* in jobs/);
    expect(letters.get(bodies.otherOrg)).toMatch(new RegExp(`job ${upload.job} belongs to org ${upload.org}, not `));
    expect(letters.get(bodies.otherMedia)).toMatch(new RegExp(`job ${upload.job} is for media ${upload.asset}, not `));
  }, 30_000);

  it('a queue without a redrive policy: an invalid message is logged with the reason and deleted, not redelivered forever', async () => {
    const queues = await codex.createQueues({ visibilitySeconds: 1, redrive: false });
    await send(queues.queueUrl, JSON.stringify({ job_id: 'not-a-uuid' }));
    const run = await runRole(queues.queueUrl, join(tmp, 'work-no-dlq'));
    expect(run.of('message_discarded')).toEqual([expect.objectContaining({ reason: expect.stringMatching(/^invalid message: .*job_id/) })]);
    await new Promise((r) => setTimeout(r, 1500)); // past the visibility timeout: it would be back if not deleted
    expect(await depth(queues.queueUrl)).toEqual(EMPTY);
  }, 30_000);

  it('a SIGKILLed worker\'s job is finished by a second worker after the visibility timeout, exactly once', async () => {
    const VISIBILITY = 5;
    const heartbeat = { HEARTBEAT_INTERVAL_SECONDS: '2', HEARTBEAT_EXTENSION_SECONDS: String(VISIBILITY) };
    const queues = await createQueues(VISIBILITY);
    const upload = await seedUpload(longClip);
    const workA = join(tmp, 'work-a');
    standin.clearRequests();
    await send(queues.queueUrl, upload.body);

    // Worker A: the built executable when it is up to date with the sources, else the CLI through tsx.
    const worker = workerCommand();
    const a = spawn(worker.file, [...worker.args, '--role', 'transcode'], {
      cwd: worker.cwd,
      env: cleanEnv({ ...workerEnv(queues.queueUrl, workA, heartbeat), RC_DEVICE_NAME: 'worker-a', LOG_LEVEL: 'info' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const eventsA: LogEvent[] = [];
    let stderrA = '';
    a.stderr.setEncoding('utf8').on('data', (c: string) => { stderrA += c; });
    const exitedA = new Promise<NodeJS.Signals | number | null>((resolve) => a.once('exit', (code, signal) => resolve(signal ?? code)));
    // Killed mid-transcode, once the heartbeat has replaced the size-based initial lease (300 s) with a 5 s one.
    const ready = new Promise<void>((resolve, reject) => {
      let buf = '';
      let started = false; let transcoding = false; let shortLease = false;
      a.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        buf += chunk;
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          let e: LogEvent;
          try { e = JSON.parse(line) as LogEvent; } catch { continue; }
          eventsA.push(e);
          if (e.event_type === 'transcode_started') started = true;
          if (e.event_type === 'transcode_progress' && e.phase === 'transcoding') transcoding = true;
          if (e.event_type === 'heartbeat_extended' && e.new_timeout_seconds === VISIBILITY) shortLease = true;
          if (started && transcoding && shortLease) resolve();
        }
      });
      void exitedA.then((how) => reject(new Error(`worker A exited (${String(how)}) before it was killed: ${stderrA}`)));
      setTimeout(() => reject(new Error(`worker A never got going: ${JSON.stringify(eventsA.slice(-5))} ${stderrA}`)), 30_000).unref();
    });
    const { childrenOfA, killedAt } = await (async () => {
      try {
        await ready;
        const children = childPids(a.pid!);
        a.kill('SIGKILL');
        const at = Date.now();
        expect(await exitedA).toBe('SIGKILL');
        return { childrenOfA: children, killedAt: at };
      } finally {
        if (a.exitCode === null && a.signalCode === null) a.kill('SIGKILL');
      }
    })();
    expect(childrenOfA.length).toBeGreaterThanOrEqual(1); // its ffmpeg was running
    expect(eventsA.filter((e) => e.event_type === 'transcode_completed')).toEqual([]);
    expect(eventsA.find((e) => e.event_type === 'worker_started')).toMatchObject({ instance_id: 'worker-a' }); // RC_DEVICE_NAME names it
    expect(await standin.row('jobs', upload.job)).toMatchObject({ state: 'running', attempt: 1 });
    expect(await standin.row('media_assets', upload.asset)).toMatchObject({ processing_stage: 'transcoding' });
    expect(await depth(queues.queueUrl)).toMatchObject({ visible: 0, inFlight: 1 }); // still leased to the dead worker

    // A's FFmpeg dies with it (`setpriv --pdeathsig KILL`): it must not keep the CPU, or upload for a dead worker.
    expect(await waitGone(childrenOfA, 5000)).toEqual([]);

    // Worker B, on the same WORK_DIR, sweeps A's leftovers at start and gets the message
    // once A's lease has run out; it stops once acked.
    const leftByA = await entries(workA);
    expect(leftByA).toHaveLength(1);
    const b = await runRole(queues.queueUrl, workA, {
      instanceId: 'worker-b', env: heartbeat, until: (e) => e.event_type === 'job_succeeded' || e.event_type === 'job_failed' || e.event_type === 'job_retry',
    });
    expect(b.of('job_started').map((e) => e.receive_count)).toEqual([2]);
    const takenAfterMs = (b.of('job_started')[0]!.time as number) - killedAt;
    expect(takenAfterMs).toBeGreaterThan((VISIBILITY - 2.5) * 1000);
    expect(takenAfterMs).toBeLessThan((VISIBILITY + 3) * 1000);
    expect(b.of('job_succeeded')).toHaveLength(1);
    expect(b.of('transcode_started').map((e) => e.attempt)).toEqual([2]);
    expect(b.of('transcode_completed')).toHaveLength(1);
    expect(b.of('job_lease_lost')).toEqual([]);
    expect(b.of('transcode_failed')).toEqual([]);

    // Exactly once: two starts, one success across both workers.
    const requests = standin.requests;
    expectServiceKeyOnEveryRequest(requests);
    const starts = requests.filter((r) => r.method === 'PATCH' && r.table === 'jobs' && (r.body as Row).state === 'running');
    // B took it over from A's token, as A's own message came back.
    expect(starts[1]!.query.state).toBe('eq.running');
    expect(Date.parse(String(starts[1]!.query.started_at).slice(3))).toBe(Date.parse(String((starts[0]!.body as Row).started_at)));
    expect(b.of('transcode_taking_over')).toHaveLength(1);
    const successes = requests.filter((r) => r.method === 'PATCH' && r.table === 'jobs' && (r.body as Row).state === 'succeeded');
    expect(starts.map((r) => (r.body as Row).attempt)).toEqual([1, 2]);
    expect(successes).toHaveLength(1);
    expect(await standin.row('jobs', upload.job)).toMatchObject({ state: 'succeeded', attempt: 2, progress: 1 });
    expect(await standin.row('media_assets', upload.asset)).toMatchObject({ processing_stage: 'complete', status: 'ready', thumbnail_frame_count: 15 });
    expect(uris(await getText(`${upload.streaming}index.m3u8`))).toEqual(['720p/index.m3u8', '480p/index.m3u8', '360p/index.m3u8']);
    expect(uris(await getText(`${upload.streaming}720p/index.m3u8`))).toHaveLength(15); // 30 s in 2 s segments, all of them

    expect(await depth(queues.queueUrl)).toEqual(EMPTY);
    expect(await depth(queues.dlqUrl!)).toEqual(EMPTY);
    expect(b.of('workdir_swept').map((e) => e.dirs)).toEqual([leftByA]);
    expect(await entries(workA)).toEqual([]);
  }, 75_000);
});

// ---------------------------------------------------------------------------- processes

/** dist/rugbyworker-linux-x64 when it exists and is newer than every source file; else src/main.ts through tsx. */
function workerCommand(): { file: string; args: string[]; cwd: string } {
  const exe = exePath();
  if (process.env.FORCE_TSX === undefined && existsSync(exe) && newestSource() < statSync(exe).mtimeMs) return { file: exe, args: [], cwd: tmp };
  return { file: process.execPath, args: ['--import', 'tsx', join(repoRoot, 'src/main.ts')], cwd: repoRoot };
}

function newestSource(): number {
  let newest = 0;
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  walk(join(repoRoot, 'src'));
  walk(join(repoRoot, 'roles'));
  return newest;
}

function childPids(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when there are none
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function waitGone(pids: number[], ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  let left = pids.filter(alive);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    left = left.filter(alive);
  }
  return left;
}
