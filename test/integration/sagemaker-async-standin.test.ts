// The b622b25 SageMaker stand-in (test/helpers/inference-standin.ts), driven by the real AWS
// SDK v3 client as upstream's video-worker drives SageMaker: the request object in the output
// bucket (fauxqs S3), InvokeEndpointAsync without a content type, then the segment output and
// the response (or failure) object where b622b25's endpoint config puts them.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { InvokeEndpointAsyncCommand, InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { createS3Client } from '../../src/adapters/storage/s3.js';
import { siblingLocation } from '../../src/domain/stereo/inference-invocations.js';
import { pythonInferenceRequestJson } from '../../src/domain/stereo/inference-request.js';
import { invocationRequestKey, parseOutputKey, segmentKey, segmentOutputUri } from '../../src/domain/stereo/keys.js';
import { startB622b25SageMakerStandIn, type SageMakerStandIn } from '../helpers/inference-standin.js';
import { awsTestClientConfig, startFauxqs, type LocalServer } from '../helpers/servers.js';

const IN = 'stereo-spot-input-000000000000';
const OUT = 'stereo-spot-output-000000000000';
const JOB = '3f2c1a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b';
const SEGMENT = Buffer.from('segment bytes, as chunk uploaded them');

let faux: LocalServer;
let s3: S3Client;
let standIn: SageMakerStandIn;
let sm: SageMakerRuntimeClient;

beforeAll(async () => {
  faux = await startFauxqs();
  s3 = createS3Client(awsTestClientConfig(faux.endpoint));
  for (const b of [IN, OUT]) await s3.send(new CreateBucketCommand({ Bucket: b }));
  standIn = await startB622b25SageMakerStandIn({ s3, outputBucket: OUT, resultDelayMs: 50 });
  sm = new SageMakerRuntimeClient({ region: 'eu-west-1', endpoint: standIn.url, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
});

afterEach(async () => {
  await standIn.idle();
  standIn.requests.length = 0;
  standIn.asyncOutcomes.length = 0;
});

afterAll(async () => {
  sm?.destroy();
  await standIn?.stop();
  s3?.destroy();
  await faux?.stop();
});

async function text(bucket: string, key: string): Promise<string | null> {
  try {
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await (got.Body as { transformToString(): Promise<string> }).transformToString();
  } catch {
    return null;
  }
}

async function keys(prefix: string): Promise<string[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: OUT, Prefix: prefix }));
  return (listed.Contents ?? []).map((o) => o.Key as string);
}

/** As model_sagemaker.py@b622b25 does it: request object, then InvokeEndpointAsync without ContentType. */
async function invoke(i: number, extra: { InferenceId?: string } = {}) {
  const input = segmentKey({ jobId: JOB, segmentIndex: i, totalSegments: 9, mode: 'sbs' });
  await s3.send(new PutObjectCommand({ Bucket: IN, Key: input, Body: SEGMENT }));
  const requestKey = invocationRequestKey(JOB, i);
  const body = pythonInferenceRequestJson({ inputUri: `s3://${IN}/${input}`, outputUri: segmentOutputUri(OUT, JOB, i), mode: 'sbs' });
  await s3.send(new PutObjectCommand({ Bucket: OUT, Key: requestKey, Body: body, ContentType: 'application/json' }));
  const res = await sm.send(new InvokeEndpointAsyncCommand({ EndpointName: 'stereo-spot-inference', InputLocation: `s3://${OUT}/${requestKey}`, InvocationTimeoutSeconds: 3600, ...extra }));
  return { res, outputKey: `jobs/${JOB}/segments/${i}.mp4` };
}

const keyOf = (uri: string | undefined) => (uri ?? '').replace(`s3://${OUT}/`, '');

