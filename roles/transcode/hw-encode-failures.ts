// A hardware encoder that passed the start-up test encode and then failed a job is not used
// again by this process: later jobs start with libx264 until a restart. Re-verifying would
// ask the same small test that just failed to predict the real ladder (GPU memory or NVENC
// sessions taken by another process, a driver that lost the device), and each job would pay
// a failed attempt. A failure is remembered only once libx264 has then encoded the same job,
// so a failure that was not the encoder's (a full disk) changes nothing.
import type { VideoEncoder } from '../../src/domain/rugbycodex/video-encoder.js';

const failed = new Map<string, string>();
const key = (ffmpeg: string, encoder: VideoEncoder) => `${ffmpeg}\0${encoder}`;

/** Why this ffmpeg's encoder failed a job earlier in this process, or undefined. */
export function hwEncodeFailedEarlier(ffmpeg: string, encoder: VideoEncoder): string | undefined {
  return failed.get(key(ffmpeg, encoder));
}

export function rememberHwEncodeFailure(ffmpeg: string, encoder: VideoEncoder, why: string): void {
  failed.set(key(ffmpeg, encoder), why);
}
