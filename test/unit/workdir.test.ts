import { describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertFreeSpace, InsufficientDiskError, withJobDir } from '../../src/runtime/workdir.js';

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
    expect(seen.startsWith(join(root, 'job_1-'))).toBe(true);
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
