// Per-job scratch directories: created under WORK_DIR, always removed, and refused up front
// when the disk cannot hold the job (a Jetson's eMMC fills quickly).
import { mkdir, mkdtemp, readdir, rm, statfs } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import type { Metrics } from './metrics.js';

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

/** Metric names (without METRIC_PREFIX): WORK_DIR's file system, read at each scrape. */
export const WORKDIR_METRICS = { free: 'workdir_free_bytes', size: 'workdir_size_bytes' } as const;

/** Free (for this user) and total bytes of the file system holding `dir`, or its nearest existing parent (WORK_DIR is made at the first job). */
export async function diskSpace(dir: string): Promise<{ free: number; size: number }> {
  for (let d = dir; ; d = dirname(d)) {
    try {
      const s = await statfs(d);
      return { free: s.bavail * s.bsize, size: s.blocks * s.bsize };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(d) === d) throw err;
    }
  }
}

/** WORK_DIR's free and total bytes on /metrics, read when it is scraped: a Jetson's eMMC fills quietly. */
export function reportWorkDirSpace(metrics: Metrics, dir: string): void {
  metrics.gauge(WORKDIR_METRICS.free, 'Bytes free for the worker on the file system of WORK_DIR', [], async (g) => g.set((await diskSpace(dir)).free));
  metrics.gauge(WORKDIR_METRICS.size, 'Size in bytes of the file system of WORK_DIR', [], async (g) => g.set((await diskSpace(dir)).size));
}

/**
 * Runs `fn` in a fresh directory under `root` and removes it afterwards, whatever happens.
 * The name carries this host's name and this process's pid, so a later worker on the same
 * host can tell a crashed job's leftovers from a running one's (sweepStaleJobDirs).
 */
export async function withJobDir<T>(root: string, jobId: string, fn: (dir: string) => Promise<T>): Promise<T> {
  await mkdir(root, { recursive: true });
  const dir = await mkdtemp(join(root, `${safeName(jobId)}.${HOST}.pid${process.pid}-`));
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

const safeName = (s: string): string => s.replace(/[^A-Za-z0-9_-]/g, '_');
// Containers sharing a volume have their own pid numbering: only a directory made on this
// host (same hostname, same pid namespace) can be judged by its pid.
const HOST = safeName(hostname());

/** Who made a job directory (`<job>.<host>.pid<pid>-XXXXXX`), or null for any other name. */
export function jobDirOwner(name: string): { host: string; pid: number } | null {
  const m = /\.([A-Za-z0-9_-]+)\.pid(\d+)-[A-Za-z0-9]{6}$/.exec(name);
  return m ? { host: m[1]!, pid: Number(m[2]) } : null;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, someone else's
  }
}

/**
 * Removes job directories under `root` left by processes that no longer exist (a worker
 * killed mid-job leaves its download and partial ladder behind; on a Jetson's eMMC a few of
 * those fill the disk). Directories of live processes (another unit sharing WORK_DIR), of
 * other hosts, and anything not named by withJobDir are left alone. Resolves the names removed.
 */
export async function sweepStaleJobDirs(root: string, isAlive: (pid: number) => boolean = pidAlive): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  const stale = entries.filter((e) => {
    const owner = e.isDirectory() ? jobDirOwner(e.name) : null;
    return owner !== null && owner.host === HOST && owner.pid !== process.pid && !isAlive(owner.pid);
  });
  await Promise.all(stale.map((e) => rm(join(root, e.name), { recursive: true, force: true })));
  return stale.map((e) => e.name);
}
