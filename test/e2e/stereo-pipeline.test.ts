// The stereo pipeline end to end on the built executable (issue 9, "Tests"): one process
// running `--role chunk,segment-infer,reassemble,trigger` with the stub backend against
// fauxqs (SQS + S3) and dynalite (the three tables as upstream's Terraform defines them).
// fauxqs sends no S3 notifications, so the test plays S3's part: an upload of
// input/{job_id}/source.mp4 sends the ObjectCreated event to the chunking queue, and while
// the worker runs the test lists segments/… in the input bucket and sends one event per new
// object to the video-worker queue, exactly the JSON S3 sends (URL-encoded keys).
//
// One run takes: two good jobs (sbs, anaglyph) to completed; a corrupt source (job failed,
// message acked); a source without a Jobs item (retried, dead-lettered, no item made); a
// segment key whose index is not below its total (dead-lettered with the reason); the
// s3:TestEvent on both S3-fed queues (acked, nothing done); upstream's lost-job cases 1–4
// left in the tables for the trigger reconciler to heal; and, once the first job is
// completed, its chunking event, a segment event and its reassembly message delivered
// again (no second work), a segment of the failed job and reassembly bodies that are not
// {"job_id"}. Then SIGTERM → exit 0. STEREO_E2E_LOG=file keeps the worker's log.
// Not here yet (issue 9): kill -9 mid-chunk / mid-reassembly, every upstream-rejected key,
// the Lambda zip fed a Streams batch twice.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import {
  CreateQueueCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient,
} from '@aws-sdk/client-sqs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { buildObjectCreatedEvent } from '../../src/domain/s3-event.js';
import { locateFfmpeg, type FfmpegBinaries } from '../../src/runtime/ffmpeg/index.js';
import { spawnExe, waitForExit } from '../helpers/binary.js';
import { awsTestClientConfig, startDynalite, startFauxqs, type LocalServer } from '../helpers/servers.js';
import { createStereoTables, type CreatedStereoTables } from '../helpers/stereo-tables.js';

const INPUT = 'stereo-input';
const OUTPUT = 'stereo-output';
const SEGMENT_SECONDS = 2;
const MAX_RECEIVES = 3;
const NINETY_DAYS = 90 * 24 * 3600;

let fauxqs: LocalServer;
let dynalite: LocalServer;
let s3: S3Client;
let sqs: SQSClient;
let ddbClient: DynamoDBClient;
let ddb: DynamoDBDocumentClient;
let tables: CreatedStereoTables;
let bins: FfmpegBinaries;
let tmp: string;
let clip: string;

interface QueuePair { url: string; dlq: string }
type LogEvent = Record<string, unknown> & { event_type?: string; job_id?: string; role?: string };

beforeAll(async () => {
  bins = await locateFfmpeg(process.env);
  tmp = await mkdtemp(join(tmpdir(), 'rw-stereo-'));
  clip = join(tmp, 'clip.mp4');
  // ~7 s, 640x360, 30 fps, with audio; a keyframe every second so the 2 s cuts land on time.
  const made = execa(bins.ffmpeg, [
    '-hide_banner', '-nostdin', '-v', 'error',
    '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', '7', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '30', '-keyint_min', '30', '-sc_threshold', '0',
    '-c:a', 'aac', '-y', clip,
  ]);
  [fauxqs, dynalite] = await Promise.all([startFauxqs(), startDynalite(), made]);
  s3 = new S3Client(awsTestClientConfig(fauxqs.endpoint));
  sqs = new SQSClient(awsTestClientConfig(fauxqs.endpoint));
  ddbClient = new DynamoDBClient(awsTestClientConfig(dynalite.endpoint));
  ddb = DynamoDBDocumentClient.from(ddbClient);
  await Promise.all([INPUT, OUTPUT].map((Bucket) => s3.send(new CreateBucketCommand({ Bucket }))));
  tables = await createStereoTables(ddbClient);
}, 60_000);

