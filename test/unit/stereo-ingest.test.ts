// The pure parts of the b622b25 ingest (STEREO-SPOT-MAIN.md §6.6): the message, the format
// choice over `yt-dlp -J`, the title, the yt-dlp command lines, the cookies secret.
import { describe, expect, it } from '@jest/globals';
import { chooseFormat, formatsOf, maxVideoHeight } from '../../src/domain/stereo/ingest-format.js';
import { parseIngestBody } from '../../src/domain/stereo/ingest-message.js';
import { sanitizeTitle } from '../../src/domain/stereo/video-title.js';
import { decodeCookiesSecret, ytdlpDownloadArgs, ytdlpInfoArgs } from '../../src/domain/stereo/ytdlp.js';

const JOB = '3f2c1a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b';
const URL_ = 'https://www.youtube.com/watch?v=dQw4w9WgXcQ';

describe('parseIngestBody (test_ingest.py _parse_ingest_body)', () => {
  it('test_parse_ingest_body_valid: the web UI\'s body', () => {
    expect(parseIngestBody(JSON.stringify({ source_type: 'youtube', job_id: 'job-1', source_url: 'https://www.youtube.com/watch?v=abc' })))
      .toEqual({ ok: true, jobId: 'job-1', sourceUrl: 'https://www.youtube.com/watch?v=abc', sourceType: 'youtube' });
  });

  it('without source_type (unknown upstream): youtube, the only type', () => {
    expect(parseIngestBody(JSON.stringify({ job_id: JOB, source_url: URL_ }))).toMatchObject({ ok: true, sourceType: 'youtube' });
  });

  it('ignores extra keys, as pydantic does', () => {
    expect(parseIngestBody(JSON.stringify({ source_type: 'youtube', job_id: JOB, source_url: URL_, extra: [1] }))).toMatchObject({ ok: true, jobId: JOB });
  });

  it.each<[string, string, RegExp, string | null]>([
    // test_parse_ingest_body_invalid_returns_none
    ['not JSON', 'not json', /body is not JSON/, null],
    ['{}', '{}', /job_id is missing/, null],
    ['no source_url', JSON.stringify({ job_id: 'j' }), /source_url is missing/, 'j'],
    ['no job_id', JSON.stringify({ source_url: 'https://x' }), /job_id is missing/, null],
    // ours
    ['an array', '[]', /not a JSON object/, null],
    ['a numeric job_id', JSON.stringify({ job_id: 1, source_url: URL_ }), /job_id is missing or not a string/, null],
    ['an empty job_id', JSON.stringify({ job_id: '', source_url: URL_ }), /job id is empty/, null],
    ['a job id no key can hold', JSON.stringify({ job_id: '../x', source_url: URL_ }), /unsafe key/, null],
    ['another source_type', JSON.stringify({ source_type: 'vimeo', job_id: JOB, source_url: URL_ }), /source_type "vimeo" is not one this worker ingests/, JOB],
    ['a null source_type', JSON.stringify({ source_type: null, job_id: JOB, source_url: URL_ }), /source_type null/, JOB],
    ['a file URL', JSON.stringify({ job_id: JOB, source_url: 'file:///etc/passwd' }), /must be http\(s\), not file/, JOB],
    ['an option for a URL', JSON.stringify({ job_id: JOB, source_url: '--exec=rm -rf /' }), /whitespace|not a URL/, JOB],
    ['a URL with a newline', JSON.stringify({ job_id: JOB, source_url: `${URL_}\n` }), /control characters/, JOB],
    ['a URL too long', JSON.stringify({ job_id: JOB, source_url: `https://x.com/${'a'.repeat(2100)}` }), /longer than 2048/, JOB],
  ])('refuses %s, keeping a usable job id', (_name, body, reason, jobId) => {
    const p = parseIngestBody(body);
    expect(p.ok).toBe(false);
    if (p.ok) return;
    expect(p.reason).toMatch(reason);
    expect(p.reason).toMatch(/^ingest message: /);
    expect(p.jobId).toBe(jobId);
  });
});

