// The drop-in test of the transcode role (issue 8, "Done when"): the shipped executable
// started from an .env with exactly the keys of the live Jetson .env (RUGBYCODEX.md
// §Environment; only endpoints and secrets filled in), fed the messages complete-upload
// sends, against fauxqs SQS + S3 and the PostgREST stand-in on real PostgreSQL holding the
// live tables. One worker run takes: an ordinary upload, one with an empty
// base_org_storage_path in a second bucket, a canceled job, a message whose org_id is not
// the job's, and a corrupt video. Then: every write in RUGBYCODEX.md's order and accepted
// by PostgreSQL, index.m3u8 where get-playback-playlist looks, the storyboard consistent
// with the playlist and the columns, the canceled job untouched, the mismatch
// dead-lettered, the corrupt video failed, and the output playing in Chromium.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { locateFfmpeg } from '../../src/runtime/ffmpeg/index.js';
import { serveHls } from '../../roles/transcode/serve/serve.js';
import { runExe } from '../helpers/binary.js';
import { playInChromium, requireChromium } from '../helpers/browser.js';
import type { RecordedRequest, Row } from '../helpers/postgrest-standin.js';
import { BUCKET, EMPTY, SECOND_BUCKET, SERVICE_KEY, liveMessage, makeClip, startRugbyCodex, type RugbyCodex, type Upload } from '../helpers/rugbycodex.js';

/** The keys of jetson_scripts/.env.example, in its order. */
const LIVE_ENV_KEYS = [
  'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'SQS_TRANSCODE_QUEUE_URL', 'SQS_VISIBILITY_TIMEOUT',
  'SUPABASE_URL', 'SUPABASE_ANON_KEY', 'SUPABASE_SERVICE_ROLE_KEY', 'WASABI_REGION', 'WASABI_ENDPOINT', 'WASABI_KEY', 'WASABI_SECRET',
  'RC_DEVICE_NAME', 'VERBOSE_LOGGING', 'AXIOM_API_TOKEN', 'AXIOM_DATASET', 'AXIOM_ENVIRONMENT',
];
const ANON_KEY = 'anon-key-that-must-never-be-printed';

let codex: RugbyCodex;
let tmp: string;
let clip: string;

beforeAll(async () => {
  requireChromium();
  const bins = await locateFfmpeg(process.env);
  tmp = await mkdtemp(join(tmpdir(), 'rw-live-env-'));
  clip = join(tmp, 'match.mp4');
  [codex] = await Promise.all([startRugbyCodex(), makeClip(bins.ffmpeg, clip, 12)]);
}, 60_000);