afterAll(async () => {
  s3?.destroy();
  sqs?.destroy();
  ddbClient?.destroy();
  await Promise.all([fauxqs?.stop(), dynalite?.stop()]);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function createQueue(name: string, visibilitySeconds: number): Promise<QueuePair> {
  const dlq = (await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }))).QueueUrl!;
  const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  const url = (await sqs.send(new CreateQueueCommand({
    QueueName: name,
    Attributes: { VisibilityTimeout: String(visibilitySeconds), RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: MAX_RECEIVES }) },
  }))).QueueUrl!;
  return { url, dlq };
}

async function depth(queueUrl: string): Promise<number> {
  const a = (await sqs.send(new GetQueueAttributesCommand({
    QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
  }))).Attributes ?? {};
  return Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) + Number(a.ApproximateNumberOfMessagesDelayed ?? 0);
}

/** Everything in a DLQ, deleted as read: [body, reason]. */
async function drain(queueUrl: string): Promise<Array<[string, string | undefined]>> {
  const out: Array<[string, string | undefined]> = [];
  for (;;) {
    const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: ['All'] }));
    if (!r.Messages?.length) return out;
    for (const m of r.Messages) {
      out.push([m.Body!, m.MessageAttributes?.rugbyworker_reason?.StringValue]);
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle! }));
    }
  }
}

/** What S3 sends the queue for one new object. */
function s3Event(bucket: string, key: string, size: number): string {
  return JSON.stringify(buildObjectCreatedEvent({
    bucket, key, size, eTag: randomUUID().replaceAll('-', ''), region: 'us-east-1', time: new Date(),
    sequencer: Date.now().toString(16).toUpperCase().padStart(16, '0'), configurationId: 'tf-s3-queue',
  }));
}

async function putObject(bucket: string, key: string, body: Buffer): Promise<void> {
  // Multipart for a larger body: fauxqs refuses one big PUT.
  await new Upload({ client: s3, params: { Bucket: bucket, Key: key, Body: body, ContentType: 'video/mp4' } }).done();
}

async function listKeys(bucket: string, prefix: string): Promise<Array<{ key: string; size: number }>> {
  const out: Array<{ key: string; size: number }> = [];
  let token: string | undefined;
  do {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of r.Contents ?? []) out.push({ key: o.Key!, size: o.Size ?? 0 });
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  return out.sort((a, b) => a.key.localeCompare(b.key));
}

async function getJob(jobId: string): Promise<Record<string, unknown> | undefined> {
  return (await ddb.send(new GetCommand({ TableName: tables.jobs, Key: { job_id: jobId }, ConsistentRead: true }))).Item;
}

interface Probe { frames: number; duration: number; fps: number }

