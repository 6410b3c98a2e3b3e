// Upstream's ecba15e deployment with this image in its two worker tasks, each under its own
// task role unchanged (issue 22, first problem): the media-worker task (`--role
// chunk,reassemble`) and the video-worker task (`--role segment-infer`, INFERENCE_BACKEND
// sagemaker as Terraform's default) started with exactly the environment ecba15e's task
// definitions give them plus one endpoint and credentials, every call through an IAM proxy
// holding that task role's policy (test/fixtures/stereo/task-policies.ts); the trigger is
// the reassembly-trigger Lambda (the built zip) under its own policy, fed by an emulated
// SegmentCompletions stream. The test plays S3 (the two bucket notifications) and the web UI
// (the Jobs item, the upload).
// Before issue 22 the video-worker exited 78 (REASSEMBLY_* not set); given them, it was
// refused UpdateItem on SegmentCompletions on every segment and the job stayed at
// chunking_complete. Here: jobs complete; each task names each permission it goes without
// once, makes no refused call twice and stays healthy; upstream's lost job 1 (every segment
// recorded before chunking_complete) is nudged back to the Lambda; a heartbeat the role
// refuses leaves the queue's visibility as the lease without aborting the job; an invalid
// message is left to the redrive policy.
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { unpackLambda, type UnpackedLambda } from '../helpers/lambda-zip.js';
import { startSegmentCompletionsStream, type StreamTrigger } from '../helpers/segment-completions-stream.js';
import { startSageMakerStandIn, type SageMakerStandIn } from '../helpers/inference-standin.js';
import { startIamProxy, taskPrincipal, type IamProxy } from '../helpers/iam-proxy.js';
import { arn, TEST_SCOPE } from '../helpers/iam-policy.js';
import { INPUT, OUTPUT, s3Event, startStereoWorld, type QueuePair, type StereoWorld } from '../helpers/stereo-world.js';
import { sleep, until } from '../helpers/wait.js';
import { localAccess, startStereoTask, terraformWorld, type StereoTask } from '../helpers/stereo-tasks.js';
import { healthOf, type LogEvent } from '../helpers/worker-process.js';
import { runExe } from '../helpers/binary.js';
import { ECBA15E_MEDIA_WORKER, ECBA15E_REASSEMBLY_TRIGGER_LAMBDA, ECBA15E_VIDEO_WORKER, roleName, taskPolicy } from '../fixtures/stereo/task-policies.js';
import { ECBA15E_MEDIA_WORKER_ENV, ECBA15E_VIDEO_WORKER_ENV } from '../fixtures/stereo/task-environments.js';
import type { TerraformWorld } from '../fixtures/stereo/terraform-world.js';

const ENDPOINT = 'stereo-spot-stereocrafter';
// Short visibilities (upstream's are 900/1800/600 s): without a heartbeat the queue's visibility is the lease.
const VISIBILITY = 20;
const MAX_RECEIVES = 5; // var.dlq_max_receive_count's default

let w: StereoWorld;
let source: Buffer;
let fn: UnpackedLambda;
let sagemaker: SageMakerStandIn;
let queues: { chunking: QueuePair; videoWorker: QueuePair; reassembly: QueuePair };
let world: TerraformWorld;
let media: StereoTask;
let video: StereoTask;
let lambda: { proxy: IamProxy; stream: StreamTrigger };
const stops: Array<() => Promise<unknown>> = [];

const queueArn = (q: QueuePair, dlq = false): string => arn.queue(TEST_SCOPE, `${q.url.split('/').pop()!}${dlq ? '-dlq' : ''}`);

