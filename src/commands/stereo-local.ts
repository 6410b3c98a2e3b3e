// `rugbyworker stereo FILE --mode sbs|anaglyph --out FILE`: the stereo pipeline's own roles
// (chunk, segment-infer, trigger, reassemble) in one process (DESIGN §6), on two directory
// buckets whose ObjectCreated events go to in-process queues as the S3 notifications do,
// and in-memory tables. The command does what the web UI does (the Jobs item, the upload
// of input/{job_id}/source.mp4), lets the roles run until the job ends, and copies
// jobs/{job_id}/final.mp4 to --out. Nothing is left in the temp dir, whatever happens.
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, rename, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { roleDefinition } from '../../roles/index.js';
import type { Io } from './io.js';
import { decodeEventKey, type S3EventNotification } from '../domain/s3-event.js';
import { SEGMENT_NOTIFICATION, SOURCE_NOTIFICATION, finalKey, inputKey } from '../domain/stereo/keys.js';
import type { QueueUrlKey } from '../domain/requirements.js';
import type { Inference, ObjectStore, PipelineDb, Queue, RoleDefinition, RolePorts, StereoMode } from '../ports/index.js';
import { notifyQueues } from '../adapters/storage/s3-notifications.js';
import { unixSeconds } from '../runtime/clock.js';
import type { Config } from '../runtime/config/schema.js';
import { EXIT, UsageError, UserError } from '../runtime/errors.js';
import { progressBarOutput } from './progress-bar.js';
import { EXIT_ON_SIGNAL, trapInterrupt, type Stop } from './interrupt.js';
import { runWorkers } from './run.js';
import type { TaskProtectionPort } from '../runtime/in-flight.js';
import { JobWatch } from './stereo-watch.js';
import { TappedPipelineDb, TappedQueue } from './stereo-taps.js';

export type StereoBackend = 'ffmpeg' | 'stub' | 'http' | 'sagemaker';
type StereoQueueKey = Exclude<QueueUrlKey, 'SQS_TRANSCODE_QUEUE_URL'>;

/** In-process adapters (chosen by src/wiring/): two directory buckets, three queues, the tables, the backend. */
export interface StereoLocalAdapters {
  input: ObjectStore;
  output: ObjectStore;
  queues: Record<StereoQueueKey, Queue>;
  db: PipelineDb & { seedJob(item: { job_id: string; mode: StereoMode; status: 'created'; created_at: number }): unknown };
  inference: () => Promise<Inference>;
}

export interface StereoLocalOptions {
  file: string;
  out: string;
  mode: StereoMode;
  backend: StereoBackend;
  segmentSeconds?: number;
  /** Segments inferred at once. */
  concurrency: number;
  config: Config;
  io: Io;
  /** `inputCreated` gets the input bucket's ObjectCreated events, as S3 would send them. */
  adapters: (root: string, config: Config, inputCreated: (event: S3EventNotification) => Promise<void>) => StereoLocalAdapters;
  /** As in worker mode (src/wiring/scale-in-protection.ts). */
  scaleInProtection?: TaskProtectionPort;
}

const BUCKETS = { input: 'local-input', output: 'local-output' } as const;
const PIPELINE_ROLES = ['chunk', 'segment-infer', 'trigger', 'reassemble'] as const;

