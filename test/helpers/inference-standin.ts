// Stand-ins for the two remote inference backends, on 127.0.0.1: an HTTP model server
// (POST {prefix}/invocations) and SageMaker runtime (InvokeEndpoint, InvokeEndpointAsync;
// startB622b25SageMakerStandIn is stereo-spot main's async-only endpoint).
// Both refuse what the real ones refuse (method, path, content type, request JSON), answer
// as they answer (SageMaker: 200, or 202 with the result locations; restJson errors with
// x-amzn-errortype and the SDK's exception names), and their "model" does what a real
// container does: reads s3_input_uri and writes s3_output_uri itself (here a copy), in S3.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A scripted answer, given instead of the model's (nothing is written). */
export interface Reply {
  status: number;
  body?: string;
  headers?: Record<string, string>;
  /** Wait this long first (a slow server). */
  delayMs?: number;
}

interface StandIn {
  readonly url: string;
  readonly requests: SeenRequest[];
  /** Answers for the next requests, taken one by one; empty: the model works. */
  readonly script: Reply[];
  stop(): Promise<void>;
}

export type InferenceHttpServer = StandIn;

/**
 * What the next async invocation does (default `model`): `model` runs the model and writes
 * the response; `never` writes nothing; `empty` is stereo-spot's bootstrap stub image (answers
 * `{}` and writes no output: loss mode L8); `fail` writes this failure body.
 */
export type AsyncOutcome = 'model' | 'never' | 'empty' | { fail: string };

/** One accepted InvokeEndpointAsync, as the stand-in answered it. */
export interface AsyncInvocation {
  readonly inferenceId: string;
  readonly inputLocation: string;
  readonly outputLocation: string;
  readonly failureLocation: string;
  readonly outcome: AsyncOutcome;
}

export interface SageMakerStandIn extends StandIn {
  /** What the model does with the next async invocations, taken one by one. */
  readonly asyncOutcomes: AsyncOutcome[];
  /** Every accepted async invocation, in order. */
  readonly asyncInvocations: AsyncInvocation[];
  /** Resolves once every result scheduled so far is written (or was never to be). */
  idle(): Promise<void>;
}

export interface SageMakerStandInOptions {
  s3: S3Client;
  endpointName: string;
  /** Bucket of the async results. */
  resultBucket: string;
  /** Delay between the 202 and the result object, as the service's queue would. */
  resultDelayMs?: number;
  /** The endpoint's AsyncInferenceConfig S3OutputPath / S3FailurePath inside resultBucket (default `async-out/`, `async-failures/`). */
  outputPath?: string;
  failurePath?: string;
  /** An async-only endpoint (b622b25's): InvokeEndpoint is refused. */
  asyncOnly?: boolean;
  /** The container reads the request as JSON whatever its content type (upstream's serve.py; its b622b25 video-worker sends none). Default: application/json only. */
  anyContentType?: boolean;
  /** The container's 200 body, which SageMaker stores as the response object (default `{"status":"ok"}`). */
  okBody?: string;
}

type ModelResult = { ok: true } | { ok: false; message: string };

/** The model: the request JSON checked as a strict server would, then the input copied to the output. */
async function runModel(s3: S3Client, body: string): Promise<ModelResult> {
  let req: unknown;
  try {
    req = JSON.parse(body);
  } catch {
    return { ok: false, message: 'request body is not JSON' };
  }
  const fields = typeof req === 'object' && req !== null && !Array.isArray(req) ? (req as Record<string, unknown>) : null;
  if (fields === null || Object.keys(fields).join(',') !== 's3_input_uri,s3_output_uri,mode') {
    return { ok: false, message: `request must have exactly s3_input_uri, s3_output_uri, mode; got ${body.slice(0, 200)}` };
  }
  const input = s3Object(fields.s3_input_uri);
  const output = s3Object(fields.s3_output_uri);
  if (!input || !output) return { ok: false, message: 's3_input_uri and s3_output_uri must be s3://bucket/key' };
  if (fields.mode !== 'sbs' && fields.mode !== 'anaglyph') return { ok: false, message: `unknown mode ${JSON.stringify(fields.mode)}` };
  let bytes: Uint8Array;
  try {
    const got = await s3.send(new GetObjectCommand({ Bucket: input.bucket, Key: input.key }));
    bytes = await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
  } catch (err) {
    return { ok: false, message: `cannot read ${String(fields.s3_input_uri)}: ${(err as Error).name}` };
  }
  await s3.send(new PutObjectCommand({ Bucket: output.bucket, Key: output.key, Body: bytes, ContentType: 'video/mp4' }));
  return { ok: true };
}

