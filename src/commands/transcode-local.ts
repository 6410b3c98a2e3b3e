// `rugbyworker transcode FILE --out DIR`: the transcode role itself, run on a laptop with
// the in-process queue, a directory as the bucket and an in-memory database.
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { Io } from './io.js';
import { start as startTranscode } from '../../roles/transcode/index.js';
import type { MediaDb, ObjectStore, Queue, RoleDefinition, RolePorts } from '../ports/index.js';
import { streamingLayout } from '../domain/rugbycodex/streaming-layout.js';
import { MASTER_PLAYLIST } from '../domain/rugbycodex/hls-ladder.js';
import type { Config } from '../runtime/config/schema.js';
import { UsageError } from '../runtime/errors.js';
import { serveHls } from '../../roles/transcode/serve/serve.js';
import { progressBarOutput } from './progress-bar.js';
import { EXIT_ON_SIGNAL, trapInterrupt } from './interrupt.js';
import { runWorkers } from './run.js';
import type { TaskProtectionPort } from '../runtime/in-flight.js';

export interface LocalTranscodeOptions {
  file: string;
  out: string;
  renditions?: number[];
  segmentSeconds?: number;
  serve: boolean;
  config: Config;
  io: Io;
  /** In-process adapters (chosen by src/wiring/): a queue, a directory bucket, an in-memory database. */
  adapters: (bucketRoot: string) => LocalAdapters;
  /** As in worker mode (src/wiring/scale-in-protection.ts). */
  scaleInProtection?: TaskProtectionPort;
}

export interface LocalAdapters {
  queue: Queue;
  store: ObjectStore;
  db: MediaDb & {
    seedAsset(row: { id: string; org_id: string; bucket: string; storage_path: string }): unknown;
    seedJob(row: { id: string; org_id: string; media_asset_id: string }): unknown;
    rows(): { jobs: Array<{ id: string; state: string; error_code: string | null; error_message: string | null }> };
  };
}

export async function transcodeLocal(opts: LocalTranscodeOptions): Promise<number> {
  const file = resolve(opts.file);
  const info = await stat(file).catch(() => null);
  if (!info?.isFile()) throw new UsageError(`${opts.file}: no such file`);
  const out = resolve(opts.out);
  const work = join(out, '.rugbyworker');
  await mkdir(work, { recursive: true });
  // Ctrl-C while the job runs: the lifecycle stops it (FFmpeg killed within the 1 s grace) and
  // exits the process itself, with 0 after a clean stop. Here the work folder goes, the exit
  // code says it was interrupted, and nothing is left in DIR (it held no playlist yet).
  const trap = trapInterrupt((signalled) => {
    if (!signalled) return;
    try { rmSync(work, { recursive: true, force: true }); } catch { /* an FFmpeg still dying may hold it */ }
    opts.io.stderr(`rugbyworker: transcode of ${opts.file} interrupted (${signalled}); nothing written\n`);
  });
  /** What this run wrote into DIR (relative, "/"): all --serve may serve, whatever else DIR holds. */
  const served: string[] = [];
  try {
    // The rows and message complete-upload would make for this file.
    const ids = { job: randomUUID(), asset: randomUUID(), org: randomUUID() };
    const rawKey = `orgs/${ids.org}/uploads/${ids.asset}/raw/${basename(file).replace(/[^A-Za-z0-9._-]/g, '_') || 'video'}`;
    const { queue, store, db } = opts.adapters(join(work, 'bucket'));
    await store.upload(file, rawKey, 'application/octet-stream');
    db.seedAsset({ id: ids.asset, org_id: ids.org, bucket: store.bucket, storage_path: rawKey });
    db.seedJob({ id: ids.job, org_id: ids.org, media_asset_id: ids.asset });
    await queue.send(JSON.stringify({ job_id: ids.job, media_id: ids.asset, org_id: ids.org, type: 'transcode' }));

    const ports: RolePorts & { close(): Promise<void> } = {
      queue: async () => queue,
      storage: () => store,
      mediaDb: () => db,
      pipelineDb: () => Promise.reject(new Error('local transcode has no stereo tables')),
      inference: () => Promise.reject(new Error('local transcode has no inference')),
      close: async () => queue.close(),
    };
    const role: RoleDefinition = {
      name: 'transcode', description: 'local transcode', needs: {},
      start: (ctx) => startTranscode(ctx, { rungHeights: opts.renditions, progressLogSeconds: 1 }),
    };
    const config: Config = {
      ...opts.config,
      QUEUE_BACKEND: 'memory', SQS_LONG_POLL_WAIT_SECONDS: 0,
      HLS_SEGMENT_SECONDS: opts.segmentSeconds ?? opts.config.HLS_SEGMENT_SECONDS,
      WORK_DIR: join(work, 'tmp'), HEALTH_PORT: null,
      // A person pressed Ctrl-C: stop now, not after 25 s of a job nobody will keep.
      SHUTDOWN_GRACE_SECONDS: 1,
    };
    const code = await runWorkers({
      roles: [role], config, once: true, instanceId: 'local', ports: () => ports, scaleInProtection: opts.scaleInProtection,
      ...(process.stderr.isTTY ? { logOutput: progressBarOutput(process.stderr) } : {}),
    });
    const job = db.rows().jobs.find((j) => j.id === ids.job);
    if (code !== 0 || job?.state !== 'succeeded') {
      opts.io.stderr(`rugbyworker: transcode of ${opts.file} failed${job?.error_code ? `: ${job.error_code}: ${job.error_message}` : ''}\n`);
      return 1;
    }
    // The bucket's streaming folder becomes DIR/index.m3u8, DIR/<rendition>/…, DIR/thumbnails/….
    const layout = streamingLayout({ baseOrgStoragePath: '', orgId: ids.org, mediaId: ids.asset });
    if (!layout.ok) throw new Error(layout.reason);
    const { prefix } = layout.layout;
    for await (const obj of store.list(prefix)) {
      if (trap.signalled()) break;
      served.push(obj.key.slice(prefix.length));
      await store.download(obj.key, join(out, served.at(-1)!));
    }
    const signalled = trap.signalled();
    if (signalled) {
      for (const name of served) await rm(join(out, name), { force: true });
      return EXIT_ON_SIGNAL[signalled];
    }
  } finally {
    trap.release();
    await rm(work, { recursive: true, force: true });
  }
  const master = join(out, MASTER_PLAYLIST);
  opts.io.stdout(`${master}\n`);
  if (opts.serve) {
    const server = await serveHls({ dir: out, files: served });
    opts.io.stderr(`watch it at ${server.url} (Ctrl-C to stop)\n`);
    await new Promise<void>((done) => {
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    });
    await server.close();
  }
  return 0;
}