// A YouTube-like listing, worst first as yt-dlp lists them.
const YOUTUBE = {
  title: 'Rugby: Final Highlights',
  formats: [
    { format_id: 'sb0', ext: 'mhtml', vcodec: 'none', acodec: 'none', height: 45 },
    { format_id: '139', ext: 'm4a', vcodec: 'none', acodec: 'mp4a.40.5', tbr: 48.9 },
    { format_id: '140', ext: 'm4a', vcodec: 'none', acodec: 'mp4a.40.2', tbr: 129.5 },
    { format_id: '251', ext: 'webm', vcodec: 'none', acodec: 'opus', tbr: 135.1 },
    { format_id: '18', ext: 'mp4', vcodec: 'avc1.42001E', acodec: 'mp4a.40.2', height: 360, tbr: 500 },
    { format_id: '134', ext: 'mp4', vcodec: 'avc1.4d401e', acodec: 'none', height: 360 },
    { format_id: '136', ext: 'mp4', vcodec: 'avc1.4d401f', acodec: 'none', height: 720 },
    { format_id: '137', ext: 'mp4', vcodec: 'avc1.640028', acodec: 'none', height: 1080 },
    { format_id: '248', ext: 'webm', vcodec: 'vp9', acodec: 'none', height: 1080 },
    { format_id: '313', ext: 'webm', vcodec: 'vp9', acodec: 'none', height: 2160 },
  ],
};
// `yt-dlp -J` (2023.03.04, Debian) for a direct link to an mp4 served over HTTP: the generic extractor knows no codec.
const GENERIC = {
  id: 'clip', title: 'clip', direct: true, extractor: 'generic',
  formats: [{ format_id: 'mp4', vcodec: null, ext: 'mp4', protocol: 'http', resolution: null, dynamic_range: 'SDR', video_ext: 'mp4', audio_ext: 'none', format: 'mp4 - unknown' }],
};

describe('chooseFormat (ingest.py _choose_format over the capped list, then over all)', () => {
  const pick = (info: unknown, cap = 1080) => {
    const r = chooseFormat(info, cap);
    if (!r.ok) throw new Error(r.reason);
    return r.choice;
  };

  it('1. a combined mp4 first, the tallest within the cap (upstream: 18 here)', () => {
    expect(pick(YOUTUBE)).toMatchObject({ format: '18', merge: false });
  });

  it('2. else the tallest video-only + the highest-tbr audio-only, merged', () => {
    const noCombined = { formats: YOUTUBE.formats.filter((f) => f.format_id !== '18') };
    expect(pick(noCombined)).toMatchObject({ format: '137+251', merge: true });
    expect(pick(noCombined, 720)).toMatchObject({ format: '136+251', merge: true });
  });

  it('3. else the tallest combined of any ext', () => {
    const webmOnly = { formats: [{ format_id: '43', ext: 'webm', vcodec: 'vp8', acodec: 'vorbis', height: 360 }, { format_id: '44', ext: 'webm', vcodec: 'vp8', acodec: 'vorbis', height: 480 }] };
    expect(pick(webmOnly)).toMatchObject({ format: '44', merge: false });
  });

  it('4. else the tallest with video (no audio anywhere)', () => {
    expect(pick({ formats: [{ format_id: 'a', vcodec: 'h264', acodec: 'none', height: 240 }, { format_id: 'b', vcodec: 'h264', acodec: 'none', height: 480 }] })).toMatchObject({ format: 'b' });
  });

  it('nothing within the cap: the same choice over every format', () => {
    const only4k = { formats: [{ format_id: '401', ext: 'mp4', vcodec: 'av01', acodec: 'none', height: 2160 }, { format_id: '140', ext: 'm4a', vcodec: 'none', acodec: 'mp4a', tbr: 129 }] };
    const c = pick(only4k);
    expect(c).toMatchObject({ format: '401+140', merge: true });
    expect(c.why).toMatch(/none within 1080p/);
  });

  it('keeps the first of equals, as max() does', () => {
    const tie = { formats: [{ format_id: 'x', ext: 'mp4', vcodec: 'h264', acodec: 'aac', height: 720 }, { format_id: 'y', ext: 'mp4', vcodec: 'h264', acodec: 'aac', height: 720 }] };
    expect(pick(tie).format).toBe('x');
  });

  it('a missing height counts as 0 (within any cap); a string or fractional height as its whole number', () => {
    const f = { formats: [
      { format_id: 'tall', ext: 'mp4', vcodec: 'h264', acodec: 'aac', height: '2160' },
      { format_id: 'fraction', ext: 'mp4', vcodec: 'h264', acodec: 'aac', height: 719.9 },
      { format_id: 'none', ext: 'mp4', vcodec: 'h264', acodec: 'aac' },
      { format_id: 'junk', ext: 'mp4', vcodec: 'h264', acodec: 'aac', height: 'tall' },
    ] };
    expect(pick(f, 1080).format).toBe('fraction');
    expect(pick(f, 0).format).toBe('none');
  });

  it('5. (ours) a direct link whose codecs yt-dlp does not know: that format (upstream finds none)', () => {
    expect(pick(GENERIC)).toMatchObject({ format: 'mp4', merge: false, why: expect.stringMatching(/unknown codecs/) });
  });

  it('never picks an id -f would read as selector syntax', () => {
    const odd = { formats: [
      { format_id: 'best/worst', ext: 'mp4', vcodec: 'h264', acodec: 'aac', height: 1080 },
      { format_id: 'a+b', ext: 'mp4', vcodec: 'h264', acodec: 'aac', height: 720 },
      { format_id: 'ok-1', ext: 'mp4', vcodec: 'h264', acodec: 'aac', height: 360 },
    ] };
    expect(pick(odd).format).toBe('ok-1');
    expect(pick({ formats: [{ format_id: 22, ext: 'mp4', vcodec: 'h264', acodec: 'aac', height: 720 }] }).format).toBe('22');
  });

  it.each<[string, unknown, RegExp]>([
    ['no formats', { formats: [] }, /no usable format/],
    ['audio only', { formats: [{ format_id: '140', vcodec: 'none', acodec: 'mp4a' }] }, /No suitable format/],
    ['a playlist', { _type: 'playlist', entries: [] }, /playlist/],
    ['not a document', 'null', /no usable format/],
  ])('%s: a reason, no choice', (_name, info, reason) => {
    const r = chooseFormat(info, 1080);
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.reason).toMatch(reason);
  });

  it('formatsOf takes a document that is itself one format', () => {
    expect(formatsOf({ format_id: 'mp4', ext: 'mp4' })).toHaveLength(1);
    expect(formatsOf({ formats: [null, 3, { format_id: 'a' }] })).toEqual([{ format_id: 'a' }]);
  });
});

