// The ObjectStore conformance suite against fauxqs S3 (real HTTP, real SDK, lib-storage).
import { CreateBucketCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import type { DeleteObjectsCommandInput, DeleteObjectsCommandOutput } from '@aws-sdk/client-s3';
import { PartPool } from '../../src/adapters/storage/part-pool.js';
import { S3ObjectStore, createS3Client } from '../../src/adapters/storage/s3.js';
import { awsTestClientConfig, startFauxqs } from '../helpers/servers.js';
import { describeObjectStoreConformance } from './storage.conformance.js';

// fauxqs refuses request bodies over 11 MiB: parts of 5 MiB (the default, set here all the same).
const PART = 5 * 1024 * 1024;

describeObjectStoreConformance('S3 (fauxqs)', async () => {
  const faux = await startFauxqs();
  const client = createS3Client(awsTestClientConfig(faux.endpoint));
  const bucket = 'conformance';
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  await client.send(new CreateBucketCommand({ Bucket: 'conformance-other' }));
  const partPool = new PartPool({ partSize: PART, buffers: 4 }); // both stores share it, as src/wiring/production-ports.ts's do

  let parts = 0;
  let copies = 0;
  const deleteSizes: number[] = [];
  const undeletable = new Set<string>();
  // Watches what lib-storage and the adapter send, and plays S3 refusing some deletes:
  // per-key <Error> entries in an otherwise successful DeleteObjects response.
  client.middlewareStack.add((next, context) => async (args) => {
    if (context.commandName === 'UploadPartCommand') parts++;
    if (context.commandName === 'CopyObjectCommand') copies++;
    if (context.commandName !== 'DeleteObjectsCommand') return next(args);
    const input = args.input as DeleteObjectsCommandInput;
    deleteSizes.push(input.Delete?.Objects?.length ?? 0);
    const result = await next(args);
    const output = result.output as DeleteObjectsCommandOutput;
    const refused = (input.Delete?.Objects ?? []).filter((o) => o.Key !== undefined && undeletable.has(o.Key));
    if (refused.length > 0) {
      output.Deleted = output.Deleted?.filter((d) => !refused.some((r) => r.Key === d.Key));
      output.Errors = [...(output.Errors ?? []), ...refused.map((r) => ({ Key: r.Key, Code: 'AccessDenied', Message: 'Access Denied' }))];
      for (const r of refused) undeletable.delete(r.Key as string);
    }
    return result;
  }, { step: 'initialize', name: 'conformanceSpy' });

  return {
    store: new S3ObjectStore({ client, bucket, partSizeBytes: PART, queueSize: 4, partPool }),
    other: new S3ObjectStore({ client, bucket: 'conformance-other', partPool }),
    partSizeBytes: PART,
    copyKeepsSourceType: 'fauxqs 1.9.2 CopyObject keeps the source\'s type even with MetadataDirective REPLACE (the request is checked in storage-s3-copy.test.ts)',
    notByteOrdered: 'fauxqs 1.9.2 sorts listings with localeCompare ("B" after "a"); S3 sorts by UTF-8 bytes',
    async storedContentType(key) {
      return (await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ContentType;
    },
    uploadParts: () => parts,
    serverCopies: () => copies,
    deleteCalls: () => deleteSizes,
    async makeUndeletable(key) {
      undeletable.add(key);
      return /^AccessDenied: Access Denied$/;
    },
    async teardown() {
      client.destroy();
      await faux.stop();
    },
  };
});
