import { describe, expect, it } from '@jest/globals';
import {
  ASSET_WRITES, JOB_STATES, MEDIA_ASSET_STATUSES, PROCESSING_STAGES, canJobBecome, isFinished, transcodeErrorCode,
} from '../../src/domain/rugbycodex/transcode-state.js';
import type { AssetWrite, JobState, ProcessingStage, TranscodeFailure } from '../../src/domain/rugbycodex/transcode-state.js';

// The enums of the live schema (RUGBYCODEX.md), spelled out so a renamed value fails here.
const JOBS: JobState[] = ['queued', 'running', 'succeeded', 'failed', 'canceled'];
const STAGES: ProcessingStage[] = ['uploaded', 'transcoding', 'transcoded', 'complete', 'failed'];

const LEGAL_JOB = new Set([
  'queued→running',
  'queued→failed',
  'running→running', // a take-over from a holder that is gone
  'running→succeeded',
  'running→failed',
  'running→queued', // the reconciler, holder and message both gone
  'succeeded→running', // the output is gone: encoded again
]);

const pairs = <T>(all: T[]): Array<[T, T]> => all.flatMap((from) => all.map((to) => [from, to] as [T, T]));

describe('the enums', () => {
  it('are those of the live schema', () => {
    expect([...JOB_STATES]).toEqual(JOBS);
    expect([...PROCESSING_STAGES]).toEqual(STAGES);
    expect([...MEDIA_ASSET_STATUSES]).toEqual(['intent', 'uploading', 'uploaded', 'processing', 'ready', 'failed', 'interrupted']);
  });
});

describe('jobs.state transitions', () => {
  it.each(pairs(JOBS))('%s → %s', (from, to) => {
    expect(canJobBecome(from, to)).toBe(LEGAL_JOB.has(`${from}→${to}`));
  });

  it('refuses a state outside the enum', () => {
    expect(canJobBecome('pending' as JobState, 'running')).toBe(false);
    expect(canJobBecome('queued', 'completed' as JobState)).toBe(false);
  });

  it.each<[JobState, boolean]>([['queued', false], ['running', false], ['succeeded', true], ['failed', true], ['canceled', true]])(
    '%s is finished: %s', (state, finished) => {
      expect(isFinished(state)).toBe(finished);
    },
  );
});

describe('the asset writes', () => {
  // Each write, the stage and status it writes, and the stages it may come from.
  it.each<[AssetWrite, ProcessingStage | null, string | null, ProcessingStage[]]>([
    ['start', 'transcoding', null, STAGES],
    ['progress', 'transcoding', null, ['uploaded', 'transcoding']],
    ['transcoded', 'transcoded', null, ['uploaded', 'transcoding', 'transcoded']],
    ['publish', null, null, ['uploaded', 'transcoding', 'transcoded']],
    ['complete', 'complete', 'ready', ['uploaded', 'transcoding', 'transcoded', 'complete']],
    ['fail', 'failed', 'failed', ['uploaded', 'transcoding', 'transcoded']],
    ['restore', 'complete', 'ready', STAGES],
    ['refail', 'failed', 'failed', ['uploaded']],
  ])('%s writes stage %s, status %s, from %j', (write, stage, status, from) => {
    expect(ASSET_WRITES[write]).toEqual({ stage, status, from });
  });

  it('complete-upload moving the asset back to uploaded never stops a step of a held job', () => {
    for (const write of ['progress', 'transcoded', 'publish', 'complete'] as const) expect(ASSET_WRITES[write].from).toContain('uploaded');
  });

  it('nothing of a job in flight undoes a complete asset, and a failure never overwrites one', () => {
    for (const write of ['progress', 'transcoded', 'publish', 'fail', 'refail'] as const) expect(ASSET_WRITES[write].from).not.toContain('complete');
  });
});

// Whether a retry can help is src/domain/failure.ts's (test/unit/failure.test.ts); here only the code.
describe('transcodeErrorCode', () => {
  it.each<[TranscodeFailure, string]>([
    [{ kind: 'invalid_input' }, 'INVALID_INPUT'],
    [{ kind: 'ffmpeg', reason: 'exit', exitCode: 1 }, 'FFMPEG_ERROR'],
    [{ kind: 'ffmpeg', reason: 'exit', exitCode: 234 }, 'FFMPEG_ERROR'],
    [{ kind: 'ffmpeg', reason: 'exit' }, 'FFMPEG_ERROR'], // killed by a signal
    [{ kind: 'ffmpeg', reason: 'exit', exitCode: null }, 'FFMPEG_ERROR'],
    [{ kind: 'ffmpeg', reason: 'stall' }, 'FFMPEG_ERROR'],
    [{ kind: 'ffmpeg', reason: 'spawn' }, 'FFMPEG_ERROR'],
    [{ kind: 'ffmpeg', reason: 'disk_full', exitCode: 1 }, 'FFMPEG_ERROR'], // WORK_DIR full: retried
    [{ kind: 'ffmpeg', reason: 'aborted' }, 'ABORTED'],
    [{ kind: 'download' }, 'DOWNLOAD_ERROR'],
    [{ kind: 'upload' }, 'UPLOAD_ERROR'],
    [{ kind: 'db' }, 'DB_ERROR'],
    [{ kind: 'db', transient: true }, 'DB_ERROR'],
    [{ kind: 'db', transient: false }, 'DB_ERROR'], // the row is gone
    [{ kind: 'aborted' }, 'ABORTED'],
  ])('%j → %s', (failure, code) => {
    expect(transcodeErrorCode(failure)).toBe(code);
  });
});