beforeAll(async () => {
  w = await startStereoWorld();
  const clip = join(w.tmp, 'clip.mp4');
  const [chunking, videoWorker, reassembly] = await Promise.all([
    w.createQueue('stereo-spot-chunking', VISIBILITY, MAX_RECEIVES), w.createQueue('stereo-spot-video-worker', VISIBILITY, MAX_RECEIVES),
    w.createQueue('stereo-spot-reassembly', VISIBILITY, MAX_RECEIVES),
  ]);
  queues = { chunking, videoWorker, reassembly };
  [fn, sagemaker] = await Promise.all([unpackLambda(), startSageMakerStandIn({ s3: w.s3, endpointName: ENDPOINT, resultBucket: OUTPUT }), w.makeClip(clip, 2)]) as [UnpackedLambda, SageMakerStandIn, void];
  source = await readFile(clip);
  world = terraformWorld(w, {
    'aws_sqs_queue.chunking': chunking.url, 'aws_sqs_queue.video_worker': videoWorker.url, 'aws_sqs_queue.reassembly': reassembly.url,
    'aws_sagemaker_endpoint.stereocrafter[0]': ENDPOINT,
  });
  const notifier = w.notifySegments(videoWorker.url);
  stops.push(() => notifier.stop());
}, 60_000);

afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
  await Promise.all([sagemaker?.stop(), fn?.remove()]);
  await w?.stop();
}, 60_000);

// The image's own setting (the Dockerfile sets WORK_DIR); a directory per task here.
const image = (): Record<string, string> => ({ WORK_DIR: join(w.tmp, `work-${randomUUID().slice(0, 8)}`) });

async function startVideoWorker(extra: Record<string, string> = {}): Promise<StereoTask> {
  const task = await startStereoTask({
    w, name: 'ecba15e-video-worker', args: ['--role', 'segment-infer'], policy: ECBA15E_VIDEO_WORKER, env: ECBA15E_VIDEO_WORKER_ENV, world,
    targets: { sagemaker: sagemaker.url }, image: { ...image(), ...extra },
  });
  stops.push(() => task.worker.stop(), () => task.proxy.stop());
  return task;
}

/** The Lambda on the SegmentCompletions stream, under its own role with lambda.tf's four variables (AWS_REGION is the runtime's). */
async function startLambda(): Promise<{ proxy: IamProxy; stream: StreamTrigger }> {
  const proxy = await startIamProxy({
    targets: { dynamodb: w.dynalite.endpoint, sqs: w.fauxqs.endpoint },
    policy: taskPolicy(ECBA15E_REASSEMBLY_TRIGGER_LAMBDA, world), principal: taskPrincipal(roleName(ECBA15E_REASSEMBLY_TRIGGER_LAMBDA)),
  });
  const env = {
    JOBS_TABLE_NAME: w.tables.jobs, SEGMENT_COMPLETIONS_TABLE_NAME: w.tables.segmentCompletions,
    REASSEMBLY_TRIGGERED_TABLE_NAME: w.tables.reassemblyTriggered, REASSEMBLY_QUEUE_URL: queues.reassembly.url, AWS_REGION: 'us-east-1',
    ...localAccess(proxy.endpoint),
  };
  const stream = startSegmentCompletionsStream({ ddb: w.ddbClient, table: w.tables.segmentCompletions, fn, env });
  stops.push(() => stream.stop(), () => proxy.stop());
  return { proxy, stream };
}

/** Every permission the worker said it goes without, as "permission on resource". */
const missing = (events: LogEvent[]): string[] => events
  .filter((e) => e.event_type === 'permission_missing' || e.event_type === 'sqs_permission_missing')
  .map((e) => `${String(e.permission)} on ${String(e.resource ?? e.queue)}`);

function diag(): string {
  return [media, video].filter(Boolean).map((t) => `stderr ${t.worker.stderr().slice(-1500)}; last ${JSON.stringify(t.worker.events.slice(-10))}`).join('\n');
}

/** The web UI's Jobs item and upload, and S3's event to the chunking queue. */
async function submitJob(): Promise<string> {
  const jobId = randomUUID();
  await w.ddb.send(new PutCommand({ TableName: w.tables.jobs, Item: { job_id: jobId, mode: 'sbs', status: 'created', created_at: Math.floor(Date.now() / 1000) } }));
  await w.putObject(INPUT, `input/${jobId}/source.mp4`, source);
  await w.send(queues.chunking.url, s3Event(INPUT, `input/${jobId}/source.mp4`, source.length));
  return jobId;
}

