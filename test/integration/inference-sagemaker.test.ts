// INFERENCE_BACKEND=sagemaker through the real SDK against a SageMaker runtime stand-in (real
// HTTP, restJson as the service speaks it) whose model reads and writes fauxqs S3.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { pino } from 'pino';
import { SageMakerInference, createSageMakerRuntimeClient, type SageMakerInferenceOptions } from '../../src/adapters/inference/sagemaker.js';
import { S3ObjectStore, createS3Client } from '../../src/adapters/storage/s3.js';
import { InvalidInputError } from '../../src/ports/index.js';
import { classifyFailure } from '../../src/domain/failure.js';
import type { ObjectStore } from '../../src/ports/index.js';
import { awsTestClientConfig, startFauxqs, type LocalServer } from '../helpers/servers.js';
import { sageMakerError, startSageMakerStandIn, type SageMakerStandIn } from '../helpers/inference-standin.js';

/** Another try may succeed: retried with backoff, or waited out as an outage. */
const retried = (err: unknown): boolean => ['transient', 'outage'].includes(classifyFailure(err));

const ENDPOINT = 'stereo-ep';
const INPUT = 's3://in/segments/job-1/00000_00002_anaglyph.mp4';
const OUTPUT = 's3://out/jobs/job-1/segments/0.mp4';
const EXPECTED_BODY = `{"s3_input_uri":"${INPUT}","s3_output_uri":"${OUTPUT}","mode":"anaglyph"}`;
const SEGMENT = Buffer.from('segment bytes');
const POLL = { first: 40, max: 200 };

let faux: LocalServer;
let s3: S3Client;
let standIn: SageMakerStandIn;
const stores = new Map<string, ObjectStore>();
const storeOf = (bucket: string): ObjectStore => {
  let store = stores.get(bucket);
  if (!store) stores.set(bucket, (store = new S3ObjectStore({ client: s3, bucket })));
  return store;
};
const clients: Array<{ destroy(): void }> = [];

beforeAll(async () => {
  faux = await startFauxqs();
  s3 = createS3Client(awsTestClientConfig(faux.endpoint));
  for (const b of ['in', 'out', 'sm-results']) await s3.send(new CreateBucketCommand({ Bucket: b }));
  await s3.send(new PutObjectCommand({ Bucket: 'in', Key: 'segments/job-1/00000_00002_anaglyph.mp4', Body: SEGMENT }));
  standIn = await startSageMakerStandIn({ s3, endpointName: ENDPOINT, resultBucket: 'sm-results', resultDelayMs: 150 });
});

afterEach(async () => {
  standIn.requests.length = 0;
  standIn.script.length = 0;
  standIn.asyncOutcomes.length = 0;
  await s3.send(new DeleteObjectCommand({ Bucket: 'out', Key: 'jobs/job-1/segments/0.mp4' }));
  for (const c of clients.splice(0)) c.destroy();
});

afterAll(async () => {
  await standIn?.stop();
  s3?.destroy();
  await faux?.stop();
});

type Line = { level: number; event_type?: string; inference_id?: string; msg: string };

function request(signal: AbortSignal = new AbortController().signal) {
  const lines: Line[] = [];
  const logger = pino({ level: 'debug' }, { write: (l: string) => void lines.push(JSON.parse(l) as Line) });
  return { req: { inputUri: INPUT, outputUri: OUTPUT, mode: 'anaglyph' as const, signal, logger }, lines };
}

function backend(opts: { endpointName?: string; maxAttempts?: number; async?: Partial<NonNullable<SageMakerInferenceOptions['async']>> } = {}) {
  // Signing does not matter to the stand-in, but the SDK refuses to send without credentials.
  const client = createSageMakerRuntimeClient({
    region: 'eu-west-1', endpoint: standIn.url, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: opts.maxAttempts ?? 1,
  });
  clients.push(client);
  return new SageMakerInference({
    client, endpointName: opts.endpointName ?? ENDPOINT,
    ...(opts.async ? { async: { storeOf, timeoutSeconds: 10, pollMs: POLL, ...opts.async } } : {}),
  });
}

async function failure(run: Promise<void>): Promise<Error> {
  return run.then(() => { throw new Error('expected a failure'); }, (err: unknown) => err as Error);
}

async function text(bucket: string, key: string): Promise<string> {
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (got.Body as { transformToString(): Promise<string> }).transformToString();
}

