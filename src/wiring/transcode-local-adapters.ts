// `rugbyworker transcode FILE`'s adapters: everything in this process, nothing in the cloud.
import { FsObjectStore } from '../adapters/storage/fs.js';
import { MemoryMediaDb } from '../adapters/db/memory.js';
import { MemoryQueue } from '../adapters/queue/memory.js';
import type { LocalAdapters } from '../commands/transcode-local.js';

/** An in-process queue, `bucketRoot` as the bucket, an in-memory database. */
export function transcodeLocalAdapters(bucketRoot: string): LocalAdapters {
  return {
    // One delivery: on a laptop a failure is reported, not retried.
    queue: new MemoryQueue({ name: 'local-transcode', visibilitySeconds: 3600, maxReceiveCount: 1 }),
    store: new FsObjectStore({ root: bucketRoot, bucket: 'local' }),
    db: new MemoryMediaDb(),
  };
}
