// runFfmpeg's stall watchdog with an activity probe (issue 18 item 0), on fake ffmpegs (bash
// scripts that print nothing, as FFmpeg 5.1 does while a storyboard holds -progress back):
// a quiet run whose probe moves lives, one whose probe stands still is killed, and without
// a probe silence is a stall as before. bytesRead is checked on a real process.
import { createReadStream } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { bytesRead, FfmpegError, runFfmpeg } from '../../src/runtime/ffmpeg/index.js';
import type { ActivitySignature } from '../../src/domain/ffmpeg-activity.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rugbyworker-ffmpeg-stall-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A silent "ffmpeg" running `body` (bash; end a long wait with exec, or the killed script leaves it holding the pipes); its pid goes to NAME.pid. */
async function fakeFfmpeg(name: string, body: string): Promise<{ bin: string; pidFile: string; out: string }> {
  const bin = join(dir, name);
  const pidFile = join(dir, `${name}.pid`);
  const out = join(dir, `${name}.out`);
  await writeFile(bin, `#!/bin/bash\necho $$ > '${pidFile}'\nOUT='${out}'\n${body}\n`);
  await chmod(bin, 0o755);
  return { bin, pidFile, out };
}

const sizeOf = (file: string): Promise<number> => stat(file).then((s) => s.size, () => 0);

async function stallError(run: Promise<unknown>): Promise<FfmpegError> {
  const err = await run.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(FfmpegError);
  return err as FfmpegError;
}

describe('runFfmpeg stall watchdog with an activity probe', () => {
  it('a silent ffmpeg whose output grows is not killed; the probe is given its pid', async () => {
    // 2.5 s without a word against a 1 s stall time, writing a byte every 0.25 s.
    const fake = await fakeFfmpeg('writes', 'for i in $(seq 10); do sleep 0.25; printf x >> "$OUT"; done');
    const pids = new Set<number>();
    const started = Date.now();
    await runFfmpeg(fake.bin, [], {
      stallSeconds: 1,
      activity: async (pid): Promise<ActivitySignature> => {
        pids.add(pid);
        return { written: await sizeOf(fake.out) };
      },
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_400);
    expect([...pids]).toEqual([Number(await readFile(fake.pidFile, 'utf8'))]);
    expect(await sizeOf(fake.out)).toBe(10);
  }, 30_000);

  it('without a probe the same silent run is a stall, as before', async () => {
    const fake = await fakeFfmpeg('writes-unwatched', 'for i in $(seq 10); do sleep 0.25; printf x >> "$OUT"; done');
    const started = Date.now();
    const err = await stallError(runFfmpeg(fake.bin, [], { stallSeconds: 1 }));
    expect(err.reason).toBe('stall');
    expect(Date.now() - started).toBeLessThan(2_400);
  }, 30_000);

  it('a probe that stands still: killed after one to two stall times', async () => {
    const fake = await fakeFfmpeg('hangs', 'printf x >> "$OUT"; exec sleep 30');
    const started = Date.now();
    const err = await stallError(runFfmpeg(fake.bin, [], { stallSeconds: 1, activity: async () => ({ written: await sizeOf(fake.out) }) }));
    const elapsed = Date.now() - started;
    expect(err.reason).toBe('stall');
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(5_000);
  }, 30_000);

  it('output that stops after a while: killed once it has stood still for the stall time', async () => {
    const fake = await fakeFfmpeg('stops', 'for i in $(seq 8); do sleep 0.25; printf x >> "$OUT"; done; exec sleep 30');
    const started = Date.now();
    const err = await stallError(runFfmpeg(fake.bin, [], { stallSeconds: 1, activity: async () => ({ written: await sizeOf(fake.out) }) }));
    expect(err.reason).toBe('stall');
    // Wrote until about 2 s: the looks at 1 and 2 s saw it move, the one at 3 or 4 s no longer.
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_900);
    expect(Date.now() - started).toBeLessThan(7_000);
  }, 30_000);

  it('a probe that throws proves nothing: silence is a stall', async () => {
    const fake = await fakeFfmpeg('probe-throws', 'exec sleep 30');
    const err = await stallError(runFfmpeg(fake.bin, [], { stallSeconds: 1, activity: () => { throw new Error('probe bug'); } }));
    expect(err.reason).toBe('stall');
  }, 30_000);
});

describe('bytesRead', () => {
  it('counts what a process has read', async () => {
    const file = join(dir, 'one-mb');
    await writeFile(file, Buffer.alloc(1 << 20));
    const before = await bytesRead(process.pid);
    for await (const chunk of createReadStream(file)) void chunk;
    expect(before).not.toBeNull();
    expect((await bytesRead(process.pid))! - before!).toBeGreaterThanOrEqual(1 << 20);
  });

  it('null for a process that is gone', async () => {
    const child = execa('true');
    await child;
    expect(await bytesRead(child.pid!)).toBeNull();
  });
});
