import { describe, expect, it } from '@jest/globals';
import { IllegalTransitionError, assertTransition, canTransition, classifyTranscodeError } from '../../src/domain/transcode-state.js';
import type { TranscodeJobStatus } from '../../src/ports.js';

const ALL: TranscodeJobStatus[] = ['pending', 'processing', 'completed', 'failed'];
const LEGAL = new Set([
  'pending→processing',
  'pending→failed',
  'processing→processing',
  'processing→completed',
  'processing→failed',
  'failed→processing',
]);

describe('transcode job transitions', () => {
  const pairs = ALL.flatMap((from) => ALL.map((to) => [from, to] as const));

  it.each(pairs)('%s → %s', (from, to) => {
    const legal = LEGAL.has(`${from}→${to}`);
    expect(canTransition(from, to)).toBe(legal);
    if (legal) expect(() => assertTransition(from, to)).not.toThrow();
    else expect(() => assertTransition(from, to)).toThrow(IllegalTransitionError);
  });

  it('names both states in the error', () => {
    expect(() => assertTransition('completed', 'processing')).toThrow('transcode job cannot go from completed to processing');
  });
});

describe('classifyTranscodeError', () => {
  it.each([
    [{ kind: 'invalid_input' } as const, 'INVALID_INPUT', true],
    [{ kind: 'ffmpeg', reason: 'exit', exitCode: 1 } as const, 'FFMPEG_ERROR', true],
    [{ kind: 'ffmpeg', reason: 'exit', exitCode: 234 } as const, 'FFMPEG_ERROR', true],
    [{ kind: 'ffmpeg', reason: 'exit' } as const, 'FFMPEG_ERROR', false], // killed by a signal
    [{ kind: 'ffmpeg', reason: 'exit', exitCode: null } as const, 'FFMPEG_ERROR', false],
    [{ kind: 'ffmpeg', reason: 'stall' } as const, 'FFMPEG_ERROR', false],
    [{ kind: 'ffmpeg', reason: 'spawn' } as const, 'FFMPEG_ERROR', false],
    [{ kind: 'ffmpeg', reason: 'aborted' } as const, 'ABORTED', false],
    [{ kind: 'download' } as const, 'DOWNLOAD_ERROR', false],
    [{ kind: 'upload' } as const, 'UPLOAD_ERROR', false],
    [{ kind: 'db' } as const, 'DB_ERROR', false],
    [{ kind: 'aborted' } as const, 'ABORTED', false],
  ])('%j → %s, permanent %s', (failure, code, permanent) => {
    expect(classifyTranscodeError(failure)).toEqual({ code, permanent });
  });
});
