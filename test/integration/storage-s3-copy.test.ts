// What the conformance suite cannot see of S3ObjectStore.copyFrom on fauxqs: the CopyObject
// request itself (fauxqs 1.9.2 keeps the source's type whatever it is sent), and the
// streamed copy where CopyObject cannot do it (a service without it, a source over 5 GiB).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CreateBucketCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import type { CopyObjectCommandInput, HeadObjectCommandInput, HeadObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import { randomBytes, createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { S3ObjectStore, createS3Client } from '../../src/adapters/storage/s3.js';
import { awsTestClientConfig, startFauxqs } from '../helpers/servers.js';
import type { LocalServer } from '../helpers/servers.js';
import { sha256Of } from './storage.conformance.js';

describe('S3ObjectStore.copyFrom', () => {
  let faux: LocalServer;
  let client: S3Client;
  let src: S3ObjectStore;
  let dst: S3ObjectStore;
  const copyInputs: CopyObjectCommandInput[] = [];
  let refuseCopy = false;
  const hugeKeys = new Set<string>();
  const data = randomBytes(200_000);
  const want = createHash('sha256').update(data).digest('hex');

  beforeAll(async () => {
    faux = await startFauxqs();
    client = createS3Client(awsTestClientConfig(faux.endpoint));
    for (const Bucket of ['copy-src', 'copy-dst']) await client.send(new CreateBucketCommand({ Bucket }));
    client.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName === 'CopyObjectCommand') {
        copyInputs.push({ ...(args.input as CopyObjectCommandInput) });
        // What a service without CopyObject answers.
        if (refuseCopy) throw Object.assign(new Error('CopyObject is not implemented'), { name: 'NotImplemented', $metadata: { httpStatusCode: 501 } });
      }
      const result = await next(args);
      // A source as big as CopyObject refuses, without making one.
      const head = args.input as HeadObjectCommandInput;
      if (context.commandName === 'HeadObjectCommand' && hugeKeys.has(head.Key ?? '')) (result.output as HeadObjectCommandOutput).ContentLength = 6 * 1024 ** 3;
      return result;
    }, { step: 'initialize', name: 'copySpy' });
    src = new S3ObjectStore({ client, bucket: 'copy-src' });
    dst = new S3ObjectStore({ client, bucket: 'copy-dst' });
  });

  afterAll(async () => {
    client?.destroy();
    await faux?.stop();
  });

  it('sends CopyObject with the source URL-encoded and the new content type replacing the old', async () => {
    const key = 'segments/a b/c+d é%.mp4';
    await src.upload(Readable.from([data]), key, 'application/octet-stream');
    copyInputs.length = 0;
    const got = await dst.copyFrom(src, key, 'out/c.mp4', 'video/mp4');
    expect(copyInputs).toEqual([expect.objectContaining({
      Bucket: 'copy-dst', Key: 'out/c.mp4', CopySource: 'copy-src/segments/a%20b/c%2Bd%20%C3%A9%25.mp4', MetadataDirective: 'REPLACE', ContentType: 'video/mp4',
    })]);
    expect(got).toMatchObject({ key: 'out/c.mp4', size: data.length, contentType: 'video/mp4', etag: expect.any(String) });
    expect(await sha256Of(await dst.getStream('out/c.mp4'))).toBe(want);
  });

  it('streams the copy when the service has no CopyObject', async () => {
    await src.upload(Readable.from([data]), 'refused/a.mp4', 'application/octet-stream');
    refuseCopy = true;
    try {
      expect(await dst.copyFrom(src, 'refused/a.mp4', 'refused/b.mp4', 'video/mp4')).toMatchObject({ key: 'refused/b.mp4', size: data.length, contentType: 'video/mp4' });
    } finally {
      refuseCopy = false;
    }
    expect(await sha256Of(await dst.getStream('refused/b.mp4'))).toBe(want);
    expect((await client.send(new HeadObjectCommand({ Bucket: 'copy-dst', Key: 'refused/b.mp4' }))).ContentType).toBe('video/mp4');
  });

  it('streams the copy of a source over CopyObject\'s 5 GiB', async () => {
    await src.upload(Readable.from([data]), 'huge/a.mp4', 'application/octet-stream');
    hugeKeys.add('huge/a.mp4');
    copyInputs.length = 0;
    expect(await dst.copyFrom(src, 'huge/a.mp4', 'huge/b.mp4', 'video/mp4')).toMatchObject({ key: 'huge/b.mp4', size: data.length, contentType: 'video/mp4' });
    expect(copyInputs).toEqual([]);
    expect(await sha256Of(await dst.getStream('huge/b.mp4'))).toBe(want);
  });
});