describe('SageMakerInference, real-time (InvokeEndpoint)', () => {
  it('POSTs the contract JSON to /endpoints/{name}/invocations as application/json; the model writes the output', async () => {
    await backend().process(request().req);
    expect(standIn.requests).toHaveLength(1);
    const [seen] = standIn.requests;
    expect(seen).toMatchObject({ method: 'POST', path: `/endpoints/${ENDPOINT}/invocations`, body: EXPECTED_BODY });
    expect(seen?.headers['content-type']).toBe('application/json');
    expect(seen?.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=test\/\d{8}\/eu-west-1\/sagemaker\/aws4_request/);
    expect(await text('out', 'jobs/job-1/segments/0.mp4')).toBe(SEGMENT.toString());
  });

  it('an unknown endpoint is a ValidationError: permanent, one line naming the endpoint', async () => {
    const err = await failure(backend({ endpointName: 'nope', maxAttempts: 3 }).process(request().req));
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err.message).toBe('SageMaker endpoint nope: InvokeEndpoint failed: ValidationError (HTTP 400): Endpoint nope of account 000000000000 not found.');
    expect(standIn.requests).toHaveLength(1); // not retried by the SDK either
  });

  it('a model that refuses the request (ModelError, client error from the container) is permanent', async () => {
    const { req } = request();
    const err = await failure(backend().process({ ...req, inputUri: 's3://in/segments/job-1/00001_00002_anaglyph.mp4' }));
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err.message).toMatch(/^SageMaker endpoint stereo-ep: InvokeEndpoint failed: ModelError \(HTTP 424, model 400\): Received client error \(400\) from primary with message "cannot read s3:\/\/in\/segments\/job-1\/00001_00002_anaglyph.mp4: NoSuchKey"/);
    expect(err.message).not.toContain('\n');
  });

  it('a ModelError from a crashed container (5xx) is retryable', async () => {
    standIn.script.push(sageMakerError('ModelError', 424, 'Received server error (500) from primary with message "CUDA out of memory".', { OriginalStatusCode: 500 }));
    const err = await failure(backend().process(request().req));
    expect(retried(err)).toBe(true);
    expect(err.message).toMatch(/^SageMaker endpoint stereo-ep: InvokeEndpoint failed: ModelError \(HTTP 424, model 500\): /);
  });

  it('the 60 s cut-off of a real-time endpoint is retryable and says SAGEMAKER_ASYNC has no such limit', async () => {
    standIn.script.push(sageMakerError('ModelError', 424, 'Received server error (0) from primary with message "Your invocation timed out while waiting for a response from container primary. Review the latency metrics for each container in Amazon CloudWatch, resolve the issue, and try again.". See https://console.aws.amazon.com/cloudwatch for more information.', { OriginalStatusCode: 0 }));
    const err = await failure(backend().process(request().req));
    expect(retried(err)).toBe(true);
    expect(err.message).toMatch(/^SageMaker endpoint stereo-ep: InvokeEndpoint failed: ModelError \(HTTP 424, model 0\): Received server error \(0\).*; a real-time invocation is cut off after 60 s: SAGEMAKER_ASYNC=true has no such limit$/);
  });

  it('a ModelError without OriginalStatusCode is judged by the status in its message', async () => {
    standIn.script.push(sageMakerError('ModelError', 424, 'Received client error (422) from primary with message "bad mode".'));
    expect(await failure(backend().process(request().req))).toBeInstanceOf(InvalidInputError);
    standIn.script.push(sageMakerError('ModelError', 424, 'Received server error (503) from primary with message "overloaded".'));
    expect(retried(await failure(backend().process(request().req)))).toBe(true);
  });

  it.each([
    ['ServiceUnavailable', 503],
    ['InternalFailure', 500],
    ['ModelNotReadyException', 429],
    ['ThrottlingException', 400],
  ])('%s (%i) is retryable', async (type, status) => {
    standIn.script.push(sageMakerError(type, status, 'try again'), sageMakerError(type, status, 'try again'));
    const err = await failure(backend({ maxAttempts: 2 }).process(request().req));
    expect(err).not.toBeInstanceOf(InvalidInputError);
    expect(retried(err)).toBe(true);
    expect(err.message).toBe(`SageMaker endpoint stereo-ep: InvokeEndpoint failed: ${type} (HTTP ${status}): try again`);
  });

  it('a ServiceUnavailable the SDK retries past succeeds', async () => {
    standIn.script.push(sageMakerError('ServiceUnavailable', 503, 'busy'));
    await backend({ maxAttempts: 3 }).process(request().req);
    expect(standIn.requests).toHaveLength(2);
    expect(await text('out', 'jobs/job-1/segments/0.mp4')).toBe(SEGMENT.toString());
  });

  it('a refused connection is retryable', async () => {
    const client = createSageMakerRuntimeClient({ region: 'eu-west-1', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
    clients.push(client);
    const err = await failure(new SageMakerInference({ client, endpointName: ENDPOINT }).process(request().req));
    expect(retried(err)).toBe(true);
    expect(err.message).toMatch(/^SageMaker endpoint stereo-ep: InvokeEndpoint failed: .*ECONNREFUSED/);
  });

  it('stops when the request signal aborts', async () => {
    standIn.script.push({ status: 200, body: '{}', delayMs: 10_000 });
    const abort = new AbortController();
    setTimeout(() => abort.abort(new Error('lease lost')), 100);
    const started = Date.now();
    const err = await failure(backend().process(request(abort.signal).req));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(err).not.toBeInstanceOf(InvalidInputError);
  });
});

