// The title ingest stores on the job (b622b25 ingest.py:30-36, `_normalize_title`): every
// character outside [A-Za-z0-9_-] becomes "_", leading and trailing "_" go, at most 200
// characters, "video" when nothing is left. The web UI shows it and names the download after it.

export const TITLE_MAX_LENGTH = 200;
const FALLBACK = 'video';

/**
 * The stored title of a source titled `raw` (yt-dlp's `title`). Character by character as
 * Python sees a string: one "_" per code point, so an emoji is one "_", not two. Python strips
 * whitespace first; the result is the same here without it (whitespace becomes "_", and the
 * "_" at either end go).
 */
export function sanitizeTitle(raw: unknown): string {
  if (typeof raw !== 'string') return FALLBACK;
  let safe = '';
  for (const ch of raw) safe += /^[A-Za-z0-9_-]$/.test(ch) ? ch : '_';
  safe = safe.replace(/^_+|_+$/g, '');
  return safe === '' ? FALLBACK : safe.slice(0, TITLE_MAX_LENGTH);
}
