// Which format ingest downloads (b622b25 ingest.py:23-27, 50-136, 181-216), chosen over the
// formats yt-dlp lists for the URL (`yt-dlp -J`), as upstream chooses over extract_info's:
// keep the formats no taller than MAX_VIDEO_HEIGHT (a missing height counts as 0), then the
// first rule that finds something:
//   1. a combined (video and audio) format with ext mp4, the tallest;
//   2. the tallest video-only format + the audio-only format of highest tbr, "v+a", merged to mp4;
//   3. a combined format of any ext, the tallest;
//   4. any format with video, the tallest;
// and when nothing within the cap is found, the same over every format. "Tallest" keeps the
// first of equals, as Python's max() does.
//
// Differences, each for a case upstream fails on:
// - 5. a format whose codecs yt-dlp does not know (vcodec absent or null, not "none"), ext
//   mp4 first, the tallest. yt-dlp's generic extractor lists a direct link to a video file
//   that way, and upstream then finds nothing ("No suitable format available").
// - A format id that yt-dlp's -f would read as selector syntax (/ + , [ ] ( ) or blanks) is
//   never chosen: it would select something else, or fail.
// - A height given as a string or a fraction counts as its whole number; one that is not a
//   number counts as 0 (upstream's int() raises and the ingest fails).

export const DEFAULT_MAX_VIDEO_HEIGHT = 1080;

export interface FormatChoice {
  /** The -f argument: one format id, or "video+audio". */
  readonly format: string;
  /** Two formats to merge: add `--merge-output-format mp4` (upstream's merge_output_format). */
  readonly merge: boolean;
  /** Which rule chose it and whether within the cap, for the log. */
  readonly why: string;
}

export type FormatChoiceResult = { ok: true; choice: FormatChoice } | { ok: false; reason: string };

type Format = Record<string, unknown>;

/**
 * MAX_VIDEO_HEIGHT as upstream reads it: Python's int() of the value (blanks around, a sign,
 * "_" between digits), 1080 when unset or not an integer. A bad value is not a start-up
 * error there; the warning says what was ignored.
 */
export function maxVideoHeight(raw: string | undefined): { height: number; warning?: string } {
  if (raw === undefined || raw === '') return { height: DEFAULT_MAX_VIDEO_HEIGHT };
  if (!/^\s*[+-]?\d+(_\d+)*\s*$/.test(raw)) {
    return { height: DEFAULT_MAX_VIDEO_HEIGHT, warning: `MAX_VIDEO_HEIGHT ${JSON.stringify(raw.slice(0, 40))} is not an integer: ${DEFAULT_MAX_VIDEO_HEIGHT} is used` };
  }
  const n = Number(raw.trim().replace(/_/g, ''));
  return Number.isSafeInteger(n) ? { height: n } : { height: DEFAULT_MAX_VIDEO_HEIGHT, warning: `MAX_VIDEO_HEIGHT ${raw.trim()} is out of range: ${DEFAULT_MAX_VIDEO_HEIGHT} is used` };
}

/** The formats of a `yt-dlp -J` document: its `formats`, or the document itself when it is a single format. */
export function formatsOf(info: unknown): Format[] {
  if (typeof info !== 'object' || info === null || Array.isArray(info)) return [];
  const doc = info as Format;
  if (Array.isArray(doc['formats'])) return doc['formats'].filter((f): f is Format => typeof f === 'object' && f !== null && !Array.isArray(f));
  return formatId(doc) !== null ? [doc] : [];
}

/** The format to download from a `yt-dlp -J` document, capped at `maxHeight`. */
export function chooseFormat(info: unknown, maxHeight: number): FormatChoiceResult {
  if (typeof info === 'object' && info !== null && (info as Format)['_type'] === 'playlist') {
    return { ok: false, reason: 'the URL is a playlist, not one video' };
  }
  const all = formatsOf(info).filter((f) => formatId(f) !== null);
  if (all.length === 0) return { ok: false, reason: 'yt-dlp lists no usable format for this URL' };
  const capped = all.filter((f) => height(f) <= maxHeight);
  const within = choose(capped);
  if (within) return { ok: true, choice: { ...within, why: `${within.why}, at most ${maxHeight}p` } };
  const any = choose(all);
  if (any) return { ok: true, choice: { ...any, why: `${any.why}; none within ${maxHeight}p, so the best available` } };
  return { ok: false, reason: 'No suitable format available for this video' };
}

function choose(formats: Format[]): FormatChoice | null {
  const combined = formats.filter((f) => isVideo(f) && isAudio(f));
  const combinedMp4 = combined.filter((f) => ext(f) === 'mp4');
  if (combinedMp4.length > 0) return single(tallest(combinedMp4), 'the tallest combined mp4');
  const videoOnly = formats.filter((f) => isVideo(f) && !isAudio(f));
  const audioOnly = formats.filter((f) => isAudio(f) && !isVideo(f));
  if (videoOnly.length > 0 && audioOnly.length > 0) {
    const v = tallest(videoOnly);
    const a = first(audioOnly, (f) => tbr(f));
    return { format: `${formatId(v)}+${formatId(a)}`, merge: true, why: 'the tallest video-only and the highest-bitrate audio-only, merged to mp4' };
  }
  if (combined.length > 0) return single(tallest(combined), 'the tallest combined');
  const withVideo = formats.filter(isVideo);
  if (withVideo.length > 0) return single(tallest(withVideo), 'the tallest with video');
  const unknown = formats.filter((f) => codecUnknown(f['vcodec']));
  if (unknown.length > 0) {
    const mp4 = unknown.filter((f) => ext(f) === 'mp4');
    return single(tallest(mp4.length > 0 ? mp4 : unknown), 'the tallest of unknown codecs (a direct link)');
  }
  return null;
}

function single(f: Format, why: string): FormatChoice {
  return { format: formatId(f) as string, merge: false, why: `${why} (${formatId(f)})` };
}

/** The first format of the highest score: Python's max() keeps the first of equals. */
function first(formats: Format[], score: (f: Format) => number): Format {
  let best = formats[0] as Format;
  for (const f of formats) if (score(f) > score(best)) best = f;
  return best;
}

function tallest(formats: Format[]): Format {
  return first(formats, height);
}

/** `f.get("vcodec") or ""` not "none": a named codec. */
function isVideo(f: Format): boolean {
  return namedCodec(f['vcodec']);
}

function isAudio(f: Format): boolean {
  return namedCodec(f['acodec']);
}

function namedCodec(v: unknown): boolean {
  return typeof v === 'string' && v !== '' && v !== 'none';
}

function codecUnknown(v: unknown): boolean {
  return v === undefined || v === null;
}

function ext(f: Format): string {
  return typeof f['ext'] === 'string' ? f['ext'].toLowerCase() : '';
}

/** `int(f.get("height") or 0)`. */
function height(f: Format): number {
  return wholeNumber(f['height']);
}

/** `float(f.get("tbr") or 0)`. */
function tbr(f: Format): number {
  const v = f['tbr'];
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : 0;
  return Number.isFinite(n) ? n : 0;
}

function wholeNumber(v: unknown): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : 0;
  return Number.isFinite(n) ? Math.trunc(n) : 0;
}

/** The format's id as -f takes it, or null when it has none or one -f would misread. */
function formatId(f: Format): string | null {
  const id = f['format_id'];
  const s = typeof id === 'string' ? id : typeof id === 'number' && Number.isFinite(id) ? String(id) : null;
  return s !== null && s !== '' && !/[\s/+,[\]()]/.test(s) ? s : null;
}
