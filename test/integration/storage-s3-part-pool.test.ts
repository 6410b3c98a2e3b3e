// One PartPool shared by S3ObjectStores (as src/wiring/production-ports.ts shares one per process): however many
// file uploads run, on whichever store, no more parts are in flight than the pool has buffers,
// and an upload waiting for a buffer can be aborted without taking one.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import type { S3Client, UploadPartCommandInput } from '@aws-sdk/client-s3';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { PartPool } from '../../src/adapters/storage/part-pool.js';
import { S3ObjectStore, createS3Client } from '../../src/adapters/storage/s3.js';
import { awsTestClientConfig, startFauxqs } from '../helpers/servers.js';
import type { LocalServer } from '../helpers/servers.js';
import { randomStream, sha256Of } from './storage.conformance.js';

const MiB = 1024 * 1024;
const PART = 5 * MiB;
const FILE = 3 * PART + 1; // 4 parts each

describe('S3ObjectStore with a shared PartPool', () => {
  let faux: LocalServer;
  let client: S3Client;
  let work: string;
  const files: string[] = [];
  const sums: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let partDelayMs = 0;
  const partsByKey = new Map<string, number>();

  beforeAll(async () => {
    faux = await startFauxqs();
    client = createS3Client(awsTestClientConfig(faux.endpoint));
    for (const Bucket of ['pool-a', 'pool-b']) await client.send(new CreateBucketCommand({ Bucket }));
    // Slow parts, so uploads that could overlap do.
    client.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName !== 'UploadPartCommand') return next(args);
      const key = (args.input as UploadPartCommandInput).Key ?? '';
      partsByKey.set(key, (partsByKey.get(key) ?? 0) + 1);
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      try {
        await sleep(partDelayMs);
        return await next(args);
      } finally {
        inFlight--;
      }
    }, { step: 'initialize', name: 'partSpy' });
    work = await mkdtemp(join(tmpdir(), 'rugbyworker-part-pool-'));
    for (let i = 0; i < 3; i++) {
      const file = join(work, `src-${i}.bin`);
      const body = randomStream(FILE);
      await pipeline(body.stream, createWriteStream(file));
      files.push(file);
      sums.push(body.sha256());
    }
  }, 60_000);

  afterAll(async () => {
    client?.destroy();
    await faux?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('three uploads on two stores keep at most the pool\'s two parts in flight, and come back intact', async () => {
    const pool = new PartPool({ partSize: PART, buffers: 2 });
    const a = new S3ObjectStore({ client, bucket: 'pool-a', partPool: pool, queueSize: 4 });
    const b = new S3ObjectStore({ client, bucket: 'pool-b', partPool: pool, queueSize: 4 });
    expect(pool.allocated).toBe(0); // nothing until the first part
    partDelayMs = 30;
    maxInFlight = 0;
    const stores = [a, b, a];
    await Promise.all(files.map((file, i) => stores[i]!.upload(file, `shared/${i}.bin`, 'video/mp4')));
    expect(maxInFlight).toBe(2);
    expect(pool.allocated).toBe(2);
    expect(pool.inUse).toBe(0);
    for (const [i, store] of stores.entries()) {
      expect(await store.head(`shared/${i}.bin`)).toMatchObject({ size: FILE, contentType: 'video/mp4' });
      expect(await sha256Of(await store.getStream(`shared/${i}.bin`))).toBe(sums[i]);
    }
  }, 60_000);

  it('an upload aborted while it waits for a buffer fails with the reason, sends no part, and the other finishes', async () => {
    const pool = new PartPool({ partSize: PART, buffers: 1 });
    const a = new S3ObjectStore({ client, bucket: 'pool-a', partPool: pool });
    const b = new S3ObjectStore({ client, bucket: 'pool-b', partPool: pool });
    partDelayMs = 150;
    const first = a.upload(files[0]!, 'wait/first.bin', 'video/mp4');
    await sleep(50); // first holds the only buffer
    const ctl = new AbortController();
    const second = b.upload(files[1]!, 'wait/second.bin', 'video/mp4', { signal: ctl.signal });
    await sleep(100);
    ctl.abort(new Error('shutting down'));
    await expect(second).rejects.toThrow('shutting down');
    expect(partsByKey.get('wait/second.bin')).toBeUndefined();
    await first;
    expect(await sha256Of(await a.getStream('wait/first.bin'))).toBe(sums[0]);
    expect(await b.head('wait/second.bin')).toBeNull();
    expect(pool.inUse).toBe(0);
    expect(pool.allocated).toBe(1);
  }, 60_000);
});
