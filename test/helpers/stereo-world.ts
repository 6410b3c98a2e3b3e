// The stereo pipeline's world for end-to-end tests: fauxqs (SQS + S3), dynalite with the three
// tables as upstream's Terraform defines them, the two buckets, and what the tests do in S3's
// and the web UI's place (notifications, uploads, Jobs items, reading results back).
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import {
  CreateQueueCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient,
} from '@aws-sdk/client-sqs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { buildObjectCreatedEvent } from '../../src/domain/s3-event.js';
import { locateFfmpeg, type FfmpegBinaries } from '../../src/runtime/ffmpeg/index.js';
import { awsTestClientConfig, startDynalite, startFauxqs, type LocalServer } from './servers.js';
import { createStereoTables, type CreatedStereoTables } from './stereo-tables.js';

export const INPUT = 'stereo-input';
export const OUTPUT = 'stereo-output';
export const NINETY_DAYS = 90 * 24 * 3600;

export interface QueuePair { url: string; dlq: string }
export interface Probe { frames: number; duration: number; fps: number }

export interface StereoWorld {
  fauxqs: LocalServer;
  dynalite: LocalServer;
  s3: S3Client;
  sqs: SQSClient;
  ddbClient: DynamoDBClient;
  ddb: DynamoDBDocumentClient;
  tables: CreatedStereoTables;
  bins: FfmpegBinaries;
  tmp: string;
  createQueue(name: string, visibilitySeconds: number, maxReceives: number): Promise<QueuePair>;
  depth(queueUrl: string): Promise<number>;
  /** Everything in a DLQ, deleted as read: [body, reason]. */
  drain(queueUrl: string): Promise<Array<[string, string | undefined]>>;
  send(queueUrl: string, body: string): Promise<void>;
  putObject(bucket: string, key: string, body: Buffer): Promise<void>;
  listKeys(bucket: string, prefix: string): Promise<Array<{ key: string; size: number }>>;
  getJob(jobId: string): Promise<Record<string, unknown> | undefined>;
  probeVideo(file: string): Promise<Probe>;
  /** A test clip: 640x360, 30 fps, AAC, a keyframe every second. */
  makeClip(file: string, seconds: number): Promise<void>;
  /** S3 → video-worker notifications, emulated (fauxqs sends none): one event per new object under `prefix` (default segments/). */
  notifySegments(queueUrl: string, prefix?: string): { notified: Map<string, number>; stop(): Promise<void> };
  /** The worker's environment for these servers and tables. */
  workerEnv(queues: { chunking: string; videoWorker: string; reassembly: string }, extra: Record<string, string>): Record<string, string>;
  stop(): Promise<void>;
}

/** What S3 sends the queue for one new object (URL-encoded key). */
export function s3Event(bucket: string, key: string, size: number): string {
  return JSON.stringify(buildObjectCreatedEvent({
    bucket, key, size, eTag: randomUUID().replaceAll('-', ''), region: 'us-east-1', time: new Date(),
    sequencer: Date.now().toString(16).toUpperCase().padStart(16, '0'), configurationId: 'tf-s3-queue',
  }));
}

