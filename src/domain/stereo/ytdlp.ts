// The yt-dlp command lines of ingest (b622b25 ingest.py:160-235 uses yt-dlp's Python API; we
// run the CLI, STEREO-SPOT-MAIN.md §6.6), and the cookies secret it may use (main.py:35-55).
//
// Upstream's options, as CLI flags: outtmpl `{tmp}/source.%(ext)s` (-o), quiet (-q),
// no_warnings (--no-warnings), extractor_args youtube player_client=default,-tv_downgraded
// (--extractor-args), cookiefile (--cookies), then format and merge_output_format mp4
// (-f, --merge-output-format). Phase 1 lists the formats without downloading (-J, with
// `-f all` so that yt-dlp's own default selection cannot fail the listing, as upstream's
// custom selector never does); phase 2 downloads the chosen format (ingest-format.ts).
// Ours besides: --no-playlist (a watch URL with &list= is one video, not the playlist,
// which upstream's choice would find no format in), --ffmpeg-location when FFMPEG_PATH is
// set (yt-dlp merges with ffmpeg), and `--` before the URL, so that no URL is read as an option.
import { sourceUrlProblem } from './ingest-message.js';

/** The file name yt-dlp writes in the work directory: `source.<ext>` (the container it downloaded). */
export const SOURCE_TEMPLATE = 'source.%(ext)s';
const EXTRACTOR_ARGS = 'youtube:player_client=default,-tv_downgraded';

export interface YtdlpCommon {
  readonly url: string;
  /** The Netscape cookies file from the secret, when there is one. */
  readonly cookiesFile?: string | null;
  /** FFMPEG_PATH, when set: yt-dlp's merge needs ffmpeg. */
  readonly ffmpegLocation?: string | null;
}

/** Phase 1: the formats of the URL as one JSON document on stdout (`yt-dlp -J`). */
export function ytdlpInfoArgs(opts: YtdlpCommon): string[] {
  checkUrl(opts.url);
  return ['-J', '--no-warnings', '--no-playlist', '--extractor-args', EXTRACTOR_ARGS, ...cookies(opts), '-f', 'all', '--', opts.url];
}

/** Phase 2: download `format` into `dir` as source.<ext>. */
export function ytdlpDownloadArgs(opts: YtdlpCommon & { dir: string; format: string; merge: boolean }): string[] {
  checkUrl(opts.url);
  if (opts.format === '' || opts.format.startsWith('-')) throw new RangeError(`not a yt-dlp format: ${JSON.stringify(opts.format)}`);
  if (opts.dir === '') throw new RangeError('yt-dlp needs a directory to download into');
  return [
    '-q', '--no-warnings', '--no-playlist', '-o', `${opts.dir.replace(/\/+$/, '')}/${SOURCE_TEMPLATE}`, '--extractor-args', EXTRACTOR_ARGS,
    ...cookies(opts), ...(opts.ffmpegLocation ? ['--ffmpeg-location', opts.ffmpegLocation] : []),
    '-f', opts.format, ...(opts.merge ? ['--merge-output-format', 'mp4'] : []), '--', opts.url,
  ];
}

function cookies(opts: YtdlpCommon): string[] {
  return opts.cookiesFile ? ['--cookies', opts.cookiesFile] : [];
}

function checkUrl(url: string): void {
  const problem = sourceUrlProblem(url);
  if (problem !== null) throw new RangeError(problem);
}

export type CookiesSecret = { ok: true; text: string } | { ok: false; warning: string };

/**
 * The Netscape cookies file in the YTDLP_COOKIES_SECRET_ARN secret: its SecretString is
 * `{"cookies_base64":"<base64>"}` (scripts/update_ytdlp_cookies.py:26). Upstream decodes it
 * with base64.b64decode (characters outside the alphabet dropped, padding required) and
 * UTF-8, and on any failure only logs a warning and ingests without cookies (main.py:35-55):
 * Terraform's placeholder secret is `{"cookies":"REPLACE_ME"}` (secrets.tf:29-32). Same here:
 * never an error, a warning saying what is wrong (never the secret's content).
 */
export function decodeCookiesSecret(secretString: string | undefined | null): CookiesSecret {
  const warn = (why: string): CookiesSecret => ({ ok: false, warning: `yt-dlp cookies: ${why}; ingesting without cookies` });
  if (typeof secretString !== 'string' || secretString === '') return warn('the secret has no SecretString');
  let value: unknown;
  try {
    value = JSON.parse(secretString) as unknown;
  } catch {
    return warn('the secret is not JSON (expected {"cookies_base64": "…"})');
  }
  const encoded = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>)['cookies_base64'] : undefined;
  if (typeof encoded !== 'string') {
    const placeholder = typeof value === 'object' && value !== null && 'cookies' in value ? ' (Terraform\'s placeholder {"cookies": "REPLACE_ME"}? run scripts/update_ytdlp_cookies.py)' : '';
    return warn(`the secret has no "cookies_base64" string${placeholder}`);
  }
  const alphabet = encoded.replace(/[^A-Za-z0-9+/=]/g, '');
  const body = alphabet.replace(/=+$/, '');
  if (body.includes('=') || alphabet.length % 4 !== 0 || alphabet.length - body.length > 2) return warn('cookies_base64 is not valid base64 (incorrect padding)');
  try {
    return { ok: true, text: new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(alphabet, 'base64')) };
  } catch {
    return warn('cookies_base64 does not decode to UTF-8 text');
  }
}
