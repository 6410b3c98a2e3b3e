// INFERENCE_BACKEND=http against a stand-in model server (real HTTP) whose model writes the
// output into fauxqs S3, as a real server writes it into S3.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { pino } from 'pino';
import { HttpInference, type HttpInferenceOptions } from '../../src/adapters/inference/http.js';
import { InvalidInputError } from '../../src/ports/index.js';
import { classifyFailure } from '../../src/domain/failure.js';
import { awsTestClientConfig, freePort, startFauxqs, type LocalServer } from '../helpers/servers.js';
import { startInferenceHttpServer, type InferenceHttpServer } from '../helpers/inference-standin.js';

/** Another try may succeed: retried with backoff, or waited out as an outage. */
const retried = (err: unknown): boolean => ['transient', 'outage'].includes(classifyFailure(err));

const INPUT = 's3://in/segments/job-1/00000_00002_sbs.mp4';
const OUTPUT = 's3://out/jobs/job-1/segments/0.mp4';
const EXPECTED_BODY = `{"s3_input_uri":"${INPUT}","s3_output_uri":"${OUTPUT}","mode":"sbs"}`;
const SEGMENT = Buffer.from('segment bytes');

let faux: LocalServer;
let s3: S3Client;
let server: InferenceHttpServer;
const extra: InferenceHttpServer[] = [];

beforeAll(async () => {
  faux = await startFauxqs();
  s3 = new S3Client(awsTestClientConfig(faux.endpoint));
  for (const b of ['in', 'out']) await s3.send(new CreateBucketCommand({ Bucket: b }));
  await s3.send(new PutObjectCommand({ Bucket: 'in', Key: 'segments/job-1/00000_00002_sbs.mp4', Body: SEGMENT }));
  server = await startInferenceHttpServer({ s3, prefix: '/v1' });
});

afterEach(async () => {
  server.requests.length = 0;
  server.script.length = 0;
  await Promise.all(extra.splice(0).map((s) => s.stop()));
});

afterAll(async () => {
  await server?.stop();
  s3?.destroy();
  await faux?.stop();
});

function capture() {
  const lines: Array<{ event_type?: string; msg: string }> = [];
  const logger = pino({ level: 'debug' }, { write: (l: string) => void lines.push(JSON.parse(l) as { event_type?: string; msg: string }) });
  return { lines, logger };
}

function request(signal: AbortSignal = new AbortController().signal) {
  return { inputUri: INPUT, outputUri: OUTPUT, mode: 'sbs' as const, signal, logger: capture().logger };
}

function backend(opts: Partial<HttpInferenceOptions> = {}) {
  return new HttpInference({ url: `${server.url}/v1`, timeoutSeconds: 5, baseDelayMs: 10, ...opts });
}

/** The error `run` rejects with; a resolved run fails the test. */
async function failure(run: Promise<void>): Promise<Error> {
  return run.then(() => { throw new Error('expected a failure'); }, (err: unknown) => err as Error);
}

