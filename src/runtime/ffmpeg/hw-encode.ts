import type { Logger } from 'pino';
import { videoEncoderArgs } from '../../domain/rugbycodex/hls-ladder.js';
import { encoderCandidates, type EncoderChoice, type VideoEncoder } from '../../domain/rugbycodex/video-encoder.js';
import { HW_ENCODE, setDeviceCondition } from '../device-conditions.js';
import { readPlatform } from './hw-platform.js';
import { errorLine, parseCodecList } from './hwaccel.js';
import { systemHwSources, type HwProbeSources } from './hw-sources.js';
import type { FfmpegBinaries } from './locate.js';

export interface EncodeVerdict {
  /** The ladder's video encoder: a hardware one that passed its test encode, else libx264. */
  encoder: VideoEncoder;
  hardware: boolean;
  platform: string;
  /** One line: why this encoder. */
  reason: string;
}

export interface EncodeDetectOptions {
  /** HLS_ENCODER. */
  choice: EncoderChoice;
  /** Streams the test encode opens at once: the ladder's largest rung count. */
  streams: number;
}

/** Modest rates for the test encode's small picture; only whether the encoder opens and runs matters. */
const TEST_RATES = { videoKbps: 500, maxrateKbps: 550, bufsizeKbps: 1000 };

/**
 * As for decode, a listed encoder says what was compiled in, not what works: the verdict is
 * the platform, then the encoder list, then a real test encode with the ladder's own
 * arguments for that encoder. Anything that fails ends as libx264, with the reason.
 */
export async function detectHwEncode(sources: HwProbeSources, opts: EncodeDetectOptions, logger?: Logger): Promise<EncodeVerdict> {
  const platform = await readPlatform(sources);
  const software = (reason: string): EncodeVerdict => ({ encoder: 'libx264', hardware: false, platform: platform.description, reason });
  const { encoders: wanted, none } = encoderCandidates(opts.choice, platform);
  if (none !== undefined) return done(software(none), logger);
  const listed = await sources.encoders().then(parseCodecList, () => new Set<string>());
  const present = wanted.filter((e) => listed.has(e));
  if (present.length === 0) return done(software(notListedReason(opts.choice, platform.jetson, wanted)), logger);

  const args = (encoder: VideoEncoder) => videoEncoderArgs(encoder, { rungs: Array.from({ length: Math.max(1, opts.streams) }, () => TEST_RATES), segmentSeconds: 2, fps: 25 });
  const failures: string[] = [];
  for (const encoder of present) {
    const result = await sources.tryEncode(args(encoder), opts.streams).catch((err: unknown) => ({ ok: false, detail: errorLine(err) }));
    if (result.ok) return done({ encoder, hardware: true, platform: platform.description, reason: `${encoder} listed and ${result.detail}` }, logger);
    failures.push(`${encoder}: ${result.detail}`);
  }
  const verdict = software(failedReason(present, failures));
  // A GPU's encoder that does not work (not merely listed by a build on a machine without one).
  if (platform.hasGpu) setDeviceCondition(HW_ENCODE, `${verdict.reason}; encoding with libx264`);
  return done(verdict, logger);
}

function done(verdict: EncodeVerdict, logger?: Logger): EncodeVerdict {
  logger?.info({ event_type: 'hw_encode_detected', ...verdict }, verdict.hardware ? 'hardware encode detected' : 'software encode');
  return verdict;
}

function notListedReason(choice: EncoderChoice, jetson: boolean, wanted: readonly VideoEncoder[]): string {
  const names = wanted.join(' or ');
  if (choice !== 'auto') return `HLS_ENCODER=${choice} but this ffmpeg lists no ${names}`;
  return jetson ? `Jetson platform but this ffmpeg lists no ${names} encoder` : `no hardware H.264 encoder listed (no ${names})`;
}

function failedReason(present: readonly VideoEncoder[], failures: string[]): string {
  if (present.length === 1) return `${present[0]} listed but test encode failed: ${failures[0]!.replace(/^[^:]*:\s*/, '')}`;
  return `${present.join(', ')} listed but test encodes failed: ${failures.join('; ')}`;
}

const cache = new Map<string, Promise<EncodeVerdict>>();

/** Detection runs once per process per ffmpeg binary and choice; concurrent callers share the promise. */
export function cachedHwEncode(
  paths: Pick<FfmpegBinaries, 'ffmpeg'>,
  opts: EncodeDetectOptions,
  sources: HwProbeSources = systemHwSources(paths),
  logger?: Logger,
): Promise<EncodeVerdict> {
  const key = `${paths.ffmpeg}\0${opts.choice}\0${opts.streams}`;
  let verdict = cache.get(key);
  if (!verdict) {
    verdict = detectHwEncode(sources, opts, logger);
    cache.set(key, verdict);
    verdict.catch(() => cache.delete(key));
  }
  return verdict;
}
