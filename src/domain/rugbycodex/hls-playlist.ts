// Reading HLS playlists while FFmpeg is still writing them. The hls muxer adds a segment
// to its media playlist only once the segment file is closed, so "listed" means "safe to
// upload". A read can race a rewrite (without -hls_flags temp_file ffmpeg truncates and
// rewrites in place), so only whole lines count: an unterminated last line may be a cut
// URI ("seg_00" of "seg_001.ts") and is ignored.
import { posix } from 'node:path';

/**
 * The lines of `text` that were written whole, trimmed. The last line counts only when
 * newline-terminated, or when it is ENDLIST (nothing follows it, so it cannot be cut).
 */
function linesOf(text: string): string[] {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  const last = lines.pop(); // '' after a final newline; otherwise possibly cut mid-write
  if (last === '#EXT-X-ENDLIST') lines.push(last);
  return lines;
}

/** The tag's attribute list, e.g. `URI="init.mp4",BYTERANGE="…"` of `#EXT-X-MAP:…`. */
function attribute(line: string, name: string): string | null {
  const colon = line.indexOf(':');
  if (colon < 0) return null;
  const m = new RegExp(`(?:^|,)\\s*${name}="([^"]*)"`).exec(line.slice(colon + 1));
  return m?.[1] ?? null;
}

function unique(items: string[]): string[] {
  return [...new Set(items)];
}

/**
 * URIs of the media segments a media playlist lists, in order, each once (a byte-range
 * playlist repeats one file). A URI counts only after its #EXTINF, so a master
 * playlist's variant lines are not mistaken for segments.
 */
export function completedSegments(playlistText: string): string[] {
  const out: string[] = [];
  let pendingInf = false;
  for (const line of linesOf(playlistText)) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      if (line.startsWith('#EXTINF:')) pendingInf = true;
      continue;
    }
    if (pendingInf) out.push(line);
    pendingInf = false;
  }
  return unique(out);
}

/** The #EXTINF durations of a media playlist, in order (seconds). */
export function segmentDurations(playlistText: string): number[] {
  const out: number[] = [];
  for (const line of linesOf(playlistText)) {
    if (!line.startsWith('#EXTINF:')) continue;
    const seconds = Number(line.slice('#EXTINF:'.length).split(',')[0]);
    if (Number.isFinite(seconds) && seconds >= 0) out.push(seconds);
  }
  return out;
}

/** The playlist is final: no segment will be added (VOD, or an EVENT stream that ended). */
export function isEndList(text: string): boolean {
  return linesOf(text).includes('#EXT-X-ENDLIST');
}

/** Every #EXT-X-MAP URI (fmp4 init sections), in order, each once. */
export function initSegments(text: string): string[] {
  const out: string[] = [];
  for (const line of linesOf(text)) {
    if (!line.startsWith('#EXT-X-MAP:')) continue;
    const uri = attribute(line, 'URI');
    if (uri) out.push(uri);
  }
  return unique(out);
}

/** The first #EXT-X-MAP URI (ffmpeg writes one per fmp4 rendition), or null for ts. */
export function initSegment(text: string): string | null {
  return initSegments(text)[0] ?? null;
}

/**
 * Segments are byte ranges of a file that may still be growing (-hls_flags single_file):
 * such a file is complete only when FFmpeg has exited.
 */
export function hasByteRanges(text: string): boolean {
  return linesOf(text).some((l) => l.startsWith('#EXT-X-BYTERANGE:') || (l.startsWith('#EXT-X-MAP:') && attribute(l, 'BYTERANGE') !== null));
}

/**
 * URIs of the playlists a master playlist points at: each #EXT-X-STREAM-INF's next URI
 * line, plus the URI attribute of #EXT-X-MEDIA (audio/subtitle groups) and
 * #EXT-X-I-FRAME-STREAM-INF. In order, each once.
 */
export function masterVariants(text: string): string[] {
  const out: string[] = [];
  let pendingStream = false;
  for (const line of linesOf(text)) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      if (line.startsWith('#EXT-X-STREAM-INF:')) pendingStream = true;
      else if (line.startsWith('#EXT-X-MEDIA:') || line.startsWith('#EXT-X-I-FRAME-STREAM-INF:')) {
        const uri = attribute(line, 'URI');
        if (uri) out.push(uri);
      }
      continue;
    }
    if (pendingStream) out.push(line);
    pendingStream = false;
  }
  return unique(out);
}

/**
 * Where `uri`, found in the playlist at `playlistPath` (relative to the output root,
 * '/'-separated), lives relative to that root; null for an absolute URL or path, or one
 * that climbs out of the root — files the uploader cannot take from the output folder.
 */
export function resolvePlaylistUri(playlistPath: string, uri: string): string | null {
  if (/^[a-z][a-z0-9+.-]*:/i.test(uri) || uri.startsWith('/')) return null;
  const path = uri.replace(/[?#].*$/, '');
  if (path === '') return null;
  const joined = posix.normalize(posix.join(posix.dirname(playlistPath), path));
  if (joined === '..' || joined.startsWith('../') || joined === '.' || joined.startsWith('/')) return null;
  return joined;
}
