// Is each configured endpoint reachable with the configured credentials?
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { Socket } from 'node:net';
import { awsOptions, mediaStorageOptions, type AwsClientOptions } from '../../adapters/aws/client-config.js';
import { isAccessDenied } from '../../domain/aws-error-codes.js';
import type { Config } from '../../runtime/config/schema.js';
import { timed, type CheckResult } from './check.js';

const LIMIT_MS = 8000;
const QUEUES = ['SQS_TRANSCODE_QUEUE_URL', 'CHUNKING_QUEUE_URL', 'VIDEO_WORKER_QUEUE_URL', 'REASSEMBLY_QUEUE_URL'] as const;
const BUCKETS = ['INPUT_BUCKET_NAME', 'OUTPUT_BUCKET_NAME'] as const;

export function endpointChecks(config: Config, required: ReadonlySet<string>): Promise<CheckResult>[] {
  const checks: Promise<CheckResult>[] = [];
  if (config.QUEUE_BACKEND === 'sqs') {
    for (const key of QUEUES) {
      const url = config[key];
      if (url) checks.push(timed(`${key} reachable`, required.has(key), LIMIT_MS, () => sqsQueue(awsOptions(config, 'sqs'), url)));
    }
  }
  if (config.QUEUE_BACKEND === 'redis' && config.REDIS_URL) {
    checks.push(timed('REDIS_URL reachable', required.has('REDIS_URL'), LIMIT_MS, () => redisPing(config.REDIS_URL)));
  }
  for (const key of BUCKETS) {
    const bucket = config[key];
    if (bucket) checks.push(timed(`${key} reachable`, required.has(key), LIMIT_MS, () => s3Bucket(awsOptions(config, 's3'), bucket)));
  }
  // The media buckets are named by database rows, so only the endpoint can be checked here.
  if (config.WASABI_ENDPOINT) {
    checks.push(timed('WASABI_ENDPOINT reachable', required.has('WASABI_KEY'), LIMIT_MS, () => http(mediaStorageOptions(config).endpoint ?? config.WASABI_ENDPOINT, {}, [403])));
  }
  if (config.SUPABASE_URL) {
    checks.push(timed('SUPABASE_URL reachable', required.has('SUPABASE_URL'), LIMIT_MS, () => supabase(config.SUPABASE_URL, config.SUPABASE_SERVICE_ROLE_KEY)));
  }
  if (config.AXIOM_API_TOKEN) {
    checks.push(timed('Axiom reachable', false, LIMIT_MS, () => http(`${config.AXIOM_URL}/v1/datasets/${encodeURIComponent(config.AXIOM_DATASET)}`, { Authorization: `Bearer ${config.AXIOM_API_TOKEN}` })));
  }
  if (config.INFERENCE_BACKEND === 'http' && config.INFERENCE_HTTP_URL) {
    checks.push(timed('INFERENCE_HTTP_URL reachable', required.has('INFERENCE_HTTP_URL'), LIMIT_MS, () => http(`${config.INFERENCE_HTTP_URL.replace(/\/$/, '')}/ping`, {})));
  }
  return checks;
}

async function sqsQueue(opts: AwsClientOptions, url: string) {
  const client = new SQSClient({ ...opts, maxAttempts: 1 });
  try {
    const r = await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
    const a = r.Attributes ?? {};
    return { ok: true, detail: `${a.ApproximateNumberOfMessages ?? '?'} waiting, ${a.ApproximateNumberOfMessagesNotVisible ?? '?'} in flight` };
  } catch (err) {
    // Only a policy refusing the read: the queue answered and took the credentials.
    if (isAccessDenied(err)) return { ok: true, detail: 'answers; depth unknown: sqs:GetQueueAttributes refused by the IAM policy' };
    throw err;
  } finally {
    client.destroy();
  }
}

async function s3Bucket(opts: AwsClientOptions, bucket: string) {
  const client = new S3Client({ ...opts, maxAttempts: 1 });
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    return { ok: true, detail: `bucket ${bucket} at ${opts.endpoint ?? `AWS S3 ${opts.region}`}` };
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404) return { ok: false, detail: `bucket ${bucket} does not exist at ${opts.endpoint ?? 'AWS S3'}` };
    if (status === 403) return { ok: false, detail: `access to bucket ${bucket} denied (check the keys)` };
    throw err;
  } finally {
    client.destroy();
  }
}

async function supabase(url: string, key: string) {
  const res = await fetch(`${url.replace(/\/$/, '')}/rest/v1/`, { headers: { apikey: key, Authorization: `Bearer ${key}` }, signal: AbortSignal.timeout(LIMIT_MS) });
  if (res.status === 401 || res.status === 403) return { ok: false, detail: `reachable, but the service role key was rejected (HTTP ${res.status})` };
  return { ok: res.status < 500, detail: `HTTP ${res.status}` };
}

async function http(url: string, headers: Record<string, string>, fine: readonly number[] = []) {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(LIMIT_MS) });
  // An anonymous request to an S3 endpoint is refused with 403: that still proves it answers.
  if (fine.includes(res.status)) return { ok: true, detail: `HTTP ${res.status}` };
  if (res.status === 401 || res.status === 403) return { ok: false, detail: `reachable, but credentials were rejected (HTTP ${res.status})` };
  return { ok: res.status < 500, detail: `HTTP ${res.status}` };
}

// A raw PING keeps ioredis out of the doctor; -NOAUTH still proves the server is there.
function redisPing(redisUrl: string): Promise<{ ok: boolean; detail: string }> {
  const u = new URL(redisUrl);
  return new Promise((resolve, reject) => {
    const sock = new Socket();
    sock.setTimeout(LIMIT_MS, () => { sock.destroy(); reject(new Error('timed out')); });
    sock.once('error', reject);
    sock.connect(Number(u.port || 6379), u.hostname, () => sock.write('PING\r\n'));
    sock.once('data', (buf) => {
      sock.destroy();
      const reply = buf.toString().trim();
      resolve({ ok: reply === '+PONG' || reply.startsWith('-NOAUTH'), detail: `${u.hostname}:${u.port || 6379} answered ${reply}` });
    });
  });
}