async function probeVideo(file: string): Promise<Probe> {
  const r = await execa(bins.ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-count_packets', '-show_entries', 'stream=nb_read_packets,duration,avg_frame_rate', '-of', 'json', file]);
  const s = (JSON.parse(r.stdout) as { streams: Array<{ nb_read_packets: string; duration: string; avg_frame_rate: string }> }).streams[0]!;
  const [n, d] = s.avg_frame_rate.split('/').map(Number);
  return { frames: Number(s.nb_read_packets), duration: Number(s.duration), fps: n! / d! };
}

async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined | false>, diag?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${diag ? `\n${diag()}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('stereo pipeline on the built executable', () => {
  it('takes two jobs to completed, fails a corrupt source, dead-letters what cannot be done, and does no work twice', async () => {
    const started = Date.now();
    const [chunking, videoWorker, reassembly] = await Promise.all([
      createQueue('stereo-spot-chunking', 10), createQueue('stereo-spot-video-worker', 10), createQueue('stereo-spot-reassembly', 10),
    ]);

    // What FFmpeg's segment muxer makes of the source.
    const expectedDir = join(tmp, 'expected');
    await mkdir(expectedDir);
    await execa(bins.ffmpeg, ['-hide_banner', '-nostdin', '-v', 'error', '-i', clip, '-map', '0', '-c', 'copy', '-f', 'segment',
      '-segment_time', String(SEGMENT_SECONDS), '-reset_timestamps', '1', join(expectedDir, 'seg_%05d.mp4')]);
    const expectedTotal = (await readdir(expectedDir)).length;
    expect(expectedTotal).toBeGreaterThanOrEqual(3);
    const source = await probeVideo(clip);
    const sourceBytes = await readFile(clip);

    // The Jobs items as the web UI creates them.
    const now = Math.floor(Date.now() / 1000);
    // The second id has a slash, a space and a plus (STEREO-SPOT.md: it may contain '/'): its keys
    // reach the queues URL-encoded ("take+2%2B1"), as S3 sends them.
    const good = [{ jobId: randomUUID(), mode: 'sbs' }, { jobId: `${randomUUID()}/take 2+1`, mode: 'anaglyph' }];
    const corrupt = { jobId: randomUUID(), mode: 'sbs' };
    const orphan = randomUUID(); // a source without a Jobs item
    for (const j of [...good, corrupt]) {
      await ddb.send(new PutCommand({ TableName: tables.jobs, Item: { job_id: j.jobId, mode: j.mode, status: 'created', created_at: now } }));
    }

    // Upstream's lost-job cases (STEREO-SPOT.md), left as they would be found, for the trigger
    // reconciler to heal: (1) chunking_complete recorded after the last completion, no lock;
    // (2) a lock whose reassembly message was never sent (untaken past the grace); (3) a lock
    // taken by a reassembly that died long ago, no final.mp4; (4) completions over 1 MB, two
    // Query pages (upstream counted one). Their segment outputs are the source's first segment.
    const seg0 = join(expectedDir, 'seg_00000.mp4');
    const [seg0Bytes, seg0Probe] = await Promise.all([readFile(seg0), probeVideo(seg0)]);
    const lost = [
      { lostCase: 1, jobId: randomUUID(), total: 1, lock: undefined },
      { lostCase: 2, jobId: randomUUID(), total: 1, lock: { triggered_at: now - 120, ttl: now - 120 + NINETY_DAYS } },
      { lostCase: 3, jobId: randomUUID(), total: 1, lock: { triggered_at: now - 4000, ttl: now - 4000 + NINETY_DAYS, reassembly_started_at: now - 3990 } },
      { lostCase: 4, jobId: randomUUID(), total: 6, lock: undefined, padding: 'x'.repeat(300 * 1024) },
    ];
    for (const l of lost) {
      await ddb.send(new PutCommand({ TableName: tables.jobs, Item: { job_id: l.jobId, mode: 'sbs', status: 'chunking_complete', created_at: now, total_segments: l.total } }));
      for (let i = 0; i < l.total; i++) {
        await putObject(OUTPUT, `jobs/${l.jobId}/segments/${i}.mp4`, seg0Bytes);
        await ddb.send(new PutCommand({ TableName: tables.segmentCompletions, Item: {
          job_id: l.jobId, segment_index: i, output_s3_uri: `s3://${OUTPUT}/jobs/${l.jobId}/segments/${i}.mp4`, completed_at: now, total_segments: l.total,
          ...(l.padding ? { padding: l.padding } : {}),
        } }));
      }
      if (l.lock) await ddb.send(new PutCommand({ TableName: tables.reassemblyTriggered, Item: { job_id: l.jobId, ...l.lock } }));
    }
    const onePage = await ddb.send(new QueryCommand({ TableName: tables.segmentCompletions, KeyConditionExpression: 'job_id = :j', ExpressionAttributeValues: { ':j': lost[3]!.jobId } }));
    expect([onePage.Items?.length, onePage.LastEvaluatedKey === undefined]).toEqual([expect.any(Number), false]);
    expect(onePage.Items!.length).toBeLessThan(6);

    const sourceKey = (id: string): string => `input/${id}/source.mp4`;
    const uploadSource = async (id: string, body: Buffer): Promise<string> => {
      await putObject(INPUT, sourceKey(id), body);
      const ev = s3Event(INPUT, sourceKey(id), body.length);
      await sqs.send(new SendMessageCommand({ QueueUrl: chunking.url, MessageBody: ev }));
      return ev;
    };
    const testEvent = JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Time: new Date().toISOString(), Bucket: INPUT, RequestId: 'R', HostId: 'H' });
    await sqs.send(new SendMessageCommand({ QueueUrl: chunking.url, MessageBody: testEvent }));
    await sqs.send(new SendMessageCommand({ QueueUrl: videoWorker.url, MessageBody: testEvent }));
    // Index 1 of a total of 1: not a segment key.
    const badSegment = s3Event(INPUT, 'segments/j/00001_00001_sbs.mp4', 1234);
    await sqs.send(new SendMessageCommand({ QueueUrl: videoWorker.url, MessageBody: badSegment }));

    const env = {
      // Not 'test': the logger masks secret values wherever they appear, s3_test_event included.
      QUEUE_BACKEND: 'sqs', AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDSTEREOE2E', AWS_SECRET_ACCESS_KEY: 'stereo-e2e-secret-access-key',
      AWS_ENDPOINT_URL: fauxqs.endpoint, AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint, S3_FORCE_PATH_STYLE: 'true',
      CHUNKING_QUEUE_URL: chunking.url, VIDEO_WORKER_QUEUE_URL: videoWorker.url, REASSEMBLY_QUEUE_URL: reassembly.url,
      INPUT_BUCKET_NAME: INPUT, OUTPUT_BUCKET_NAME: OUTPUT,
      JOBS_TABLE_NAME: tables.jobs, SEGMENT_COMPLETIONS_TABLE_NAME: tables.segmentCompletions, REASSEMBLY_TRIGGERED_TABLE_NAME: tables.reassemblyTriggered,
      INFERENCE_BACKEND: 'stub', CHUNK_SEGMENT_DURATION_SEC: String(SEGMENT_SECONDS),
      SQS_LONG_POLL_WAIT_SECONDS: '1', TRIGGER_INTERVAL_SECONDS: '2', HEARTBEAT_INTERVAL_SECONDS: '3', HEARTBEAT_EXTENSION_SECONDS: '10',
      WORK_DIR: join(tmp, 'work'), SHUTDOWN_GRACE_SECONDS: '10',
    };
    const child: ChildProcess = spawnExe(['--role', 'chunk,segment-infer,reassemble,trigger'], { env });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => { stdout += c; });
    child.stderr!.setEncoding('utf8').on('data', (c: string) => { stderr += c; });
    const events = (): LogEvent[] => stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as LogEvent);
    const of = (type: string, jobId?: string): LogEvent[] => events().filter((e) => e.event_type === type && (jobId === undefined || e.job_id === jobId));
    const diag = (): string => `stderr: ${stderr.slice(-2000)}\nstdout tail:\n${stdout.split('\n').slice(-40).join('\n')}`;

    // S3 → video-worker notifications, emulated: one event per new segments/… object.
    const notified = new Map<string, number>();
    let emulating = true;
    const emulator = (async () => {
      while (emulating) {
        for (const o of await listKeys(INPUT, 'segments/')) {
          if (notified.has(o.key)) continue;
          notified.set(o.key, (notified.get(o.key) ?? 0) + 1);
          await sqs.send(new SendMessageCommand({ QueueUrl: videoWorker.url, MessageBody: s3Event(INPUT, o.key, o.size) }));
        }
        await new Promise((r) => setTimeout(r, 150));
      }
    })();

    try {
      const goodEvents = new Map<string, string>();
      for (const j of good) goodEvents.set(j.jobId, await uploadSource(j.jobId, sourceBytes));
      await uploadSource(corrupt.jobId, randomBytes(200_000));
      await uploadSource(orphan, sourceBytes);

      // The two good jobs completed.
      await until('both jobs completed', 60_000, async () => {
        const rows = await Promise.all(good.map((j) => getJob(j.jobId)));
        return rows.every((r) => r?.status === 'completed') || undefined;
      }, diag);

      // The lost jobs healed by the reconciler.
      await until('the lost jobs completed', 30_000, async () => {
        const rows = await Promise.all(lost.map((l) => getJob(l.jobId)));
        return rows.every((r) => r?.status === 'completed') || undefined;
      }, diag);

      // The first job's chunking event again (a redelivery): no second work.
      const segmentsBefore = (await listKeys(INPUT, 'segments/')).length;
      await sqs.send(new SendMessageCommand({ QueueUrl: chunking.url, MessageBody: goodEvents.get(good[0]!.jobId)! }));
      await until('the redelivered chunking event skipped', 15_000, async () => of('chunking_skipped', good[0]!.jobId).length > 0 || undefined, diag);
      // …and a segment event and a reassembly message of the completed job again, a segment of
      // the failed job, and reassembly bodies that are not {"job_id"}.
      const firstSegment = (await listKeys(INPUT, `segments/${good[0]!.jobId}/`))[0]!;
      await sqs.send(new SendMessageCommand({ QueueUrl: videoWorker.url, MessageBody: s3Event(INPUT, firstSegment.key, firstSegment.size) }));
      await sqs.send(new SendMessageCommand({ QueueUrl: reassembly.url, MessageBody: JSON.stringify({ job_id: good[0]!.jobId }) }));
      await until('the corrupt job failed', 20_000, async () => (await getJob(corrupt.jobId))?.status === 'failed' || undefined, diag);
      await sqs.send(new SendMessageCommand({ QueueUrl: videoWorker.url, MessageBody: s3Event(INPUT, `segments/${corrupt.jobId}/00000_00002_sbs.mp4`, 1000) }));
      const badBodies = ['not json', '{"job_id":""}', '{"jobId":"x"}'];
      for (const body of badBodies) await sqs.send(new SendMessageCommand({ QueueUrl: reassembly.url, MessageBody: body }));
      await until('the redeliveries skipped', 15_000, async () => (of('segment_skipped', good[0]!.jobId).length > 0 && of('reassembly_skipped', good[0]!.jobId).length > 0
        && of('segment_skipped', corrupt.jobId).length > 0) || undefined, diag);

      // The orphan's event dead-lettered after its receives.
      await until('the orphan dead-lettered', 40_000, async () => of('job_failed').some((e) => e.job_id === orphan) || undefined, diag);
      // Two trigger passes more, then every queue is idle.
      const passes = of('trigger_pass_completed').length;
      await until('two more trigger passes', 10_000, async () => of('trigger_pass_completed').length >= passes + 2 || undefined, diag);
      await until('the main queues empty', 15_000, async () => {
        const d = await Promise.all([chunking.url, videoWorker.url, reassembly.url].map(depth));
        return d.every((n) => n === 0) || undefined;
      }, diag);
      expect((await listKeys(INPUT, 'segments/')).length).toBe(segmentsBefore);

      // --- the good jobs: every item and object as STEREO-SPOT.md says ---
      for (const j of good) {
        const row = (await getJob(j.jobId))!;
        expect(row).toEqual({
          job_id: j.jobId, mode: j.mode, status: 'completed', created_at: now,
          total_segments: expectedTotal, completed_at: expect.any(Number),
        });
        expect(row.completed_at as number).toBeGreaterThanOrEqual(now);

        const completions = (await ddb.send(new QueryCommand({
          TableName: tables.segmentCompletions, KeyConditionExpression: 'job_id = :j', ExpressionAttributeValues: { ':j': j.jobId }, ConsistentRead: true,
        }))).Items ?? [];
        expect(completions.map((c) => c.segment_index)).toEqual([...Array(expectedTotal).keys()]);
        for (const c of completions) {
          expect(c).toEqual({
            job_id: j.jobId, segment_index: c.segment_index, total_segments: expectedTotal,
            output_s3_uri: `s3://${OUTPUT}/jobs/${j.jobId}/segments/${c.segment_index as number}.mp4`, completed_at: expect.any(Number),
          });
        }

        const lock = (await ddb.send(new GetCommand({ TableName: tables.reassemblyTriggered, Key: { job_id: j.jobId }, ConsistentRead: true }))).Item!;
        expect(lock).toEqual({ job_id: j.jobId, triggered_at: expect.any(Number), ttl: expect.any(Number), reassembly_started_at: expect.any(Number) });
        expect(lock.ttl).toBe((lock.triggered_at as number) + NINETY_DAYS);
        expect(lock.reassembly_started_at as number).toBeGreaterThanOrEqual(lock.triggered_at as number);

        const pad = (n: number): string => String(n).padStart(5, '0');
        const segKeys = (await listKeys(INPUT, `segments/${j.jobId}/`)).map((o) => o.key);
        expect(segKeys).toEqual([...Array(expectedTotal).keys()].map((i) => `segments/${j.jobId}/${pad(i)}_${pad(expectedTotal)}_${j.mode}.mp4`));
        const outKeys = (await listKeys(OUTPUT, `jobs/${j.jobId}/`)).map((o) => o.key);
        expect(outKeys.sort()).toEqual([`jobs/${j.jobId}/final.mp4`, ...[...Array(expectedTotal).keys()].map((i) => `jobs/${j.jobId}/segments/${i}.mp4`)].sort());
        for (const [bucket, key] of [...segKeys.map((k) => [INPUT, k]), ...outKeys.map((k) => [OUTPUT, k])] as Array<[string, string]>) {
          expect([key, (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ContentType]).toEqual([key, 'video/mp4']);
        }

        const finalFile = join(tmp, `final-${good.indexOf(j)}.mp4`);
        const body = await (await s3.send(new GetObjectCommand({ Bucket: OUTPUT, Key: `jobs/${j.jobId}/final.mp4` }))).Body!.transformToByteArray();
        await writeFile(finalFile, body);
        const final = await probeVideo(finalFile);
        expect(final.frames).toBe(source.frames);
        expect(Math.abs(final.duration - source.duration)).toBeLessThanOrEqual(1 / source.fps + 1e-6);

        // Exactly one reassembly per job, and one chunking.
        expect(of('reassembly_triggered', j.jobId)).toHaveLength(1);
        expect(of('reassembly_completed', j.jobId)).toHaveLength(1);
        expect(of('chunking_completed', j.jobId)).toHaveLength(1);
        expect(of('segment_completed', j.jobId)).toHaveLength(expectedTotal);
        expect(of('inference_started', j.jobId)).toHaveLength(expectedTotal);
      }

      // --- the lost jobs: each reassembled once, from every segment ---
      for (const l of lost) {
        const where = `lost-job case ${l.lostCase}`;
        expect([where, await getJob(l.jobId)]).toEqual([where, {
          job_id: l.jobId, mode: 'sbs', status: 'completed', created_at: now, total_segments: l.total, completed_at: expect.any(Number),
        }]);
        const finalFile = join(tmp, `final-lost-${l.lostCase}.mp4`);
        await writeFile(finalFile, await (await s3.send(new GetObjectCommand({ Bucket: OUTPUT, Key: `jobs/${l.jobId}/final.mp4` }))).Body!.transformToByteArray());
        expect([where, (await probeVideo(finalFile)).frames]).toEqual([where, l.total * seg0Probe.frames]);
        const lock = (await ddb.send(new GetCommand({ TableName: tables.reassemblyTriggered, Key: { job_id: l.jobId }, ConsistentRead: true }))).Item!;
        expect([where, lock]).toEqual([where, { job_id: l.jobId, triggered_at: expect.any(Number), ttl: (lock.triggered_at as number) + NINETY_DAYS, reassembly_started_at: expect.any(Number) }]);
        // A new lock (1, 3, 4) or the lost one renewed before its resend (2): triggered now, taken since.
        expect([where, (lock.triggered_at as number) >= now, (lock.reassembly_started_at as number) >= (lock.triggered_at as number)]).toEqual([where, true, true]);
        const counts = ['reassembly_triggered', 'reassembly_resent', 'reassembly_lock_reset', 'reassembly_completed'].map((t) => of(t, l.jobId).length);
        expect([where, counts]).toEqual([where, { 1: [1, 0, 0, 1], 2: [0, 1, 0, 1], 3: [1, 0, 1, 1], 4: [1, 0, 0, 1] }[l.lostCase]]);
        if (l.lostCase !== 2) expect([where, of('reassembly_triggered', l.jobId)[0]!.role]).toEqual([where, 'trigger']);
      }

      // --- the corrupt source: failed once, acked, nothing made ---
      expect(await getJob(corrupt.jobId)).toEqual({ job_id: corrupt.jobId, mode: 'sbs', status: 'failed', created_at: now });
      expect(of('chunking_failed', corrupt.jobId)).toHaveLength(1);
      expect(await listKeys(INPUT, `segments/${corrupt.jobId}/`)).toEqual([]);

      // --- the orphan: no Jobs item was ever made for it ---
      const items = (await ddb.send(new ScanCommand({ TableName: tables.jobs, ConsistentRead: true }))).Items ?? [];
      expect(items.map((i) => i.job_id).sort()).toEqual([...good.map((j) => j.jobId), corrupt.jobId, ...lost.map((l) => l.jobId)].sort());
      expect(of('job_retry').filter((e) => e.job_id === orphan)).toHaveLength(MAX_RECEIVES - 1);

      // --- the S3 test events: acked, nothing done ---
      expect(of('s3_test_event').map((e) => e.role).sort()).toEqual(['chunk', 'segment-infer']);

      // --- the dead letters, each with its reason; nothing else ---
      const deadChunking = await drain(chunking.dlq);
      expect(deadChunking).toEqual([[expect.stringContaining(`input/${orphan}/source.mp4`), expect.stringMatching(new RegExp(`failed on receive ${MAX_RECEIVES} of ${MAX_RECEIVES}: .*job ${orphan} is not in the Jobs table`))]]);
      const deadSegments = await drain(videoWorker.dlq);
      expect(deadSegments).toEqual([[badSegment, expect.stringMatching(/not a segment key: .*(index|total)/i)]]);
      const deadReassembly = await drain(reassembly.dlq);
      expect(deadReassembly.map(([b]) => b).sort()).toEqual([...badBodies].sort());
      for (const [body, reason] of deadReassembly) expect([body, reason]).toEqual([body, expect.stringMatching(/^invalid message: /)]);
      // Each redelivery skipped once, doing nothing.
      expect(of('segment_skipped', good[0]!.jobId)).toHaveLength(1);
      expect(of('reassembly_skipped', good[0]!.jobId)).toHaveLength(1);
      expect(of('segment_skipped', corrupt.jobId)).toHaveLength(1);
      expect(of('message_invalid').filter((e) => e.role === 'reassemble')).toHaveLength(badBodies.length);
      for (const q of [chunking, videoWorker, reassembly]) expect([q.url, await depth(q.url), await depth(q.dlq)]).toEqual([q.url, 0, 0]);
      expect(of('trigger_failed')).toEqual([]);
      expect(events().filter((e) => e.severity === 'error').map((e) => e.event_type).sort()).toEqual(['chunking_failed', 'job_failed', 'job_failed']);
      // One job_id per line: a second (pino writes a child's bindings after its parent's) leaves parsers to pick one.
      expect(stdout.split('\n').filter((l) => (l.match(/"job_id":/g) ?? []).length > 1)).toEqual([]);
    } finally {
      if (process.env.STEREO_E2E_LOG) await writeFile(process.env.STEREO_E2E_LOG, stdout); // the worker's log, to read after a failure
      emulating = false;
      await emulator;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    }
    expect(await waitForExit(child, 20_000)).toBe(0);
    expect(stderr).toBe('');
    process.stdout.write(`stereo e2e: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  }, 120_000);
});
