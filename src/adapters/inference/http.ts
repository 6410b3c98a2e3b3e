// INFERENCE_BACKEND=http: POST {INFERENCE_HTTP_URL}/invocations with the JSON SageMaker takes
// (STEREO-SPOT.md "Messages"); any 2xx is success, the server writes the output itself.
// Connection errors and 5xx are retried with backoff here; a 4xx is the request's fault.
import type { Inference, InferenceRequest } from '../../ports/index.js';
import { backoffDelayMs } from '../../domain/backoff.js';
import { inferenceRequestJson } from '../../domain/stereo/inference-request.js';
import { InvalidInputError } from '../../ports/index.js';
import { sleep } from '../../runtime/retry.js';

export interface HttpInferenceOptions {
  url: string;
  timeoutSeconds: number;
  /** Attempts per segment before the failure goes back to the queue (default 4). */
  attempts?: number;
  baseDelayMs?: number;
}

export class HttpInference implements Inference {
  readonly name = 'http';
  private readonly endpoint: string;
  constructor(private readonly opts: HttpInferenceOptions) {
    this.endpoint = `${opts.url.replace(/\/+$/, '')}/invocations`;
  }

  async process(req: InferenceRequest): Promise<void> {
    const body = inferenceRequestJson(req);
    const attempts = this.opts.attempts ?? 4;
    for (let attempt = 1; ; attempt++) {
      let problem: string;
      // What the last failure was, kept as the cause: the engine waits out an unreachable or
      // unavailable server (isOutage) with the message kept, but not a 500 about this segment.
      let cause: unknown;
      try {
        const res = await fetch(this.endpoint, {
          method: 'POST', headers: { 'Content-Type': 'application/json' }, body,
          signal: AbortSignal.any([req.signal, AbortSignal.timeout(this.opts.timeoutSeconds * 1000)]),
        });
        await res.arrayBuffer().catch(() => undefined); // the body is ignored, but drained
        if (res.ok) return;
        if (res.status < 500) throw new InvalidInputError(`inference server refused the segment: HTTP ${res.status} from ${this.endpoint}`);
        problem = `HTTP ${res.status}`;
        cause = { status: res.status };
      } catch (err) {
        if (err instanceof InvalidInputError || req.signal.aborted) throw err;
        problem = problemOf(err);
        cause = err;
      }
      if (attempt >= attempts) throw new Error(`inference server ${this.endpoint} failed ${attempts} times, last: ${problem}`, { cause });
      const delay = backoffDelayMs(attempt, { baseMs: this.opts.baseDelayMs ?? 1000, maxMs: 30_000, jitter: 'equal' });
      req.logger.warn({ event_type: 'inference_retry', attempt, delay_ms: Math.round(delay), problem }, `inference failed (${problem}); retrying`);
      await sleep(delay, req.signal);
    }
  }
}

/** fetch says only "fetch failed"; the reason (ECONNREFUSED, a reset) is its cause. Not `instanceof`: the cause may come from another realm. */
function problemOf(err: unknown): string {
  const { message, cause } = err as { message?: string; cause?: { message?: string; code?: string } };
  const why = typeof cause === 'object' && cause !== null ? cause.message || cause.code : undefined;
  return why ? `${message}: ${why}` : String(message ?? err);
}
