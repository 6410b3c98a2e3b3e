// Issue 20 item 1 on the shipped executable: an "upload" that is a text HLS playlist whose
// entries name a clip on the worker's own disk (file://) and a loopback HTTP service (a
// stand-in for 169.254.169.254 or a local admin port). FFmpeg, left to pick the demuxer,
// follows both and makes them the user's video. Each role that reads an upload must fail the
// job as invalid input with one line saying what the file is, ack it, publish nothing and
// fetch nothing: the transcode queue worker, the one-shot `transcode FILE`, and chunk.
import { createServer, type Server } from 'node:http';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { locateFfmpeg } from '../../src/runtime/ffmpeg/index.js';
import { runExe } from '../helpers/binary.js';
import { EMPTY, makeClip, startRugbyCodex, type RugbyCodex } from '../helpers/rugbycodex.js';
import { INPUT, OUTPUT, s3Event, startStereoWorld, type StereoWorld } from '../helpers/stereo-world.js';

type LogEvent = Record<string, unknown> & { event_type?: string; job_id?: string };

const HLS_REFUSED = 'is an HLS playlist, not a video container';

let tmp: string;
/** The playlist uploaded as the video. */
let playlist: string;
let service: Server;
/** Requests the loopback service got: none may come from FFmpeg. */
const fetched: string[] = [];

beforeAll(async () => {
  const bins = await locateFfmpeg(process.env);
  tmp = await mkdtemp(join(tmpdir(), 'rw-hostile-'));
  const secret = join(tmp, 'worker-private.ts'); // MPEG-TS: what HLS segments are, so FFmpeg plays it through
  await makeClip(bins.ffmpeg, secret, 2, '320x180');
  service = createServer((req, res) => {
    fetched.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'video/mp2t' });
    createReadStream(secret).pipe(res);
  });
  await new Promise<void>((done) => service.listen(0, '127.0.0.1', done));
  const { port } = service.address() as AddressInfo;
  playlist = join(tmp, 'match.mp4');
  await writeFile(playlist, [
    '#EXTM3U', '#EXT-X-TARGETDURATION:2', '#EXT-X-VERSION:3',
    '#EXTINF:2.0,', `file://${secret}`,
    '#EXTINF:2.0,', `http://127.0.0.1:${port}/private/recording.ts`,
    '#EXT-X-ENDLIST', '',
  ].join('\n'));
}, 60_000);

afterAll(async () => {
  await new Promise((done) => service?.close(done));
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const parse = (stdout: string): LogEvent[] => stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogEvent);

describe('transcode', () => {
  let codex: RugbyCodex;
  beforeAll(async () => { codex = await startRugbyCodex(); }, 60_000);
  afterAll(async () => { await codex?.stop(); });

  it('the queue worker: INVALID_INPUT naming the playlist, asset failed, acked, nothing published or fetched', async () => {
    const queues = await codex.createQueues({ visibilitySeconds: 60 });
    const u = await codex.seedUpload(playlist);
    await codex.sqs.send(new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: u.body }));
    const r = await runExe(['--role', 'transcode', '--once'], { env: codex.workerEnv(queues.queueUrl, join(tmp, 'work-transcode'), { HLS_RENDITIONS: '360' }), timeoutMs: 60_000 });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(parse(r.stdout).filter((e) => e.event_type === 'transcode_failed')).toEqual([expect.objectContaining({ error_code: 'INVALID_INPUT', permanent: true })]);
    expect(await codex.standin.row('jobs', u.job)).toMatchObject({ state: 'failed', error_code: 'INVALID_INPUT', error_message: `the upload ${u.key} ${HLS_REFUSED}` });
    expect(await codex.standin.row('media_assets', u.asset)).toMatchObject({ processing_stage: 'failed', streaming_ready: false });
    expect((await codex.s3.send(new ListObjectsV2Command({ Bucket: u.bucket, Prefix: u.streaming }))).Contents ?? []).toEqual([]);
    expect(await codex.depth(queues.queueUrl)).toEqual(EMPTY);
    expect(await codex.depth(queues.dlqUrl!)).toEqual(EMPTY);
    expect(fetched).toEqual([]);
  }, 90_000);

  it('rugbyworker transcode FILE: exit 1, one line naming what the file is, nothing in DIR', async () => {
    const out = join(tmp, 'out-local');
    const r = await runExe(['transcode', playlist, '--out', out, '--renditions', '360'], { cwd: tmp, timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(new RegExp(`^rugbyworker: transcode of .*match\\.mp4 failed: INVALID_INPUT: the upload \\S+/raw/match\\.mp4 ${HLS_REFUSED}$`))]);
    expect(await readdir(out).catch(() => [])).toEqual([]);
    expect(fetched).toEqual([]);
  }, 90_000);
});

describe('stereo chunk', () => {
  let w: StereoWorld;
  beforeAll(async () => { w = await startStereoWorld(); }, 60_000);
  afterAll(async () => { await w?.stop(); });

  it('the job failed with one line, the event acked, no segment and no output made, nothing fetched', async () => {
    const [chunking, videoWorker, reassembly] = await Promise.all(['chunking', 'video-worker', 'reassembly'].map((q) => w.createQueue(`hostile-${q}`, 30, 3)));
    const jobId = randomUUID();
    await w.ddb.send(new PutCommand({ TableName: w.tables.jobs, Item: { job_id: jobId, mode: 'sbs', status: 'created', created_at: Math.floor(Date.now() / 1000) } }));
    const key = `input/${jobId}/source.mp4`;
    const body = await readFile(playlist);
    await w.putObject(INPUT, key, body);
    await w.send(chunking!.url, s3Event(INPUT, key, body.length));
    const env = w.workerEnv({ chunking: chunking!.url, videoWorker: videoWorker!.url, reassembly: reassembly!.url }, { WORK_DIR: join(tmp, 'work-chunk'), CHUNK_SEGMENT_DURATION_SEC: '1' });
    const r = await runExe(['--role', 'chunk', '--once'], { env, timeoutMs: 60_000 });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(parse(r.stdout).filter((e) => e.event_type === 'chunking_failed')).toEqual([expect.objectContaining({ error_message: `${key} ${HLS_REFUSED}` })]);
    expect(await w.getJob(jobId)).toMatchObject({ status: 'failed' });
    expect(await w.listKeys(INPUT, `segments/${jobId}/`)).toEqual([]);
    expect(await w.listKeys(OUTPUT, `jobs/${jobId}/`)).toEqual([]);
    for (const q of [chunking!, videoWorker!, reassembly!]) expect([await w.depth(q.url), await w.depth(q.dlq)]).toEqual([0, 0]);
    expect(fetched).toEqual([]);
  }, 90_000);
});
