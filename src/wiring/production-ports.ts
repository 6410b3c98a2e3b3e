// The composition root of worker mode and the operator commands: which adapter serves each
// port the roles use, from the configuration. Each adapter is created on first use and
// shared; an SDK is loaded by the first call that needs it, not by every process.
import type { Logger } from 'pino';
import type { DeadLetterQueue, Inference, MediaDb, ObjectStore, OperatorPorts, PipelineDb, Queue } from '../ports/index.js';
import type { BucketKey, QueueUrlKey } from '../domain/requirements.js';
import { redisStream } from '../domain/queue-names.js';
import { leaseOptional } from '../domain/sqs-permissions.js';
import type { Config } from '../runtime/config/schema.js';
import { watched, type DependencyHealth } from '../runtime/dependency-health.js';
import { MemoryQueue } from '../adapters/queue/memory.js';
import { PartPool } from '../adapters/storage/part-pool.js';
import { LazyObjectStore } from '../adapters/storage/lazy-store.js';
import type { S3Client } from '@aws-sdk/client-s3';
import { lazyAsync } from '../adapters/lazy.js';
import { awsOptions, mediaStorageOptions } from '../adapters/aws/client-config.js';
import { chooseInference } from './inference.js';

export type ProductionPorts = OperatorPorts & { close(): Promise<void> };

/**
 * Adapters for worker mode, from the configuration; each created on first use and shared.
 * With `deps`, every call to a remote service is reported there (what /health says).
 */
export function productionPorts(config: Config, logger: Logger, deps?: DependencyHealth): ProductionPorts {
  const watch = <T extends object>(port: T, name: string, isFailure?: (err: unknown) => boolean): T => (deps ? watched(port, name, deps, isFailure) : port);
  const queues = new Map<QueueUrlKey, Promise<Queue>>();
  const deadLetters = new Map<QueueUrlKey, Promise<DeadLetterQueue>>();
  let pipeline: Promise<PipelineDb> | undefined;
  let inference: Promise<Inference> | undefined;
  const stores = new Map<string, ObjectStore>();
  let db: MediaDb | undefined;
  const s3: { aws?: S3Client; media?: S3Client } = {};
  const partPool = new PartPool(); // one per process: every S3 upload shares its part buffers (allocated on first use)
  return {
    queue(key) {
      let q = queues.get(key);
      if (!q) {
        const stream = redisStream(key);
        q = config.QUEUE_BACKEND === 'sqs'
          ? import('../adapters/queue/sqs.js').then(({ SqsQueue, createSqsClient }) => watch(SqsQueue, 'sqs')
            .open({ client: createSqsClient(config), queueUrl: config[key], logger, assumedMaxReceiveCount: config.SQS_ASSUMED_MAX_RECEIVE_COUNT, leaseOptional: leaseOptional(key) })).then((queue) => watch(queue, 'sqs'))
          : config.QUEUE_BACKEND === 'redis'
            ? import('../adapters/queue/redis-streams.js').then(({ RedisStreamQueue, isRedisOutage }) => watch(new RedisStreamQueue({ url: config.REDIS_URL, stream, logger }), 'redis', isRedisOutage))
            : Promise.resolve(new MemoryQueue({ name: stream }));
        queues.set(key, q);
      }
      return q;
    },
    deadLetters(key) {
      let d = deadLetters.get(key);
      if (!d) {
        d = config.QUEUE_BACKEND === 'sqs'
          ? import('../adapters/queue/sqs-dead-letters.js').then(async ({ SqsDeadLetters }) => {
            const { createSqsClient } = await import('../adapters/queue/sqs.js');
            return SqsDeadLetters.open({ client: createSqsClient(config), queueUrl: config[key], logger });
          })
          // Redis Streams and the in-process queue are one adapter for both sides.
          : (this.queue(key) as Promise<Queue & DeadLetterQueue>);
        deadLetters.set(key, d);
      }
      return d;
    },
    storage(bucket: BucketKey | { media: string } | { aws: string }) {
      const media = typeof bucket !== 'string' && 'media' in bucket;
      const name = typeof bucket === 'string' ? config[bucket] : 'media' in bucket ? bucket.media : bucket.aws;
      // Media buckets (Wasabi) and AWS buckets may share a name on different endpoints.
      const id = `${media ? 'media' : 'aws'}:${name}`;
      let store = stores.get(id);
      if (!store) {
        store = watch(new LazyObjectStore(name, async () => {
          const { S3ObjectStore, createS3Client } = await import('../adapters/storage/s3.js');
          const client = media
            ? (s3.media ??= createS3Client(mediaStorageOptions(config)))
            : (s3.aws ??= createS3Client(awsOptions(config, 's3')));
          return new S3ObjectStore({ client, bucket: name, partPool });
        }), media && config.WASABI_ENDPOINT ? 'wasabi' : 's3');
        stores.set(id, store);
      }
      return store;
    },
    pipelineDb() {
      // The DynamoDB SDK is loaded by the first stereo role, not by every process.
      return (pipeline ??= import('../adapters/db/dynamodb-pipeline.js').then(({ DynamoDbPipelineDb, createDynamoDbClient }) => watch(new DynamoDbPipelineDb({
        client: createDynamoDbClient(awsOptions(config, 'dynamodb')), logger,
        tables: { jobs: config.JOBS_TABLE_NAME, segmentCompletions: config.SEGMENT_COMPLETIONS_TABLE_NAME, reassemblyTriggered: config.REASSEMBLY_TRIGGERED_TABLE_NAME },
      }), 'dynamodb')));
    },
    inference() {
      // A remote model is a dependency; FFmpeg and the stub run here.
      const remote = config.INFERENCE_BACKEND === 'http' || config.INFERENCE_BACKEND === 'sagemaker';
      return (inference ??= chooseInference(config, (bucket) => this.storage({ aws: bucket })).then((i) => (remote ? watch(i, 'inference') : i)));
    },
    permissions() {
      // The probe's SDK clients are loaded by the first role that asks.
      return { probe: async (checks) => new (await import('../adapters/aws/permission-probe.js')).AwsPermissionProbe(config).probe(checks) };
    },
    mediaDb() {
      // supabase-js is loaded by the first query, not by every process that might make one.
      return (db ??= watch(lazyAsync<MediaDb>(async () => {
        const { SupabaseMediaDb } = await import('../adapters/db/supabase.js');
        return new SupabaseMediaDb({ url: config.SUPABASE_URL, serviceRoleKey: config.SUPABASE_SERVICE_ROLE_KEY });
      }), 'supabase'));
    },
    async close() {
      // After the roles: open SQS polls give back what they got, Redis connections close.
      await Promise.all([...queues.values()].map(async (q) => (await q).close()));
      s3.aws?.destroy();
      s3.media?.destroy();
    },
  };
}
