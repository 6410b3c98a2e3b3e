// Which H.264 encoder the ladder may use (issue 19): libx264 everywhere, NVENC on desktop and
// datacenter NVIDIA GPUs (the AWS burst workers' h264_nvenc), the Jetson encoder on boards
// that have one. Which one a machine really gets is decided by a test encode (runtime/ffmpeg/hw-encode.ts).

/** FFmpeg encoder names: NVIDIA's JetPack FFmpeg calls the Jetson encoder h264_nvv4l2enc, community builds h264_nvmpi. */
export const VIDEO_ENCODERS = ['libx264', 'h264_nvenc', 'h264_nvv4l2enc', 'h264_nvmpi'] as const;
export type VideoEncoder = (typeof VIDEO_ENCODERS)[number];

/** HLS_ENCODER: auto picks by platform; the others name a family (still verified by a test encode). */
export const ENCODER_CHOICES = ['auto', 'libx264', 'nvenc', 'jetson'] as const;
export type EncoderChoice = (typeof ENCODER_CHOICES)[number];

/** HLS_ENCODER's value, which the config loader has already checked. */
export function encoderChoice(value: string): EncoderChoice {
  if (!(ENCODER_CHOICES as readonly string[]).includes(value)) throw new RangeError(`HLS_ENCODER must be one of ${ENCODER_CHOICES.join(', ')}; got ${value}`);
  return value as EncoderChoice;
}

export function isHardwareEncoder(encoder: VideoEncoder): boolean {
  return encoder !== 'libx264';
}

const NVENC: readonly VideoEncoder[] = ['h264_nvenc'];
// NVIDIA's own build first, as for decode.
const JETSON: readonly VideoEncoder[] = ['h264_nvv4l2enc', 'h264_nvmpi'];

/**
 * The hardware encoders worth a test encode, in order, or why there are none. An Orin Nano
 * has no encoder block, whatever a community build lists, so auto does not try one there.
 */
export function encoderCandidates(choice: EncoderChoice, platform: { jetson: boolean; orinNano: boolean }): { encoders: readonly VideoEncoder[]; none?: string } {
  switch (choice) {
    case 'libx264':
      return { encoders: [], none: 'HLS_ENCODER=libx264' };
    case 'nvenc':
      return { encoders: NVENC };
    case 'jetson':
      return { encoders: JETSON };
    case 'auto':
      if (!platform.jetson) return { encoders: NVENC };
      return platform.orinNano ? { encoders: [], none: 'Orin Nano has no hardware encoder' } : { encoders: JETSON };
  }
}
