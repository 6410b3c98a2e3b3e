// A RugbyCodex deployment in miniature for transcode tests: fauxqs (SQS + S3) with the
// media bucket, the PostgREST stand-in with the migration's columns, and the fixtures a
// job needs (a queue with its DLQ, an uploaded raw video with its rows, the worker's env).
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Upload as S3Upload } from '@aws-sdk/lib-storage';
import { execa } from 'execa';
import { MEDIA_COLUMNS } from './media-columns.js';
import { awsTestClientConfig, startFauxqs, type LocalServer } from './servers.js';
import { startPostgrestStandin, type PostgrestStandin } from './postgrest-standin.js';

export const SERVICE_KEY = 'service-role-key-for-transcode-tests';
export const BUCKET = 'rugbycodex-media';
const T0 = '2026-11-24T10:00:00.000Z';

export interface Queues { queueUrl: string; dlqUrl: string }
export interface Upload { org: string; asset: string; job: string; key: string; base: string; body: string }
export interface Depth { visible: number; inFlight: number; delayed: number }
export const EMPTY: Depth = { visible: 0, inFlight: 0, delayed: 0 };

export interface RugbyCodex {
  fauxqs: LocalServer;
  standin: PostgrestStandin;
  s3: S3Client;
  sqs: SQSClient;
  /** A fresh queue whose RedrivePolicy sends to a fresh DLQ after `maxReceives`. */
  createQueues(opts?: { visibilitySeconds?: number; maxReceives?: number }): Promise<Queues>;
  /** Rows as the app leaves them (asset uploaded, job pending) and the raw file in the bucket. */
  seedUpload(file: string, name?: string): Promise<Upload>;
  depth(queueUrl: string): Promise<Depth>;
  /** The environment a transcode worker on this deployment runs with. */
  workerEnv(queueUrl: string, workDir: string, extra?: Record<string, string>): Record<string, string>;
  stop(): Promise<void>;
}

export async function startRugbyCodex(): Promise<RugbyCodex> {
  const [fauxqs, standin] = await Promise.all([startFauxqs(), startPostgrestStandin({ apiKey: SERVICE_KEY, schema: MEDIA_COLUMNS })]);
  const s3 = new S3Client(awsTestClientConfig(fauxqs.endpoint));
  const sqs = new SQSClient(awsTestClientConfig(fauxqs.endpoint));
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));

  return {
    fauxqs, standin, s3, sqs,
    async createQueues({ visibilitySeconds = 30, maxReceives = 3 } = {}) {
      const base = `transcode-${randomUUID().slice(0, 8)}`;
      const dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `${base}-dlq` }))).QueueUrl!;
      const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn;
      const queueUrl = (await sqs.send(new CreateQueueCommand({
        QueueName: base,
        Attributes: { VisibilityTimeout: String(visibilitySeconds), RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: maxReceives }) },
      }))).QueueUrl!;
      return { queueUrl, dlqUrl };
    },
    async seedUpload(file, name = 'match.mp4') {
      const [org, asset, job] = [randomUUID(), randomUUID(), randomUUID()];
      const base = `orgs/${org}/uploads/${asset}`;
      const key = `${base}/raw/${name}`;
      seedTranscodeRows(standin, { asset, org, job, key });
      // Multipart: fauxqs refuses a single PUT of a larger clip.
      await new S3Upload({ client: s3, params: { Bucket: BUCKET, Key: key, Body: await readFile(file), ContentType: 'video/mp4' } }).done();
      return { org, asset, job, key, base, body: JSON.stringify({ job_id: job, media_asset_id: asset, key }) };
    },
    async depth(queueUrl) {
      const a = (await sqs.send(new GetQueueAttributesCommand({
        QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
      }))).Attributes ?? {};
      return { visible: Number(a.ApproximateNumberOfMessages ?? 0), inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0), delayed: Number(a.ApproximateNumberOfMessagesDelayed ?? 0) };
    },
    workerEnv(queueUrl, workDir, extra = {}) {
      return {
        QUEUE_BACKEND: 'sqs', SQS_QUEUE_URL: queueUrl, AWS_ENDPOINT_URL: fauxqs.endpoint, AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', BUCKET_NAME: BUCKET,
        SUPABASE_URL: standin.url, SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY,
        SQS_LONG_POLL_WAIT_SECONDS: '1', HLS_SEGMENT_SECONDS: '2', WORK_DIR: workDir, ...extra,
      };
    },
    async stop() {
      s3.destroy();
      sqs.destroy();
      await Promise.all([fauxqs.stop(), standin.stop()]);
    },
  };
}

/** The rows the app leaves for a new upload: the asset `uploaded`, its transcode job `pending`. */
export function seedTranscodeRows(standin: PostgrestStandin, ids: { asset: string; org: string; job: string; key: string }, at = T0): void {
  standin.seed('media_assets', {
    id: ids.asset, org_id: ids.org, storage_path: ids.key, streaming_path: null, thumbnail_path: null, status: 'uploaded', duration_seconds: null,
    width: null, height: null, renditions: null, error_code: null, error_message: null, created_at: at, updated_at: at,
  });
  standin.seed('transcode_jobs', {
    id: ids.job, media_asset_id: ids.asset, status: 'pending', progress: 0, attempts: 0, worker_id: null, error_code: null, error_message: null,
    started_at: null, completed_at: null, created_at: at, updated_at: at,
  });
}

/** A test clip (testsrc2 + a sine tone, libx264 ultrafast). */
export async function makeClip(ffmpeg: string, file: string, seconds: number, size = '1280x720'): Promise<void> {
  await execa(ffmpeg, [
    '-hide_banner', '-nostdin', '-v', 'error',
    '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=30`,
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-y', file,
  ]);
}
