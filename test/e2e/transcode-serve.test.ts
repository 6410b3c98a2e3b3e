// `rugbyworker transcode FILE --out DIR --serve` on the shipped executable, with DIR already
// holding other things (a person's notes, a .env, a .git folder, a link out of DIR), as
// `--out .` in a project folder would. Real HTTP requests: the server answers only the files
// this run wrote (playlists, segments, storyboard) and the player; nothing else in DIR, no
// dotfile, no path out of DIR; no CORS header (the player page is same-origin), and a Host
// that is not this server (a DNS-rebinding page) gets nothing.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { exePath, spawnExe, waitForExit } from '../helpers/binary.js';

let work: string;
let clip: string;
let child: ChildProcess | undefined;

beforeAll(async () => {
  if (!existsSync(exePath())) throw new Error(`${exePath()} is missing: run \`npm run build\``);
  work = await mkdtemp(join(tmpdir(), 'rw-e2e-serve-'));
  clip = join(work, 'clip.mp4');
  await execa('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-t', '2',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-y', clip], { timeout: 30_000 });
}, 60_000);

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (work) await rm(work, { recursive: true, force: true });
});

interface Answer { status: number; headers: Record<string, string | string[] | undefined>; body: string }

/** One raw request: the path goes out exactly as given (no URL normalisation), with the Host given. */
function send(port: number, path: string, opts: { method?: string; host?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1', port, path, method: opts.method ?? 'GET', agent: false, setHost: false,
      headers: { host: opts.host ?? `127.0.0.1:${port}`, origin: 'http://127.0.0.1' },
    }, (res) => {
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

describe('rugbyworker transcode --serve', () => {
  it('serves only what this run wrote and the player, same-origin only', async () => {
    const out = join(work, 'project');
    await mkdir(join(out, '.git'), { recursive: true });
    await writeFile(join(out, 'notes.txt'), 'a person\'s notes\n');
    await writeFile(join(out, '.env'), 'SUPABASE_SERVICE_ROLE_KEY=not-for-the-browser\n');
    await writeFile(join(out, '.git', 'config'), '[remote "origin"]\n');
    await writeFile(join(work, 'outside.txt'), 'outside DIR\n');
    await symlink(join(work, 'outside.txt'), join(out, 'link.ts'));

    child = spawnExe(['transcode', clip, '--out', out, '--renditions', '360', '--segment-seconds', '1', '--serve'], { cwd: work });
    let stderr = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "watch it at" line within 60 s; stderr: ${stderr}`)), 60_000);
      child!.stderr!.on('data', (c: Buffer) => {
        stderr += c.toString();
        const m = /watch it at (http:\/\/\S+)/.exec(stderr);
        if (m) { clearTimeout(timer); resolve(m[1]!); }
      });
      child!.stdout!.resume();
      child!.once('exit', (code) => { clearTimeout(timer); reject(new Error(`exited (${code}) before serving; stderr: ${stderr}`)); });
    });
    const port = Number(new URL(url).port);

    // What the run wrote, and the player.
    const wrote = ['index.m3u8', '360p/index.m3u8', '360p/seg_00000.ts', '360p/seg_00001.ts', 'thumbnails/storyboard.vtt', 'thumbnails/storyboard_000.jpg'];
    for (const path of ['/', '/hls.min.js', ...wrote.map((f) => `/${f}`)]) {
      const r = await send(port, path);
      expect({ path, status: r.status }).toEqual({ path, status: 200 });
      // Same-origin only: no CORS grant to any other page, nor embedding by one.
      expect(r.headers['access-control-allow-origin']).toBeUndefined();
      expect(r.headers['cross-origin-resource-policy']).toBe('same-origin');
    }
    expect((await send(port, '/index.m3u8')).body).toBe(await readFile(join(out, 'index.m3u8'), 'utf8'));
    expect((await send(port, '/', { host: `localhost:${port}` })).status).toBe(200);

    // Everything else DIR holds, dotfiles, escapes, a link out: 404 with nothing of it.
    for (const path of [
      '/notes.txt', '/.env', '/.git/config', '/%2eenv', '/link.ts', '/../outside.txt', '/%2e%2e/outside.txt', '/360p/../notes.txt',
      '/360p/..%2f.env', '//index.m3u8', '/360p', '/thumbnails/', '/%00', '/%E0%A4%A',
    ]) {
      const r = await send(port, path);
      expect({ path, status: r.status }).toEqual({ path, status: 404 });
      expect(r.body).toBe('not found\n');
    }
    // CORS preflights and writes are not served.
    expect((await send(port, '/index.m3u8', { method: 'OPTIONS' })).status).toBe(405);
    expect((await send(port, '/index.m3u8', { method: 'PUT' })).status).toBe(405);
    // A page of another site whose name now points at 127.0.0.1 (DNS rebinding) sends its own Host.
    for (const host of [`evil.example:${port}`, 'evil.example', `127.0.0.1:${port + 1}`, '']) {
      const r = await send(port, '/index.m3u8', { host });
      expect({ host, status: r.status, body: r.body }).toEqual({ host, status: 421, body: 'misdirected request\n' });
    }

    child.kill('SIGTERM');
    expect(await waitForExit(child, 10_000)).toBe(0);
  }, 90_000);
});