afterAll(async () => {
  await codex?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

type LogEvent = Record<string, unknown> & { event_type?: string; job_id?: string };

/** The lifecycle's writes of a row: not progress, not the holder's checks of its hold (jobs writes without a state). */
const stateWrites = (requests: readonly RecordedRequest[], table: string, id: string): Row[] =>
  requests.filter((r) => r.method === 'PATCH' && r.table === table && r.query.id === `eq.${id}` && r.query.processing_stage !== 'in.(uploaded,transcoding)')
    .map((r) => r.body as Row)
    .filter((b) => table !== 'jobs' || 'state' in b);

async function getText(bucket: string, key: string): Promise<string> {
  return (await codex.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString();
}

async function keys(bucket: string, prefix: string): Promise<string[]> {
  const res = await codex.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (res.Contents ?? []).map((o) => o.Key!).sort();
}

describe('the executable as a drop-in for the Python transcode worker', () => {
  it('runs from the live .env and leaves the rows, the player folder and the storyboard as RUGBYCODEX.md says', async () => {
    const queues = await codex.createQueues({ visibilitySeconds: 600 });
    const ordinary = await codex.seedUpload(clip);
    const blankBase = await codex.seedUpload(clip, { bucket: SECOND_BUCKET, base: '' });
    const canceled = await codex.seedUpload(clip);
    await codex.standin.update('jobs', canceled.job, { state: 'canceled' });
    const other = await codex.seedUpload(clip);
    const wrongOrg = liveMessage({ job: other.job, asset: other.asset, org: randomUUID() });
    const corrupt = await codex.seedUpload(clip, { name: 'corrupt.mp4' });
    await codex.s3.send(new (await import('@aws-sdk/client-s3')).PutObjectCommand({ Bucket: BUCKET, Key: corrupt.key, Body: Buffer.alloc(300_000, 7) }));
    const canceledBefore = [await codex.standin.row('jobs', canceled.job), await codex.standin.row('media_assets', canceled.asset)];
    const otherBefore = [await codex.standin.row('jobs', other.job), await codex.standin.row('media_assets', other.asset)];
    for (const body of [ordinary.body, blankBase.body, canceled.body, wrongOrg, corrupt.body]) {
      await codex.sqs.send(new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: body }));
    }

    // The live .env, key for key; only endpoints and secrets filled in.
    const dotenv: Record<string, string> = {
      AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', SQS_TRANSCODE_QUEUE_URL: queues.queueUrl,
      SQS_VISIBILITY_TIMEOUT: '600', SUPABASE_URL: codex.standin.url, SUPABASE_ANON_KEY: ANON_KEY, SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY,
      WASABI_REGION: 'us-east-1', WASABI_ENDPOINT: codex.fauxqs.endpoint, WASABI_KEY: 'test', WASABI_SECRET: 'test',
      RC_DEVICE_NAME: 'jetson-orin-nano-01', VERBOSE_LOGGING: 'false', AXIOM_API_TOKEN: '', AXIOM_DATASET: 'rugbycodex-logs', AXIOM_ENVIRONMENT: 'jetson',
    };
    expect(Object.keys(dotenv)).toEqual(LIVE_ENV_KEYS);
    const cwd = join(tmp, 'jetson_scripts');
    await mkdir(cwd, { recursive: true });
    await writeFile(join(cwd, '.env'), Object.entries(dotenv).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');

    codex.standin.clearRequests();
    // The process environment adds only what the Jetson gets from AWS itself (where SQS is:
    // fauxqs queue URLs name a host that does not resolve) and test pacing.
    const r = await runExe(['--role', 'transcode', '--once'], {
      cwd, timeoutMs: 150_000,
      env: { AWS_ENDPOINT_URL_SQS: codex.fauxqs.endpoint, SQS_LONG_POLL_WAIT_SECONDS: '1', WORK_DIR: join(tmp, 'work') },
    });
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as LogEvent);
    const of = (type: string) => events.filter((e) => e.event_type === type);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.stdout).not.toContain(ANON_KEY);
    expect(r.stdout).not.toContain(SERVICE_KEY);
    expect(of('worker_started')[0]).toMatchObject({ instance_id: 'jetson-orin-nano-01', environment: 'jetson' });
    expect(of('transcode_completed').map((e) => e.job_id).sort()).toEqual([ordinary.job, blankBase.job].sort());

    // PostgreSQL took every request: no unknown column, no bad enum value, no CHECK broken.
    const requests = codex.standin.requests;
    for (const req of requests) expect({ req: `${req.method} ${req.table} ${JSON.stringify(req.body)}`, status: req.status! < 300 }).toEqual({ req: expect.any(String), status: true });

    // Each stage, in RUGBYCODEX.md's order, for both good uploads.
    for (const u of [ordinary, blankBase]) {
      expect(stateWrites(requests, 'jobs', u.job).map((b) => b.state)).toEqual(['running', 'succeeded']);
      expect(stateWrites(requests, 'media_assets', u.asset).map((b) => b.processing_stage ?? (b.streaming_ready ? 'streaming_ready' : '?'))).toEqual(['transcoding', 'transcoded', 'streaming_ready', 'complete']);
      const job = await codex.standin.row('jobs', u.job);
      expect(job).toMatchObject({ state: 'succeeded', progress: 1, attempt: 1, error_code: null, started_at: expect.any(String), finished_at: expect.any(String) });
      const asset = (await codex.standin.row('media_assets', u.asset))!;
      expect(asset).toMatchObject({ status: 'ready', processing_stage: 'complete', streaming_ready: true, transcode_progress: 100 });
    }

    // index.m3u8 where get-playback-playlist looks: {base}{media}/streaming/ in the asset's bucket.
    expect(ordinary.streaming).toBe(`orgs/${ordinary.org}/uploads/${ordinary.asset}/streaming/`);
    expect(blankBase.streaming).toBe(`orgs/${blankBase.org}/uploads/${blankBase.asset}/streaming/`);
    await checkOutput(BUCKET, ordinary);
    await checkOutput(SECOND_BUCKET, blankBase);
    expect(await keys(BUCKET, `orgs/${blankBase.org}/`)).toEqual([]);
    expect(await keys(SECOND_BUCKET, `orgs/${ordinary.org}/`)).toEqual([]);

    // The canceled job and the mismatched message: untouched rows, nothing written for them.
    expect([await codex.standin.row('jobs', canceled.job), await codex.standin.row('media_assets', canceled.asset)]).toEqual(canceledBefore);
    expect([await codex.standin.row('jobs', other.job), await codex.standin.row('media_assets', other.asset)]).toEqual(otherBefore);
    expect(await keys(BUCKET, canceled.streaming)).toEqual([]);
    const dead = await codex.sqs.send(new ReceiveMessageCommand({ QueueUrl: queues.dlqUrl!, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ['All'] }));
    expect((dead.Messages ?? []).map((m) => [m.Body, m.MessageAttributes?.rugbyworker_reason?.StringValue])).toEqual([
      [wrongOrg, expect.stringMatching(new RegExp(`job ${other.job} belongs to org ${other.org}, not `))],
    ]);

    // The corrupt video: job failed with the reason, asset processing_stage failed, acked.
    expect(await codex.standin.row('jobs', corrupt.job)).toMatchObject({ state: 'failed', error_code: 'INVALID_INPUT', error_message: expect.stringContaining(corrupt.key) });
    expect(await codex.standin.row('media_assets', corrupt.asset)).toMatchObject({ processing_stage: 'failed', streaming_ready: false });
    expect(await codex.depth(queues.queueUrl)).toEqual(EMPTY);

    // The output plays in Chromium through index.m3u8, as the player would load it.
    const local = join(tmp, 'played');
    const files: string[] = [];
    for (const key of await keys(BUCKET, ordinary.streaming)) {
      files.push(key.slice(ordinary.streaming.length));
      const file = join(local, files.at(-1)!);
      await mkdir(dirname(file), { recursive: true });
      const body = await codex.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      await writeFile(file, await body.Body!.transformToByteArray());
    }
    const server = await serveHls({ dir: local, files, master: 'index.m3u8' });
    try {
      const played = await playInChromium(server.url, { seconds: 2 });
      expect(played).toMatchObject({ fatal: null, levels: 3 });
      expect(played.currentTime).toBeGreaterThan(2);
    } finally {
      await server.close();
    }
  }, 240_000);
});

