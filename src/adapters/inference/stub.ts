// INFERENCE_BACKEND=stub: upstream's pass-through, the segment copied to the output unchanged
// (server-side where the store can: CopyObject moves no byte through the worker).
import type { Inference, InferenceRequest, ObjectStore } from '../../ports/index.js';
import { parseS3Uri } from '../../domain/stereo/keys.js';
import { PermanentError } from '../../ports/index.js';
import { contentTypeFor } from '../../domain/content-types.js';

export type StoreOf = (bucket: string) => ObjectStore;

export function objectOf(uri: string): { bucket: string; key: string } {
  const parsed = parseS3Uri(uri);
  if (!parsed.ok) throw new PermanentError(`${uri}: ${parsed.reason}`);
  return parsed;
}

export class StubInference implements Inference {
  readonly name = 'stub';
  constructor(private readonly storeOf: StoreOf) {}

  async process(req: InferenceRequest): Promise<void> {
    const from = objectOf(req.inputUri);
    const to = objectOf(req.outputUri);
    await this.storeOf(to.bucket).copyFrom(this.storeOf(from.bucket), from.key, to.key, contentTypeFor(to.key), { signal: req.signal });
  }
}
