import type { Logger } from 'pino';
import { readPlatform } from './hw-platform.js';
import { systemHwSources } from './hw-sources.js';
import type { HwProbeSources } from './hw-sources.js';
import type { FfmpegBinaries } from './locate.js';
import { HW_DECODE, setDeviceCondition } from '../device-conditions.js';
import { errorText } from '../../domain/describe-error.js';

export interface HwVerdict {
  kind: 'jetson' | 'nvidia' | 'none';
  /** Arguments for before `-i`; `[]` means software decode. */
  h264InputArgs: string[];
  hevcInputArgs: string[];
  platform: string;
  /** One line: why this verdict. */
  reason: string;
}

interface Candidate {
  kind: 'jetson' | 'nvidia';
  label: string;
  h264: string[];
  hevc: string[];
}

/**
 * Listed decoders say what was compiled in, not what works, so the verdict is:
 * platform files, then the decoder/hwaccel lists, then one real decoded frame.
 * Anything that fails ends as software decode, with the reason.
 */
export async function detectHwDecode(sources: HwProbeSources, logger?: Logger): Promise<HwVerdict> {
  const platform = await readPlatform(sources);
  const [decoders, hwaccels] = await Promise.all([
    sources.decoders().then(parseCodecList, () => new Set<string>()),
    sources.hwaccels().then(parseHwaccels, () => new Set<string>()),
  ]);

  const candidates = platform.jetson ? jetsonCandidates(decoders) : nvidiaCandidates(decoders, hwaccels);
  const failures: string[] = [];
  for (const c of candidates) {
    const result = await sources.tryDecode(c.h264).catch((err: unknown) => ({ ok: false, detail: errorLine(err) }));
    if (result.ok) {
      const verdict: HwVerdict = {
        kind: c.kind,
        h264InputArgs: c.h264,
        hevcInputArgs: c.hevc,
        platform: platform.description,
        reason: `${c.label} listed and decoded a test frame`,
      };
      logger?.info({ event_type: 'hw_decode_detected', ...verdict }, 'hardware decode detected');
      return verdict;
    }
    failures.push(`${c.label}: ${result.detail}`);
  }

  const verdict: HwVerdict = {
    kind: 'none',
    h264InputArgs: [],
    hevcInputArgs: [],
    platform: platform.description,
    reason: noneReason(platform.jetson, candidates, failures),
  };
  // The GPU's decoder is there but did not work (not merely listed by an ffmpeg build on a
  // machine without one): the device heartbeat says degraded.
  if (platform.hasGpu && candidates.length > 0) setDeviceCondition(HW_DECODE, `${verdict.reason}; decoding in software`);
  logger?.info({ event_type: 'hw_decode_detected', ...verdict }, 'software decode');
  return verdict;
}

function jetsonCandidates(decoders: Set<string>): Candidate[] {
  const out: Candidate[] = [];
  // NVIDIA's own Jetson build first, then the community nvmpi build.
  for (const suffix of ['nvv4l2dec', 'nvmpi']) {
    const h264 = `h264_${suffix}`;
    const hevc = `hevc_${suffix}`;
    if (decoders.has(h264)) {
      out.push({ kind: 'jetson', label: h264, h264: ['-c:v', h264], hevc: decoders.has(hevc) ? ['-c:v', hevc] : [] });
    }
  }
  return out;
}

function nvidiaCandidates(decoders: Set<string>, hwaccels: Set<string>): Candidate[] {
  const out: Candidate[] = [];
  // -hwaccel cuda covers both codecs and hands frames back to software filters.
  if (hwaccels.has('cuda')) {
    out.push({ kind: 'nvidia', label: 'hwaccel cuda', h264: ['-hwaccel', 'cuda'], hevc: ['-hwaccel', 'cuda'] });
  }
  if (decoders.has('h264_cuvid')) {
    out.push({ kind: 'nvidia', label: 'h264_cuvid', h264: ['-c:v', 'h264_cuvid'], hevc: decoders.has('hevc_cuvid') ? ['-c:v', 'hevc_cuvid'] : [] });
  }
  return out;
}

function noneReason(jetson: boolean, candidates: Candidate[], failures: string[]): string {
  if (candidates.length === 0) {
    return jetson
      ? 'Jetson platform but this ffmpeg lists no h264_nvv4l2dec or h264_nvmpi decoder'
      : 'no hardware H.264 decoder listed (no h264_cuvid or hwaccel cuda)';
  }
  const labels = candidates.map((c) => c.label).join(', ');
  const verb = candidates.length === 1 ? 'test decode failed' : 'test decodes failed';
  const details = candidates.length === 1 ? failures[0]?.replace(/^[^:]*:\s*/, '') : failures.join('; ');
  return `${labels} listed but ${verb}: ${details ?? ''}`;
}

/** Codec names from `-decoders`/`-encoders`: the rows after the "------" legend. */
export function parseCodecList(output: string): Set<string> {
  const lines = output.split(/\r?\n/);
  const start = lines.findIndex((l) => /^\s*-{3,}\s*$/.test(l));
  const names = new Set<string>();
  for (const line of lines.slice(start + 1)) {
    const match = /^\s*[VAS.][A-Z.]{5}\s+(\S+)/.exec(line);
    if (match?.[1] && match[1] !== '=') names.add(match[1]);
  }
  return names;
}

/** `-hwaccels` output: a heading, then one method per line. */
export function parseHwaccels(output: string): Set<string> {
  return new Set(
    output.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.endsWith(':')),
  );
}

/** An error's first line, for a one-line reason. */
export function errorLine(err: unknown): string {
  return errorText(err).split('\n')[0] ?? '';
}

const cache = new Map<string, Promise<HwVerdict>>();

/** Detection runs once per process per ffmpeg binary; concurrent callers share the promise. */
export function cachedHwDecode(
  paths: Pick<FfmpegBinaries, 'ffmpeg'>,
  sources: HwProbeSources = systemHwSources(paths),
  logger?: Logger,
): Promise<HwVerdict> {
  let verdict = cache.get(paths.ffmpeg);
  if (!verdict) {
    verdict = detectHwDecode(sources, logger);
    cache.set(paths.ffmpeg, verdict);
    // A thrown detection (not a software verdict) should be retried next time.
    verdict.catch(() => cache.delete(paths.ffmpeg));
  }
  return verdict;
}
