import { describe, expect, it } from '@jest/globals';
import {
  JOB_STATES, PROCESSING_STAGES, canJobBecome, canStageBecome, classifyTranscodeError, isFinished, jobStatesBefore,
  needsAssetCompletion, stagesBefore,
} from '../../src/domain/transcode-state.js';
import type { JobState, ProcessingStage, TranscodeFailure } from '../../src/domain/transcode-state.js';

// The enums of the live schema (RUGBYCODEX.md), spelled out so a renamed value fails here.
const JOBS: JobState[] = ['queued', 'running', 'succeeded', 'failed', 'canceled'];
const STAGES: ProcessingStage[] = ['uploaded', 'transcoding', 'transcoded', 'complete', 'failed'];

const LEGAL_JOB = new Set([
  'queued→running',
  'queued→failed',
  'running→running',
  'running→succeeded',
  'running→failed',
]);

const LEGAL_STAGE = new Set([
  'uploaded→transcoding',
  'uploaded→failed',
  'transcoding→transcoding',
  'transcoding→transcoded',
  'transcoding→failed',
  'transcoded→transcoding',
  'transcoded→complete',
  'transcoded→failed',
  'failed→transcoding',
]);

const pairs = <T>(all: T[]): Array<[T, T]> => all.flatMap((from) => all.map((to) => [from, to] as [T, T]));

describe('the enums', () => {
  it('are those of the live schema', () => {
    expect([...JOB_STATES]).toEqual(JOBS);
    expect([...PROCESSING_STAGES]).toEqual(STAGES);
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

  it.each<[JobState, JobState[]]>([
    ['running', ['queued', 'running']],
    ['succeeded', ['running']],
    ['failed', ['queued', 'running']],
    ['queued', []],
    ['canceled', []],
  ])('a write to %s is filtered on %j', (to, from) => {
    expect(jobStatesBefore(to)).toEqual(from);
  });

  it.each<[JobState, boolean]>([['queued', false], ['running', false], ['succeeded', true], ['failed', true], ['canceled', true]])(
    '%s is finished: %s', (state, finished) => {
      expect(isFinished(state)).toBe(finished);
    },
  );
});

describe('media_assets.processing_stage transitions', () => {
  it.each(pairs(STAGES))('%s → %s', (from, to) => {
    expect(canStageBecome(from, to)).toBe(LEGAL_STAGE.has(`${from}→${to}`));
  });

  it.each<[ProcessingStage, ProcessingStage[]]>([
    ['transcoding', ['uploaded', 'transcoding', 'transcoded', 'failed']],
    ['transcoded', ['transcoding']],
    ['complete', ['transcoded']],
    ['failed', ['uploaded', 'transcoding', 'transcoded']],
    ['uploaded', []],
  ])('a write to %s is filtered on %j', (to, from) => {
    expect(stagesBefore(to)).toEqual(from);
  });
});

describe('needsAssetCompletion', () => {
  it.each<[JobState, ProcessingStage, boolean, boolean]>([
    ['succeeded', 'transcoded', true, true], // stopped between the job and the asset write
    ['succeeded', 'complete', true, false], // already done
    ['succeeded', 'transcoded', false, false], // never published: not ours to finish
    ['succeeded', 'transcoding', true, false],
    ['running', 'transcoded', true, false],
    ['failed', 'transcoded', true, false],
    ['canceled', 'transcoded', true, false],
  ])('job %s, asset %s with streaming_ready %s → %s', (state, processingStage, streamingReady, expected) => {
    expect(needsAssetCompletion(state, { processingStage, streamingReady })).toBe(expected);
  });
});

describe('classifyTranscodeError', () => {
  it.each<[TranscodeFailure, string, boolean]>([
    [{ kind: 'invalid_input' }, 'INVALID_INPUT', true],
    [{ kind: 'ffmpeg', reason: 'exit', exitCode: 1 }, 'FFMPEG_ERROR', true],
    [{ kind: 'ffmpeg', reason: 'exit', exitCode: 234 }, 'FFMPEG_ERROR', true],
    [{ kind: 'ffmpeg', reason: 'exit' }, 'FFMPEG_ERROR', false], // killed by a signal
    [{ kind: 'ffmpeg', reason: 'exit', exitCode: null }, 'FFMPEG_ERROR', false],
    [{ kind: 'ffmpeg', reason: 'stall' }, 'FFMPEG_ERROR', false],
    [{ kind: 'ffmpeg', reason: 'spawn' }, 'FFMPEG_ERROR', false],
    [{ kind: 'ffmpeg', reason: 'disk_full', exitCode: 1 }, 'FFMPEG_ERROR', false], // WORK_DIR full: retried
    [{ kind: 'ffmpeg', reason: 'aborted' }, 'ABORTED', false],
    [{ kind: 'download' }, 'DOWNLOAD_ERROR', false],
    [{ kind: 'upload' }, 'UPLOAD_ERROR', false],
    [{ kind: 'db' }, 'DB_ERROR', false],
    [{ kind: 'db', transient: true }, 'DB_ERROR', false],
    [{ kind: 'db', transient: false }, 'DB_ERROR', true], // the row is gone or moved on
    [{ kind: 'aborted' }, 'ABORTED', false],
  ])('%j → %s, permanent %s', (failure, code, permanent) => {
    expect(classifyTranscodeError(failure)).toEqual({ code, permanent });
  });
});