export async function startStereoWorld(): Promise<StereoWorld> {
  const bins = await locateFfmpeg(process.env);
  const tmp = await mkdtemp(join(tmpdir(), 'rw-stereo-'));
  const [fauxqs, dynalite] = await Promise.all([startFauxqs(), startDynalite()]);
  const s3 = new S3Client(awsTestClientConfig(fauxqs.endpoint));
  const sqs = new SQSClient(awsTestClientConfig(fauxqs.endpoint));
  const ddbClient = new DynamoDBClient(awsTestClientConfig(dynalite.endpoint));
  const ddb = DynamoDBDocumentClient.from(ddbClient);
  await Promise.all([INPUT, OUTPUT].map((Bucket) => s3.send(new CreateBucketCommand({ Bucket }))));
  const tables = await createStereoTables(ddbClient);

  const listKeys: StereoWorld['listKeys'] = async (bucket, prefix) => {
    const out: Array<{ key: string; size: number }> = [];
    let token: string | undefined;
    do {
      const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of r.Contents ?? []) out.push({ key: o.Key!, size: o.Size ?? 0 });
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return out.sort((a, b) => a.key.localeCompare(b.key));
  };
  const send: StereoWorld['send'] = async (QueueUrl, MessageBody) => { await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody })); };

  return {
    fauxqs, dynalite, s3, sqs, ddbClient, ddb, tables, bins, tmp, listKeys, send,
    async createQueue(name, visibilitySeconds, maxReceives) {
      const dlq = (await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }))).QueueUrl!;
      const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
      const url = (await sqs.send(new CreateQueueCommand({
        QueueName: name,
        Attributes: { VisibilityTimeout: String(visibilitySeconds), RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: maxReceives }) },
      }))).QueueUrl!;
      return { url, dlq };
    },
    async depth(queueUrl) {
      const a = (await sqs.send(new GetQueueAttributesCommand({
        QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
      }))).Attributes ?? {};
      return Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) + Number(a.ApproximateNumberOfMessagesDelayed ?? 0);
    },
    async drain(queueUrl) {
      const out: Array<[string, string | undefined]> = [];
      for (;;) {
        const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: ['All'] }));
        if (!r.Messages?.length) return out;
        for (const m of r.Messages) {
          out.push([m.Body!, m.MessageAttributes?.rugbyworker_reason?.StringValue]);
          await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle! }));
        }
      }
    },
    async putObject(bucket, key, body) {
      // Multipart for a larger body: fauxqs refuses one big PUT.
      await new Upload({ client: s3, params: { Bucket: bucket, Key: key, Body: body, ContentType: 'video/mp4' } }).done();
    },
    async getJob(jobId) {
      return (await ddb.send(new GetCommand({ TableName: tables.jobs, Key: { job_id: jobId }, ConsistentRead: true }))).Item;
    },
    async probeVideo(file) {
      const r = await execa(bins.ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-count_packets', '-show_entries', 'stream=nb_read_packets,duration,avg_frame_rate', '-of', 'json', file]);
      const s = (JSON.parse(r.stdout) as { streams: Array<{ nb_read_packets: string; duration: string; avg_frame_rate: string }> }).streams[0]!;
      const [n, d] = s.avg_frame_rate.split('/').map(Number);
      return { frames: Number(s.nb_read_packets), duration: Number(s.duration), fps: n! / d! };
    },
    async makeClip(file, seconds) {
      await execa(bins.ffmpeg, [
        '-hide_banner', '-nostdin', '-v', 'error',
        '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
        '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '30', '-keyint_min', '30', '-sc_threshold', '0',
        '-c:a', 'aac', '-y', file,
      ]);
    },
    notifySegments(queueUrl, prefix = 'segments/') {
      const notified = new Map<string, number>();
      let running = true;
      const loop = (async () => {
        while (running) {
          for (const o of await listKeys(INPUT, prefix)) {
            if (notified.has(o.key)) continue;
            notified.set(o.key, 1);
            await send(queueUrl, s3Event(INPUT, o.key, o.size));
          }
          await new Promise((r) => setTimeout(r, 150));
        }
      })();
      return { notified, stop: async () => { running = false; await loop; } };
    },
    workerEnv(queues, extra) {
      return {
        // Not 'test': the logger masks secret values wherever they appear, s3_test_event included.
        QUEUE_BACKEND: 'sqs', AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'AKIDSTEREOE2E', AWS_SECRET_ACCESS_KEY: 'stereo-e2e-secret-access-key',
        AWS_ENDPOINT_URL: fauxqs.endpoint, AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint, S3_FORCE_PATH_STYLE: 'true',
        CHUNKING_QUEUE_URL: queues.chunking, VIDEO_WORKER_QUEUE_URL: queues.videoWorker, REASSEMBLY_QUEUE_URL: queues.reassembly,
        INPUT_BUCKET_NAME: INPUT, OUTPUT_BUCKET_NAME: OUTPUT,
        JOBS_TABLE_NAME: tables.jobs, SEGMENT_COMPLETIONS_TABLE_NAME: tables.segmentCompletions, REASSEMBLY_TRIGGERED_TABLE_NAME: tables.reassemblyTriggered,
        INFERENCE_BACKEND: 'stub', SQS_LONG_POLL_WAIT_SECONDS: '1',
        ...extra,
      };
    },
    async stop() {
      s3.destroy();
      sqs.destroy();
      ddbClient.destroy();
      await Promise.all([fauxqs.stop(), dynalite.stop()]);
      await rm(tmp, { recursive: true, force: true });
    },
  };
}