export async function stereoLocal(opts: StereoLocalOptions): Promise<number> {
  if (opts.backend === 'http' || opts.backend === 'sagemaker') {
    // No setting can fix it here, so a usage error (64), not a configuration one (78).
    throw new UsageError(`--backend ${opts.backend} cannot run locally: the model server reads and writes s3:// objects, and stereo's buckets are a temp directory on this machine; use --backend ffmpeg or stub (or run the segment-infer role against S3)`);
  }
  const file = resolve(opts.file);
  const info = await stat(file).catch(() => null);
  if (!info?.isFile()) throw new UserError(`${opts.file}: no such file`, EXIT.FAILURE);
  const out = resolve(opts.out);
  if ((await stat(out).catch(() => null))?.isDirectory()) throw new UsageError(`--out ${opts.out} is a directory; name the output file`);
  await mkdir(dirname(out), { recursive: true });

  const work = await mkdtemp(join(tmpdir(), 'rugbyworker-stereo-'));
  // Beside --out, so the rename is atomic; download() writes it through `${partial}.part`.
  const partial = join(dirname(out), `.${basename(out)}.${randomUUID()}.part`);
  const removeTemp = (): void => {
    for (const path of [work, partial, `${partial}.part`]) {
      try { rmSync(path, { recursive: true, force: true }); } catch { /* an FFmpeg still dying may hold it; nothing more to do */ }
    }
  };
  // Should the lifecycle exit the process on a signal, the temp files go then.
  const trap = trapInterrupt(removeTemp);
  try {
    return await run(opts, { file, out, work, partial, interrupt: trap.signal, signalled: trap.signalled });
  } finally {
    trap.release();
    removeTemp();
  }
}

interface RunPaths {
  file: string;
  out: string;
  work: string;
  partial: string;
  interrupt: AbortSignal;
  signalled: () => Stop | null;
}

async function run(opts: StereoLocalOptions, p: RunPaths): Promise<number> {
  const jobId = randomUUID();
  const config: Config = {
    ...opts.config,
    QUEUE_BACKEND: 'memory', INFERENCE_BACKEND: opts.backend, INPUT_BUCKET_NAME: BUCKETS.input, OUTPUT_BUCKET_NAME: BUCKETS.output,
    CHUNK_SEGMENT_DURATION_SEC: opts.segmentSeconds ?? opts.config.CHUNK_SEGMENT_DURATION_SEC,
    // The memory queue's long poll waits on wake-ups, not by polling; the stop ends it at once.
    SQS_LONG_POLL_WAIT_SECONDS: 20,
    // The job has ended when the roles stop: whatever is still in flight is moot (and Ctrl-C is prompt).
    SHUTDOWN_GRACE_SECONDS: 1,
    WORK_DIR: join(p.work, 'tmp'), HEALTH_PORT: null,
  };
  await mkdir(config.WORK_DIR, { recursive: true });

  const watch = new JobWatch(jobId, BUCKETS.input);
  let notify: (event: S3EventNotification) => Promise<void> = async () => undefined;
  const a = opts.adapters(join(p.work, 'buckets'), config, async (event) => {
    await notify(event);
    for (const r of event.Records) watch.objectCreated(decodeEventKey(r.s3.object.key));
  });
  const tap = (q: Queue): Queue => new TappedQueue(q, () => watch.deadLettered());
  const queues: Record<StereoQueueKey, Queue> = {
    CHUNKING_QUEUE_URL: tap(a.queues.CHUNKING_QUEUE_URL),
    VIDEO_WORKER_QUEUE_URL: tap(a.queues.VIDEO_WORKER_QUEUE_URL),
    REASSEMBLY_QUEUE_URL: tap(a.queues.REASSEMBLY_QUEUE_URL),
  };
  // The input bucket's notification configuration (STEREO-SPOT.md §Resources).
  notify = notifyQueues([
    { ...SOURCE_NOTIFICATION, queue: queues.CHUNKING_QUEUE_URL },
    { ...SEGMENT_NOTIFICATION, queue: queues.VIDEO_WORKER_QUEUE_URL },
  ]);
  const db = new TappedPipelineDb(a.db, watch);

  // What the web UI does: the Jobs item, then the upload (its event starts chunking).
  a.db.seedJob({ job_id: jobId, mode: opts.mode, status: 'created', created_at: unixSeconds() });
  await a.input.upload(p.file, inputKey(jobId), 'video/mp4', { signal: p.interrupt }).catch((err: unknown) => {
    if (p.interrupt.aborted) return;
    throw err;
  });
  if (p.interrupt.aborted) return interrupted(opts, p);

  let inference: Promise<Inference> | undefined;
  const stores: Record<string, ObjectStore> = { [a.input.bucket]: a.input, [a.output.bucket]: a.output };
  const ports: RolePorts & { close(): Promise<void> } = {
    queue: async (key) => (key === 'SQS_TRANSCODE_QUEUE_URL' ? Promise.reject(new Error('local stereo has no transcode queue')) : queues[key]),
    storage: (bucket) => {
      const name = typeof bucket !== 'string' ? ('aws' in bucket ? bucket.aws : null)
        : bucket === 'INPUT_BUCKET_NAME' ? a.input.bucket : bucket === 'OUTPUT_BUCKET_NAME' ? a.output.bucket : null;
      const store = name === null ? undefined : stores[name];
      if (!store) throw new Error(`local stereo has no bucket ${JSON.stringify(bucket)}`);
      return store;
    },
    mediaDb: () => { throw new Error('local stereo has no RugbyCodex database'); },
    pipelineDb: async () => db,
    inference: () => (inference ??= a.inference()),
    close: async () => { await Promise.all(Object.values(queues).map((q) => q.close())); },
  };
  const errors: string[] = [];
  await runWorkers({
    // The watch first, so it is stopped last: its `done` (the job's end) is what ends the run.
    roles: [watch.role(), ...PIPELINE_ROLES.map((name) => keepRunning(name, opts.concurrency))],
    config, once: true, instanceId: 'local', ports: () => ports, scaleInProtection: opts.scaleInProtection,
    logOutput: logSink(opts.io, errors),
  });
  if (p.signalled()) return interrupted(opts, p);
  const end = await watch.end;
  if (end !== 'completed') {
    const why = errors[0]?.replaceAll(inputKey(jobId), opts.file) ?? `the job ended ${end}`;
    // One line that names the file: the role's own words, when they already do.
    opts.io.stderr(`rugbyworker: ${why.includes(opts.file) ? why : `stereo of ${opts.file} failed: ${why}`}\n`);
    return EXIT.FAILURE;
  }
  try {
    await a.output.download(finalKey(jobId), p.partial, { signal: p.interrupt });
  } catch (err) {
    if (p.signalled()) return interrupted(opts, p);
    throw err;
  }
  await rename(p.partial, p.out);
  opts.io.stdout(`${p.out}\n`);
  return EXIT.OK;
}

