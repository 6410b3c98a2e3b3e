// Multipart upload of a file from pooled part buffers. lib-storage cuts parts by
// concatenating 64 KiB reads into fresh buffers: each part is garbage once sent, and V8
// lets up to ~64 MB of such external memory pile up before it collects, so a 2 GB upload
// peaked well above the 150 MB goal. Reading each part straight into a buffer of the
// process's PartPool (part-pool.ts), given back once the part is sent, keeps memory at the
// pool's size however many uploads run, and a Buffer body lets the SDK retry a part (a
// stream body could not be replayed).
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import type { CompletedPart, S3Client } from '@aws-sdk/client-s3';
import type { PartPool } from './part-pool.js';

/** S3 allows at most 10 000 parts: bigger files get bigger parts. */
const MAX_PARTS = 10_000;

export interface FileUploadInput {
  client: S3Client;
  bucket: string;
  key: string;
  contentType: string;
  file: string;
  size: number;
  partSize: number;
  /** Parts of this upload in flight at once, each holding a buffer of `pool`. */
  queueSize: number;
  pool: PartPool;
  signal?: AbortSignal;
}

/** Resolves the object's ETag; on failure the multipart upload is aborted (no orphan parts). */
export async function uploadFileMultipart(input: FileUploadInput): Promise<string | undefined> {
  const { client, bucket, key, file, size, queueSize, pool } = input;
  const partSize = Math.max(input.partSize, Math.ceil(size / MAX_PARTS));
  const partCount = Math.ceil(size / partSize);
  // Stops the other parts at the first failure, and follows the caller's signal.
  const stop = new AbortController();
  const onAbort = (): void => stop.abort(input.signal?.reason);
  input.signal?.addEventListener('abort', onAbort, { once: true });
  if (input.signal?.aborted) onAbort(); // fired before we listened
  let fh: FileHandle | undefined;
  let uploadId: string | undefined;
  try {
    // As lib-storage does: when the client sends checksums, the parts' CRC32s go into Complete.
    const withChecksums = (await client.config.requestChecksumCalculation()) === 'WHEN_SUPPORTED';
    fh = await open(file, 'r');
    const created = await client.send(new CreateMultipartUploadCommand({
      Bucket: bucket, Key: key, ContentType: input.contentType, ...(withChecksums ? { ChecksumAlgorithm: 'CRC32' } : {}),
    }), { abortSignal: stop.signal });
    uploadId = created.UploadId;
    if (!uploadId) throw new Error(`CreateMultipartUpload for s3://${bucket}/${key} returned no UploadId`);
    const parts: CompletedPart[] = [];
    let next = 0;
    const worker = async (handle: FileHandle, id: string): Promise<void> => {
      while (next < partCount && !stop.signal.aborted) {
        const index = next++;
        const length = Math.min(partSize, size - index * partSize);
        // Held for one part only, never while waiting for another: no deadlock between uploads.
        const buffer = await pool.acquire(length, stop.signal);
        try {
          await readFully(handle, buffer, length, index * partSize, file);
          const out = await client.send(new UploadPartCommand({
            Bucket: bucket, Key: key, UploadId: id, PartNumber: index + 1, Body: buffer.subarray(0, length), ContentLength: length,
          }), { abortSignal: stop.signal });
          parts[index] = { PartNumber: index + 1, ETag: out.ETag, ...(out.ChecksumCRC32 ? { ChecksumCRC32: out.ChecksumCRC32 } : {}) };
        } finally {
          pool.release(buffer);
        }
      }
    };
    const workers = Array.from({ length: Math.min(queueSize, partCount) }, () => worker(fh as FileHandle, uploadId as string).catch((err: unknown) => {
      stop.abort(err);
      throw err;
    }));
    await Promise.all(workers);
    stop.signal.throwIfAborted();
    const done = await client.send(new CompleteMultipartUploadCommand({
      Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts },
    }), { abortSignal: stop.signal });
    return done.ETag;
  } catch (err) {
    if (uploadId) {
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })).catch(() => { /* the original error matters more */ });
    }
    throw input.signal?.aborted ? input.signal.reason : err;
  } finally {
    input.signal?.removeEventListener('abort', onAbort);
    await fh?.close();
  }
}

async function readFully(fh: FileHandle, buffer: Buffer, length: number, position: number, file: string): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) throw new Error(`${file} shrank while uploading: no data at byte ${position + done}`);
    done += bytesRead;
  }
}
