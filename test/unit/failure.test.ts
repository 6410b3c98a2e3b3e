// The one classification of failures (src/domain/failure.ts): the errors the roles and the
// adapters really throw, each to its class; the engine's own facts win over the error.
import { describe, expect, it } from '@jest/globals';
import { classifyFailure, type FailureClass } from '../../src/domain/failure.js';
import { DbError, HoldLostError, InvalidInputError, LeaseLostError, PermanentError, RetryableError } from '../../src/ports/index.js';
import { FfmpegError } from '../../src/runtime/ffmpeg/index.js';
import { toStepError, invalidInput } from '../../roles/transcode/errors.js';

const net = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code });
const aws = (name: string, status: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
const ffmpeg = (reason: 'exit' | 'stall' | 'aborted' | 'spawn', exitCode?: number, stderrTail = 'Invalid data found when processing input') =>
  new FfmpegError({ reason, exitCode, stderrTail, what: 'ffprobe input.mp4' });
const refused = () => ffmpeg('exit', 1, "[hls @ 0x55d0c8a0] Format not on whitelist 'mov,matroska'");

describe('classifyFailure', () => {
  it.each<[string, unknown, FailureClass]>([
    ['a message naming nothing to work on (PermanentError)', new PermanentError('"x" is not a segment key'), 'bad_message'],
    ['a bad input said so (InvalidInputError)', new InvalidInputError('no video stream'), 'bad_input'],
    ['FFmpeg exiting cleanly on the input', ffmpeg('exit', 1), 'bad_input'],
    ['ffprobe exiting 0 with output it cannot read', ffmpeg('exit', 0), 'bad_input'],
    ['FFmpeg refusing the input (not a video container)', refused(), 'bad_input'],
    ['FFmpeg exiting cleanly, wrapped by a role naming the object', new Error('cannot read input/j/source.mp4: …', { cause: ffmpeg('exit', 1) }), 'bad_input'],
    ['FFmpeg killed by a signal (no exit code): the OOM killer', ffmpeg('exit'), 'transient'],
    ['FFmpeg out of disk (ENOSPC): the work disk, not the input', ffmpeg('exit', 1, 'av_interleaved_write_frame(): No space left on device'), 'transient'],
    ['FFmpeg stalled', ffmpeg('stall'), 'transient'],
    ['FFmpeg aborted', ffmpeg('aborted'), 'transient'],
    ['FFmpeg not started', ffmpeg('spawn'), 'transient'],
    ['a transcode step: the upload is invalid', invalidInput('the file has no video stream'), 'bad_input'],
    ['a transcode step: FFmpeg exited on the input', toStepError('ffmpeg', ffmpeg('exit', 1)), 'bad_input'],
    ['a transcode step: the disk full', toStepError('ffmpeg', ffmpeg('exit', 1, 'No space left on device')), 'transient'],
    ['a transcode step: its row gone (DbError not transient)', toStepError('db', new DbError('jobs', 'no such row', { transient: false, status: 406 })), 'bad_input'],
    ['a transcode step: the download reset', toStepError('download', net('ECONNRESET')), 'outage'],
    ['a transcode step: a 500 from PostgREST', toStepError('db', new DbError('jobs', 'HTTP 500', { status: 500 })), 'transient'],
    ['connection refused', net('ECONNREFUSED'), 'outage'],
    ['a reset two causes down', new Error('upload failed', { cause: new Error('part 3', { cause: net('ECONNRESET') }) }), 'outage'],
    ['an AWS 503', aws('ServiceUnavailable', 503), 'outage'],
    ['S3 SlowDown', aws('SlowDown', 503), 'outage'],
    ['a smithy timeout', Object.assign(new Error('requestTimeout'), { name: 'TimeoutError' }), 'outage'],
    ['PostgREST with no answer', new DbError('jobs', 'fetch failed', { status: 0 }), 'outage'],
    ['an AWS 500: an answer about this request', aws('InternalFailure', 500), 'transient'],
    ['a 4xx whose cause was a reset: the answer counts', Object.assign(new Error('conflict'), { status: 409, cause: net('ECONNRESET') }), 'transient'],
    ['a missing table (DbError not transient) outside transcode: configuration, not the input', new DbError('Jobs', 'no such DynamoDB table', { transient: false, status: 400 }), 'transient'],
    ['not ready yet (RetryableError)', new RetryableError('job is ingesting'), 'transient'],
    ['the message lease lost', new LeaseLostError('taken'), 'lease_lost'],
    ['the job taken over (HoldLostError)', new HoldLostError('another delivery holds it'), 'superseded'],
    ['a bad message wrapping an outage: nearest first', new PermanentError('bad', { cause: net('ECONNRESET') }), 'bad_message'],
    ['a plain error', new Error('boom'), 'transient'],
    ['not an error at all', 'ECONNRESET', 'transient'],
  ])('%s: %#', (_what, err, expected) => {
    expect(classifyFailure(err)).toBe(expected);
  });

  it('the engine\'s facts win: FFmpeg killed for a lost lease or at the deadline exits like a bad input would', () => {
    expect(classifyFailure(ffmpeg('exit', 255), { leaseLost: true })).toBe('lease_lost');
    expect(classifyFailure(ffmpeg('exit', 255), { aborted: true })).toBe('aborted');
    expect(classifyFailure(new InvalidInputError('x'), { leaseLost: true, aborted: true })).toBe('lease_lost');
  });
});