/** The player's folder: index.m3u8 → three renditions of .ts segments, the storyboard matching the playlist and the row. */
async function checkOutput(bucket: string, u: Upload): Promise<void> {
  const master = await getText(bucket, `${u.streaming}index.m3u8`);
  const variants = master.split('\n').filter((l) => l && !l.startsWith('#'));
  expect(variants).toEqual(['720p/index.m3u8', '480p/index.m3u8', '360p/index.m3u8']);
  const playlist = await getText(bucket, `${u.streaming}720p/index.m3u8`);
  const durations = [...playlist.matchAll(/^#EXTINF:([\d.]+),/gm)].map((m) => Number(m[1]));
  expect(durations).toEqual([6, 6]); // 12 s in the default 6 s segments
  for (const seg of playlist.split('\n').filter((l) => l && !l.startsWith('#'))) expect(seg).toMatch(/^seg_\d{5}\.ts$/);
  const vtt = await getText(bucket, `${u.streaming}thumbnails/storyboard.vtt`);
  expect(vtt).toBe('WEBVTT\n\n00:00:00.000 --> 00:00:06.000\nstoryboard_000.jpg#xywh=0,0,320,180\n\n00:00:06.000 --> 00:00:12.000\nstoryboard_000.jpg#xywh=320,0,320,180\n');
  const sprite = `${u.streaming}thumbnails/storyboard_000.jpg`;
  expect(await keys(bucket, `${u.streaming}thumbnails/`)).toEqual([`${u.streaming}thumbnails/storyboard.vtt`, sprite].sort());
  expect(await codex.standin.row('media_assets', u.asset)).toMatchObject({
    thumbnail_path: sprite, thumbnail_sprite_path: sprite, thumbnail_vtt_path: `${u.streaming}thumbnails/storyboard.vtt`,
    thumbnail_frame_count: 2, thumbnail_interval_seconds: 6, thumbnail_width: 320, thumbnail_height: 180,
  });
}
