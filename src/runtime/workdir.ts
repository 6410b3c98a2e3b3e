// Per-job scratch directories: created under WORK_DIR, always removed, and refused up front
// when the disk cannot hold the job (a Jetson's eMMC fills quickly).
import { mkdir, mkdtemp, rm, statfs } from 'node:fs/promises';
import { join } from 'node:path';

export class InsufficientDiskError extends Error {
  constructor(readonly dir: string, readonly neededBytes: number, readonly freeBytes: number) {
    super(`not enough free disk in ${dir}: the job needs about ${mb(neededBytes)} MB, ${mb(freeBytes)} MB are free (set WORK_DIR to a bigger disk)`);
    this.name = 'InsufficientDiskError';
  }
}

const mb = (n: number): string => (n / 1024 / 1024).toFixed(0);

export async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

/** Runs `fn` in a fresh directory under `root` and removes it afterwards, whatever happens. */
export async function withJobDir<T>(root: string, jobId: string, fn: (dir: string) => Promise<T>): Promise<T> {
  await mkdir(root, { recursive: true });
  const dir = await mkdtemp(join(root, `${jobId.replace(/[^A-Za-z0-9_-]/g, '_')}-`));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Throws InsufficientDiskError unless `dir` has `neededBytes` free. */
export async function assertFreeSpace(dir: string, neededBytes: number): Promise<void> {
  const free = await freeBytes(dir);
  if (free < neededBytes) throw new InsufficientDiskError(dir, neededBytes, free);
}
