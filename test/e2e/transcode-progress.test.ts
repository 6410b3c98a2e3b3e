// Issue 18 item 0 on the shipped executable: progress and the stall watchdog on a slow board.
// The storyboard (5x5 sheets, a tile per 2 s segment: 50 s a sheet) holds FFmpeg 5.1's
// -progress back until the end of a 40 s clip, and FFmpeg is duty-cycled with SIGSTOP/SIGCONT
// (test/helpers/throttle.ts) to about 1x real time at the pre-issue-19 preset (veryfast: the
// ultrafast default is fast enough even throttled that FFmpeg never goes quiet), so a segment (and the one stderr line
// FFmpeg prints for it) takes longer than FFMPEG_STALL_SECONDS = 1. The worker must save
// media_assets.transcode_progress in steps during the encode, and must not take the quiet
// for a stall: before issue 18 it sat at 0 % and the watchdog killed FFmpeg within 2 s.
// FAULTS_LOG_DIR=DIR keeps the worker's log lines there.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { locateFfmpeg } from '../../src/runtime/ffmpeg/index.js';
import { EMPTY, makeClip, startRugbyCodex, type RugbyCodex } from '../helpers/rugbycodex.js';
import { expectTranscodedOnce, workFilesLeft } from '../helpers/transcode-checks.js';
import { throttleChildren } from '../helpers/throttle.js';
import { startWorkerProcess } from '../helpers/worker-process.js';

const CLIP_SECONDS = 40;
const SEGMENT_SECONDS = 2; // rugbycodex.ts's workerEnv
const STALL_SECONDS = 1;

let codex: RugbyCodex;
let tmp: string;
let clip: string;

beforeAll(async () => {
  const bins = await locateFfmpeg(process.env);
  tmp = await mkdtemp(join(tmpdir(), 'rw-progress-'));
  clip = join(tmp, 'match.mp4');
  [codex] = await Promise.all([startRugbyCodex(), makeClip(bins.ffmpeg, clip, CLIP_SECONDS, '640x360')]);
}, 60_000);

afterAll(async () => {
  await codex?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** transcode_progress as the worker wrote it to the asset, in order, until the `transcoded` stage. */
function progressWrites(assetId: string): number[] {
  const bodies = codex.standin.requests
    .filter((r) => r.method === 'PATCH' && r.table === 'media_assets' && r.query.id === `eq.${assetId}`)
    .map((r) => r.body as Record<string, unknown>);
  const transcoded = bodies.findIndex((b) => b.processing_stage === 'transcoded');
  return bodies.slice(0, transcoded < 0 ? undefined : transcoded)
    .filter((b) => typeof b.transcode_progress === 'number').map((b) => b.transcode_progress as number);
}

describe('transcode progress on a slow board', () => {
  it('FFmpeg at a fraction of real time behind a storyboard: progress saved in steps, no stall kill, done once', async () => {
    const queues = await codex.createQueues({ visibilitySeconds: 30 });
    const u = await codex.seedUpload(clip);
    const workDir = join(tmp, 'work');
    const w = await startWorkerProcess(['--role', 'transcode'], codex.workerEnv(queues.queueUrl, workDir, {
      FFMPEG_STALL_SECONDS: String(STALL_SECONDS), HLS_RENDITIONS: '360', HLS_PRESET: 'veryfast', LOG_LEVEL: 'debug', // ffmpeg_quiet_but_working
    }), 'progress');
    const throttle = throttleChildren(w.child.pid!, 'ffmpeg', { runMs: 8, periodMs: 100 });
    try {
      await codex.sqs.send(new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: u.body }));
      const end = await w.waitFor((e) => ['job_succeeded', 'job_failed', 'job_retry', 'job_lease_lost'].includes(String(e.event_type)) && e.job_id === u.job, 90_000);
      expect(throttle.pids.size).toBeGreaterThan(0);
      expect(w.events.filter((e) => e.event_type === 'ffmpeg_stall')).toEqual([]);
      expect(end.event_type).toBe('job_succeeded');
      // The stall time did pass in silence (where the old watchdog killed), and what FFmpeg had done meanwhile saved it.
      expect(w.events.filter((e) => e.event_type === 'ffmpeg_quiet_but_working' && e.job_id === u.job).length).toBeGreaterThan(0);

      // Never back (a save 5 s after one with no segment closed between may repeat the percent).
      const saved = progressWrites(u.asset);
      expect([...saved].sort((a, b) => a - b)).toEqual(saved);
      expect(new Set(saved.filter((p) => p > 0 && p < 100)).size).toBeGreaterThanOrEqual(3);
      await expectTranscodedOnce(codex, w.events, u, CLIP_SECONDS / SEGMENT_SECONDS);
      expect(await codex.depth(queues.queueUrl)).toEqual(EMPTY);
    } finally {
      await throttle.stop();
      expect(await w.stop()).toBe(0);
    }
    expect(await workFilesLeft(workDir)).toEqual([]);
  }, 120_000);
});