function s3Object(uri: unknown): { bucket: string; key: string } | null {
  const m = typeof uri === 'string' ? /^s3:\/\/([^/]+)\/(.+)$/.exec(uri) : null;
  return m ? { bucket: m[1] as string, key: m[2] as string } : null;
}

/** The HTTP inference server: POST {prefix}/invocations, application/json; 200 once the output is written, 400 for a bad request. */
export async function startInferenceHttpServer(opts: { s3: S3Client; prefix?: string; port?: number }): Promise<InferenceHttpServer> {
  const path = `${opts.prefix ?? ''}/invocations`;
  return serve(opts.port, async (req, answer, script) => {
    if (req.path !== path) return answer({ status: 404, body: 'not found' });
    if (req.method !== 'POST') return answer({ status: 405, body: 'method not allowed' });
    const scripted = script.shift();
    if (scripted) return answer(scripted);
    if (req.headers['content-type'] !== 'application/json') return answer({ status: 415, body: 'expected application/json' });
    const result = await runModel(opts.s3, req.body);
    return answer(result.ok ? { status: 200, body: '{"status":"ok"}', headers: { 'content-type': 'application/json' } } : { status: 400, body: result.message });
  });
}

/** A SageMaker runtime error as the service sends it (restJson: the type in x-amzn-errortype, fields in the body). */
export function sageMakerError(type: string, status: number, message: string, extra: Record<string, unknown> = {}): Reply {
  return {
    status,
    headers: { 'content-type': 'application/json', 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.sagemaker.runtime/` },
    body: JSON.stringify({ Message: message, ...extra }),
  };
}

/** The error SageMaker gives when the container answered a non-2xx status. */
function modelError(original: number, message: string): Reply {
  const kind = original >= 500 ? 'server' : 'client';
  return sageMakerError('ModelError', 424, `Received ${kind} error (${original}) from primary with message "${message}". See logs for more information.`, {
    ErrorCode: `${kind.toUpperCase()}_ERROR_FROM_MODEL`, OriginalStatusCode: original, OriginalMessage: message,
  });
}

/**
 * SageMaker runtime for one endpoint. Async results go to `resultBucket` (`{outputPath}{id}.out`,
 * `{failurePath}{id}-error.out`, SageMaker's naming), written `resultDelayMs` after the 202.
 */
export async function startSageMakerStandIn(opts: SageMakerStandInOptions): Promise<SageMakerStandIn> {
  const outputPath = opts.outputPath ?? 'async-out/';
  const failurePath = opts.failurePath ?? 'async-failures/';
  const okBody = opts.okBody ?? '{"status":"ok"}';
  const asyncOutcomes: AsyncOutcome[] = [];
  const asyncInvocations: AsyncInvocation[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const work = new Set<Promise<void>>();
  const later = (fn: () => Promise<void>): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      const p = fn().catch((err: unknown) => console.error(`SageMaker stand-in: ${(err as Error).message}`)).finally(() => work.delete(p));
      work.add(p);
    }, opts.resultDelayMs ?? 100);
    timers.add(timer);
  };

  const server = await serve(undefined, async (req, answer, script) => {
    const m = /^\/endpoints\/([^/]+)\/(invocations|async-invocations)$/.exec(req.path);
    if (!m || req.method !== 'POST') return answer(sageMakerError('UnknownOperationException', 404, `no operation for ${req.method} ${req.path}`));
    const name = decodeURIComponent(m[1] as string);
    if (name !== opts.endpointName) return answer(sageMakerError('ValidationError', 400, `Endpoint ${name} of account 000000000000 not found.`));
    const scripted = script.shift();
    if (scripted) return answer(scripted);

    if (m[2] === 'invocations') {
      if (opts.asyncOnly) {
        return answer(sageMakerError('ValidationError', 400, `Endpoint ${name} of account 000000000000 is an asynchronous inference endpoint: invoke it with InvokeEndpointAsync.`));
      }
      if (req.headers['content-type'] !== 'application/json') return answer(modelError(415, `unsupported content type ${String(req.headers['content-type'])}`));
      const result = await runModel(opts.s3, req.body);
      return answer(result.ok ? { status: 200, body: '{"status":"ok"}', headers: { 'content-type': 'application/json' } } : modelError(400, result.message));
    }

    const inputLocation = header(req.headers, 'x-amzn-sagemaker-inputlocation');
    const input = s3Object(inputLocation);
    if (!input) return answer(sageMakerError('ValidationError', 400, `1 validation error detected: Value '${inputLocation ?? 'null'}' at 'inputLocation' failed to satisfy constraint`));
    const timeout = header(req.headers, 'x-amzn-sagemaker-invocationtimeoutseconds');
    if (timeout !== undefined && !(/^\d+$/.test(timeout) && Number(timeout) >= 1 && Number(timeout) <= 3600)) {
      return answer(sageMakerError('ValidationError', 400, `1 validation error detected: Value '${timeout}' at 'invocationTimeoutSeconds' failed to satisfy constraint: Member must have value less than or equal to 3600`));
    }
    // The result objects are named by SageMaker; the InferenceId is the caller's when it gave one.
    const id = randomUUID();
    const inferenceId = header(req.headers, 'x-amzn-sagemaker-inference-id') ?? id;
    const outputKey = `${outputPath}${id}.out`;
    const failureKey = `${failurePath}${id}-error.out`;
    const contentType = header(req.headers, 'x-amzn-sagemaker-content-type');
    const outcome = asyncOutcomes.shift() ?? 'model';
    const outputLocation = `s3://${opts.resultBucket}/${outputKey}`;
    const failureLocation = `s3://${opts.resultBucket}/${failureKey}`;
    asyncInvocations.push({ inferenceId, inputLocation: inputLocation as string, outputLocation, failureLocation, outcome });
    const put = (key: string, text: string) => opts.s3.send(new PutObjectCommand({ Bucket: opts.resultBucket, Key: key, Body: text })).then(() => undefined);
    if (outcome !== 'never') {
      later(async () => {
        if (typeof outcome === 'object') return put(failureKey, outcome.fail);
        if (outcome === 'empty') return put(outputKey, '{}');
        if (!opts.anyContentType && contentType !== 'application/json') return put(failureKey, `unsupported content type ${String(contentType)}`);
        const got = await opts.s3.send(new GetObjectCommand({ Bucket: input.bucket, Key: input.key })).catch(() => null);
        if (!got) return put(failureKey, `cannot read InputLocation ${inputLocation}`);
        const result = await runModel(opts.s3, await (got.Body as { transformToString(): Promise<string> }).transformToString());
        return result.ok ? put(outputKey, okBody) : put(failureKey, result.message);
      });
    }
    return answer({
      status: 202,
      headers: { 'content-type': 'application/json', 'X-Amzn-SageMaker-OutputLocation': outputLocation, 'X-Amzn-SageMaker-FailureLocation': failureLocation },
      body: JSON.stringify({ InferenceId: inferenceId }),
    });
  });
  return {
    ...server,
    asyncOutcomes,
    asyncInvocations,
    async idle() {
      while (timers.size > 0 || work.size > 0) await new Promise((resolve) => setTimeout(resolve, 10));
    },
    async stop() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await Promise.all(work);
      await server.stop();
    },
  };
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Answers one request: `answer` sends a reply (after its delayMs), `script` is the stand-in's. */
type Handler = (req: SeenRequest, answer: (reply: Reply) => void, script: Reply[]) => Promise<void>;

