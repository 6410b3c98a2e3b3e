// A download's one write: each chunk awaited onto the file before the next is read, so
// nothing queues between socket and disk and the bytes counted are the bytes on disk.
import type { FileHandle } from 'node:fs/promises';

export async function writeFully(fh: FileHandle, chunk: Buffer): Promise<void> {
  for (let done = 0; done < chunk.length;) done += (await fh.write(chunk, done, chunk.length - done)).bytesWritten;
}