async function completed(jobId: string): Promise<Record<string, unknown>> {
  return until(`job ${jobId} completed`, 40_000, async () => {
    const job = await w.getJob(jobId);
    return job?.status === 'completed' ? job : undefined;
  }, diag);
}

describe('ecba15e\'s tasks, each under its unchanged task role', () => {
  it('a job goes from created to completed; each task says once what it goes without, calls nothing refused twice, and stays healthy', async () => {
    media = await startStereoTask({ w, name: 'ecba15e-media-worker', args: ['--role', 'chunk,reassemble'], policy: ECBA15E_MEDIA_WORKER, env: ECBA15E_MEDIA_WORKER_ENV, world, image: image() });
    stops.push(() => media.worker.stop(), () => media.proxy.stop());
    video = await startVideoWorker();
    lambda = await startLambda();
    // Exactly upstream's variables, plus the endpoint, the credentials and the image's WORK_DIR.
    expect(Object.keys(video.env).sort()).toEqual([
      'AWS_ACCESS_KEY_ID', 'AWS_ENDPOINT_URL', 'AWS_REGION', 'AWS_SECRET_ACCESS_KEY', 'INFERENCE_BACKEND', 'INPUT_BUCKET_NAME', 'JOBS_TABLE_NAME',
      'OUTPUT_BUCKET_NAME', 'SAGEMAKER_ENDPOINT_NAME', 'SAGEMAKER_REGION', 'SEGMENT_COMPLETIONS_TABLE_NAME', 'VIDEO_WORKER_QUEUE_URL', 'WORK_DIR',
    ]);
    for (const t of [media, video]) await t.worker.waitFor((e) => e.event_type === 'consumer_started', 20_000).catch((err: Error) => { throw new Error(`${err.message}\n${diag()}`); });
    await media.worker.waitFor((e) => e.event_type === 'consumer_started' && e.role === 'reassemble', 20_000);

    const jobId = await submitJob();
    expect(await completed(jobId)).toEqual(expect.objectContaining({ status: 'completed', total_segments: 1, completed_at: expect.any(Number) }));
    const final = await w.s3.send(new GetObjectCommand({ Bucket: OUTPUT, Key: `jobs/${jobId}/final.mp4` }));
    expect(Number(final.ContentLength)).toBeGreaterThan(1000);
    // The completion as upstream's video-worker writes it (PutItem), and the Lambda's one trigger.
    const completions = (await w.ddb.send(new QueryCommand({ TableName: w.tables.segmentCompletions, KeyConditionExpression: 'job_id = :j', ExpressionAttributeValues: { ':j': jobId } }))).Items;
    expect(completions).toEqual([{ job_id: jobId, segment_index: 0, output_s3_uri: `s3://${OUTPUT}/jobs/${jobId}/segments/0.mp4`, completed_at: expect.any(Number), total_segments: 1 }]);
    const lambdaEvents = lambda.stream.runs.flatMap((r) => r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogEvent));
    expect(lambdaEvents.filter((e) => e.event_type === 'reassembly_triggered').map((e) => e.job_id)).toEqual([jobId]);

    // What each task goes without, said once; the refused calls made once each (probes and
    // the DLQ's GetQueueUrl at start-up), never again.
    expect(missing(media.worker.events).sort()).toEqual([
      'sqs:GetQueueUrl on stereo-spot-chunking-dlq', 'sqs:GetQueueUrl on stereo-spot-reassembly-dlq', 'sqs:SendMessage on REASSEMBLY_QUEUE_URL',
    ]);
    expect(missing(video.worker.events)).toEqual(['sqs:GetQueueUrl on stereo-spot-video-worker-dlq']);
    expect(video.worker.events.filter((e) => e.event_type === 'inline_trigger_off').map((e) => e.reason)).toEqual(['REASSEMBLY_QUEUE_URL is not set']);
    expect(media.proxy.denied().sort()).toEqual([
      `sqs:GetQueueUrl on ${queueArn(queues.chunking, true)}`, `sqs:GetQueueUrl on ${queueArn(queues.reassembly, true)}`, `sqs:SendMessage on ${queueArn(queues.reassembly)}`,
    ]);
    expect(media.proxy.calls.filter((c) => !c.allowed)).toHaveLength(3);
    expect(video.proxy.calls.filter((c) => !c.allowed).map((c) => `${c.action} on ${c.resource}`)).toEqual([`sqs:GetQueueUrl on ${queueArn(queues.videoWorker, true)}`]);
    expect(lambda.proxy.denied()).toEqual([]);
    for (const t of [media, video]) expect(await healthOf(t.worker.health)).toEqual({ status: 200, failing: [] });
  }, 60_000);

  it('upstream\'s lost job 1: every segment recorded before chunking_complete; chunk writes the last completion again and the Lambda triggers', async () => {
    // chunking_complete held back until the segment's completion is recorded (and streamed to the Lambda, which then sees chunking_in_progress).
    const gate = media.proxy.hold((checks, body) => checks.some((c) => c.action === 'dynamodb:UpdateItem' && c.resource.endsWith(`table/${w.tables.jobs}`)) && body.includes('chunking_complete'));
    const jobId = await submitJob();
    await gate.held;
    const recorded = await until('the completion', 20_000, async () => (await w.ddb.send(new QueryCommand({
      TableName: w.tables.segmentCompletions, KeyConditionExpression: 'job_id = :j', ExpressionAttributeValues: { ':j': jobId }, ConsistentRead: true,
    }))).Items?.[0], diag);
    const runs = lambda.stream.runs.length;
    await until('the Lambda to see the completion', 10_000, async () => lambda.stream.runs.length > runs);
    gate.release();

    await completed(jobId);
    const nudged = await media.worker.waitFor((e) => e.event_type === 'trigger_stream_nudged' && e.job_id === jobId, 1000);
    expect(nudged.segment_index).toBe(0);
    const [again] = (await w.ddb.send(new QueryCommand({ TableName: w.tables.segmentCompletions, KeyConditionExpression: 'job_id = :j', ExpressionAttributeValues: { ':j': jobId } }))).Items!;
    expect(again).toEqual({ ...recorded, completed_at: expect.any(Number) });
    expect(again!.completed_at).toBeGreaterThan(recorded.completed_at as number);
    expect(media.proxy.calls.filter((c) => !c.allowed)).toHaveLength(3); // nothing new refused
  }, 60_000);

  it('without ChangeMessageVisibility a long segment keeps going on the queue\'s visibility (not aborted), and an invalid message is left to the redrive policy', async () => {
    await video.worker.stop();
    // One deviation from upstream's environment: a heartbeat due within the test (default 240 s).
    video = await startVideoWorker({ HEARTBEAT_INTERVAL_SECONDS: '1', HEARTBEAT_EXTENSION_SECONDS: '3' });
    await video.worker.waitFor((e) => e.event_type === 'consumer_started', 20_000);
    // The completion held for 5 s, past the heartbeat's extension (3 s), within the queue's visibility (20 s).
    const slow = video.proxy.hold((checks) => checks.some((c) => c.action === 'dynamodb:PutItem'));
    const jobId = await submitJob();
    await slow.held;
    await sleep(5000);
    slow.release();
    await completed(jobId);
    const ofJob = video.worker.events.filter((e) => e.job_id === jobId);
    expect(ofJob.filter((e) => e.event_type === 'heartbeat_unavailable')).toHaveLength(1);
    expect(ofJob.filter((e) => ['job_lease_lost', 'heartbeat_failed', 'job_retry', 'heartbeat_retry'].includes(String(e.event_type)))).toEqual([]);
    expect(ofJob.filter((e) => e.event_type === 'job_succeeded')).toHaveLength(1);

    // A segment key upstream's parser rejects: neither sent to the DLQ (the role may not) nor deleted.
    await w.send(queues.videoWorker.url, s3Event(INPUT, 'segments/not-a-segment.mp4', 10));
    const left = await video.worker.waitFor((e) => e.event_type === 'sqs_message_left_for_redrive', 15_000);
    expect(left).toEqual(expect.objectContaining({ receive_count: 1, max_receive_count: MAX_RECEIVES }));
    expect(await w.depth(queues.videoWorker.url)).toBe(1);
    expect(await w.depth(queues.videoWorker.dlq)).toBe(0);

    expect(missing(video.worker.events).sort()).toEqual(['sqs:ChangeMessageVisibility on stereo-spot-video-worker', 'sqs:GetQueueUrl on stereo-spot-video-worker-dlq']);
    const cmv = video.worker.events.find((e) => e.permission === 'sqs:ChangeMessageVisibility')!;
    expect([cmv.severity, cmv.required]).toEqual(['warning', false]);
    // The heartbeat's refusal asked once; the dead-letter path knew it already.
    expect(video.proxy.calls.filter((c) => !c.allowed).map((c) => c.action).sort()).toEqual(['sqs:ChangeMessageVisibility', 'sqs:GetQueueUrl']);
    expect(video.proxy.calls.some((c) => c.action === 'sqs:SendMessage')).toBe(false);
    expect(await healthOf(video.worker.health)).toEqual({ status: 200, failing: [] });
  }, 60_000);

  it('doctor --role chunk,reassemble and --role segment-infer in those tasks: what is present, what is missing and what the role does without; ready', async () => {
    const [m, v] = await Promise.all([
      runExe(['doctor', '--role', 'chunk,reassemble'], { env: media.env, timeoutMs: 30_000 }),
      runExe(['doctor', '--role', 'segment-infer'], { env: video.env, timeoutMs: 30_000 }),
    ]);
    const lines = (out: string, mark: string): string[] => out.split('\n').filter((l) => l.startsWith(`${mark} `)).map((l) => l.slice(2, l.indexOf(': ')));
    // Nothing the probes could not tell; what is missing is what upstream's roles lack, none of it required.
    for (const r of [m, v]) {
      expect(r.stdout).not.toContain('could not tell');
      expect(r.stdout).not.toMatch(/✗ .*[^)]$/m); // every ✗ line ends "(not required)"
    }
    expect({ code: m.code, last: m.stdout.trim().split('\n').at(-1), missing: lines(m.stdout, '✗') }).toEqual({
      code: 0, last: 'doctor: ready for roles chunk, reassemble',
      missing: [
        'sqs:ChangeMessageVisibility on stereo-spot-chunking', 'sqs:GetQueueUrl on stereo-spot-chunking-dlq', 'sqs:SendMessage on stereo-spot-chunking-dlq',
        'sqs:ChangeMessageVisibility on stereo-spot-reassembly', 'sqs:GetQueueUrl on stereo-spot-reassembly-dlq', 'sqs:SendMessage on stereo-spot-reassembly-dlq',
        `sqs:SendMessage on REASSEMBLY_QUEUE_URL (${queues.reassembly.url})`, 's3:AbortMultipartUpload on OUTPUT_BUCKET_NAME (stereo-output)',
      ],
    });
    expect(m.stdout).toContain(`✓ dynamodb:PutItem on REASSEMBLY_TRIGGERED_TABLE_NAME (${w.tables.reassemblyTriggered}): present`);
    expect({ code: v.code, last: v.stdout.trim().split('\n').at(-1), missing: lines(v.stdout, '✗') }).toEqual({
      code: 0, last: 'doctor: ready for roles segment-infer',
      missing: ['sqs:ChangeMessageVisibility on stereo-spot-video-worker', 'sqs:GetQueueUrl on stereo-spot-video-worker-dlq', 'sqs:SendMessage on stereo-spot-video-worker-dlq'],
    });
    expect(v.stdout).toContain(`✓ dynamodb:PutItem on SEGMENT_COMPLETIONS_TABLE_NAME (${w.tables.segmentCompletions}): present`);
    expect(v.stdout).toContain('✓ sqs:SendMessage on REASSEMBLY_QUEUE_URL (unset): not asked: REASSEMBLY_QUEUE_URL is not set, so the inline trigger is off');
  }, 60_000);
});
