// A RugbyCodex deployment in miniature for transcode and cleanup tests: fauxqs (SQS + S3)
// with the media buckets, the PostgREST stand-in on real PostgreSQL holding the live
// tables, and the fixtures a job needs (a queue with its DLQ, an upload with the rows
// complete-upload leaves, the live message, the worker's environment).
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Upload as S3Upload } from '@aws-sdk/lib-storage';
import { execa } from 'execa';
import { awsTestClientConfig, startFauxqs, type LocalServer } from './servers.js';
import { startPostgrestStandin, type PostgrestStandin } from './postgrest-standin.js';

export const SERVICE_KEY = 'service-role-key-for-transcode-tests';
/** The live default bucket (media_assets.bucket), and a second one a row may name. */
export const BUCKET = 'rugbycodex';
export const SECOND_BUCKET = 'rugbycodex-archive';
const T0 = '2026-11-24T10:00:00.000Z';

export interface Queues { queueUrl: string; dlqUrl: string | null }
export interface Upload {
  org: string; asset: string; job: string; key: string; bucket: string;
  /** Where the player looks: {base}{asset}/streaming/ */
  streaming: string;
  /** The message complete-upload sends. */
  body: string;
}
export interface UploadOptions {
  name?: string;
  bucket?: string;
  /** media_assets.base_org_storage_path; default orgs/{org}/uploads/ as the app writes it. */
  base?: string;
}
export interface Depth { visible: number; inFlight: number; delayed: number }
export const EMPTY: Depth = { visible: 0, inFlight: 0, delayed: 0 };

export interface RugbyCodex {
  fauxqs: LocalServer;
  standin: PostgrestStandin;
  s3: S3Client;
  sqs: SQSClient;
  /** A fresh queue whose RedrivePolicy sends to a fresh DLQ after `maxReceives` (none with `redrive: false`). */
  createQueues(opts?: { visibilitySeconds?: number; maxReceives?: number; redrive?: boolean }): Promise<Queues>;
  /** The raw file in its bucket and the rows complete-upload leaves (asset uploaded, job queued). */
  seedUpload(file: string, opts?: UploadOptions): Promise<Upload>;
  depth(queueUrl: string): Promise<Depth>;
  /** The environment an in-process transcode or cleanup worker on this deployment runs with. */
  workerEnv(queueUrl: string, workDir: string, extra?: Record<string, string>): Record<string, string>;
  stop(): Promise<void>;
}

export async function startRugbyCodex(): Promise<RugbyCodex> {
  const [fauxqs, standin] = await Promise.all([startFauxqs(), startPostgrestStandin({ apiKey: SERVICE_KEY })]);
  const s3 = new S3Client(awsTestClientConfig(fauxqs.endpoint));
  const sqs = new SQSClient(awsTestClientConfig(fauxqs.endpoint));
  await Promise.all([BUCKET, SECOND_BUCKET].map((Bucket) => s3.send(new CreateBucketCommand({ Bucket }))));

  return {
    fauxqs, standin, s3, sqs,
    async createQueues({ visibilitySeconds = 30, maxReceives = 3, redrive = true } = {}) {
      const base = `transcode-${randomUUID().slice(0, 8)}`;
      if (!redrive) {
        const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: base, Attributes: { VisibilityTimeout: String(visibilitySeconds) } }))).QueueUrl!;
        return { queueUrl, dlqUrl: null };
      }
      const dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `${base}-dlq` }))).QueueUrl!;
      const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn;
      const queueUrl = (await sqs.send(new CreateQueueCommand({
        QueueName: base,
        Attributes: { VisibilityTimeout: String(visibilitySeconds), RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: maxReceives }) },
      }))).QueueUrl!;
      return { queueUrl, dlqUrl };
    },
    async seedUpload(file, opts = {}) {
      const [org, asset, job] = [randomUUID(), randomUUID(), randomUUID()];
      const name = opts.name ?? 'match.mp4';
      const bucket = opts.bucket ?? BUCKET;
      const key = `orgs/${org}/uploads/${asset}/raw/${name}`;
      const base = opts.base ?? `orgs/${org}/uploads/`;
      await seedTranscodeRows(standin, { asset, org, job, key, bucket, base });
      // Multipart: fauxqs refuses a single PUT of a larger clip.
      await new S3Upload({ client: s3, params: { Bucket: bucket, Key: key, Body: await readFile(file), ContentType: 'video/mp4' } }).done();
      const streaming = `${(base.trim() || `orgs/${org}/uploads/`).replace(/^\/+/, '').replace(/\/?$/, '/')}${asset}/streaming/`;
      return { org, asset, job, key, bucket, streaming, body: liveMessage({ job, asset, org }) };
    },
    async depth(queueUrl) {
      const a = (await sqs.send(new GetQueueAttributesCommand({
        QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
      }))).Attributes ?? {};
      return { visible: Number(a.ApproximateNumberOfMessages ?? 0), inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0), delayed: Number(a.ApproximateNumberOfMessagesDelayed ?? 0) };
    },
    workerEnv(queueUrl, workDir, extra = {}) {
      return {
        QUEUE_BACKEND: 'sqs', SQS_TRANSCODE_QUEUE_URL: queueUrl, AWS_ENDPOINT_URL: fauxqs.endpoint, AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test',
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

/** The body complete-upload sends to the transcode queue. */
export function liveMessage(ids: { job: string; asset: string; org: string }): string {
  return JSON.stringify({ job_id: ids.job, media_id: ids.asset, org_id: ids.org, type: 'transcode' });
}

/** The rows complete-upload leaves for a new upload: the asset `uploaded`, its transcode job `queued`. */
export async function seedTranscodeRows(
  standin: PostgrestStandin,
  ids: { asset: string; org: string; job: string; key: string; bucket?: string; base?: string },
  at = T0,
): Promise<void> {
  await standin.seed('media_assets', {
    id: ids.asset, org_id: ids.org, bucket: ids.bucket ?? BUCKET, storage_path: ids.key, file_name: ids.key.slice(ids.key.lastIndexOf('/') + 1),
    base_org_storage_path: ids.base ?? `orgs/${ids.org}/uploads/`, status: 'uploaded', processing_stage: 'uploaded', duration_seconds: 6, created_at: at,
  });
  await standin.seed('jobs', { id: ids.job, org_id: ids.org, media_asset_id: ids.asset, type: 'transcode', state: 'queued', created_at: at, updated_at: at });
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