describe('maxVideoHeight (MAX_VIDEO_HEIGHT: Python int(), 1080 when bad)', () => {
  it.each<[string | undefined, number, boolean]>([
    [undefined, 1080, false], ['', 1080, false], ['720', 720, false], [' 1440 ', 1440, false], ['+720', 720, false], ['2_160', 2160, false],
    ['720p', 1080, true], ['7.2e2', 1080, true], ['abc', 1080, true], ['1__0', 1080, true], ['99999999999999999999', 1080, true],
  ])('%j → %d', (raw, height, warned) => {
    const r = maxVideoHeight(raw);
    expect(r.height).toBe(height);
    expect(r.warning !== undefined).toBe(warned);
  });
});

describe('sanitizeTitle (ingest.py _normalize_title)', () => {
  it.each<[unknown, string]>([
    // test_process_one_ingest_message_success_updates_job_and_uploads
    ['My Video Title', 'My_Video_Title'],
    ['Rugby: Final Highlights', 'Rugby__Final_Highlights'],
    ['  __padded__  ', 'padded'],
    ['ok-name_1', 'ok-name_1'],
    ['', 'video'], ['   ', 'video'], ['!!!', 'video'], [null, 'video'], [undefined, 'video'],
    // One "_" per character as Python counts them (an emoji is one).
    ['a😀b', 'a_b'],
    ['Ünïcödé', 'n_c_d'],
    ['tab\there\nnew', 'tab_here_new'],
  ])('%j → %j', (raw, title) => {
    expect(sanitizeTitle(raw)).toBe(title);
  });

  it('is at most 200 characters, cut after the trim', () => {
    expect(sanitizeTitle(`__${'a'.repeat(300)}`)).toBe('a'.repeat(200));
    expect(sanitizeTitle(`${'a'.repeat(199)} b`)).toBe(`${'a'.repeat(199)}_`);
  });
});

