// The raw video as FFmpeg and ffprobe read it while it downloads: an HTTP server on
// 127.0.0.1 (a random port, an unguessable path per job) answering HEAD and ranged GETs, as
// FFmpeg's http protocol opens and seeks. Each response is sent piece by piece where
// src/domain/source-read.ts says: the growing work file, a wait for the download, or a ranged
// read of the store for bytes far ahead. Nothing here ever ends a response early and
// cleanly: FFmpeg would take a short body for the end of the video.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { answerRange, contentRange, rangeLength, type ByteRange } from '../../domain/byte-range.js';
import { nextRead, READ_LIMITS, type ReadLimits } from '../../domain/source-read.js';
import type { GrowingFile } from './growing-file.js';

export interface SourceServerOptions {
  file: GrowingFile;
  /** Bytes far ahead of the download, from the store (ObjectStore.getStream with a range). */
  fetch: (range: ByteRange, signal: AbortSignal) => Promise<Readable>;
  logger?: Logger;
  limits?: ReadLimits;
}

/** What the server has sent, and from where. */
export interface SourceServerStats {
  requests: number;
  diskBytes: number;
  storeBytes: number;
  storeReads: number;
  /** Ranged reads of the store that broke; their responses waited for the download instead. */
  storeFailures: number;
  /** Times a response waited for the download. */
  waits: number;
}

export interface SourceServer {
  /** http://127.0.0.1:PORT/<random>: the only URL that answers with the video. */
  readonly url: string;
  stats(): SourceServerStats;
  /** Stops listening and cuts every response. */
  close(): Promise<void>;
}

export async function startSourceServer(opts: SourceServerOptions): Promise<SourceServer> {
  const { file, logger } = opts;
  const limits = opts.limits ?? READ_LIMITS;
  const path = `/${randomBytes(16).toString('hex')}`;
  const closing = new AbortController();
  const stats: SourceServerStats = { requests: 0, diskBytes: 0, storeBytes: 0, storeReads: 0, storeFailures: 0, waits: 0 };

  /** Sends `range` of the source; throws when the response cannot be completed. */
  async function pump(range: ByteRange, res: ServerResponse, signal: AbortSignal): Promise<void> {
    let position = range.start;
    let storeUsable = true;
    const send = async (chunk: Buffer): Promise<void> => {
      // Never past the range: its length is the Content-Length already sent.
      const piece = chunk.length > range.end - position + 1 ? chunk.subarray(0, range.end - position + 1) : chunk;
      position += piece.length;
      if (!res.write(piece)) await once(res, 'drain', { signal });
    };
    while (position <= range.end) {
      signal.throwIfAborted();
      if (file.failed !== undefined) throw file.failed;
      const step = nextRead({ position, end: range.end, onDisk: file.bytesOnDisk, storeUsable }, limits);
      if (step.from === 'wait') {
        stats.waits++;
        await file.waitFor(position, signal);
      } else if (step.from === 'disk') {
        const buf = await file.read(step.range.start, rangeLength(step.range));
        stats.diskBytes += buf.length;
        await send(buf);
      } else {
        stats.storeReads++;
        try {
          const body = await opts.fetch(step.range, signal);
          try {
            for await (const chunk of body as AsyncIterable<Buffer>) {
              stats.storeBytes += chunk.length;
              await send(chunk);
              if (position > step.range.end) break;
            }
          } finally {
            body.destroy();
          }
          if (position <= step.range.end) throw new Error(`the store's answer ended at byte ${position} of ${step.range.start}-${step.range.end}`);
        } catch (err) {
          if (signal.aborted) throw err;
          // The download resumes on its own after a broken connection: wait for it instead.
          stats.storeFailures++;
          storeUsable = false;
          logger?.warn({ event_type: 'source_read_failed', start: step.range.start, end: step.range.end, err: (err as Error).message }, `a ranged read of the source failed; waiting for the download instead: ${(err as Error).message}`);
        }
      }
    }
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    stats.requests++;
    if (req.url !== path) return plain(res, 404, 'not found');
    if (req.method !== 'GET' && req.method !== 'HEAD') return plain(res, 405, 'method not allowed', { Allow: 'GET, HEAD' });
    if (file.failed !== undefined) return plain(res, 503, 'the source could not be downloaded');
    const size = file.size;
    const answer = answerRange(req.headers.range, size);
    if (answer.kind === 'unsatisfiable') return plain(res, 416, 'range not satisfiable', { 'Content-Range': contentRange(size) });
    const range = answer.kind === 'range' ? answer.range : { start: 0, end: size - 1 };
    res.writeHead(answer.kind === 'range' ? 206 : 200, {
      'Accept-Ranges': 'bytes',
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(size === 0 ? 0 : rangeLength(range)),
      ...(answer.kind === 'range' ? { 'Content-Range': contentRange(size, range) } : {}),
    });
    if (req.method === 'HEAD' || size === 0) return void res.end();
    const gone = new AbortController();
    res.once('close', () => gone.abort(new Error('the reader closed the connection')));
    const signal = AbortSignal.any([gone.signal, closing.signal]);
    try {
      await pump(range, res, signal);
      res.end();
    } catch (err) {
      // Cut, not ended: the reader must see an error, never a short video.
      if (!signal.aborted) logger?.debug({ event_type: 'source_response_cut', start: range.start, err: (err as Error).message }, 'a response of the source was cut');
      res.destroy();
    }
  }

  const server = createServer((req, res) => void serve(req, res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    stats: () => ({ ...stats }),
    async close() {
      closing.abort(new Error('the source server is closing'));
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

function plain(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(text) + 1), ...headers });
  res.end(`${text}\n`);
}
