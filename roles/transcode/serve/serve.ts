// `rugbyworker transcode … --serve`: a static HTTP server over the files the transcode wrote
// plus the player page, so a person can watch the result in a browser. Local use only
// (127.0.0.1 unless told otherwise), read-only, same-origin only: DIR may be a folder full
// of other things (`--out .`), so nothing but the listed output files is ever served, no
// dotfile, nothing outside DIR, and no other web page may read them (no CORS header, and a
// request must name this server as its Host, which a DNS-rebinding page cannot).
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { contentTypeFor } from '../../../src/domain/content-types.js';
import { MASTER_PLAYLIST } from '../../../src/domain/rugbycodex/hls-ladder.js';
import { hlsJsSource } from './player-assets.js';
import { playerHtml } from './player-page.js';

export interface ServeHlsOptions {
  /** The folder holding the master playlist (index.m3u8) and the rendition folders. */
  dir: string;
  /**
   * The files to serve, relative to `dir` with "/" (e.g. `720p/seg_00000.ts`): the ones the
   * transcode wrote. Any other path is a 404, whatever `dir` holds.
   */
  files: readonly string[];
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

// The player page comes from this server, so nothing needs CORS; CORP keeps other sites from
// even embedding a segment or a storyboard sheet.
const COMMON_HEADERS = {
  'Cross-Origin-Resource-Policy': 'same-origin',
  // A re-run writes the same names again: never let a browser keep the old ones.
  'Cache-Control': 'no-cache',
  'X-Content-Type-Options': 'nosniff',
} as const;

/** A listed path that may be served: relative, "/"-separated, no empty, "." or ".." segment, no dotfile or dot-folder. */
export function servablePath(path: string): boolean {
  if (path === '' || path.includes('\\') || path.includes('\0')) return false;
  return path.split('/').every((segment) => segment !== '' && !segment.startsWith('.'));
}

/** Names the same machine: a browser at any of them is on this server's origin. */
const LOOPBACK: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost', '::1']);

/** `host:port` as a URL (and a Host header) writes it: an IPv6 address in brackets. */
function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host.toLowerCase()}]` : host.toLowerCase()}:${port}`;
}

/** True when `path` is `root` itself or below it. */
function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/** The listed regular file a request path names, or undefined (not listed, gone, outside `root`). */
async function fileFor(root: string, listed: ReadonlySet<string>, pathname: string): Promise<string | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return undefined; // malformed %-escape
  }
  // Looked up as sent, never normalised: "/v0/../index.m3u8" is not a listed name.
  const name = decoded.slice(1);
  if (!listed.has(name)) return undefined;
  const candidate = join(root, name);
  try {
    // After following symlinks: a file swapped for a link since it was written must not lead out of `dir`.
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

/** Serves the listed files of `dir` (playlists, segments, storyboard), `/` the player page and `/hls.min.js`. */
export async function serveHls(options: ServeHlsOptions): Promise<HlsServer> {
  const { host = '127.0.0.1', port = 0, master = MASTER_PLAYLIST } = options;
  const root = await realpath(resolve(options.dir)); // compared with realpath()s below
  const unservable = options.files.find((f) => !servablePath(f));
  if (unservable !== undefined) throw new RangeError(`cannot serve ${JSON.stringify(unservable)}: only plain relative paths, no dotfiles`);
  const listed = new Set(options.files);
  const page = playerHtml({ title: options.title ?? basename(root), masterUrl: `/${master}` });
  const hlsJs = hlsJsSource(); // read now: a missing asset fails the start, not the first page

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    // A page of another site that rebinds its name to 127.0.0.1 is "same-origin" to the
    // browser but still sends its own name as Host.
    if (!servesHost(req.headers.host)) {
      sendText(res, method, 421, 'text/plain; charset=utf-8', 'misdirected request\n');
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      sendText(res, method, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
      return;
    }
    // The raw path (before any `?`), not URL-normalised: only a listed name matches.
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
    const file = await fileFor(root, listed, pathname);
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

  /** The Host header names this server: the address it listens on, or another name of loopback when it listens there. */
  function servesHost(header: string | undefined): boolean {
    const { port: bound } = server.address() as AddressInfo;
    const names = LOOPBACK.has(host) ? [...LOOPBACK] : [host];
    return names.some((name) => hostPort(name, bound) === String(header ?? '').toLowerCase());
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
