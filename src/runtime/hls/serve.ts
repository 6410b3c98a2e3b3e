// `rugbyworker transcode … --serve`: a static HTTP server over the output folder plus
// the player page, so a person can watch the result in a browser. Local use only
// (127.0.0.1 unless told otherwise), read-only, and never outside `dir`.
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, isAbsolute, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { contentTypeFor } from '../../domain/content-types.js';
import { MASTER_PLAYLIST } from '../../domain/hls-ladder.js';
import { hlsJsSource } from './player-assets.js';
import { playerHtml } from './player-page.js';

export interface ServeHlsOptions {
  /** The folder holding the master playlist (index.m3u8) and the rendition folders. */
  dir: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** The master playlist's name in `dir`. */
  master?: string;
  /** Page title; the folder's name by default. */
  title?: string;
}

export interface HlsServer {
  /** The player page, e.g. `http://127.0.0.1:PORT/`. */
  url: string;
  port: number;
  close(): Promise<void>;
}

// Browsers and players on other origins (a hosted hls.js demo page) may read it too.
const COMMON_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS',
  'Access-Control-Allow-Headers': '*',
  // A re-run writes the same names again: never let a browser keep the old ones.
  'Cache-Control': 'no-cache',
  'X-Content-Type-Options': 'nosniff',
} as const;

/** True when `path` is `root` itself or below it. */
function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/** The regular file under `root` a request path names, or undefined (missing, outside, a folder). */
async function fileFor(root: string, pathname: string): Promise<string | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return undefined; // malformed %-escape
  }
  if (decoded.includes('\0')) return undefined;
  const candidate = resolve(root, `.${decoded.startsWith('/') ? '' : '/'}${decoded}`);
  if (!isInside(root, candidate)) return undefined;
  try {
    // Again after following symlinks: a link inside `dir` must not lead out of it.
    const real = await realpath(candidate);
    if (!isInside(root, real)) return undefined;
    return (await stat(real)).isFile() ? real : undefined;
  } catch {
    return undefined;
  }
}

function sendText(res: ServerResponse, method: string, status: number, type: string, body: string): void {
  const bytes = Buffer.from(body, 'utf8');
  res.writeHead(status, { ...COMMON_HEADERS, 'Content-Type': type, 'Content-Length': bytes.length });
  res.end(method === 'HEAD' ? undefined : bytes);
}

/** Serves `dir` (playlists, segments, poster), `/` the player page and `/hls.min.js`. */
export async function serveHls(options: ServeHlsOptions): Promise<HlsServer> {
  const { host = '127.0.0.1', port = 0, master = MASTER_PLAYLIST } = options;
  const root = await realpath(resolve(options.dir)); // compared with realpath()s below
  const page = playerHtml({ title: options.title ?? basename(root), masterUrl: `/${master}` });
  const hlsJs = hlsJsSource(); // read now: a missing asset fails the start, not the first page

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    if (method === 'OPTIONS') {
      res.writeHead(204, COMMON_HEADERS);
      res.end();
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD, OPTIONS');
      sendText(res, method, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
      return;
    }
    // The raw path (before any `?`), not URL-normalised: the containment check is what guards.
    const raw = req.url ?? '/';
    const pathname = raw.split(/[?#]/, 1)[0] ?? '/';
    if (pathname === '/' || pathname === '/index.html') {
      sendText(res, method, 200, 'text/html; charset=utf-8', page);
      return;
    }
    if (pathname === '/hls.min.js') {
      sendText(res, method, 200, 'text/javascript; charset=utf-8', hlsJs);
      return;
    }
    const file = await fileFor(root, pathname);
    if (!file) {
      sendText(res, method, 404, 'text/plain; charset=utf-8', 'not found\n');
      return;
    }
    const { size } = await stat(file);
    res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': contentTypeFor(file), 'Content-Length': size });
    if (method === 'HEAD') {
      res.end();
      return;
    }
    await pipeline(createReadStream(file), res);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      // Mostly a browser that went away mid-segment; nothing to tell it.
      if (!res.headersSent) sendText(res, req.method ?? 'GET', 500, 'text/plain; charset=utf-8', 'internal error\n');
      else res.destroy();
    });
  });

  const bound = await new Promise<number>((resolveListen, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const why = err.code === 'EADDRINUSE' ? 'is already in use' : `cannot be bound (${err.code ?? err.message})`;
      reject(new Error(`port ${port} ${why} on ${host}`));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolveListen((server.address() as AddressInfo).port);
    });
  });

  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${bound}/`,
    port: bound,
    close: () => new Promise<void>((done, fail) => {
      server.close((err) => (err ? fail(err) : done()));
      // A browser's keep-alive connections would hold close() open indefinitely.
      server.closeAllConnections();
    }),
  };
}