function interrupted(opts: StereoLocalOptions, p: RunPaths): number {
  const sig = p.signalled() ?? 'SIGINT';
  opts.io.stderr(`rugbyworker: stereo of ${opts.file} interrupted (${sig}); nothing written\n`);
  return EXIT_ON_SIGNAL[sig];
}

/**
 * A pipeline role as run here: consuming until the run stops it (not --once: a queue that is
 * empty now gets its messages later), with no `done` of its own, so the watch's decides when
 * the run ends. Only segment-infer runs several jobs at once.
 */
function keepRunning(name: (typeof PIPELINE_ROLES)[number], concurrency: number): RoleDefinition {
  const role = roleDefinition(name)!;
  return {
    ...role,
    start: async (ctx) => {
      const service = await role.start!({ ...ctx, once: false, concurrency: name === 'segment-infer' ? concurrency : 1 });
      return { name: service.name, stop: (deadline) => service.stop(deadline) };
    },
  };
}

/**
 * The roles' JSON events: a progress bar on a terminal (stderr), else on stdout as they are.
 * Error events are kept, so a failure is told in one line naming what went wrong.
 */
function logSink(io: Io, errors: string[]): { write(line: string): boolean } {
  const bar = process.stderr.isTTY ? progressBarOutput(process.stderr) : null;
  return {
    write(line: string) {
      try {
        const e = JSON.parse(line) as Record<string, unknown>;
        if (e.severity === 'error' || e.severity === 'fatal') {
          const why = [e.error_message, e.reason, e.message].find((v) => typeof v === 'string' && v !== '') as string | undefined;
          if (why) errors.push(why.split('\n')[0]!);
        }
      } catch { /* not JSON: passed on as it is */ }
      if (bar) return bar.write(line);
      io.stdout(line);
      return true;
    },
  };
}
