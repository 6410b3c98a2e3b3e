// The copy every ObjectStore can do: the source's bytes streamed through this process into
// the target's upload. Used where no server-side copy reaches from one store to the other.
import { assertSafeKey } from '../../domain/object-keys.js';
import type { ObjectInfo, ObjectStore } from '../../ports/index.js';

export async function streamCopy(target: ObjectStore, source: ObjectStore, sourceKey: string, key: string, contentType: string, opts: { signal?: AbortSignal } = {}): Promise<ObjectInfo> {
  // Refused before the source is opened, so no stream is left behind.
  assertSafeKey(key);
  opts.signal?.throwIfAborted();
  const body = await source.getStream(sourceKey, opts);
  try {
    return await target.upload(body, key, contentType, opts);
  } finally {
    body.destroy();
  }
}
