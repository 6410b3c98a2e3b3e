// The cleanup role end to end (issue 5, "Done when"): the real role code through the
// production ports (src/cli.ts productionPorts) on real fauxqs S3 and the PostgREST
// stand-in that records every request supabase-js sends. Exactly the asset folders of the
// pending rows go, siblings whose names share a prefix and unrelated keys stay; unsafe
// paths are refused with nothing deleted; per-key S3 errors leave the row pending with an
// error and the next pass finishes it; --dry-run changes nothing; stop is immediate.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { pino } from 'pino';
import { roleDefinition } from '../../roles/index.js';
import { productionPorts } from '../../src/cli.js';
import { loadConfig } from '../../src/runtime/config/load.js';
import { Metrics } from '../../src/runtime/metrics.js';
import type { ObjectStore, RolePorts, RoleService } from '../../src/ports.js';
import { awsTestClientConfig, startFauxqs, type LocalServer } from '../helpers/servers.js';
import { startPostgrestStandin, type PostgrestStandin, type RecordedRequest, type Row } from '../helpers/postgrest-standin.js';
import { MEDIA_COLUMNS } from '../helpers/media-columns.js';

const SERVICE_KEY = 'service-role-key-for-cleanup-role-tests';
const T0 = '2026-11-24T10:00:00.000Z';
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

type LogEvent = Record<string, unknown> & { event_type?: string };

let fauxqs: LocalServer;
let standin: PostgrestStandin;
let s3: S3Client;
let bucket: string;

beforeAll(async () => {
  [fauxqs, standin] = await Promise.all([startFauxqs(), startPostgrestStandin({ apiKey: SERVICE_KEY, schema: MEDIA_COLUMNS })]);
  s3 = new S3Client(awsTestClientConfig(fauxqs.endpoint));
});

afterAll(async () => {
  s3?.destroy();
  await Promise.all([fauxqs?.stop(), standin?.stop()]);
});

// A fresh bucket and empty tables per test: every listing below is the whole bucket.
beforeEach(async () => {
  standin.reset();
  bucket = `media-${randomUUID().slice(0, 8)}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
});

// ---------------------------------------------------------------------------- fixtures

/** Puts `objects` (key → body) with at most 32 PUTs in flight. */
async function put(objects: ReadonlyMap<string, string>): Promise<void> {
  const queue = [...objects];
  const worker = async (): Promise<void> => {
    for (let next = queue.pop(); next; next = queue.pop()) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: next[0], Body: next[1] }));
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
}

/** Every key in the bucket with its size, in key order. */
async function bucketContents(): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const o of page.Contents ?? []) out.set(o.Key!, o.Size ?? 0);
    token = page.NextContinuationToken;
  } while (token);
  return out;
}

/** An asset folder as the transcode role leaves it: raw video, HLS ladder, poster. */
function assetFolder(base: string, segmentsPerRendition: number): Map<string, string> {
  const files = new Map<string, string>([[`${base}/raw/match.mp4`, 'raw-video-bytes'], [`${base}/streaming/master.m3u8`, '#EXTM3U'], [`${base}/thumbnails/poster.jpg`, 'jpeg']]);
  for (const r of ['1080p', '720p', '480p', '360p']) {
    files.set(`${base}/streaming/${r}/index.m3u8`, `#EXTM3U ${r}`);
    for (let i = 0; i < segmentsPerRendition; i++) files.set(`${base}/streaming/${r}/seg_${String(i).padStart(5, '0')}.ts`, `${r}-${i}`);
  }
  return files;
}

function cleanupRow(id: string, storagePath: unknown, created = T0): Row {
  return { id, media_asset_id: null, storage_path: storagePath, processed_at: null, objects_deleted: null, error: null, created_at: created };
}

const sizeOf = (files: ReadonlyMap<string, string>): number => [...files.values()].reduce((n, body) => n + Buffer.byteLength(body), 0);