describe('the yt-dlp command lines', () => {
  it('phase 1 lists the formats as JSON, selection unable to fail', () => {
    expect(ytdlpInfoArgs({ url: URL_ })).toEqual(['-J', '--no-warnings', '--no-playlist', '--extractor-args', 'youtube:player_client=default,-tv_downgraded', '-f', 'all', '--', URL_]);
    expect(ytdlpInfoArgs({ url: URL_, cookiesFile: '/tmp/c.txt' })).toContain('--cookies');
  });

  it('phase 2 is upstream\'s options as flags: -q --no-warnings -o … --extractor-args … [--cookies] -f FMT [--merge-output-format mp4] -- URL', () => {
    expect(ytdlpDownloadArgs({ url: URL_, dir: '/work/j1/', format: '18', merge: false })).toEqual([
      '-q', '--no-warnings', '--no-playlist', '-o', '/work/j1/source.%(ext)s', '--extractor-args', 'youtube:player_client=default,-tv_downgraded', '-f', '18', '--', URL_,
    ]);
    expect(ytdlpDownloadArgs({ url: URL_, dir: '/w', format: '137+251', merge: true, cookiesFile: '/tmp/ytdlp_cookies.txt', ffmpegLocation: '/opt/ffmpeg' })).toEqual([
      '-q', '--no-warnings', '--no-playlist', '-o', '/w/source.%(ext)s', '--extractor-args', 'youtube:player_client=default,-tv_downgraded',
      '--cookies', '/tmp/ytdlp_cookies.txt', '--ffmpeg-location', '/opt/ffmpeg', '-f', '137+251', '--merge-output-format', 'mp4', '--', URL_,
    ]);
  });

  it('never lets a URL or a format be read as an option', () => {
    expect(() => ytdlpInfoArgs({ url: '--exec=touch /tmp/x' })).toThrow(RangeError);
    expect(() => ytdlpDownloadArgs({ url: 'file:///etc/passwd', dir: '/w', format: '18', merge: false })).toThrow(/http\(s\)/);
    expect(() => ytdlpDownloadArgs({ url: URL_, dir: '/w', format: '--exec=x', merge: false })).toThrow(RangeError);
    expect(() => ytdlpDownloadArgs({ url: URL_, dir: '', format: '18', merge: false })).toThrow(RangeError);
    const args = ytdlpDownloadArgs({ url: URL_, dir: '/w', format: '18', merge: false });
    expect(args.indexOf('--')).toBe(args.length - 2);
  });
});

describe('decodeCookiesSecret (main.py _setup_ytdlp_cookies_if_configured)', () => {
  const NETSCAPE = '# Netscape HTTP Cookie File\n.youtube.com\tTRUE\t/\tTRUE\t0\tPREF\tf6=8\n';
  const secret = (v: unknown) => JSON.stringify({ cookies_base64: v });

  it('decodes cookies_base64 (scripts/update_ytdlp_cookies.py writes it)', () => {
    expect(decodeCookiesSecret(secret(Buffer.from(NETSCAPE).toString('base64')))).toEqual({ ok: true, text: NETSCAPE });
  });

  it('drops characters outside the alphabet, as b64decode does (line breaks of a wrapped value)', () => {
    const wrapped = Buffer.from(NETSCAPE).toString('base64').replace(/(.{20})/g, '$1\n');
    expect(decodeCookiesSecret(secret(wrapped))).toEqual({ ok: true, text: NETSCAPE });
  });

  it.each<[string, string | undefined | null, RegExp]>([
    ['Terraform\'s placeholder', JSON.stringify({ cookies: 'REPLACE_ME' }), /no "cookies_base64" string \(Terraform's placeholder/],
    ['no SecretString', undefined, /no SecretString/],
    ['null', null, /no SecretString/],
    ['not JSON', 'cookies!', /not JSON/],
    ['a number', secret(3), /no "cookies_base64" string$|no "cookies_base64" string;/],
    ['bad padding', secret('abc'), /incorrect padding/],
    ['not UTF-8', secret(Buffer.from([0xff, 0xfe, 0xfd]).toString('base64')), /UTF-8/],
  ])('%s: a warning, never an error, never the content', (_name, s, why) => {
    const r = decodeCookiesSecret(s);
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.warning).toMatch(why);
    expect(r.ok ? '' : r.warning).toMatch(/ingesting without cookies$/);
  });

  it('never puts the secret\'s content in the warning', () => {
    for (const s of [JSON.stringify({ cookies: 'PRIVATE-VALUE' }), secret('PRIVATE-VALUE'), 'PRIVATE-VALUE']) {
      const r = decodeCookiesSecret(s);
      expect(r.ok ? 'ok' : r.warning).not.toContain('PRIVATE');
    }
  });
});
