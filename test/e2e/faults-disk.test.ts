// Issue 12: WORK_DIR fills up in the middle of a transcode, on the executable. WORK_DIR is
// a small tmpfs (root only; skipped otherwise); once the source is downloaded the test fills
// the disk, so FFmpeg's writes fail with ENOSPC. The job must not be failed for good (a full
// disk is the worker's trouble, not the upload's): a clear "work disk is full" error, nothing
// published as ready (no master playlist, asset not streaming_ready), the message released,
// and once space is back the same job and the next one complete, each exactly once.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, statfsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { locateFfmpeg } from '../../src/runtime/ffmpeg/index.js';
import { startWorkerProcess } from '../helpers/worker-process.js';
import { BUCKET, EMPTY, makeClip, startRugbyCodex, type RugbyCodex } from '../helpers/rugbycodex.js';
import { until } from '../helpers/wait.js';

function tryMount(dir: string): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    mkdirSync(dir, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=320m', 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

let codex: RugbyCodex;
let tmp: string;
let clip: string;
let disk: string;
let mounted = false;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'rw-disk-'));
  disk = join(tmp, 'disk');
  mounted = tryMount(disk);
  if (!mounted) return;
  const bins = await locateFfmpeg(process.env);
  clip = join(tmp, 'match.mp4');
  [codex] = await Promise.all([startRugbyCodex(), makeClip(bins.ffmpeg, clip, 20, '640x360')]);
}, 60_000);

afterAll(async () => {
  await codex?.stop();
  if (mounted) execFileSync('umount', ['-l', disk]);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** Fills the disk but 16 KiB; the job writes meanwhile (FFmpeg encodes as the source downloads), so look again if it shrank under us. */
function fillDisk(disk: string, filler: string): void {
  for (let tries = 1; ; tries++) {
    const { bavail, bsize } = statfsSync(disk);
    const have = existsSync(filler) ? statSync(filler).size : 0;
    try {
      execFileSync('fallocate', ['-l', String(Math.max(have, have + bavail * bsize - 16 * 1024)), filler], { stdio: 'pipe' });
      return;
    } catch (err) {
      if (tries >= 20) throw err;
    }
  }
}

describe('WORK_DIR full mid-transcode', () => {
  it('the job is released with a clear error, nothing published as ready; with space back it and the next job finish once', async () => {
    if (!mounted) {
      console.warn('faults-disk skipped: needs root and a tmpfs mount');
      return;
    }
    const workDir = join(disk, 'work');
    const queues = await codex.createQueues({ visibilitySeconds: 30 });
    const first = await codex.seedUpload(clip);
    const second = await codex.seedUpload(clip);
    const w = await startWorkerProcess(['--role', 'transcode'],
      codex.workerEnv(queues.queueUrl, workDir, { HLS_RENDITIONS: '360', HEARTBEAT_INTERVAL_SECONDS: '1', HEARTBEAT_EXTENSION_SECONDS: '10' }), 'disk');
    const { events, waitFor } = w;
    const filler = join(disk, 'filler');
    try {
      await codex.sqs.send(new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: first.body }));
      // The source is in the job's directory once `input` exists (downloads land as input.part).
      const downloaded = (): boolean => {
        try { return readdirSync(workDir, { recursive: true }).some((f) => String(f).endsWith('/input')); } catch { return false; }
      };
      await until('the source downloading', 60_000, downloaded, { everyMs: 5 });
      fillDisk(disk, filler);

      const failed = await waitFor((e) => e.event_type === 'transcode_failed' && e.job_id === first.job, 60_000);
      expect(failed).toMatchObject({ permanent: false, error_code: 'FFMPEG_ERROR', error_message: expect.stringMatching(/^the work disk \(WORK_DIR\) is full: /) });
      await waitFor((e) => e.event_type === 'job_retry' && e.job_id === first.job, 10_000);
      // Nothing published as ready: no master playlist, the asset not streaming, the job not failed.
      const listed = await codex.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: first.streaming }));
      expect((listed.Contents ?? []).map((o) => o.Key)).not.toContain(`${first.streaming}index.m3u8`);
      expect(await codex.standin.row('media_assets', first.asset)).toMatchObject({ streaming_ready: false });
      expect((await codex.standin.row('jobs', first.job))?.state).not.toBe('failed');

      // Space back: the released job comes back and finishes; then the next one.
      await rm(filler);
      await waitFor((e) => e.event_type === 'job_succeeded' && e.job_id === first.job, 90_000);
      await codex.sqs.send(new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: second.body }));
      await waitFor((e) => e.event_type === 'job_succeeded' && e.job_id === second.job, 90_000);
      for (const u of [first, second]) {
        expect(await codex.standin.row('jobs', u.job)).toMatchObject({ state: 'succeeded', progress: 1 });
        expect(await codex.standin.row('media_assets', u.asset)).toMatchObject({ status: 'ready', streaming_ready: true, processing_stage: 'complete' });
        expect(events.filter((e) => e.event_type === 'transcode_completed' && e.job_id === u.job)).toHaveLength(1);
      }
      expect(await codex.standin.row('jobs', first.job)).toMatchObject({ attempt: 2 });
      expect(await codex.depth(queues.queueUrl)).toEqual(EMPTY);
    } finally {
      await rm(filler, { force: true });
      expect(await w.stop()).toBe(0);
    }
    expect(readdirSync(workDir).filter((f) => !f.startsWith('.'))).toEqual([]);
  }, 240_000);
});