async function serve(port: number | undefined, handle: Handler): Promise<StandIn> {
  const requests: SeenRequest[] = [];
  const script: Reply[] = [];
  const pending = new Set<NodeJS.Timeout>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const seen: SeenRequest = { method: req.method ?? '', path: (req.url ?? '').split('?')[0] as string, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(seen);
      const answer = (reply: Reply): void => {
        if (!reply.delayMs) return send(res, reply);
        const timer = setTimeout(() => { pending.delete(timer); send(res, reply); }, reply.delayMs);
        pending.add(timer);
      };
      handle(seen, answer, script).catch((err: unknown) => send(res, { status: 500, body: (err as Error).message }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port ?? 0, '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  const { port: bound } = server.address() as AddressInfo;
  let stopped = false;
  return {
    url: `http://127.0.0.1:${bound}`,
    requests,
    script,
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const t of pending) clearTimeout(t);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(reply.status, reply.headers ?? {});
  res.end(reply.body ?? '');
}

/**
 * stereo-spot b622b25's endpoint (aws-infra/sagemaker.tf@b622b25:98-131): async only, results
 * in the output bucket under sagemaker-async-responses/ and sagemaker-async-failures/, its
 * container (stereo-inference/serve.py) reading the request JSON whatever the content type
 * (the video-worker sends none) and answering `{"status": "ok"}` (json.dumps).
 */
export function startB622b25SageMakerStandIn(opts: { s3: S3Client; outputBucket: string; endpointName?: string; resultDelayMs?: number }): Promise<SageMakerStandIn> {
  return startSageMakerStandIn({
    s3: opts.s3, endpointName: opts.endpointName ?? 'stereo-spot-inference', resultBucket: opts.outputBucket, resultDelayMs: opts.resultDelayMs,
    outputPath: 'sagemaker-async-responses/', failurePath: 'sagemaker-async-failures/', asyncOnly: true, anyContentType: true, okBody: '{"status": "ok"}',
  });
}
