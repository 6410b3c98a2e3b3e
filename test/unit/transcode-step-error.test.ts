// toStepError (roles/transcode/errors.ts): which FFmpeg failures a retry can fix. A
// clean non-zero exit blames the input, except when FFmpeg could not write its output: a
// full WORK_DIR is the worker's trouble and must not fail the upload for good.
import { describe, expect, it } from '@jest/globals';
import { transcodeErrorCode } from '../../src/domain/rugbycodex/transcode-state.js';
import { classifyFailure } from '../../src/domain/failure.js';
import { FfmpegError } from '../../src/runtime/ffmpeg/index.js';
import { toStepError } from '../../roles/transcode/errors.js';

describe('toStepError', () => {
  it('an FFmpeg exit with "No space left on device" is disk_full, retried, and says WORK_DIR is full', () => {
    const err = new FfmpegError({ reason: 'exit', exitCode: 1, stderrTail: '[hls @ 0x1] Failed to write: seg_00003.ts\nav_interleaved_write_frame(): No space left on device\n' });
    const step = toStepError('ffmpeg', err);
    expect(step.failure).toEqual({ kind: 'ffmpeg', reason: 'disk_full', exitCode: 1 });
    expect(step.message).toMatch(/^the work disk \(WORK_DIR\) is full: /);
    expect([transcodeErrorCode(step.failure), classifyFailure(step)]).toEqual(['FFMPEG_ERROR', 'transient']);
  });

  it('any other FFmpeg exit stays permanent (the input is bad)', () => {
    const err = new FfmpegError({ reason: 'exit', exitCode: 1, stderrTail: 'moov atom not found\n' });
    const step = toStepError('ffmpeg', err);
    expect([transcodeErrorCode(step.failure), classifyFailure(step)]).toEqual(['FFMPEG_ERROR', 'bad_input']);
  });
});
