// The transcode role end to end (issue 4, "Done when"): the real role code through the
// production ports (src/cli.ts productionPorts) on real fauxqs SQS + S3, the real Debian
// ffmpeg, and the PostgREST stand-in that records every request supabase-js sends.
// A message goes in → a playable ladder and poster in S3, rows completed/ready, message
// gone; a redelivered completed job does nothing; a corrupt file fails once and is acked;
// an invalid body goes to the DLQ untouched; a SIGKILLed worker's job is finished by a
// second worker after the visibility timeout, exactly once.
import { spawn, execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, statSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { pino } from 'pino';
import { roleDefinition } from '../../roles/index.js';
import { productionPorts } from '../../src/cli.js';
import { loadConfig } from '../../src/runtime/config/load.js';
import { Metrics } from '../../src/runtime/metrics.js';
import { locateFfmpeg, probe, type FfmpegBinaries } from '../../src/runtime/ffmpeg/index.js';
import type { PostgrestStandin, RecordedRequest, Row } from '../helpers/postgrest-standin.js';
import { cleanEnv, exePath, repoRoot } from '../helpers/binary.js';
import { BUCKET, EMPTY, SERVICE_KEY, makeClip, startRugbyCodex, type Queues, type RugbyCodex, type Upload } from '../helpers/rugbycodex.js';

const TYPES = { m3u8: 'application/vnd.apple.mpegurl', ts: 'video/mp2t', jpg: 'image/jpeg' } as const;

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
const seedUpload = (file: string, name?: string): Promise<Upload> => codex.seedUpload(file, name);
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

async function listAll(prefix = ''): Promise<Listed[]> {
  const out: Listed[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) out.push({ key: o.Key!, etag: o.ETag ?? '', size: o.Size ?? 0, lastModified: o.LastModified?.toISOString() ?? '' });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

async function getText(key: string): Promise<string> {
  const res = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return res.Body!.transformToString();
}

async function download(key: string, file: string): Promise<void> {
  const res = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  await writeFile(file, await res.Body!.transformToByteArray());
}

/** The URIs (non-comment lines) of a playlist. */
const uris = (playlist: string): string[] => playlist.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));

async function entries(dir: string): Promise<string[]> {
  return readdir(dir).catch((err: NodeJS.ErrnoException) => { if (err.code === 'ENOENT') return []; throw err; });
}

function shape(r: RecordedRequest): { method: string; table: string; query: RecordedRequest['query']; prefer: string | undefined; body: unknown } {
  return { method: r.method, table: r.table, query: r.query, prefer: r.headers.prefer, body: r.body };
}

/** A progress write: PATCH of `progress` alone, only ever forward. */
const isProgress = (r: RecordedRequest): boolean =>
  r.method === 'PATCH' && r.table === 'transcode_jobs' && typeof r.body === 'object' && r.body !== null && Object.keys(r.body).join() === 'progress';

function expectServiceKeyOnEveryRequest(requests: readonly RecordedRequest[]): void {
  for (const r of requests) {
    expect({ path: r.path, apikey: r.headers.apikey, authorization: r.headers.authorization, injected: r.injected })
      .toEqual({ path: `/rest/v1/${r.table}`, apikey: SERVICE_KEY, authorization: `Bearer ${SERVICE_KEY}`, injected: false });
  }
}

// ---------------------------------------------------------------------------- tests