function cleanupRequests(): Array<Pick<RecordedRequest, 'method' | 'query' | 'body'>> {
  return standin.requests.filter((r) => r.table === 'media_cleanup_jobs').map((r) => ({ method: r.method, query: r.query, body: r.body }));
}

const PENDING_QUERY = { method: 'GET', query: { select: 'id,storage_path', processed_at: 'is.null', order: 'created_at.asc,id.asc' }, body: undefined };

// ---------------------------------------------------------------------------- the role

interface Run {
  service: RoleService;
  events: LogEvent[];
  of(type: string): LogEvent[];
  metrics: Metrics;
}

interface RunOptions {
  dryRun?: boolean;
  once?: boolean;
  env?: Record<string, string>;
  /** Wraps the media bucket's store (failure injection, call counting). */
  wrapStore?: (store: ObjectStore) => ObjectStore;
}

/** Starts the cleanup role as runWorkers does, on productionPorts built from the environment. */
async function startRole(opts: RunOptions = {}): Promise<Run & { stopping: AbortController; close(): Promise<void> }> {
  const config = loadConfig({
    env: {
      AWS_ENDPOINT_URL: fauxqs.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test',
      BUCKET_NAME: bucket, SUPABASE_URL: standin.url, SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY, ...opts.env,
    },
  });
  const events: LogEvent[] = [];
  const logger = pino({ level: 'debug', base: undefined }, { write: (line: string) => void events.push(JSON.parse(line) as LogEvent) });
  const real = productionPorts(config, logger);
  const wrapped = new Map<string, ObjectStore>();
  const ports: RolePorts = {
    queue: (key) => real.queue(key),
    mediaDb: () => real.mediaDb(),
    storage: (b) => {
      const store = real.storage(b);
      if (!opts.wrapStore) return store;
      let w = wrapped.get(store.bucket);
      if (!w) wrapped.set(store.bucket, (w = opts.wrapStore(store)));
      return w;
    },
  };
  const metrics = new Metrics({ instanceId: 'cleanup-test', defaultMetrics: false });
  const stopping = new AbortController();
  const start = roleDefinition('cleanup')?.start;
  if (!start) throw new Error('the cleanup role has no start()');
  const service = await start({
    config, instanceId: 'cleanup-test', logger: logger.child({ role: 'cleanup' }), metrics, stopping: stopping.signal,
    concurrency: 1, once: opts.once ?? true, dryRun: opts.dryRun === true, ports,
  });
  return {
    service, events, metrics, stopping,
    of: (type) => events.filter((e) => e.event_type === type),
    async close() {
      stopping.abort();
      await service.stop(AbortSignal.timeout(5000));
      await real.close();
    },
  };
}

/** One pass (--once): resolves when the role's `done` does. */
async function runPass(opts: RunOptions = {}): Promise<Run> {
  const run = await startRole({ ...opts, once: true });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      run.service.done,
      new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`pass did not finish: ${JSON.stringify(run.events.slice(-5))}`)), 60_000); }),
    ]);
  } finally {
    clearTimeout(timer);
    await run.close();
  }
  return run;
}

async function counter(metrics: Metrics, name: string): Promise<number> {
  const json = await metrics.json();
  return json.counters[name] as number;
}

/** A store that counts calls and can report chosen keys as failed instead of deleting them. */
function instrumented(store: ObjectStore, failKey: (key: string) => boolean = () => false) {
  const calls = { list: 0, deleteMany: 0, keysPerCall: [] as number[] };
  const wrapper: ObjectStore = {
    bucket: store.bucket,
    head: (k) => store.head(k),
    exists: (k) => store.exists(k),
    getStream: (k, o) => store.getStream(k, o),
    download: (k, f, o) => store.download(k, f, o),
    upload: (s, k, c, o) => store.upload(s, k, c, o),
    list(prefix) {
      calls.list++;
      return store.list(prefix);
    },
    async deleteMany(keys) {
      calls.deleteMany++;
      calls.keysPerCall.push(keys.length);
      const failing = keys.filter(failKey);
      const out = await store.deleteMany(keys.filter((k) => !failKey(k)));
      // As S3 reports a key it could not delete: in Errors, with a code and a message.
      return { deleted: out.deleted, errors: [...out.errors, ...failing.map((key) => ({ key, message: 'InternalError: We encountered an internal error. Please try again.' }))] };
    },
  };
  return { store: wrapper, calls };
}

