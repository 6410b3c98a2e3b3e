// Real-browser check of an HLS ladder (issue 4, "Done when"): Debian's ffmpeg makes a
// two-rendition ladder with a master playlist, serveHls serves it with the player page,
// and headless Chromium with hls.js must play past 2 s with no fatal error. The ladder
// is made right here (not by the production builder) so this test checks the serving
// and playing side on its own.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { serveHls } from '../../roles/transcode/serve/serve.js';
import type { HlsServer } from '../../roles/transcode/serve/serve.js';
import { playInChromium, requireChromium } from '../helpers/browser.js';

let work: string;
let ladder: string;
let server: HlsServer | undefined;
/** What ffmpeg wrote into the ladder folder: the files serveHls is told to serve. */
let files: string[];

/** Two renditions (360p, 180p) of a 10 s test clip, 2 s segments, keyframes aligned. */
async function makeLadder(out: string): Promise<void> {
  await execa('ffmpeg', [
    '-hide_banner', '-nostdin', '-v', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30:duration=10',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=10',
    '-filter_complex', '[0:v]split=2[a][b];[a]null[v0];[b]scale=320:180[v1]',
    '-map', '[v0]', '-map', '[v1]', '-map', '1:a', '-map', '1:a',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p',
    '-b:v:0', '800k', '-b:v:1', '300k',
    '-force_key_frames', 'expr:gte(t,n_forced*2)', '-sc_threshold', '0',
    '-c:a', 'aac', '-b:a', '96k',
    '-f', 'hls', '-hls_time', '2', '-hls_playlist_type', 'vod',
    '-hls_segment_filename', join(out, 'v%v', 'seg_%03d.ts'),
    '-master_pl_name', 'index.m3u8',
    '-var_stream_map', 'v:0,a:0 v:1,a:1',
    join(out, 'v%v', 'index.m3u8'),
  ], { timeout: 60_000 });
}

/** A raw GET: the path goes out exactly as given (no URL normalisation of `..`). */
function get(port: number, path: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'rugbyworker-hls-play-'));
  ladder = join(work, 'ladder');
  await mkdir(ladder);
  await writeFile(join(work, 'secret.txt'), 'outside the served folder\n');
  await makeLadder(ladder);
  files = (await readdir(ladder, { recursive: true, withFileTypes: true })).filter((e) => e.isFile())
    .map((e) => relative(ladder, join(e.parentPath, e.name)));
}, 90_000);

afterAll(async () => {
  await server?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('serveHls + Chromium/hls.js', () => {
  it('Debian chromium is installed', () => {
    expect(requireChromium).not.toThrow();
  });

  it('ffmpeg wrote a master playlist with two renditions', async () => {
    expect((await readdir(ladder)).sort()).toEqual(['index.m3u8', 'v0', 'v1']);
    expect((await readdir(join(ladder, 'v0'))).filter((f) => f.endsWith('.ts'))).toHaveLength(5);
  });

  it('serves playlists, segments and the player with the right types, same-origin only', async () => {
    server = await serveHls({ dir: ladder, files });
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/`);
    const cases: [string, string][] = [
      ['/', 'text/html; charset=utf-8'],
      ['/hls.min.js', 'text/javascript; charset=utf-8'],
      ['/index.m3u8', 'application/vnd.apple.mpegurl'],
      ['/v0/index.m3u8', 'application/vnd.apple.mpegurl'],
      ['/v1/seg_000.ts', 'video/mp2t'],
    ];
    for (const [path, type] of cases) {
      const r = await get(server.port, path);
      expect({ path, status: r.status, type: r.headers['content-type'] }).toEqual({ path, status: 200, type });
      expect(r.headers['access-control-allow-origin']).toBeUndefined();
    }
    expect((await get(server.port, '/')).body).toContain('<video id="video" controls muted autoplay playsinline>');
    expect((await get(server.port, '/index.m3u8')).body).toContain('#EXT-X-STREAM-INF');
    expect((await get(server.port, '/v0/missing.ts')).status).toBe(404);
    expect((await get(server.port, '/v0')).status).toBe(404); // a folder is not a file
  });

  it('path traversal is impossible: 404, never a file outside the folder', async () => {
    server ??= await serveHls({ dir: ladder, files });
    for (const path of [
      '/../package.json', '/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt',
      '/v0/../../secret.txt', '/..%5csecret.txt', '/%00', '/%E0%A4%A',
    ]) {
      const r = await get(server.port, path);
      expect({ path, status: r.status }).toEqual({ path, status: 404 });
      expect(r.body).not.toContain('outside the served folder');
    }
  });

  it('Chromium with hls.js plays the master playlist past 2 s, no fatal error, 2 levels', async () => {
    server ??= await serveHls({ dir: ladder, files });
    const r = await playInChromium(server.url, { seconds: 2, timeoutMs: 45_000 });
    expect(r.fatal).toBeNull();
    expect(r.currentTime).toBeGreaterThan(2);
    expect(r.levels).toBeGreaterThanOrEqual(2);
  }, 90_000);

  it('a master playlist whose variants are missing ends in a fatal error, not a hang', async () => {
    const broken = join(work, 'broken');
    await mkdir(broken);
    await writeFile(join(broken, 'index.m3u8'), [
      '#EXTM3U',
      '#EXT-X-VERSION:3',
      '#EXT-X-STREAM-INF:BANDWIDTH=1000000,RESOLUTION=640x360,CODECS="avc1.42c01e,mp4a.40.2"',
      'missing0/index.m3u8',
      '#EXT-X-STREAM-INF:BANDWIDTH=400000,RESOLUTION=320x180,CODECS="avc1.42c00d,mp4a.40.2"',
      'missing1/index.m3u8',
      '',
    ].join('\n'));
    const bad = await serveHls({ dir: broken, files: ['index.m3u8', 'missing0/index.m3u8', 'missing1/index.m3u8'] });
    try {
      const r = await playInChromium(bad.url, { seconds: 2, timeoutMs: 45_000 });
      expect(r.fatal).toMatch(/networkError: levelLoadError/);
      expect(r.currentTime).toBe(0);
    } finally {
      await bad.close();
    }
  }, 90_000);
});
