// INFERENCE_BACKEND=sagemaker: the request JSON of STEREO-SPOT.md "Messages" sent to
// SAGEMAKER_ENDPOINT_NAME; the model container writes the segment output itself.
// Real-time (InvokeEndpoint) is cut off by SageMaker after 60 s, so long segments need
// SAGEMAKER_ASYNC: the request JSON goes to S3 beside the output, InvokeEndpointAsync queues
// it, and this waits for the output or failure object the response names.
import { Readable } from 'node:stream';
import { InvokeEndpointAsyncCommand, InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { SageMakerRuntimeClientConfig } from '@aws-sdk/client-sagemaker-runtime';
import type { Inference, InferenceRequest, ObjectStore } from '../../ports/index.js';
import type { AwsClientOptions } from '../aws/client-config.js';
import { backoffDelayMs } from '../../domain/backoff.js';
import { asyncRequestKey, inferenceRequestJson } from '../../domain/stereo/inference-request.js';
import { parseS3Uri, s3Uri } from '../../domain/stereo/keys.js';
import { InvalidInputError } from '../../ports/index.js';
import { sleep } from '../../runtime/retry.js';
import { objectOf, type StoreOf } from './stub.js';

/** InvokeEndpointAsync refuses an InvocationTimeoutSeconds above this. */
const MAX_INVOCATION_TIMEOUT_SECONDS = 3600;
const QUOTE_CHARS = 200;

export interface SageMakerInferenceOptions {
  client: SageMakerRuntimeClient;
  endpointName: string;
  /** SAGEMAKER_ASYNC: InvokeEndpointAsync, then wait for the output or failure object. */
  async?: {
    storeOf: StoreOf;
    /** Longest wait for a result (SAGEMAKER_ASYNC_TIMEOUT_SECONDS). */
    timeoutSeconds: number;
    /** Polling of the result objects: the first wait, growing ×2 up to max (default 2 s to 30 s). */
    pollMs?: { first: number; max: number };
  };
}

/**
 * A client for awsOptions(config, 'sagemaker-runtime'). A real-time call never answers after
 * SageMaker's 60 s cut-off, so a socket silent for longer is dead, not busy.
 */
export function createSageMakerRuntimeClient(options: AwsClientOptions & Partial<SageMakerRuntimeClientConfig>): SageMakerRuntimeClient {
  const { forcePathStyle: _s3Only, ...sdk } = options;
  return new SageMakerRuntimeClient({ requestHandler: { connectionTimeout: 10_000, requestTimeout: 120_000 }, ...sdk });
}

export class SageMakerInference implements Inference {
  readonly name = 'sagemaker';
  constructor(private readonly opts: SageMakerInferenceOptions) {}

  async process(req: InferenceRequest): Promise<void> {
    if (this.opts.async) return this.processAsync(req, this.opts.async);
    try {
      await this.opts.client.send(new InvokeEndpointCommand({
        EndpointName: this.opts.endpointName, ContentType: 'application/json', Body: inferenceRequestJson(req),
      }), { abortSignal: req.signal });
    } catch (err) {
      throw req.signal.aborted ? err : this.failure('InvokeEndpoint', err);
    }
  }

  private async processAsync(req: InferenceRequest, async: NonNullable<SageMakerInferenceOptions['async']>): Promise<void> {
    const output = objectOf(req.outputUri);
    const requestKey = asyncRequestKey(output.key);
    const inputLocation = s3Uri(output.bucket, requestKey);
    await async.storeOf(output.bucket).upload(Readable.from([Buffer.from(inferenceRequestJson(req))]), requestKey, 'application/json', { signal: req.signal });

    let accepted;
    try {
      accepted = await this.opts.client.send(new InvokeEndpointAsyncCommand({
        EndpointName: this.opts.endpointName, ContentType: 'application/json', InputLocation: inputLocation,
        InvocationTimeoutSeconds: Math.min(Math.max(1, Math.ceil(async.timeoutSeconds)), MAX_INVOCATION_TIMEOUT_SECONDS),
      }), { abortSignal: req.signal });
    } catch (err) {
      throw req.signal.aborted ? err : this.failure('InvokeEndpointAsync', err);
    }
    const { InferenceId: inferenceId, OutputLocation: outputLocation, FailureLocation: failureLocation } = accepted;
    const inference = inferenceId ? `inference ${inferenceId}` : `the inference of ${inputLocation}`;
    if (!outputLocation) throw new Error(`SageMaker endpoint ${this.opts.endpointName} accepted ${inference} but named no OutputLocation`);
    req.logger.info({ event_type: 'inference_accepted', backend: this.name, inference_id: inferenceId, input_location: inputLocation, output_location: outputLocation, failure_location: failureLocation },
      `SageMaker endpoint ${this.opts.endpointName} accepted ${inference}`);

    const result = this.locate(outputLocation, async.storeOf);
    const failed = failureLocation ? this.locate(failureLocation, async.storeOf) : null;
    const poll = async.pollMs ?? { first: 2000, max: 30_000 };
    const deadline = Date.now() + async.timeoutSeconds * 1000;
    for (let round = 1; ; round++) {
      // The response object only says the model finished; the model wrote the segment output itself.
      if (await result.store.exists(result.key)) return;
      if (failed && (await failed.store.exists(failed.key))) {
        const quote = await readQuote(failed.store, failed.key, req.signal);
        throw new InvalidInputError(`SageMaker endpoint ${this.opts.endpointName} failed ${inference} (${failureLocation}): ${quote}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`SageMaker endpoint ${this.opts.endpointName} wrote no result for ${inference} within ${async.timeoutSeconds} s (${outputLocation})`);
      const delay = Math.min(left, backoffDelayMs(round, { baseMs: poll.first, maxMs: poll.max, jitter: 'none' }));
      req.logger.debug({ event_type: 'inference_poll', backend: this.name, inference_id: inferenceId, round, delay_ms: Math.round(delay) }, `no result yet for ${inference}; next look in ${Math.round(delay)} ms`);
      await sleep(delay, req.signal);
    }
  }

  private locate(uri: string, storeOf: StoreOf): { store: ObjectStore; key: string } {
    const parsed = parseS3Uri(uri);
    if (!parsed.ok) throw new Error(`SageMaker endpoint ${this.opts.endpointName} named a result location that is ${parsed.reason}: ${uri}`);
    return { store: storeOf(parsed.bucket), key: parsed.key };
  }

  /**
   * One line naming the endpoint. Invalid input only when the request itself is refused (a
   * ValidationError, e.g. no such endpoint) or the model refused it (ModelError with a 4xx
   * from the container); throttling, 5xx, ModelNotReady, connection errors and the 60 s
   * cut-off (a ModelError "server error (0)") are retried.
   */
  private failure(operation: string, err: unknown): Error {
    const e = err as { name?: string; message?: string; OriginalStatusCode?: number; $metadata?: { httpStatusCode?: number } };
    const message = oneLine(e.message ?? String(err));
    const status = e.$metadata?.httpStatusCode;
    const original = typeof e.OriginalStatusCode === 'number' ? e.OriginalStatusCode : Number(/Received \w+ error \((\d+)\)/.exec(message)?.[1] ?? Number.NaN);
    const http = status === undefined ? '' : Number.isNaN(original) ? ` (HTTP ${status})` : ` (HTTP ${status}, model ${original})`;
    const cutOff = e.name === 'ModelError' && original === 0 && /timed out/i.test(message);
    const hint = cutOff ? '; a real-time invocation is cut off after 60 s: SAGEMAKER_ASYNC=true has no such limit' : '';
    const text = `SageMaker endpoint ${this.opts.endpointName}: ${operation} failed: ${e.name ?? 'Error'}${http}: ${message}${hint}`;
    const refusedByModel = e.name === 'ModelError' && (Number.isNaN(original) || (original >= 400 && original < 500));
    return e.name === 'ValidationError' || refusedByModel ? new InvalidInputError(text, { cause: err }) : new Error(text, { cause: err });
  }
}

/** The start of a failure object, as one quotable line. */
async function readQuote(store: ObjectStore, key: string, signal: AbortSignal): Promise<string> {
  const stream = await store.getStream(key, { signal });
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size > 4 * QUOTE_CHARS) break; // only the start is quoted
    }
  } finally {
    stream.destroy();
  }
  const text = oneLine(Buffer.concat(chunks).toString('utf8'));
  return JSON.stringify(text.length > QUOTE_CHARS ? `${text.slice(0, QUOTE_CHARS)}…` : text);
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim().slice(0, 500);
}