async function outputBytes(): Promise<Buffer> {
  const got = await s3.send(new GetObjectCommand({ Bucket: 'out', Key: 'jobs/job-1/segments/0.mp4' }));
  return Buffer.from(await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
}

describe('HttpInference', () => {
  it.each(['/v1', '/v1/', '/v1//'])('POSTs exactly the contract JSON to {INFERENCE_HTTP_URL}/invocations (base ending %j)', async (suffix) => {
    await s3.send(new PutObjectCommand({ Bucket: 'out', Key: 'jobs/job-1/segments/0.mp4', Body: 'stale' }));
    await backend({ url: `${server.url}${suffix}` }).process(request());
    expect(server.requests).toHaveLength(1);
    const [seen] = server.requests;
    expect(seen).toMatchObject({ method: 'POST', path: '/v1/invocations', body: EXPECTED_BODY });
    expect(seen?.headers['content-type']).toBe('application/json');
    expect(await outputBytes()).toEqual(SEGMENT); // the server's model wrote it
  });

  it.each([[200, 'not json at all'], [201, ''], [204, '']])('takes any 2xx as success, whatever the body (%i)', async (status, body) => {
    server.script.push({ status, body });
    await expect(backend().process(request())).resolves.toBeUndefined();
    expect(server.requests).toHaveLength(1);
  });

  it('retries a 503 with backoff and then succeeds', async () => {
    server.script.push({ status: 503, body: 'busy' });
    const { lines, logger } = capture();
    await backend().process({ ...request(), logger });
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1]?.body).toBe(EXPECTED_BODY);
    expect(lines.filter((l) => l.event_type === 'inference_retry').map((l) => l.msg)).toEqual(['inference failed (HTTP 503); retrying']);
  });

  it('gives up after its attempts with a retryable error naming the server and the last problem', async () => {
    server.script.push({ status: 500 }, { status: 502 }, { status: 503 });
    const err = await failure(backend({ attempts: 3 }).process(request()));
    expect(retried(err)).toBe(true);
    expect(err.message).toBe(`inference server ${server.url}/v1/invocations failed 3 times, last: HTTP 503`);
    expect(server.requests).toHaveLength(3);
  });

  it('retries a refused connection until the server is there', async () => {
    const port = await freePort();
    const lines: Array<{ msg: string }> = [];
    let started: Promise<InferenceHttpServer> | undefined;
    // The server comes up while the backend sleeps after its first refused connection.
    const watching = pino({ level: 'debug' }, {
      write(l: string) {
        lines.push(JSON.parse(l) as { msg: string });
        started ??= startInferenceHttpServer({ s3, port });
      },
    });
    await new HttpInference({ url: `http://127.0.0.1:${port}`, timeoutSeconds: 5, baseDelayMs: 300, attempts: 3 }).process({ ...request(), logger: watching });
    const late = await (started as Promise<InferenceHttpServer>);
    extra.push(late);
    expect(late.requests.map((r) => r.body)).toEqual([EXPECTED_BODY]);
    expect(lines[0]?.msg).toMatch(/^inference failed \(fetch failed: .*ECONNREFUSED.*\); retrying$/);
  });

  it('a refused connection that stays refused is retryable, not permanent', async () => {
    const port = await freePort();
    const err = await failure(new HttpInference({ url: `http://127.0.0.1:${port}`, timeoutSeconds: 5, baseDelayMs: 10, attempts: 2 }).process(request()));
    expect(retried(err)).toBe(true);
    expect(err.message).toMatch(new RegExp(`^inference server http://127.0.0.1:${port}/invocations failed 2 times, last: fetch failed: .*ECONNREFUSED`));
  });

  it.each([400, 404, 422])('a %i is the request\'s fault: InvalidInputError at once, no retry', async (status) => {
    server.script.push({ status, body: 'bad request' });
    const err = await failure(backend().process(request()));
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err.message).toBe(`inference server refused the segment: HTTP ${status} from ${server.url}/v1/invocations`);
    expect(server.requests).toHaveLength(1);
  });

  it('a segment the model cannot read is refused by the server (400): permanent', async () => {
    const missing = 's3://in/segments/job-1/00001_00002_sbs.mp4';
    const err = await failure(backend().process({ ...request(), inputUri: missing }));
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(server.requests.map((r) => JSON.parse(r.body) as unknown)).toEqual([{ s3_input_uri: missing, s3_output_uri: OUTPUT, mode: 'sbs' }]);
  });

  it('the stand-in refuses what a strict server refuses (content type, fields), so the tests above mean something', async () => {
    const plain = await fetch(`${server.url}/v1/invocations`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: EXPECTED_BODY });
    expect(plain.status).toBe(415);
    const partial = await fetch(`${server.url}/v1/invocations`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"s3_input_uri":"x"}' });
    expect(partial.status).toBe(400);
    const get = await fetch(`${server.url}/v1/invocations`);
    expect(get.status).toBe(405);
    await Promise.all([plain.text(), partial.text(), get.text()]);
  });

  it('honours INFERENCE_HTTP_TIMEOUT_SECONDS: a server that does not answer in time is a retryable failure', async () => {
    server.script.push({ status: 200, delayMs: 5000 }, { status: 200, delayMs: 5000 });
    const started = Date.now();
    const err = await failure(backend({ timeoutSeconds: 0.2, attempts: 2 }).process(request()));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(retried(err)).toBe(true);
    expect(err.message).toMatch(/failed 2 times, last: .*(timeout|aborted)/i);
    expect(server.requests).toHaveLength(2);
  });

  it('stops at once when the request signal aborts, during a request or a backoff', async () => {
    server.script.push({ status: 200, delayMs: 10_000 });
    const during = new AbortController();
    setTimeout(() => during.abort(new Error('lease lost')), 100);
    let started = Date.now();
    await expect(backend().process(request(during.signal))).rejects.toThrow('lease lost');
    expect(Date.now() - started).toBeLessThan(1000);

    server.script.push({ status: 503 });
    const sleeping = new AbortController();
    started = Date.now();
    const run = backend({ baseDelayMs: 20_000 }).process(request(sleeping.signal));
    setTimeout(() => sleeping.abort(new Error('shutting down')), 200);
    await expect(run).rejects.toThrow('shutting down');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(server.requests).toHaveLength(2);
  });
});