// ---------------------------------------------------------------------------- tests

describe('cleanup role', () => {
  it('deletes exactly the three asset folders (one of 2600+ objects), keeps siblings and unrelated keys, marks the rows', async () => {
    const org = randomUUID();
    const other = randomUUID();
    const big = randomUUID();
    // Three assets: a big one (4 renditions × 650 segments), and "ab", whose name is the start of "abc".
    const folders = {
      big: assetFolder(`orgs/${org}/uploads/${big}`, 650),
      ab: assetFolder(`orgs/${org}/uploads/ab`, 5),
      third: assetFolder(`orgs/${other}/uploads/${randomUUID()}`, 3),
    };
    const keep = new Map<string, string>([
      ...assetFolder(`orgs/${org}/uploads/abc`, 3), // sibling sharing the prefix "ab"
      ...assetFolder(`orgs/${org}/uploads/ab-old`, 1),
      ...assetFolder(`orgs/${org}/uploads/${big}x`, 1), // sibling sharing the whole big id
      ...assetFolder(`orgs/${other}/uploads/${randomUUID()}`, 2), // an asset with no cleanup row
      [`orgs/${org}/uploads/ab`, 'an object named like the folder, without the slash'],
      [`orgs/${org}/uploads/ab.json`, '{}'],
      [`orgs/${org}/logo.png`, 'png'],
      [`orgs/${org}/uploads/index.json`, '[]'],
      ['robots.txt', 'User-agent: *'],
      [`orgs/${big}/uploads/raw/x.mp4`, 'the big id as an org'],
    ]);
    const processedEarlier = assetFolder(`orgs/${org}/uploads/${randomUUID()}`, 1);
    for (const [k, v] of processedEarlier) keep.set(k, v);
    await put(new Map([...folders.big, ...folders.ab, ...folders.third, ...keep]));
    const before = await bucketContents();
    expect(before.size).toBe(folders.big.size + folders.ab.size + folders.third.size + keep.size);
    expect(folders.big.size).toBeGreaterThan(2500);

    const ids = { big: randomUUID(), ab: randomUUID(), third: randomUUID(), done: randomUUID() };
    standin.seed('media_cleanup_jobs',
      cleanupRow(ids.ab, `orgs/${org}/uploads/ab/raw/match.mp4`, '2026-11-24T08:00:00.000Z'),
      cleanupRow(ids.big, `orgs/${org}/uploads/${big}/raw/match.mp4`, '2026-11-24T09:00:00.000Z'),
      cleanupRow(ids.third, [...folders.third.keys()][0]!, '2026-11-24T09:30:00.000Z'),
      // Already processed: its (recreated) folder is not this pass's business.
      { ...cleanupRow(ids.done, [...processedEarlier.keys()][0]!), processed_at: T0, objects_deleted: 3 },
    );

    let probe!: ReturnType<typeof instrumented>;
    const run = await runPass({ wrapStore: (s) => (probe = instrumented(s)).store });

    // Exactly the three folders are gone; everything else is byte-for-byte where it was.
    const after = await bucketContents();
    const expected = new Map([...before].filter(([k]) => !folders.big.has(k) && !folders.ab.has(k) && !folders.third.has(k)));
    expect(after).toEqual(expected);
    expect([...after.keys()].sort()).toEqual([...keep.keys()].sort());

    // Batches of ≤ 1000 keys; the big folder took 3 calls.
    expect(Math.max(...probe.calls.keysPerCall)).toBeLessThanOrEqual(1000);
    expect(probe.calls.keysPerCall.reduce((a, b) => a + b, 0)).toBe(folders.big.size + folders.ab.size + folders.third.size);

    expect(standin.row('media_cleanup_jobs', ids.big)).toMatchObject({ processed_at: expect.stringMatching(ISO), objects_deleted: folders.big.size, error: null });
    expect(standin.row('media_cleanup_jobs', ids.ab)).toMatchObject({ processed_at: expect.stringMatching(ISO), objects_deleted: folders.ab.size, error: null });
    expect(standin.row('media_cleanup_jobs', ids.third)).toMatchObject({ processed_at: expect.stringMatching(ISO), objects_deleted: folders.third.size, error: null });
    expect(standin.row('media_cleanup_jobs', ids.done)).toMatchObject({ processed_at: T0, objects_deleted: 3 });

    // One read, then one conditional update per row, oldest row first.
    const mark = (id: string, n: number) => ({ method: 'PATCH', query: { id: `eq.${id}`, processed_at: 'is.null' }, body: { processed_at: expect.stringMatching(ISO), objects_deleted: n, error: null } });
    expect(cleanupRequests()).toEqual([PENDING_QUERY, mark(ids.ab, folders.ab.size), mark(ids.big, folders.big.size), mark(ids.third, folders.third.size)]);

    expect(run.of('cleanup_started')).toEqual([expect.objectContaining({ jobs: 3, bucket, dry_run: false })]);
    expect(run.of('cleanup_job_completed')).toEqual([
      expect.objectContaining({ job_id: ids.ab, prefix: `orgs/${org}/uploads/ab/`, objects: folders.ab.size, bytes: sizeOf(folders.ab), seconds: expect.any(Number) }),
      expect.objectContaining({ job_id: ids.big, prefix: `orgs/${org}/uploads/${big}/`, objects: folders.big.size, bytes: sizeOf(folders.big) }),
      expect.objectContaining({ job_id: ids.third, objects: folders.third.size, bytes: sizeOf(folders.third) }),
    ]);
    const total = folders.big.size + folders.ab.size + folders.third.size;
    expect(run.of('cleanup_pass_completed')).toEqual([expect.objectContaining({ jobs: 3, completed: 3, failed: 0, objects: total })]);
    expect(run.of('cleanup_job_failed')).toEqual([]);
    expect(run.service.exitCode?.()).toBe(0);
    await expect(counter(run.metrics, 'cleanup_objects_deleted_total')).resolves.toBe(total);
    await expect(counter(run.metrics, 'cleanup_jobs_completed_total')).resolves.toBe(3);
    await expect(counter(run.metrics, 'cleanup_jobs_failed_total')).resolves.toBe(0);
  }, 120_000);

  it('a row whose folder is already empty is simply marked processed; a second pass has nothing to do', async () => {
    const id = randomUUID();
    const unrelated = new Map([['orgs/o/uploads/other/raw/x.mp4', 'x']]);
    await put(unrelated);
    standin.seed('media_cleanup_jobs', cleanupRow(id, 'orgs/o/uploads/gone/raw/x.mp4'));
    const first = await runPass();
    expect(standin.row('media_cleanup_jobs', id)).toMatchObject({ processed_at: expect.stringMatching(ISO), objects_deleted: 0, error: null });
    expect(first.of('cleanup_job_completed')).toEqual([expect.objectContaining({ job_id: id, objects: 0, bytes: 0 })]);
    standin.clearRequests();
    const second = await runPass();
    expect(cleanupRequests()).toEqual([PENDING_QUERY]);
    expect(second.of('cleanup_pass_completed')).toEqual([expect.objectContaining({ jobs: 0, completed: 0, failed: 0 })]);
    expect(await bucketContents()).toEqual(new Map([['orgs/o/uploads/other/raw/x.mp4', 1]]));
  });

  it('refuses every malformed storage path: an error on the row and no object deleted anywhere', async () => {
    // Objects each malformed path could reach if it were widened the seed's way.
    const everything = new Map<string, string>([
      ...assetFolder('orgs/a/uploads/b', 2),
      ...assetFolder('orgs/a/uploads/c', 1),
      ['orgs/a/x.mp4', 'x'], ['x.mp4', 'x'], ['orgs/a/uploads/b2', 'x'], ['raw/x', 'x'], ['orgs/readme', 'x'],
    ]);
    await put(everything);
    const before = await bucketContents();
    const paths: unknown[] = [
      '', 'x.mp4', 'orgs/a/x.mp4', '../', '../../orgs/a/uploads/b/raw/x.mp4', 'orgs//uploads//raw/x', '/orgs/a/uploads/b/raw/x.mp4',
      'orgs\\a\\uploads\\b\\raw\\x.mp4', 'orgs/a/uploads/b', 'orgs/a/uploads/b/x.mp4', 'orgs/a/uploads/b\0/raw/x.mp4',
      'orgs/a/uploads/../raw/x.mp4', 'orgs/./uploads/b/raw/x.mp4', 'orgs/a/uploads/b/raw/', 'orgs/a/uploads/b/raw/sub/x.mp4',
      'users/a/uploads/b/raw/x.mp4', 'orgs/a/uploads/ /raw/x.mp4', 'orgs/a/uploads/b\n/raw/x.mp4', null,
    ];
    const ids = paths.map(() => randomUUID());
    standin.seed('media_cleanup_jobs', ...paths.map((p, i) => cleanupRow(ids[i]!, p, `2026-11-24T08:${String(i).padStart(2, '0')}:00.000Z`)));

    let probe!: ReturnType<typeof instrumented>;
    const run = await runPass({ wrapStore: (s) => (probe = instrumented(s)).store });

    expect(await bucketContents()).toEqual(before);
    expect(probe.calls).toEqual({ list: 0, deleteMany: 0, keysPerCall: [] });
    for (const [i, id] of ids.entries()) {
      const row = standin.row('media_cleanup_jobs', id)!;
      expect({ path: paths[i], processed_at: row.processed_at, objects_deleted: row.objects_deleted }).toEqual({ path: paths[i], processed_at: null, objects_deleted: null });
      expect(row.error).toMatch(/^unsafe path .*; nothing deleted$/);
      expect(row.error).not.toMatch(/\n/);
    }
    // Each refusal is one conditional write of the error alone.
    const writes = cleanupRequests().slice(1);
    expect(writes).toEqual(ids.map((id) => ({ method: 'PATCH', query: { id: `eq.${id}`, processed_at: 'is.null' }, body: { error: expect.stringMatching(/^unsafe path /) } })));
    expect(run.of('cleanup_job_failed')).toHaveLength(paths.length);
    expect(run.of('cleanup_pass_completed')).toEqual([expect.objectContaining({ jobs: paths.length, completed: 0, failed: paths.length, objects: 0 })]);
    expect(run.service.exitCode?.()).toBe(1);
    await expect(counter(run.metrics, 'cleanup_jobs_failed_total')).resolves.toBe(paths.length);
    await expect(counter(run.metrics, 'cleanup_objects_deleted_total')).resolves.toBe(0);
  });

  it('per-key S3 errors mid-delete leave the row pending with an error, the other rows go on, and the next pass finishes it', async () => {
    const failing = assetFolder('orgs/o/uploads/failing', 400); // 1607 objects: two batches
    const fine = assetFolder('orgs/o/uploads/fine', 2);
    await put(new Map([...failing, ...fine]));
    const [failId, fineId] = [randomUUID(), randomUUID()];
    standin.seed('media_cleanup_jobs', cleanupRow(failId, 'orgs/o/uploads/failing/raw/match.mp4', '2026-11-24T08:00:00.000Z'), cleanupRow(fineId, 'orgs/o/uploads/fine/raw/match.mp4', '2026-11-24T09:00:00.000Z'));
    const stubborn = (key: string): boolean => key.includes('/failing/streaming/720p/seg_001');

    const first = await runPass({ wrapStore: (s) => instrumented(s, stubborn).store });
    const left = await bucketContents();
    const stubbornKeys = [...failing.keys()].filter(stubborn);
    expect(stubbornKeys.length).toBe(100);
    expect([...left.keys()].sort()).toEqual(stubbornKeys.sort());
    const failedRow = standin.row('media_cleanup_jobs', failId)!;
    expect(failedRow).toMatchObject({ processed_at: null, objects_deleted: null });
    expect(failedRow.error).toMatch(/^100 objects under orgs\/o\/uploads\/failing\/ not deleted \(first: "orgs\/o\/uploads\/failing\/streaming\/720p\/seg_001\d\d\.ts": InternalError: We encountered an internal error\. Please try again\.\); 1507 objects deleted; the next pass retries$/);
    expect(standin.row('media_cleanup_jobs', fineId)).toMatchObject({ processed_at: expect.stringMatching(ISO), objects_deleted: fine.size, error: null });
    expect(first.of('cleanup_job_failed')).toEqual([expect.objectContaining({ job_id: failId, objects: failing.size - 100, failed_keys: 100, recorded: true })]);
    expect(first.service.exitCode?.()).toBe(1);

    standin.clearRequests();
    const second = await runPass();
    expect(await bucketContents()).toEqual(new Map());
    expect(standin.row('media_cleanup_jobs', failId)).toMatchObject({ processed_at: expect.stringMatching(ISO), objects_deleted: 100, error: null });
    expect(cleanupRequests()).toEqual([
      PENDING_QUERY,
      { method: 'PATCH', query: { id: `eq.${failId}`, processed_at: 'is.null' }, body: { processed_at: expect.stringMatching(ISO), objects_deleted: 100, error: null } },
    ]);
    expect(second.service.exitCode?.()).toBe(0);
  }, 60_000);

  it('a failing DeleteObjects call counts against its keys, and a Supabase failure while marking is retried next pass', async () => {
    const folder = assetFolder('orgs/o/uploads/a', 1);
    await put(folder);
    const id = randomUUID();
    standin.seed('media_cleanup_jobs', cleanupRow(id, 'orgs/o/uploads/a/raw/match.mp4'));
    const throwing = (store: ObjectStore): ObjectStore => Object.assign(Object.create(store) as ObjectStore, {
      bucket: store.bucket,
      list: (p: string) => store.list(p),
      deleteMany: async () => { throw new Error('socket hang up'); },
    });
    await runPass({ wrapStore: throwing });
    expect(standin.row('media_cleanup_jobs', id)!.error).toMatch(/^11 objects under orgs\/o\/uploads\/a\/ not deleted \(first: ".*": socket hang up\); 0 objects deleted/);
    expect((await bucketContents()).size).toBe(folder.size);

    // The folder goes, but the PATCH that marks the row fails once.
    standin.onRequest((req) => {
      if (req.method === 'PATCH' && (req.body as Row).processed_at) {
        standin.onRequest(null);
        standin.failNext(1, { status: 503, message: 'upstream connect error' });
      }
    });
    const run = await runPass();
    expect((await bucketContents()).size).toBe(0);
    expect(standin.row('media_cleanup_jobs', id)).toMatchObject({ processed_at: null, error: expect.stringMatching(/^folder deleted but marking the row failed: /) });
    expect(run.service.exitCode?.()).toBe(1);
    await runPass();
    expect(standin.row('media_cleanup_jobs', id)).toMatchObject({ processed_at: expect.stringMatching(ISO), objects_deleted: 0, error: null });
  });

  it('--dry-run lists what each row would delete and changes nothing', async () => {
    const folder = assetFolder('orgs/o/uploads/a', 300);
    const sibling = assetFolder('orgs/o/uploads/ab', 1);
    await put(new Map([...folder, ...sibling]));
    const before = await bucketContents();
    const [id, bad] = [randomUUID(), randomUUID()];
    standin.seed('media_cleanup_jobs', cleanupRow(id, 'orgs/o/uploads/a/raw/match.mp4', '2026-11-24T08:00:00.000Z'), cleanupRow(bad, 'orgs/o/x.mp4', '2026-11-24T09:00:00.000Z'));
    const rowsBefore = standin.rows('media_cleanup_jobs');

    let probe!: ReturnType<typeof instrumented>;
    const run = await runPass({ dryRun: true, wrapStore: (s) => (probe = instrumented(s)).store });

    expect(await bucketContents()).toEqual(before);
    expect(standin.rows('media_cleanup_jobs')).toEqual(rowsBefore);
    expect(cleanupRequests()).toEqual([PENDING_QUERY]);
    expect(probe.calls.deleteMany).toBe(0);
    const sorted = [...folder.keys()].sort();
    expect(run.of('cleanup_job_dry_run')).toEqual([expect.objectContaining({
      job_id: id, prefix: 'orgs/o/uploads/a/', objects: folder.size, bytes: sizeOf(folder), first_keys: sorted.slice(0, 10), dry_run: true,
    })]);
    expect(run.of('cleanup_job_dry_run')[0]!.msg).toBe(`would delete ${folder.size} objects (${sizeOf(folder)} bytes) under orgs/o/uploads/a/`);
    expect(run.of('cleanup_job_failed')).toEqual([expect.objectContaining({ job_id: bad, dry_run: true, recorded: false, error_message: expect.stringMatching(/^unsafe path "orgs\/o\/x\.mp4"/) })]);
    expect(run.of('cleanup_pass_completed')).toEqual([expect.objectContaining({ jobs: 2, completed: 1, failed: 1, objects: folder.size, dry_run: true })]);
    await expect(counter(run.metrics, 'cleanup_objects_deleted_total')).resolves.toBe(0);
  });

  it('runs the first pass at start-up, repeats every interval, and stops at once while sleeping', async () => {
    const run = await startRole({ once: false, env: { CLEANUP_INTERVAL_SECONDS: '1' } });
    try {
      const deadline = Date.now() + 10_000;
      while (run.of('cleanup_pass_completed').length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(run.of('cleanup_started')).toHaveLength(2);
      expect(run.of('cleanup_sleeping')[0]!.seconds).toBeGreaterThanOrEqual(0.95);
      expect(run.of('cleanup_sleeping')[0]!.seconds).toBeLessThanOrEqual(1.05);
      // Now asleep for about a second; a stop must not wait for it.
      const started = performance.now();
      run.stopping.abort();
      await run.service.stop(new AbortController().signal);
      expect(performance.now() - started).toBeLessThan(200);
      await run.service.done;
    } finally {
      await run.close();
    }
  });

  it('keeps CLEANUP_DELETE_CONCURRENCY DeleteObjects calls in flight, never more, while the listing goes on', async () => {
    const folder = assetFolder('orgs/o/uploads/big', 1250); // 5007 objects: 6 batches
    await put(folder);
    standin.seed('media_cleanup_jobs', cleanupRow(randomUUID(), 'orgs/o/uploads/big/raw/match.mp4'));
    let inFlight = 0;
    let maxInFlight = 0;
    let listed = 0;
    const listedAtDeleteStart: number[] = [];
    const slow = (store: ObjectStore): ObjectStore => Object.assign(Object.create(store) as ObjectStore, {
      bucket: store.bucket,
      async *list(p: string) {
        for await (const o of store.list(p)) {
          listed++;
          yield o;
        }
      },
      deleteMany: async (keys: readonly string[]) => {
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        listedAtDeleteStart.push(listed);
        try {
          await new Promise((r) => setTimeout(r, 150));
          return await store.deleteMany(keys);
        } finally {
          inFlight--;
        }
      },
    });
    const run = await runPass({ wrapStore: slow, env: { CLEANUP_DELETE_CONCURRENCY: '3' } });
    expect(maxInFlight).toBe(3);
    // Batches 2 and 3 started while batch 1 was still being deleted: the listing did not wait for it.
    expect(listedAtDeleteStart.slice(0, 3)).toEqual([1000, 2000, 3000]);
    expect(run.of('cleanup_job_completed')).toEqual([expect.objectContaining({ objects: folder.size })]);
    expect(await bucketContents()).toEqual(new Map());
  }, 60_000);

  it('a shutdown deadline stops a row between batches without marking it; the next pass finishes it', async () => {
    const folder = assetFolder('orgs/o/uploads/big', 1000); // 4007 objects: 5 batches
    await put(folder);
    const id = randomUUID();
    standin.seed('media_cleanup_jobs', cleanupRow(id, 'orgs/o/uploads/big/raw/match.mp4'));
    let calls = 0;
    let stopIt: () => void = () => undefined;
    const firstBatch = new Promise<void>((resolve) => { stopIt = resolve; });
    const slow = (store: ObjectStore): ObjectStore => Object.assign(Object.create(store) as ObjectStore, {
      bucket: store.bucket,
      list: (p: string) => store.list(p),
      deleteMany: async (keys: readonly string[]) => {
        if (++calls === 1) stopIt();
        await new Promise((r) => setTimeout(r, 100));
        return store.deleteMany(keys);
      },
    });
    const run = await startRole({ once: false, wrapStore: slow, env: { CLEANUP_DELETE_CONCURRENCY: '1' } });
    await firstBatch;
    run.stopping.abort();
    await run.service.stop(AbortSignal.abort(new Error('grace expired')));
    await run.close();
    expect(run.of('cleanup_job_interrupted')).toEqual([expect.objectContaining({ job_id: id, objects: expect.any(Number) })]);
    const interrupted = run.of('cleanup_job_interrupted')[0]!;
    expect(interrupted.objects).toBeGreaterThanOrEqual(1000);
    expect(interrupted.objects).toBeLessThan(folder.size);
    expect(calls).toBeLessThan(5);
    expect(standin.row('media_cleanup_jobs', id)).toMatchObject({ processed_at: null, error: null });
    expect((await bucketContents()).size).toBe(folder.size - (interrupted.objects as number));
    expect(run.service.exitCode?.()).toBe(0);

    await runPass();
    expect((await bucketContents()).size).toBe(0);
    expect(standin.row('media_cleanup_jobs', id)).toMatchObject({ processed_at: expect.stringMatching(ISO), objects_deleted: folder.size - (interrupted.objects as number) });
  }, 60_000);

  it('a pass that cannot read media_cleanup_jobs fails (exit code 1) and deletes nothing', async () => {
    await put(new Map([['orgs/o/uploads/a/raw/x.mp4', 'x']]));
    standin.seed('media_cleanup_jobs', cleanupRow(randomUUID(), 'orgs/o/uploads/a/raw/x.mp4'));
    // 500, not 503: supabase-js retries a GET on 503 for seconds before giving up.
    standin.failNext(1, { status: 500, message: 'terminating connection due to administrator command', code: '57P01' });
    const run = await runPass();
    expect(run.of('cleanup_pass_failed')).toEqual([expect.objectContaining({ err: expect.objectContaining({ message: expect.stringMatching(/media_cleanup_jobs/) }) })]);
    expect(run.of('cleanup_started')).toEqual([]);
    expect(run.service.exitCode?.()).toBe(1);
    expect((await bucketContents()).size).toBe(1);
  });
});