describe('SageMakerInference, asynchronous (SAGEMAKER_ASYNC)', () => {
  it('writes the request JSON beside the output, invokes with its URI, and succeeds once the output object is there', async () => {
    const { req, lines } = request();
    await backend({ async: { timeoutSeconds: 600 } }).process(req);

    expect(await text('out', 'jobs/job-1/segments/0.request.json')).toBe(EXPECTED_BODY);
    expect(standIn.requests).toHaveLength(1);
    const [seen] = standIn.requests;
    expect(seen).toMatchObject({ method: 'POST', path: `/endpoints/${ENDPOINT}/async-invocations`, body: '' });
    expect(seen?.headers['x-amzn-sagemaker-inputlocation']).toBe('s3://out/jobs/job-1/segments/0.request.json');
    expect(seen?.headers['x-amzn-sagemaker-content-type']).toBe('application/json');
    expect(seen?.headers['x-amzn-sagemaker-invocationtimeoutseconds']).toBe('600');
    expect(await text('out', 'jobs/job-1/segments/0.mp4')).toBe(SEGMENT.toString()); // the model wrote it

    const accepted = lines.filter((l) => l.event_type === 'inference_accepted');
    expect(accepted).toHaveLength(1);
    expect(accepted[0]).toMatchObject({ level: 30, inference_id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    const polls = lines.filter((l) => l.event_type === 'inference_poll');
    expect(polls.length).toBeGreaterThan(0);
    expect(polls.every((l) => l.level === 20 && l.inference_id === accepted[0]?.inference_id)).toBe(true);
  });

  it('sends InvocationTimeoutSeconds of at most 3600, SageMaker\'s limit', async () => {
    await backend({ async: { timeoutSeconds: 7200 } }).process(request().req);
    expect(standIn.requests[0]?.headers['x-amzn-sagemaker-invocationtimeoutseconds']).toBe('3600');
  });

  it('a failure object is a permanent failure quoting its start', async () => {
    const body = `Traceback (most recent call last):\n  File "serve.py", line 12\n${'x'.repeat(500)}`;
    standIn.asyncOutcomes.push({ fail: body });
    const err = await failure(backend({ async: {} }).process(request().req));
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err.message).toMatch(/^SageMaker endpoint stereo-ep failed inference [0-9a-f-]{36} \(s3:\/\/sm-results\/async-failures\/[0-9a-f-]{36}-error\.out\): "Traceback \(most recent call last\): File \\"serve\.py\\", line 12 x+…"$/);
    expect(err.message).not.toContain('\n');
    const quoted = /: "(.*)"$/.exec(err.message)?.[1] ?? '';
    expect(quoted.replace(/\\"/g, '"').length).toBeLessThanOrEqual(201);
  });

  it('a request the model cannot use lands in the failure object: permanent', async () => {
    const { req } = request();
    const err = await failure(backend({ async: {} }).process({ ...req, inputUri: 's3://in/segments/job-1/00001_00002_anaglyph.mp4' }));
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err.message).toMatch(/: "cannot read s3:\/\/in\/segments\/job-1\/00001_00002_anaglyph\.mp4: NoSuchKey"$/);
  });

  it('no result within SAGEMAKER_ASYNC_TIMEOUT_SECONDS is retryable', async () => {
    standIn.asyncOutcomes.push('never');
    const started = Date.now();
    const err = await failure(backend({ async: { timeoutSeconds: 1 } }).process(request().req));
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(1000);
    expect(took).toBeLessThan(3000);
    expect(retried(err)).toBe(true);
    expect(err.message).toMatch(/^SageMaker endpoint stereo-ep wrote no result for inference [0-9a-f-]{36} within 1 s \(s3:\/\/sm-results\/async-out\/[0-9a-f-]{36}\.out\)$/);
    expect(standIn.requests[0]?.headers['x-amzn-sagemaker-invocationtimeoutseconds']).toBe('1');
  });

  it('the abort signal stops the polling at once', async () => {
    standIn.asyncOutcomes.push('never');
    const abort = new AbortController();
    const { req, lines } = request(abort.signal);
    const run = backend({ async: { timeoutSeconds: 60, pollMs: { first: 5000, max: 5000 } } }).process(req);
    const started = Date.now();
    setTimeout(() => abort.abort(new Error('shutting down')), 300);
    await expect(run).rejects.toThrow('shutting down');
    expect(Date.now() - started).toBeLessThan(1500);
    expect(lines.some((l) => l.event_type === 'inference_accepted')).toBe(true);
  });

  it('a ValidationError from InvokeEndpointAsync is permanent', async () => {
    standIn.script.push(sageMakerError('ValidationError', 400, 'Endpoint stereo-ep is not configured for asynchronous inference.'));
    const err = await failure(backend({ async: {} }).process(request().req));
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err.message).toBe('SageMaker endpoint stereo-ep: InvokeEndpointAsync failed: ValidationError (HTTP 400): Endpoint stereo-ep is not configured for asynchronous inference.');
  });
});
