// The ingest's yt-dlp command lines and format choice (src/domain/stereo/ytdlp.ts,
// ingest-format.ts) run by the real yt-dlp (Debian's package; YTDLP_PATH overrides) against a
// local HTTP server through its generic extractor: a direct link to an mp4 (one format of
// unknown codecs, which upstream's choice cannot take) and a DASH manifest (video-only and
// audio-only formats: "v+a", merged to mp4 by ffmpeg).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { chooseFormat } from '../../src/domain/stereo/ingest-format.js';
import { sanitizeTitle } from '../../src/domain/stereo/video-title.js';
import { ytdlpDownloadArgs, ytdlpInfoArgs } from '../../src/domain/stereo/ytdlp.js';

const YTDLP = process.env.YTDLP_PATH || 'yt-dlp';
let dir: string;
let server: Server;
let base: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rw-ytdlp-'));
  const site = join(dir, 'site');
  await mkdir(join(site, 'dash'), { recursive: true });
  const lavfi = ['-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10', '-f', 'lavfi', '-i', 'sine=frequency=440', '-t', '1'];
  await execa('ffmpeg', ['-loglevel', 'error', '-y', ...lavfi, '-c:v', 'libx264', '-c:a', 'aac', '-shortest', join(site, 'Match Clip.mp4')]);
  await execa('ffmpeg', ['-loglevel', 'error', '-y', ...lavfi, '-c:v', 'libx264', '-g', '10', '-c:a', 'aac', '-map', '0:v', '-map', '1:a',
    '-f', 'dash', '-adaptation_sets', 'id=0,streams=v id=1,streams=a', join(site, 'dash', 'manifest.mpd')]);
  const types: Record<string, string> = { '.mp4': 'video/mp4', '.mpd': 'application/dash+xml', '.m4s': 'video/iso.segment' };
  server = createServer((req, res) => {
    const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0] as string));
    if (path.includes('..')) return void res.writeHead(400).end();
    const file = join(site, path);
    stat(file).then((s) => {
      res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream', 'content-length': s.size });
      createReadStream(file).pipe(res);
    }, () => res.writeHead(404).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function streams(file: string): Promise<string[]> {
  const { stdout } = await execa('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type', '-of', 'csv=p=0', file]);
  return stdout.split('\n').filter(Boolean).sort();
}

/** Both phases as the ingest role will run them; resolves the work dir's files and what was chosen. */
async function ingest(url: string, work: string) {
  const info = JSON.parse((await execa(YTDLP, ytdlpInfoArgs({ url }), { timeout: 60_000 })).stdout) as { title?: string };
  const chosen = chooseFormat(info, 1080);
  if (!chosen.ok) throw new Error(chosen.reason);
  await mkdir(work, { recursive: true });
  await execa(YTDLP, ytdlpDownloadArgs({ url, dir: work, format: chosen.choice.format, merge: chosen.choice.merge }), { timeout: 60_000 });
  return { info, choice: chosen.choice, files: await readdir(work) };
}

describe('yt-dlp with the ingest\'s command lines', () => {
  it('a direct link: the one format of unknown codecs, downloaded as source.mp4', async () => {
    const work = join(dir, 'direct');
    const { info, choice, files } = await ingest(`${base}/Match%20Clip.mp4`, work);
    expect(choice).toMatchObject({ format: 'mp4', merge: false });
    expect(files).toEqual(['source.mp4']);
    expect(await streams(join(work, 'source.mp4'))).toEqual(['audio', 'video']);
    expect(sanitizeTitle(info.title)).toBe('Match_Clip');
  }, 120_000);

  it('a DASH manifest: the video-only and the audio-only format, merged into source.mp4', async () => {
    const work = join(dir, 'dash');
    const { choice, files } = await ingest(`${base}/dash/manifest.mpd`, work);
    expect(choice.merge).toBe(true);
    expect(choice.format).toMatch(/^[^+]+\+[^+]+$/);
    expect(files).toEqual(['source.mp4']);
    expect(await streams(join(work, 'source.mp4'))).toEqual(['audio', 'video']);
  }, 120_000);

  it('a URL that serves nothing fails the listing (the role marks the job failed)', async () => {
    await expect(execa(YTDLP, ytdlpInfoArgs({ url: `${base}/missing.mp4` }), { timeout: 60_000 })).rejects.toThrow(/404/);
  }, 120_000);
});