describe('the b622b25 SageMaker stand-in', () => {
  it('answers 202 with OutputLocation, FailureLocation and InferenceId where b622b25\'s endpoint config puts them', async () => {
    const { res } = await invoke(0);
    expect(res.$metadata.httpStatusCode).toBe(202);
    expect(res.OutputLocation).toMatch(new RegExp(`^s3://${OUT}/sagemaker-async-responses/[0-9a-f-]{36}\\.out$`));
    expect(res.FailureLocation).toMatch(new RegExp(`^s3://${OUT}/sagemaker-async-failures/[0-9a-f-]{36}-error\\.out$`));
    expect(siblingLocation(res.OutputLocation as string)).toBe(res.FailureLocation);
    expect(res.InferenceId).toMatch(/^[0-9a-f-]{36}$/);
    // What the SDK sent: no content type, the timeout and the request object's location as headers.
    const seen = standIn.requests.at(-1)!;
    expect(seen.path).toBe('/endpoints/stereo-spot-inference/async-invocations');
    expect(seen.headers['x-amzn-sagemaker-content-type']).toBeUndefined();
    expect(seen.headers['x-amzn-sagemaker-invocationtimeoutseconds']).toBe('3600');
    expect(seen.headers['x-amzn-sagemaker-inputlocation']).toBe(`s3://${OUT}/${invocationRequestKey(JOB, 0)}`);
  });

  it('reads the request object, writes the segment output (a copy), then the response object {"status": "ok"}', async () => {
    const { res, outputKey } = await invoke(1);
    expect(await text(OUT, outputKey)).toBeNull();
    await standIn.idle();
    expect(await text(OUT, outputKey)).toBe(SEGMENT.toString());
    expect(await text(OUT, keyOf(res.OutputLocation))).toBe('{"status": "ok"}');
    expect(await text(OUT, keyOf(res.FailureLocation))).toBeNull();
    // The keys the output-bucket notifications see.
    expect(parseOutputKey(keyOf(res.OutputLocation)).kind).toBe('async-response');
    expect(parseOutputKey(outputKey)).toEqual({ kind: 'segment-output', jobId: JOB, segmentIndex: 1 });
  });

  it('on demand, a failure object instead: no output, no response', async () => {
    standIn.asyncOutcomes.push({ fail: 'Timed out uploading object' });
    const { res, outputKey } = await invoke(2);
    await standIn.idle();
    expect(await text(OUT, keyOf(res.FailureLocation))).toBe('Timed out uploading object');
    expect(await text(OUT, keyOf(res.OutputLocation))).toBeNull();
    expect(await text(OUT, outputKey)).toBeNull();
    expect(parseOutputKey(keyOf(res.FailureLocation)).kind).toBe('async-failure');
  });

  it('the bootstrap stub (L8): response {} and no output', async () => {
    standIn.asyncOutcomes.push('empty');
    const { res, outputKey } = await invoke(3);
    await standIn.idle();
    expect(await text(OUT, keyOf(res.OutputLocation))).toBe('{}');
    expect(await text(OUT, outputKey)).toBeNull();
  });

  it('a request object that is missing fails the invocation, later, as SageMaker does', async () => {
    const res = await sm.send(new InvokeEndpointAsyncCommand({ EndpointName: 'stereo-spot-inference', InputLocation: `s3://${OUT}/sagemaker-invocation-requests/${JOB}/404.json` }));
    await standIn.idle();
    expect(await text(OUT, keyOf(res.FailureLocation))).toMatch(/cannot read InputLocation/);
  });

  it('keeps the caller\'s InferenceId and records every invocation', async () => {
    const { res } = await invoke(4, { InferenceId: 'job-seg-4' });
    expect(res.InferenceId).toBe('job-seg-4');
    expect(standIn.asyncInvocations.at(-1)).toMatchObject({ inferenceId: 'job-seg-4', outputLocation: res.OutputLocation, failureLocation: res.FailureLocation, outcome: 'model' });
  });

  it('is async-only: a real-time InvokeEndpoint is refused (what ecba15e\'s segment-infer would call)', async () => {
    const err = await sm.send(new InvokeEndpointCommand({ EndpointName: 'stereo-spot-inference', Body: Buffer.from('{}'), ContentType: 'application/json' })).then(() => null, (e: unknown) => e as Error & { $metadata?: { httpStatusCode?: number } });
    expect(err?.name).toBe('ValidationError');
    expect(err?.message).toMatch(/asynchronous inference endpoint/);
    expect(err?.$metadata?.httpStatusCode).toBe(400);
  });

  it('refuses another endpoint name and a timeout above 3600 s', async () => {
    await expect(sm.send(new InvokeEndpointAsyncCommand({ EndpointName: 'other', InputLocation: `s3://${OUT}/x.json` }))).rejects.toThrow(/Endpoint other of account/);
    await expect(sm.send(new InvokeEndpointAsyncCommand({ EndpointName: 'stereo-spot-inference', InputLocation: `s3://${OUT}/x.json`, InvocationTimeoutSeconds: 3601 }))).rejects.toThrow(/less than or equal to 3600/);
  });

  it('writes nothing else into the output bucket', async () => {
    await standIn.idle();
    const all = await keys('');
    expect(all.every((k) => /^(jobs\/|sagemaker-async-responses\/|sagemaker-async-failures\/|sagemaker-invocation-requests\/)/.test(k))).toBe(true);
  });
});
