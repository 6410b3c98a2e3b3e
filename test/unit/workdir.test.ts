import { describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, statfsSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertFreeSpace, diskSpace, InsufficientDiskError, jobDirOwner, reportWorkDirSpace, sweepStaleJobDirs, withJobDir, WORKDIR_METRICS } from '../../src/runtime/workdir.js';
import { Metrics } from '../../src/runtime/metrics.js';

const root = mkdtempSync(join(tmpdir(), 'rw-workdir-'));

describe('withJobDir', () => {
  it('gives a fresh directory and removes it after success', async () => {
    let seen = '';
    const r = await withJobDir(root, 'job/1', async (dir) => {
      seen = dir;
      writeFileSync(join(dir, 'x'), 'y');
      return 42;
    });
    expect(r).toBe(42);
    expect(seen.startsWith(join(root, 'job_1.'))).toBe(true);
    expect(jobDirOwner(seen.slice(root.length + 1))).toEqual({ host: hostname().replace(/[^A-Za-z0-9_-]/g, '_'), pid: process.pid });
    expect(existsSync(seen)).toBe(false);
  });

  it('removes it after a failure too', async () => {
    let seen = '';
    await expect(withJobDir(root, 'j', async (dir) => { seen = dir; throw new Error('boom'); })).rejects.toThrow('boom');
    expect(existsSync(seen)).toBe(false);
  });
});

describe('assertFreeSpace', () => {
  it('passes when there is room and names the directory and sizes when there is not', async () => {
    await expect(assertFreeSpace(root, 1)).resolves.toBeUndefined();
    const err = await assertFreeSpace(root, Number.MAX_SAFE_INTEGER).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InsufficientDiskError);
    expect((err as Error).message).toMatch(new RegExp(`^not enough free disk in ${root}: the job needs about \\d+ MB, \\d+ MB are free \\(set WORK_DIR`));
  });
});

describe('WORK_DIR space on /metrics', () => {
  it('reads the file system of WORK_DIR, or of its nearest parent before it exists, at each scrape', async () => {
    const fs = statfsSync(root);
    expect(await diskSpace(join(root, 'not', 'yet'))).toEqual({ free: expect.any(Number), size: fs.blocks * fs.bsize });
    const metrics = new Metrics({ instanceId: 't', defaultMetrics: false });
    reportWorkDirSpace(metrics, join(root, 'work'));
    const text = await metrics.prometheus();
    const value = (name: string): number => Number(new RegExp(`^rugbyworker_${name} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value(WORKDIR_METRICS.size)).toBe(fs.blocks * fs.bsize);
    expect(value(WORKDIR_METRICS.free)).toBeGreaterThan(0);
    expect(value(WORKDIR_METRICS.free)).toBeLessThanOrEqual(value(WORKDIR_METRICS.size));
  });
});

describe('sweepStaleJobDirs', () => {
  it('removes only job directories of this host whose process is gone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rw-sweep-'));
    const host = hostname().replace(/[^A-Za-z0-9_-]/g, '_');
    const names = {
      dead: `job-a.${host}.pid4000001-AbC123`,
      alive: `job-b.${host}.pid4000002-dEf456`,
      mine: `job-c.${host}.pid${process.pid}-GhI789`,
      otherHost: `job-d.some-other-container.pid4000001-JkL012`,
      notOurs: 'match-2026.mp4.d',
    };
    for (const n of Object.values(names)) {
      mkdirSync(join(dir, n));
      writeFileSync(join(dir, n, 'input'), 'x');
    }
    writeFileSync(join(dir, `job-e.${host}.pid4000001-MnO345`), 'a file, not a job directory');
    const asked: number[] = [];
    const removed = await sweepStaleJobDirs(dir, (pid) => { asked.push(pid); return pid === 4000002; });
    expect(removed).toEqual([names.dead]);
    expect(readdirSync(dir).sort()).toEqual([names.alive, names.mine, names.otherHost, names.notOurs, `job-e.${host}.pid4000001-MnO345`].sort());
    expect(asked.sort()).toEqual([4000001, 4000002]); // never asked about its own pid or another host's
  });

  it('is a no-op on a WORK_DIR that does not exist yet', async () => {
    await expect(sweepStaleJobDirs(join(root, 'not-there'))).resolves.toEqual([]);
  });

  it('by default treats a pid that does not exist as dead', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rw-sweep-'));
    const host = hostname().replace(/[^A-Za-z0-9_-]/g, '_');
    mkdirSync(join(dir, `j.${host}.pid4194304-AbC123`)); // PID_MAX_LIMIT: every pid is below it
    mkdirSync(join(dir, `j.${host}.pid1-AbC123`)); // init: alive
    expect(await sweepStaleJobDirs(dir)).toEqual([`j.${host}.pid4194304-AbC123`]);
  });
});