describe('transcode role end to end (fauxqs SQS + S3, ffmpeg, PostgREST stand-in)', () => {
  // Case 1 leaves its completed job here for the redelivery case.
  let done: { upload: Upload; queues: Queues; workDir: string } | undefined;

  it('a message in → ladder, poster and master in S3 with their Content-Types, rows ready/completed, exact PostgREST calls, message gone', async () => {
    const queues = await createQueues();
    const upload = await seedUpload(shortClip);
    const workDir = join(tmp, 'work-happy');
    standin.clearRequests();
    await send(queues.queueUrl, upload.body);

    const run = await runRole(queues.queueUrl, workDir, { instanceId: 'worker-happy' });
    expect(run.of('transcode_failed')).toEqual([]);
    expect(run.of('job_started')).toHaveLength(1);
    expect(run.of('transcode_completed')).toHaveLength(1);
    expect(run.of('job_succeeded')).toHaveLength(1);

    // S3: master, one folder per rendition (index.m3u8 + the segments it lists), poster; nothing else new.
    const streaming = `${upload.base}/streaming/`;
    const master = await getText(`${streaming}master.m3u8`);
    const variants = uris(master);
    expect(variants).toEqual(['720p/index.m3u8', '480p/index.m3u8', '360p/index.m3u8']);
    expect(master).toMatch(/^#EXTM3U/);
    expect(master.match(/#EXT-X-STREAM-INF:/g)).toHaveLength(3);
    expect(master).toContain('RESOLUTION=1280x720');

    const objects = await listAll(`${upload.base}/`);
    const keys = objects.map((o) => o.key);
    const expected = [upload.key, `${upload.base}/thumbnails/poster.jpg`, `${streaming}master.m3u8`];
    const segments: Array<{ key: string; rendition: string }> = [];
    for (const variant of variants) {
      const rendition = variant.split('/')[0]!;
      const playlist = await getText(`${streaming}${variant}`);
      expect(playlist).toContain('#EXT-X-ENDLIST');
      expect(playlist).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
      const segs = uris(playlist);
      expect(segs.length).toBeGreaterThanOrEqual(3); // 6 s in ~2 s segments
      for (const seg of segs) {
        expect(seg).toMatch(/\.ts$/);
        segments.push({ key: `${streaming}${rendition}/${seg}`, rendition });
      }
      expected.push(`${streaming}${variant}`, ...segs.map((s) => `${streaming}${rendition}/${s}`));
    }
    expect([...keys].sort()).toEqual([...expected].sort());
    for (const o of objects) expect(o.size).toBeGreaterThan(0);

    // Content-Type of every output object, as S3 will serve it.
    for (const key of keys.filter((k) => k !== upload.key)) {
      const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
      const ext = key.slice(key.lastIndexOf('.') + 1) as keyof typeof TYPES;
      expect({ key, type: head.ContentType }).toEqual({ key, type: TYPES[ext] });
    }

    // Every segment downloaded from S3 is readable by ffprobe at its rendition's size, with audio.
    const heights: Record<string, number> = { '720p': 720, '480p': 480, '360p': 360 };
    const segDir = join(tmp, 'segments-happy');
    await mkdir(segDir, { recursive: true });
    for (const [i, seg] of segments.entries()) {
      const file = join(segDir, `${i}.ts`);
      await download(seg.key, file);
      const info = await probe(bins.ffprobe, file);
      expect({ key: seg.key, height: info.video?.height, codec: info.video?.codecName, audio: info.audio?.codecName })
        .toEqual({ key: seg.key, height: heights[seg.rendition], codec: 'h264', audio: 'aac' });
      expect(info.durationSeconds ?? 0).toBeGreaterThan(0.5);
    }
    const poster = join(segDir, 'poster.jpg');
    await download(`${upload.base}/thumbnails/poster.jpg`, poster);
    expect((await probe(bins.ffprobe, poster)).video).toMatchObject({ width: 1280, height: 720 });

    // Rows: job completed at 100, asset ready with what the player needs.
    expect(standin.row('transcode_jobs', upload.job)).toMatchObject({
      status: 'completed', progress: 100, attempts: 1, worker_id: 'worker-happy', error_code: null, error_message: null,
      started_at: expect.any(String), completed_at: expect.any(String),
    });
    const asset = standin.row('media_assets', upload.asset)!;
    expect(asset).toMatchObject({
      status: 'ready', streaming_path: `${streaming}master.m3u8`, thumbnail_path: `${upload.base}/thumbnails/poster.jpg`,
      width: 1280, height: 720, error_code: null, error_message: null,
    });
    expect(asset.duration_seconds).toBeGreaterThanOrEqual(5.9);
    expect(asset.duration_seconds).toBeLessThan(6.5);
    expect((asset.renditions as Array<Record<string, unknown>>).map((r) => [r.name, r.width, r.height, r.playlist])).toEqual([
      ['720p', 1280, 720, '720p/index.m3u8'], ['480p', 854, 480, '480p/index.m3u8'], ['360p', 640, 360, '360p/index.m3u8'],
    ]);
    for (const r of asset.renditions as Array<Record<string, unknown>>) expect(r.bandwidth).toEqual(expect.any(Number));

    // The exact PostgREST calls: claim (read, conditional update, asset), progress, complete (asset, then job).
    const requests = standin.requests;
    expectServiceKeyOnEveryRequest(requests);
    const progress = requests.filter(isProgress);
    expect(progress.length).toBeGreaterThanOrEqual(1); // the first report is saved at once, later ones every 10 s
    for (const p of progress) {
      const value = (p.body as { progress: number }).progress;
      expect(p.query).toEqual({ id: `eq.${upload.job}`, progress: `lt.${value}` });
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThan(100);
    }
    const firstProgress = requests.indexOf(progress[0]!);
    const lastProgress = requests.indexOf(progress[progress.length - 1]!);
    expect(firstProgress).toBeGreaterThanOrEqual(2);
    expect(lastProgress).toBeLessThan(requests.length - 2);
    const JOB = `eq.${upload.job}`;
    const ASSET = `eq.${upload.asset}`;
    expect(requests.filter((r) => !isProgress(r)).map(shape)).toEqual([
      { method: 'GET', table: 'transcode_jobs', query: { select: 'media_asset_id,status,attempts', id: JOB }, prefer: undefined, body: undefined },
      {
        method: 'PATCH', table: 'transcode_jobs', query: { id: JOB, attempts: 'eq.0', status: 'in.(pending,processing,failed)', select: 'attempts' },
        prefer: 'return=representation',
        body: { status: 'processing', worker_id: 'worker-happy', started_at: expect.any(String), attempts: 1, error_code: null, error_message: null },
      },
      {
        method: 'PATCH', table: 'media_assets', query: { id: ASSET, select: 'org_id' }, prefer: 'return=representation',
        body: { status: 'processing', error_code: null, error_message: null },
      },
      {
        method: 'PATCH', table: 'media_assets', query: { id: ASSET, select: 'id' }, prefer: 'return=representation',
        body: {
          status: 'ready', streaming_path: `${streaming}master.m3u8`, thumbnail_path: `${upload.base}/thumbnails/poster.jpg`,
          duration_seconds: asset.duration_seconds, width: 1280, height: 720, renditions: asset.renditions, error_code: null, error_message: null,
        },
      },
      {
        method: 'PATCH', table: 'transcode_jobs', query: { id: JOB, status: 'in.(processing)', select: 'id' }, prefer: 'return=representation',
        body: { status: 'completed', progress: 100, completed_at: expect.any(String), error_code: null, error_message: null },
      },
    ]);

    // The message is gone: deleted, not in flight, not dead-lettered; the scratch space is empty.
    expect(await depth(queues.queueUrl)).toEqual(EMPTY);
    expect(await depth(queues.dlqUrl)).toEqual(EMPTY);
    expect(await entries(workDir)).toEqual([]);
    done = { upload, queues, workDir };
  }, 60_000);

  it('redelivery of a completed job is acked and does no work: one read, no write, no S3 change', async () => {
    if (!done) throw new Error('needs the completed job of the previous test');
    const { upload, queues, workDir } = done;
    const before = await listAll();
    standin.clearRequests();
    const rowsBefore = { job: standin.row('transcode_jobs', upload.job), asset: standin.row('media_assets', upload.asset) };
    await send(queues.queueUrl, upload.body);

    const run = await runRole(queues.queueUrl, workDir, { instanceId: 'worker-redelivery' });
    expect(run.of('job_started')).toHaveLength(1);
    expect(run.of('transcode_skipped')).toHaveLength(1);
    expect(run.of('transcode_started')).toEqual([]);
    expect(run.of('job_succeeded')).toHaveLength(1); // acked

    expect(standin.requests.map(shape)).toEqual([
      { method: 'GET', table: 'transcode_jobs', query: { select: 'media_asset_id,status,attempts', id: `eq.${upload.job}` }, prefer: undefined, body: undefined },
    ]);
    expectServiceKeyOnEveryRequest(standin.requests);
    expect({ job: standin.row('transcode_jobs', upload.job), asset: standin.row('media_assets', upload.asset) }).toEqual(rowsBefore);
    expect(await listAll()).toEqual(before); // same keys, ETags, sizes, LastModified
    expect(await depth(queues.queueUrl)).toEqual(EMPTY);
    expect(await depth(queues.dlqUrl)).toEqual(EMPTY);
    expect(await entries(workDir)).toEqual([]);
  }, 30_000);

  it('a corrupt file: job and asset failed with INVALID_INPUT, the message acked, no retry, no output', async () => {
    const queues = await createQueues();
    const upload = await seedUpload(corruptFile, 'broken.mp4');
    const workDir = join(tmp, 'work-corrupt');
    standin.clearRequests();
    await send(queues.queueUrl, upload.body);

    const run = await runRole(queues.queueUrl, workDir, { instanceId: 'worker-corrupt' });
    expect(run.of('job_started')).toHaveLength(1); // the handler ran once
    const failed = run.of('transcode_failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ error_code: 'INVALID_INPUT', permanent: true });
    expect(run.of('transcode_completed')).toEqual([]);
    expect(run.of('job_retry')).toEqual([]);
    expect(run.of('job_succeeded')).toHaveLength(1); // a permanent failure is recorded and acked

    const job = standin.row('transcode_jobs', upload.job)!;
    const asset = standin.row('media_assets', upload.asset)!;
    expect(job).toMatchObject({ status: 'failed', error_code: 'INVALID_INPUT', attempts: 1, completed_at: null });
    expect(asset).toMatchObject({ status: 'failed', error_code: 'INVALID_INPUT', streaming_path: null, thumbnail_path: null });
    expect(job.error_message).toEqual(expect.stringMatching(/cannot read the video|no video stream/));
    expect(asset.error_message).toBe(job.error_message);

    const requests = standin.requests;
    expectServiceKeyOnEveryRequest(requests);
    const writes = requests.filter((r) => !isProgress(r)).map(shape);
    expect(writes.map((w) => `${w.method} ${w.table}`)).toEqual([
      'GET transcode_jobs', 'PATCH transcode_jobs', 'PATCH media_assets', 'PATCH media_assets', 'PATCH transcode_jobs',
    ]);
    expect(writes[3]).toMatchObject({ query: { id: `eq.${upload.asset}`, status: 'neq.ready' }, body: { status: 'failed', error_code: 'INVALID_INPUT' } });
    expect(writes[4]).toMatchObject({ query: { id: `eq.${upload.job}`, status: 'in.(pending,processing)' }, body: { status: 'failed', error_code: 'INVALID_INPUT' } });

    expect((await listAll(`${upload.base}/`)).map((o) => o.key)).toEqual([upload.key]);
    expect(await depth(queues.queueUrl)).toEqual(EMPTY); // not released for a retry
    expect(await depth(queues.dlqUrl)).toEqual(EMPTY);
    expect(await entries(workDir)).toEqual([]);
  }, 30_000);

  it('a transient failure is retried after a backoff; on the last allowed receive the rows are marked failed and the message dead-lettered', async () => {
    const queues = await codex.createQueues({ visibilitySeconds: 30, maxReceives: 2 });
    const upload = await seedUpload(shortClip);
    const workDir = join(tmp, 'work-transient');
    standin.clearRequests();
    // Supabase answers 500 to the first two requests: the claim of each delivery. (Not 503:
    // supabase-js itself retries a GET on 503, with 1 s, 2 s, 4 s pauses.)
    standin.failNext(2, { status: 500, message: 'could not connect to the database' });
    await send(queues.queueUrl, upload.body);

    const run = await runRole(queues.queueUrl, workDir, {
      instanceId: 'worker-transient', until: (e) => e.event_type === 'job_failed' || e.event_type === 'job_succeeded',
    });
    const retries = run.of('job_retry');
    expect(retries.map((e) => [e.receive_count, e.delay_seconds])).toEqual([[1, expect.any(Number)]]);
    expect(retries[0]!.delay_seconds).toBeGreaterThanOrEqual(2.5); // 5 s with jitter
    expect(run.of('transcode_failed').map((e) => [e.error_code, e.permanent, e.last_attempt])).toEqual([['DB_ERROR', false, false], ['DB_ERROR', false, true]]);
    expect(run.of('job_failed')).toEqual([expect.objectContaining({ receive_count: 2, permanent: false })]);
    expect(run.of('transcode_started')).toEqual([]); // never got past the claim

    expect(standin.row('transcode_jobs', upload.job)).toMatchObject({ status: 'failed', error_code: 'DB_ERROR', completed_at: null });
    expect(standin.row('media_assets', upload.asset)).toMatchObject({ status: 'failed', error_code: 'DB_ERROR', streaming_path: null });
    expect(String(standin.row('transcode_jobs', upload.job)!.error_message)).toMatch(/HTTP 500.*could not connect to the database/);
    expect(standin.requests.filter((r) => r.injected)).toHaveLength(2);
    expect(await depth(queues.queueUrl)).toEqual(EMPTY);
    const dead = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queues.dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    expect((dead.Messages ?? []).map((m) => m.Body)).toEqual([upload.body]);
    expect((await listAll(`${upload.base}/`)).map((o) => o.key)).toEqual([upload.key]);
    expect(await entries(workDir)).toEqual([]);
  }, 60_000);

  it('invalid message bodies go to the DLQ with the reason, with no database call and no S3 write', async () => {
    const queues = await createQueues();
    const workDir = join(tmp, 'work-invalid');
    const objectsBefore = await listAll();
    standin.clearRequests();
    const missingAsset = JSON.stringify({ job_id: randomUUID(), key: `orgs/${randomUUID()}/uploads/${randomUUID()}/raw/a.mp4` });
    const badKey = JSON.stringify({ job_id: randomUUID(), media_asset_id: randomUUID(), key: 'uploads/elsewhere/a.mp4' });
    await send(queues.queueUrl, missingAsset);
    await send(queues.queueUrl, badKey);

    const run = await runRole(queues.queueUrl, workDir, { instanceId: 'worker-invalid' });
    expect(run.of('message_invalid')).toHaveLength(2);
    expect(run.of('job_started')).toEqual([]);
    expect(standin.requests).toEqual([]);
    expect(await listAll()).toEqual(objectsBefore);
    expect(await depth(queues.queueUrl)).toEqual(EMPTY);

    const letters = new Map<string, string>();
    for (let round = 0; round < 5 && letters.size < 2; round++) {
      const res = await sqs.send(new ReceiveMessageCommand({
        QueueUrl: queues.dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 0, MessageAttributeNames: ['All'],
      }));
      for (const m of res.Messages ?? []) letters.set(m.Body ?? '', m.MessageAttributes?.rugbyworker_reason?.StringValue ?? '');
    }
    expect([...letters.keys()].sort()).toEqual([missingAsset, badKey].sort());
    expect(letters.get(missingAsset)).toMatch(/^invalid message: .*media_asset_id/);
    expect(letters.get(badKey)).toMatch(/^invalid message: .*key.*orgs\/\{org\}\/uploads\/\{id\}\/raw\/\{file\}/);
    expect(await entries(workDir)).toEqual([]);
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
      env: cleanEnv({ ...workerEnv(queues.queueUrl, workA, heartbeat), INSTANCE_ID: 'worker-a', LOG_LEVEL: 'info' }),
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
    expect(standin.row('transcode_jobs', upload.job)).toMatchObject({ status: 'processing', attempts: 1, worker_id: 'worker-a' });
    expect(await depth(queues.queueUrl)).toMatchObject({ visible: 0, inFlight: 1 }); // still leased to the dead worker

    // A's FFmpeg dies with it: run through `setpriv --pdeathsig KILL`, the kernel ends it
    // when A goes. (On its own it would encode on: it ignores SIGPIPE, and nothing in A runs
    // after SIGKILL.) It must not keep the CPU, or upload for a dead worker.
    expect(await waitGone(childrenOfA, 5000)).toEqual([]);

    // Worker B, on the same WORK_DIR, sweeps A's leftovers at start. It polls at once, but
    // gets the message only when A's lease has run out (≤ 5 s after A's last heartbeat,
    // which came at most 2 s before the kill); it stops once acked.
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

    // Exactly once: two claims, one completion, one transcode_completed across both workers.
    const requests = standin.requests;
    expectServiceKeyOnEveryRequest(requests);
    const claims = requests.filter((r) => r.method === 'PATCH' && r.table === 'transcode_jobs' && (r.body as Row).status === 'processing');
    const completions = requests.filter((r) => r.method === 'PATCH' && r.table === 'transcode_jobs' && (r.body as Row).status === 'completed');
    expect(claims.map((r) => (r.body as Row).worker_id)).toEqual(['worker-a', 'worker-b']);
    expect(completions).toHaveLength(1);
    expect(standin.row('transcode_jobs', upload.job)).toMatchObject({ status: 'completed', attempts: 2, progress: 100, worker_id: 'worker-b' });
    expect(standin.row('media_assets', upload.asset)).toMatchObject({ status: 'ready', streaming_path: `${upload.base}/streaming/master.m3u8` });
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `${upload.base}/streaming/master.m3u8` }));
    expect(head.ContentType).toBe(TYPES.m3u8);
    expect(uris(await getText(`${upload.base}/streaming/master.m3u8`))).toEqual(['720p/index.m3u8', '480p/index.m3u8', '360p/index.m3u8']);
    const segs = uris(await getText(`${upload.base}/streaming/720p/index.m3u8`));
    expect(segs.length).toBeGreaterThanOrEqual(14); // 30 s in ~2 s segments, all of them

    expect(await depth(queues.queueUrl)).toEqual(EMPTY);
    expect(await depth(queues.dlqUrl)).toEqual(EMPTY);
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
