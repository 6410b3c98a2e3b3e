// `rugbyworker stereo FILE`'s adapters: two directory buckets whose ObjectCreated events
// reach in-process queues, in-memory tables, and the configured inference backend.
import { join } from 'node:path';
import { FsObjectStore } from '../adapters/storage/fs.js';
import { MemoryPipelineDb } from '../adapters/db/memory-pipeline.js';
import { MemoryQueue } from '../adapters/queue/memory.js';
import type { StereoLocalAdapters } from '../commands/stereo-local.js';
import type { S3EventNotification } from '../domain/s3-event.js';
import type { Config } from '../runtime/config/schema.js';
import { chooseInference } from './inference.js';

/** Buckets under `root`; `inputCreated` gets the input bucket's ObjectCreated events. */
export function stereoLocalAdapters(root: string, config: Config, inputCreated: (event: S3EventNotification) => Promise<void>): StereoLocalAdapters {
  const input = new FsObjectStore({ root: join(root, 'input'), bucket: config.INPUT_BUCKET_NAME, onObjectCreated: inputCreated });
  const output = new FsObjectStore({ root: join(root, 'output'), bucket: config.OUTPUT_BUCKET_NAME });
  // One delivery each: on a laptop a failure is reported, not retried; the heartbeat holds longer work.
  const queue = (name: string) => new MemoryQueue({ name, visibilitySeconds: 3600, maxReceiveCount: 1 });
  return {
    input, output, db: new MemoryPipelineDb(),
    queues: { CHUNKING_QUEUE_URL: queue('local-chunking'), VIDEO_WORKER_QUEUE_URL: queue('local-video-worker'), REASSEMBLY_QUEUE_URL: queue('local-reassembly') },
    inference: () => chooseInference(config, (bucket) => {
      if (bucket === input.bucket) return input;
      if (bucket === output.bucket) return output;
      throw new Error(`local stereo has no bucket ${bucket}`);
    }),
  };
}
