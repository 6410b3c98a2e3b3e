// The Inference port: a segment's stereo conversion (segment-infer).
import type { Logger } from 'pino';
import type { StereoMode } from '../domain/stereo/records.js';

/** One segment to convert: the backend reads `inputUri` and writes `outputUri` itself (as SageMaker does). */
export interface InferenceRequest {
  readonly inputUri: string;
  readonly outputUri: string;
  readonly mode: StereoMode;
  readonly signal: AbortSignal;
  readonly logger: Logger;
}

/** A segment's stereo conversion: stub (a copy), ffmpeg (naive, local), http, sagemaker. */
export interface Inference {
  readonly name: string;
  /** Resolves once the output object is written; an InvalidInputError when the segment is refused for good (src/ports/errors.ts). */
  process(req: InferenceRequest): Promise<void>;
}
