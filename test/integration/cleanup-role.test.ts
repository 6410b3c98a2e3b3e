// The cleanup role end to end on the live contract (RUGBYCODEX.md "Cleanup"): the real
// role code through the production ports (src/wiring/production-ports.ts) on real fauxqs S3
// and the PostgREST stand-in on real PostgreSQL holding the live media_cleanup_jobs table
// (id, media_asset_id, bucket, storage_path, created_at, processed_at, error). There is
// no bucket setting: each pending row's folder goes from the row's own bucket, oldest
// created_at first. Exactly the asset folders of the pending rows go, siblings whose names
// share a prefix, the same folder in the other bucket and unrelated keys stay; an unsafe
// path or an invalid bucket is final (processed_at and error set, nothing deleted); per-key
// S3 errors leave the row pending with an error and the next pass finishes it; --dry-run
// changes nothing; stop is immediate. A row whose folder is not its own asset's
// (media_asset_id, and the asset's org while its media_assets row exists) is final and
// deletes nothing. Every request PostgreSQL answered is a 2xx.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { pino } from 'pino';
import { roleDefinition } from '../../roles/index.js';
import { productionPorts } from '../../src/wiring/production-ports.js';
import { loadConfig } from '../../src/runtime/config/load.js';
import { Metrics } from '../../src/runtime/metrics.js';
import type { ObjectStore, RolePorts, RoleService } from '../../src/ports/index.js';
import { awsTestClientConfig, startFauxqs, type LocalServer } from '../helpers/servers.js';
import { postgresSkipReason, startPostgrestStandin, type PostgrestStandin, type RecordedRequest, type Row } from '../helpers/postgrest-standin.js';
import { DelegatingStore } from '../helpers/delegating-store.js';
import { MEDIA_COLUMNS } from '../helpers/media-columns.js';
import { until } from '../helpers/wait.js';

const SERVICE_KEY = 'service-role-key-for-cleanup-role-tests';
const T0 = '2026-11-24T10:00:00.000Z';
/** What the worker sends (Date#toISOString). */
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** What PostgreSQL's JSON gives back for a timestamptz (the cluster runs in UTC). */
const PG_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?\+00:00$/;

const skip = postgresSkipReason();
if (skip) console.warn(`cleanup-role.test.ts skipped: ${skip}`);
const describeIfPostgres = skip ? describe.skip : describe;

type LogEvent = Record<string, unknown> & { event_type?: string };

let fauxqs: LocalServer;
let standin: PostgrestStandin;
let s3: S3Client;
/** Two media buckets per test (the live default and an archive one): every listing below is a whole bucket. */
let bucket: string;
let archive: string;

beforeAll(async () => {
  if (skip) return;
  [fauxqs, standin] = await Promise.all([startFauxqs(), startPostgrestStandin({ apiKey: SERVICE_KEY })]);
  s3 = new S3Client(awsTestClientConfig(fauxqs.endpoint));
}, 60_000);

afterAll(async () => {
  s3?.destroy();
  await Promise.all([fauxqs?.stop(), standin?.stop()]);
});

beforeEach(async () => {
  if (skip) return;
  await standin.reset();
  const tag = randomUUID().slice(0, 8);
  [bucket, archive] = [`media-${tag}`, `archive-${tag}`];
  await Promise.all([bucket, archive].map((Bucket) => s3.send(new CreateBucketCommand({ Bucket }))));
});

// PostgreSQL accepted every request the worker made (an unknown column, a NULL into NOT
// NULL, a bad timestamp would be a 4xx): only the failures a test injects are not 2xx.
afterEach(() => {
  if (!skip) expectAccepted();
});

function expectAccepted(): void {
  const refused = standin.requests.filter((r) => !r.injected && !(r.status !== undefined && r.status >= 200 && r.status < 300));
  expect(refused.map((r) => ({ method: r.method, table: r.table, query: r.query, body: r.body, status: r.status }))).toEqual([]);
  for (const r of standin.requests) expect(r.headers).toMatchObject({ apikey: SERVICE_KEY, authorization: `Bearer ${SERVICE_KEY}` });
}

/** Checks the requests so far, then forgets them. */
function clearRequests(): void {
  expectAccepted();
  standin.clearRequests();
}

// ---------------------------------------------------------------------------- fixtures

/** Puts `objects` (key → body) into `into` with at most 32 PUTs in flight. */
async function put(into: string, objects: ReadonlyMap<string, string>): Promise<void> {
  const queue = [...objects];
  const worker = async (): Promise<void> => {
    for (let next = queue.pop(); next; next = queue.pop()) {
      await s3.send(new PutObjectCommand({ Bucket: into, Key: next[0], Body: next[1] }));
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
}

/** Every key of a bucket with its size, in key order. */
async function contents(of: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: of, ContinuationToken: token }));
    for (const o of page.Contents ?? []) out.set(o.Key!, o.Size ?? 0);
    token = page.NextContinuationToken;
  } while (token);
  return out;
}

const RENDITIONS = ['1080p', '720p', '480p', '360p'];

/**
 * An asset folder as the transcode role leaves it: the raw upload, the top playlist where
 * the player looks (streaming/index.m3u8), four rendition folders of segments, the
 * storyboard. 8 + 4 × segmentsPerRendition objects.
 */
function assetFolder(base: string, segmentsPerRendition: number): Map<string, string> {
  const files = new Map<string, string>([
    [`${base}/raw/match.mp4`, 'raw-video-bytes'],
    [`${base}/streaming/index.m3u8`, '#EXTM3U'],
    [`${base}/streaming/thumbnails/storyboard_000.jpg`, 'jpeg'],
    [`${base}/streaming/thumbnails/storyboard.vtt`, 'WEBVTT'],
  ]);
  for (const r of RENDITIONS) {
    files.set(`${base}/streaming/${r}/index.m3u8`, `#EXTM3U ${r}`);
    for (let i = 0; i < segmentsPerRendition; i++) files.set(`${base}/streaming/${r}/seg_${String(i).padStart(5, '0')}.ts`, `${r}-${i}`);
  }
  return files;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * A pending row with the live columns only (processed_at and error take their defaults, null),
 * as the app writes it: media_asset_id is the asset whose folder the path names (a random one
 * when the path names none, or `asset`).
 */
function cleanupRow(id: string, storagePath: string, opts: { bucket?: string; created?: string; asset?: string } = {}): Row {
  const folderId = storagePath.split('/')[3] ?? '';
  const asset = opts.asset ?? (UUID.test(folderId) ? folderId : randomUUID());
  return { id, media_asset_id: asset, bucket: opts.bucket ?? bucket, storage_path: storagePath, created_at: opts.created ?? T0 };
}

/** Asset ids of the folders of org "o" below (media_asset_id is a uuid). */
const A = 'aaaaaaaa-0000-4000-8000-00000000000a';
const BIG = 'b1b1b1b1-0000-4000-8000-0000000000b1';
const FAILING = 'fa11fa11-0000-4000-8000-0000000000fa';
const FINE = 'f1f1f1f1-0000-4000-8000-0000000000f1';
const GONE = '90909090-0000-4000-8000-000000000090';

const sizeOf = (files: ReadonlyMap<string, string>): number => [...files.values()].reduce((n, body) => n + Buffer.byteLength(body), 0);
const at = (hh: number, mm = 0): string => `2026-11-24T${String(hh).padStart(2, '0')}:${String(mm).padStart(2, '0')}:00.000Z`;
const instant = (x: unknown): string => new Date(x as string).toISOString();
const row = async (id: string): Promise<Row> => {
  const found = await standin.row('media_cleanup_jobs', id);
  if (!found) throw new Error(`no media_cleanup_jobs row ${id}`);
  return found;
};

function cleanupRequests(): Array<Pick<RecordedRequest, 'method' | 'query' | 'body'>> {
  return standin.requests.filter((r) => r.table === 'media_cleanup_jobs').map((r) => ({ method: r.method, query: r.query, body: r.body }));
}

/** The one read of a pass: the pending rows, oldest created_at first, id breaking ties. */
const PENDING_QUERY = { method: 'GET', query: { select: 'id,media_asset_id,bucket,storage_path', processed_at: 'is.null', order: 'created_at.asc,id.asc', offset: '0', limit: '500' }, body: undefined };
const patch = (id: string, body: Row) => ({ method: 'PATCH', query: { id: `eq.${id}`, processed_at: 'is.null' }, body });
/** Success: processed, error cleared. */
const processed = (id: string) => patch(id, { processed_at: expect.stringMatching(ISO), error: null });
/** A storage failure: the error alone, the row stays pending. */
const retried = (id: string, error: unknown = expect.any(String)) => patch(id, { error });
/** An invalid path or bucket: processed with its error, never retried. */
const final = (id: string, error: unknown = expect.any(String)) => patch(id, { processed_at: expect.stringMatching(ISO), error });

/** The row's processed_at is the instant its PATCH sent. */
function expectMarkedAsSent(r: Row): void {
  expect(r.processed_at).toEqual(expect.stringMatching(PG_TIMESTAMP));
  const sent = standin.requests.filter((q) => q.method === 'PATCH' && q.query.id === `eq.${r.id as string}` && (q.body as Row).processed_at);
  expect(sent).toHaveLength(1);
  expect(instant(r.processed_at)).toBe((sent[0]!.body as Row).processed_at);
}

// ---------------------------------------------------------------------------- the role

interface Run {
  service: RoleService;
  events: LogEvent[];
  of(type: string): LogEvent[];
  metrics: Metrics;
  /** The buckets the role asked ports.storage() for, in order. */
  storageCalls: string[];
}

interface RunOptions {
  dryRun?: boolean;
  once?: boolean;
  env?: Record<string, string>;
  /** Wraps each media bucket's store (failure injection, call recording); once per bucket. */
  wrapStore?: (store: ObjectStore) => ObjectStore;
}

/** Starts the cleanup role as runWorkers does, on productionPorts built from the worker's environment (no bucket setting). */
async function startRole(opts: RunOptions = {}): Promise<Run & { stopping: AbortController; close(): Promise<void> }> {
  const config = loadConfig({
    env: {
      AWS_ENDPOINT_URL: fauxqs.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test',
      SUPABASE_URL: standin.url, SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY, ...opts.env,
    },
  });
  const events: LogEvent[] = [];
  const logger = pino({ level: 'debug', base: undefined }, { write: (line: string) => void events.push(JSON.parse(line) as LogEvent) });
  const real = productionPorts(config, logger);
  const wrapped = new Map<string, ObjectStore>();
  const storageCalls: string[] = [];
  const ports: RolePorts = {
    queue: (key) => real.queue(key),
    mediaDb: () => real.mediaDb(),
    pipelineDb: () => real.pipelineDb(),
    inference: () => real.inference(),
    storage: (b) => {
      if (typeof b !== 'string' && 'media' in b) storageCalls.push(b.media);
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
    service, events, metrics, stopping, storageCalls,
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

interface StoreCall { bucket: string; op: 'list' | 'deleteMany'; prefix: string; keys: number }

/**
 * Records every list and deleteMany of every bucket in one log, in call order, and can
 * report chosen keys as failed (as S3 does, in Errors) instead of deleting them.
 */
function recorder(failKey: (key: string) => boolean = () => false) {
  const calls: StoreCall[] = [];
  const folderOf = (key: string): string => key.split('/').slice(0, 4).join('/') + '/';
  class Recording extends DelegatingStore {
    override list(prefix: string) {
      calls.push({ bucket: this.bucket, op: 'list', prefix, keys: 0 });
      return super.list(prefix);
    }
    override async deleteMany(keys: readonly string[]) {
      calls.push({ bucket: this.bucket, op: 'deleteMany', prefix: folderOf(keys[0] ?? ''), keys: keys.length });
      const failing = keys.filter(failKey);
      const out = await super.deleteMany(keys.filter((k) => !failKey(k)));
      return { deleted: out.deleted, errors: [...out.errors, ...failing.map((key) => ({ key, message: 'InternalError: We encountered an internal error. Please try again.' }))] };
    }
  }
  return {
    calls,
    wrap: (store: ObjectStore): ObjectStore => new Recording(store),
    deletes: () => calls.filter((c) => c.op === 'deleteMany'),
    /** The folders deleted, bucket:prefix, in the order their first batch went. */
    deletedFolders: () => [...new Set(calls.filter((c) => c.op === 'deleteMany').map((c) => `${c.bucket}:${c.prefix}`))],
  };
}

// ---------------------------------------------------------------------------- tests

describeIfPostgres('cleanup role', () => {
  it('deletes exactly the three asset folders (one of 2600+ objects), keeps siblings and unrelated keys, marks the rows', async () => {
    const org = randomUUID();
    const other = randomUUID();
    const big = randomUUID();
    const ab = randomUUID();
    // Three assets: a big one (4 renditions × 650 segments), and "ab", whose name is the start of "abc".
    const folders = {
      big: assetFolder(`orgs/${org}/uploads/${big}`, 650),
      ab: assetFolder(`orgs/${org}/uploads/${ab}`, 5),
      third: assetFolder(`orgs/${other}/uploads/${randomUUID()}`, 3),
    };
    const keep = new Map<string, string>([
      ...assetFolder(`orgs/${org}/uploads/${ab}c`, 3), // sibling sharing the prefix "ab"
      ...assetFolder(`orgs/${org}/uploads/${ab}-old`, 1),
      ...assetFolder(`orgs/${org}/uploads/${big}x`, 1), // sibling sharing the whole big id
      ...assetFolder(`orgs/${other}/uploads/${randomUUID()}`, 2), // an asset with no cleanup row
      [`orgs/${org}/uploads/${ab}`, 'an object named like the folder, without the slash'],
      [`orgs/${org}/uploads/${ab}.json`, '{}'],
      [`orgs/${org}/logo.png`, 'png'],
      [`orgs/${org}/uploads/index.json`, '[]'],
      ['robots.txt', 'User-agent: *'],
      [`orgs/${big}/uploads/raw/x.mp4`, 'the big id as an org'],
    ]);
    const processedEarlier = assetFolder(`orgs/${org}/uploads/${randomUUID()}`, 1);
    for (const [k, v] of processedEarlier) keep.set(k, v);
    await put(bucket, new Map([...folders.big, ...folders.ab, ...folders.third, ...keep]));
    const before = await contents(bucket);
    expect(before.size).toBe(folders.big.size + folders.ab.size + folders.third.size + keep.size);
    expect(folders.big.size).toBeGreaterThan(2600);

    // Seeded newest first: the pass must still take them oldest first.
    const ids = { big: randomUUID(), ab: randomUUID(), third: randomUUID(), done: randomUUID() };
    await standin.seed('media_cleanup_jobs',
      cleanupRow(ids.third, [...folders.third.keys()][0]!, { created: at(9, 30) }),
      cleanupRow(ids.big, `orgs/${org}/uploads/${big}/raw/match.mp4`, { created: at(9) }),
      cleanupRow(ids.ab, `orgs/${org}/uploads/${ab}/raw/match.mp4`, { created: at(8) }),
      // Already processed: its (recreated) folder is not this pass's business.
      { ...cleanupRow(ids.done, [...processedEarlier.keys()][0]!, { created: at(7) }), processed_at: T0 },
    );

    const probe = recorder();
    const run = await runPass({ wrapStore: probe.wrap });

    // Exactly the three folders are gone; everything else is byte-for-byte where it was.
    const after = await contents(bucket);
    const expected = new Map([...before].filter(([k]) => !folders.big.has(k) && !folders.ab.has(k) && !folders.third.has(k)));
    expect(after).toEqual(expected);
    expect([...after.keys()].sort()).toEqual([...keep.keys()].sort());
    expect(await contents(archive)).toEqual(new Map());

    // Batches of ≤ 1000 keys; the big folder took 3 calls; oldest row first.
    const deletes = probe.deletes();
    expect(Math.max(...deletes.map((c) => c.keys))).toBeLessThanOrEqual(1000);
    expect(deletes.reduce((a, c) => a + c.keys, 0)).toBe(folders.big.size + folders.ab.size + folders.third.size);
    expect(deletes.filter((c) => c.prefix === `orgs/${org}/uploads/${big}/`)).toHaveLength(3);
    const thirdPrefix = [...folders.third.keys()][0]!.split('/').slice(0, 4).join('/') + '/';
    expect(probe.deletedFolders()).toEqual([`${bucket}:orgs/${org}/uploads/${ab}/`, `${bucket}:orgs/${org}/uploads/${big}/`, `${bucket}:${thirdPrefix}`]);
    expect(new Set(run.storageCalls)).toEqual(new Set([bucket]));

    for (const id of [ids.ab, ids.big, ids.third]) {
      const r = await row(id);
      expect(r.error).toBeNull();
      expectMarkedAsSent(r);
    }
    // The live columns, no others.
    expect(Object.keys(await row(ids.done))).toEqual([...MEDIA_COLUMNS.media_cleanup_jobs]);
    expect(await row(ids.done)).toMatchObject({ processed_at: expect.stringMatching(PG_TIMESTAMP), error: null });
    expect(instant((await row(ids.done)).processed_at)).toBe(T0);

    // One read, then one conditional update per row, oldest row first.
    expect(cleanupRequests()).toEqual([PENDING_QUERY, processed(ids.ab), processed(ids.big), processed(ids.third)]);

    expect(run.of('cleanup_started')).toEqual([expect.objectContaining({ jobs: 3, buckets: [bucket], dry_run: false })]);
    expect(run.of('cleanup_job_completed')).toEqual([
      expect.objectContaining({ job_id: ids.ab, bucket, prefix: `orgs/${org}/uploads/${ab}/`, objects: folders.ab.size, bytes: sizeOf(folders.ab), seconds: expect.any(Number) }),
      expect.objectContaining({ job_id: ids.big, bucket, prefix: `orgs/${org}/uploads/${big}/`, objects: folders.big.size, bytes: sizeOf(folders.big) }),
      expect.objectContaining({ job_id: ids.third, bucket, objects: folders.third.size, bytes: sizeOf(folders.third) }),
    ]);
    const total = folders.big.size + folders.ab.size + folders.third.size;
    expect(run.of('cleanup_pass_completed')).toEqual([expect.objectContaining({ jobs: 3, completed: 3, failed: 0, objects: total })]);
    expect(run.of('cleanup_job_failed')).toEqual([]);
    expect(run.service.exitCode?.()).toBe(0);
    await expect(counter(run.metrics, 'cleanup_objects_deleted_total')).resolves.toBe(total);
    await expect(counter(run.metrics, 'cleanup_jobs_completed_total')).resolves.toBe(3);
    await expect(counter(run.metrics, 'cleanup_jobs_failed_total')).resolves.toBe(0);
  }, 120_000);

  it('rows in two buckets: each folder goes from its own bucket only, the same folder in the other bucket stays, oldest row first', async () => {
    const org = randomUUID();
    const [x, y, z] = [randomUUID(), randomUUID(), randomUUID()];
    const folder = (id: string): Map<string, string> => assetFolder(`orgs/${org}/uploads/${id}`, 2);
    // Both buckets hold the same three folders (a copy, a migration, a restored backup).
    await Promise.all([put(bucket, new Map([...folder(x), ...folder(y), ...folder(z)])), put(archive, new Map([...folder(x), ...folder(y), ...folder(z)]))]);
    const path = (id: string): string => `orgs/${org}/uploads/${id}/raw/match.mp4`;

    // Created: y@archive 08:00, x@media 09:00, then two rows at 10:00 whose tie id decides; z@media last.
    // Seeded in an order that is neither created_at nor id order.
    const [tieLow, tieHigh] = [`00000000-0000-4000-8000-${randomUUID().slice(-12)}`, `ffffffff-0000-4000-8000-${randomUUID().slice(-12)}`];
    const ids = { yArchive: randomUUID(), xMedia: randomUUID(), zMedia: randomUUID() };
    await standin.seed('media_cleanup_jobs',
      cleanupRow(ids.zMedia, path(z), { created: at(11) }),
      cleanupRow(tieHigh, path(x), { bucket: archive, created: at(10) }), // x in the archive too, tie: second
      cleanupRow(ids.xMedia, path(x), { created: at(9) }),
      cleanupRow(tieLow, `orgs/${org}/uploads/${GONE}/raw/match.mp4`, { bucket: archive, created: at(10) }), // tie: first; already empty
      cleanupRow(ids.yArchive, path(y), { bucket: archive, created: at(8) }),
    );

    const probe = recorder();
    const run = await runPass({ wrapStore: probe.wrap });

    const keys = async (of: string): Promise<string[]> => [...(await contents(of)).keys()].sort();
    expect(await keys(bucket)).toEqual([...folder(y).keys()].sort()); // y was archived only
    expect(await keys(archive)).toEqual([...folder(z).keys()].sort()); // z was deleted from media only
    expect(probe.deletedFolders()).toEqual([
      `${archive}:orgs/${org}/uploads/${y}/`, `${bucket}:orgs/${org}/uploads/${x}/`, `${archive}:orgs/${org}/uploads/${x}/`, `${bucket}:orgs/${org}/uploads/${z}/`,
    ]);
    // Every listing in the row's bucket, of the row's folder (the empty one too), oldest row first.
    const listings = probe.calls.filter((c) => c.op === 'list').map((c) => `${c.bucket}:${c.prefix}`);
    expect(listings.filter((l, i) => listings[i - 1] !== l)).toEqual([
      `${archive}:orgs/${org}/uploads/${y}/`, `${bucket}:orgs/${org}/uploads/${x}/`, `${archive}:orgs/${org}/uploads/${GONE}/`, `${archive}:orgs/${org}/uploads/${x}/`, `${bucket}:orgs/${org}/uploads/${z}/`,
    ]);
    expect(run.storageCalls).toEqual([archive, bucket, archive, archive, bucket]);

    const order = [ids.yArchive, ids.xMedia, tieLow, tieHigh, ids.zMedia];
    expect(cleanupRequests()).toEqual([PENDING_QUERY, ...order.map(processed)]);
    for (const id of order) {
      const r = await row(id);
      expect(r.error).toBeNull();
      expectMarkedAsSent(r);
    }
    expect(run.of('cleanup_job_completed').map((e) => [e.job_id, e.bucket])).toEqual([
      [ids.yArchive, archive], [ids.xMedia, bucket], [tieLow, archive], [tieHigh, archive], [ids.zMedia, bucket],
    ]);
    expect(run.of('cleanup_started')).toEqual([expect.objectContaining({ jobs: 5, buckets: [archive, bucket] })]);
    expect(run.service.exitCode?.()).toBe(0);
  }, 60_000);

  it('a row whose folder is already empty is simply marked processed; a second pass has nothing to do', async () => {
    const id = randomUUID();
    await put(bucket, new Map([['orgs/o/uploads/other/raw/x.mp4', 'x']]));
    await standin.seed('media_cleanup_jobs', cleanupRow(id, `orgs/o/uploads/${GONE}/raw/x.mp4`));
    const first = await runPass();
    expect(await row(id)).toMatchObject({ processed_at: expect.stringMatching(PG_TIMESTAMP), error: null });
    expect(first.of('cleanup_job_completed')).toEqual([expect.objectContaining({ job_id: id, objects: 0, bytes: 0 })]);
    clearRequests();
    const second = await runPass();
    expect(cleanupRequests()).toEqual([PENDING_QUERY]);
    expect(second.of('cleanup_pass_completed')).toEqual([expect.objectContaining({ jobs: 0, completed: 0, failed: 0 })]);
    expect(await contents(bucket)).toEqual(new Map([['orgs/o/uploads/other/raw/x.mp4', 1]]));
  });

  it('refuses every malformed storage path for good: processed_at and the error set, no object deleted anywhere, no pass retries it', async () => {
    // Objects each malformed path could reach if it were widened the seed's way, in both buckets.
    const everything = new Map<string, string>([
      ...assetFolder('orgs/a/uploads/b', 2),
      ...assetFolder('orgs/a/uploads/c', 1),
      ['orgs/a/x.mp4', 'x'], ['x.mp4', 'x'], ['orgs/a/uploads/b2', 'x'], ['raw/x', 'x'], ['orgs/readme', 'x'],
    ]);
    await Promise.all([put(bucket, everything), put(archive, everything)]);
    const before = { media: await contents(bucket), archive: await contents(archive) };
    // storage_path is text NOT NULL and PostgreSQL text holds no NUL: those two cannot be
    // in a live row; an ESC and a padded org stand in their places.
    const paths: string[] = [
      '', 'x.mp4', 'orgs/a/x.mp4', '../', '../../orgs/a/uploads/b/raw/x.mp4', 'orgs//uploads//raw/x', '/orgs/a/uploads/b/raw/x.mp4',
      'orgs\\a\\uploads\\b\\raw\\x.mp4', 'orgs/a/uploads/b', 'orgs/a/uploads/b/x.mp4', 'orgs/a/uploads/b\u001b/raw/x.mp4',
      'orgs/a/uploads/../raw/x.mp4', 'orgs/./uploads/b/raw/x.mp4', 'orgs/a/uploads/b/raw/', 'orgs/a/uploads/b/raw/sub/x.mp4',
      'users/a/uploads/b/raw/x.mp4', 'orgs/a/uploads/ /raw/x.mp4', 'orgs/a/uploads/b\n/raw/x.mp4', 'orgs/ a/uploads/b/raw/x.mp4',
    ];
    expect(paths).toHaveLength(19);
    const ids = paths.map(() => randomUUID());
    await standin.seed('media_cleanup_jobs', ...paths.map((p, i) => cleanupRow(ids[i]!, p, { bucket: i % 2 ? archive : bucket, created: at(8, i) })));

    const probe = recorder();
    const run = await runPass({ wrapStore: probe.wrap });

    expect(await contents(bucket)).toEqual(before.media);
    expect(await contents(archive)).toEqual(before.archive);
    expect(probe.calls).toEqual([]);
    expect(run.storageCalls).toEqual([]);
    for (const [i, id] of ids.entries()) {
      const r = await row(id);
      expect({ path: r.storage_path, error: r.error }).toEqual({ path: paths[i], error: expect.stringMatching(/^unsafe path .*; nothing deleted$/) });
      expect(r.error).not.toMatch(/\n/);
      expectMarkedAsSent(r);
    }
    // Each refusal is one conditional write of processed_at and the error, oldest row first.
    expect(cleanupRequests()).toEqual([PENDING_QUERY, ...ids.map((id) => final(id, expect.stringMatching(/^unsafe path .*; nothing deleted$/)))]);
    expect(run.of('cleanup_job_failed')).toHaveLength(paths.length);
    expect(run.of('cleanup_job_failed').every((e) => e.final === true && e.recorded === true)).toBe(true);
    expect(run.of('cleanup_pass_completed')).toEqual([expect.objectContaining({ jobs: paths.length, completed: 0, failed: paths.length, objects: 0 })]);
    expect(run.service.exitCode?.()).toBe(1);
    await expect(counter(run.metrics, 'cleanup_jobs_failed_total')).resolves.toBe(paths.length);
    await expect(counter(run.metrics, 'cleanup_objects_deleted_total')).resolves.toBe(0);

    // Final: the next pass does not see them.
    clearRequests();
    const second = await runPass();
    expect(cleanupRequests()).toEqual([PENDING_QUERY]);
    expect(second.of('cleanup_started')).toEqual([expect.objectContaining({ jobs: 0 })]);
    expect(second.service.exitCode?.()).toBe(0);
  }, 60_000);

  it('a row whose folder is not its own asset\'s is final with the reason and deletes nothing; the folders stay, the good row beside them goes', async () => {
    const [org, victimOrg] = [randomUUID(), randomUUID()];
    const [own, victim, sibling, live] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    // complete-upload stores the storage_path its caller sends: a member of `org` can point their own
    // asset at another org's video, or at another asset of theirs, then delete it.
    const others = new Map([
      ...assetFolder(`orgs/${victimOrg}/uploads/${victim}`, 2),
      ...assetFolder(`orgs/${org}/uploads/${sibling}`, 2),
      ...assetFolder(`orgs/${victimOrg}/uploads/${live}`, 1), // the live asset's id under an org not its own
      ...assetFolder(`orgs/${org}/uploads/${live}`, 1),
    ]);
    const mine = assetFolder(`orgs/${org}/uploads/${own}`, 1);
    await Promise.all([put(bucket, new Map([...others, ...mine])), put(archive, others)]);
    const before = { media: await contents(bucket), archive: await contents(archive) };
    // `live` is still in media_assets (org `org`); `own` is deleted, as a cleanup row's asset normally is.
    await standin.seed('media_assets', {
      id: live, org_id: org, bucket, storage_path: `orgs/${org}/uploads/${live}/raw/match.mp4`, file_name: 'match.mp4', duration_seconds: 6, created_at: T0,
    });
    const ids = { victim: randomUUID(), sibling: randomUUID(), orgOfLive: randomUUID(), good: randomUUID() };
    await standin.seed('media_cleanup_jobs',
      cleanupRow(ids.victim, `orgs/${victimOrg}/uploads/${victim}/raw/match.mp4`, { asset: own, created: at(8) }),
      cleanupRow(ids.sibling, `orgs/${org}/uploads/${sibling}/raw/match.mp4`, { asset: own, bucket: archive, created: at(9) }),
      cleanupRow(ids.orgOfLive, `orgs/${victimOrg}/uploads/${live}/raw/match.mp4`, { asset: live, created: at(10) }),
      cleanupRow(ids.good, `orgs/${org}/uploads/${own}/raw/match.mp4`, { created: at(11) }),
    );

    const probe = recorder();
    const run = await runPass({ wrapStore: probe.wrap });

    // Only the good row's folder was even listed; every other folder is where it was, in both buckets.
    expect(probe.calls.map((c) => `${c.op} ${c.bucket}:${c.prefix}`)).toEqual([
      `list ${bucket}:orgs/${org}/uploads/${own}/`, `deleteMany ${bucket}:orgs/${org}/uploads/${own}/`, `list ${bucket}:orgs/${org}/uploads/${own}/`,
    ]);
    expect(await contents(bucket)).toEqual(new Map([...before.media].filter(([k]) => !mine.has(k))));
    expect(await contents(archive)).toEqual(before.archive);

    const errors = {
      victim: `folder orgs/${victimOrg}/uploads/${victim}/ is not the one of the row's asset ${own}; nothing deleted`,
      sibling: `folder orgs/${org}/uploads/${sibling}/ is not the one of the row's asset ${own}; nothing deleted`,
      orgOfLive: `folder orgs/${victimOrg}/uploads/${live}/ is in org ${victimOrg}, but asset ${live} belongs to org ${org}; nothing deleted`,
    };
    for (const [name, error] of Object.entries(errors)) {
      const r = await row(ids[name as keyof typeof errors]);
      expect(r.error).toBe(error);
      expectMarkedAsSent(r);
    }
    expect(await row(ids.good)).toMatchObject({ processed_at: expect.stringMatching(PG_TIMESTAMP), error: null });
    expect(cleanupRequests()).toEqual([PENDING_QUERY, final(ids.victim, errors.victim), final(ids.sibling, errors.sibling), final(ids.orgOfLive, errors.orgOfLive), processed(ids.good)]);
    // The assets' orgs: one read of the page's asset ids (media_assets has no key the row could embed through).
    expect(standin.requests.filter((r) => r.table === 'media_assets').map((r) => ({ method: r.method, query: r.query }))).toEqual([
      { method: 'GET', query: { select: 'id,org_id', id: `in.(${own},${live})` } },
    ]);
    expect(run.of('cleanup_job_failed')).toEqual([
      expect.objectContaining({ job_id: ids.victim, final: true, recorded: true, media_asset_id: own, asset_org_id: null, error_message: errors.victim }),
      expect.objectContaining({ job_id: ids.sibling, final: true, recorded: true, media_asset_id: own, error_message: errors.sibling }),
      expect.objectContaining({ job_id: ids.orgOfLive, final: true, recorded: true, media_asset_id: live, asset_org_id: org, error_message: errors.orgOfLive }),
    ]);
    expect(run.service.exitCode?.()).toBe(1);
    await expect(counter(run.metrics, 'cleanup_objects_deleted_total')).resolves.toBe(mine.size);
  });

  it('an invalid bucket name is final and deletes nothing; a valid name of a missing bucket stays pending and is retried', async () => {
    const folder = assetFolder(`orgs/o/uploads/${A}`, 1);
    await Promise.all([put(bucket, folder), put(archive, folder)]);
    const before = { media: await contents(bucket), archive: await contents(archive) };
    const invalid = ['', 'Media-Upper', 'media_underscore', 'a', '../media', 'media..x', `${bucket}/orgs`, ' media', '-media', 'x'.repeat(64)];
    const ids = invalid.map(() => randomUUID());
    const missing = randomUUID();
    const missingBucket = `missing-${randomUUID().slice(0, 8)}`;
    await standin.seed('media_cleanup_jobs',
      ...invalid.map((b, i) => cleanupRow(ids[i]!, `orgs/o/uploads/${A}/raw/match.mp4`, { bucket: b, created: at(8, i) })),
      cleanupRow(missing, `orgs/o/uploads/${A}/raw/match.mp4`, { bucket: missingBucket, created: at(9) }),
    );

    const probe = recorder();
    const run = await runPass({ wrapStore: probe.wrap });

    expect(await contents(bucket)).toEqual(before.media);
    expect(await contents(archive)).toEqual(before.archive);
    expect(probe.deletes()).toEqual([]);
    expect(run.storageCalls).toEqual([missingBucket]); // never a store for an invalid name
    for (const [i, id] of ids.entries()) {
      const r = await row(id);
      expect({ bucket: r.bucket, error: r.error }).toEqual({ bucket: invalid[i], error: `invalid bucket ${JSON.stringify(invalid[i])}; nothing deleted` });
      expectMarkedAsSent(r);
    }
    // The missing bucket is a storage failure: the error alone, the next pass tries again.
    const pending = await row(missing);
    expect(pending).toMatchObject({ processed_at: null, error: expect.stringMatching(new RegExp(`orgs/o/uploads/${A}/.*the next pass retries$`)) });
    expect(cleanupRequests()).toEqual([
      PENDING_QUERY,
      ...invalid.map((b, i) => final(ids[i]!, `invalid bucket ${JSON.stringify(b)}; nothing deleted`)),
      retried(missing, pending.error),
    ]);
    expect(run.of('cleanup_job_failed').map((e) => e.final)).toEqual([...invalid.map(() => true), false]);
    expect(run.service.exitCode?.()).toBe(1);

    clearRequests();
    const second = await runPass();
    expect(cleanupRequests()).toEqual([PENDING_QUERY, retried(missing)]);
    expect(second.of('cleanup_started')).toEqual([expect.objectContaining({ jobs: 1 })]);
  });

  it('per-key S3 errors mid-delete leave the row pending with an error, the other rows go on, and the next pass finishes it', async () => {
    const failing = assetFolder(`orgs/o/uploads/${FAILING}`, 400); // 1608 objects: two batches
    const fine = assetFolder(`orgs/o/uploads/${FINE}`, 2);
    await Promise.all([put(bucket, failing), put(archive, fine)]);
    const [failId, fineId] = [randomUUID(), randomUUID()];
    await standin.seed('media_cleanup_jobs',
      cleanupRow(fineId, `orgs/o/uploads/${FINE}/raw/match.mp4`, { bucket: archive, created: at(9) }),
      cleanupRow(failId, `orgs/o/uploads/${FAILING}/raw/match.mp4`, { created: at(8) }),
    );
    const stubborn = (key: string): boolean => key.includes(`/${FAILING}/streaming/720p/seg_001`);

    const first = await runPass({ wrapStore: recorder(stubborn).wrap });
    const left = await contents(bucket);
    const stubbornKeys = [...failing.keys()].filter(stubborn);
    expect(stubbornKeys.length).toBe(100);
    expect([...left.keys()].sort()).toEqual(stubbornKeys.sort());
    expect(await contents(archive)).toEqual(new Map());
    const failedRow = await row(failId);
    expect(failedRow.processed_at).toBeNull();
    const message = new RegExp(`^100 objects under orgs/o/uploads/${FAILING}/ not deleted \\(first: "orgs/o/uploads/${FAILING}/streaming/720p/seg_001\\d\\d\\.ts": InternalError: We encountered an internal error\\. Please try again\\.\\); 1508 objects deleted; the next pass retries$`);
    expect(failedRow.error).toMatch(message);
    expect(await row(fineId)).toMatchObject({ processed_at: expect.stringMatching(PG_TIMESTAMP), error: null });
    expect(cleanupRequests()).toEqual([PENDING_QUERY, retried(failId, expect.stringMatching(message)), processed(fineId)]);
    expect(first.of('cleanup_job_failed')).toEqual([expect.objectContaining({ job_id: failId, bucket, objects: failing.size - 100, failed_keys: 100, recorded: true, final: false })]);
    expect(first.service.exitCode?.()).toBe(1);

    clearRequests();
    const second = await runPass();
    expect(await contents(bucket)).toEqual(new Map());
    const done = await row(failId);
    expect(done.error).toBeNull(); // the earlier error is cleared
    expectMarkedAsSent(done);
    expect(cleanupRequests()).toEqual([PENDING_QUERY, processed(failId)]);
    expect(second.of('cleanup_job_completed')).toEqual([expect.objectContaining({ job_id: failId, objects: 100 })]);
    expect(second.service.exitCode?.()).toBe(0);
  }, 60_000);

  it('a failing DeleteObjects call counts against its keys, and a Supabase failure while marking is retried next pass', async () => {
    const folder = assetFolder(`orgs/o/uploads/${A}`, 1);
    await put(archive, folder);
    const id = randomUUID();
    await standin.seed('media_cleanup_jobs', cleanupRow(id, `orgs/o/uploads/${A}/raw/match.mp4`, { bucket: archive }));
    class Throwing extends DelegatingStore {
      override async deleteMany(): Promise<never> { throw new Error('socket hang up'); }
    }
    await runPass({ wrapStore: (s) => new Throwing(s) });
    expect(await row(id)).toMatchObject({ processed_at: null, error: expect.stringMatching(new RegExp(`^12 objects under orgs/o/uploads/${A}/ not deleted \\(first: ".*": socket hang up\\); 0 objects deleted; the next pass retries$`)) });
    expect((await contents(archive)).size).toBe(folder.size);
    expect(cleanupRequests()).toEqual([PENDING_QUERY, retried(id)]);

    // The folder goes, but the PATCH that marks the row fails once.
    clearRequests();
    standin.onRequest((req) => {
      if (req.method === 'PATCH' && (req.body as Row).processed_at) {
        standin.onRequest(null);
        standin.failNext(1, { status: 503, message: 'upstream connect error' });
      }
    });
    const run = await runPass();
    expect((await contents(archive)).size).toBe(0);
    expect(await row(id)).toMatchObject({ processed_at: null, error: expect.stringMatching(/^folder deleted but marking the row failed: /) });
    expect(cleanupRequests()).toEqual([PENDING_QUERY, processed(id), retried(id, expect.stringMatching(/^folder deleted but marking the row failed: .*upstream connect error/))]);
    expect(standin.requests.filter((r) => r.table === 'media_cleanup_jobs').map((r) => r.injected)).toEqual([false, true, false]);
    expect(run.service.exitCode?.()).toBe(1);

    clearRequests();
    await runPass();
    const done = await row(id);
    expect(done.error).toBeNull();
    expectMarkedAsSent(done);
    expect(cleanupRequests()).toEqual([PENDING_QUERY, processed(id)]);
  });

  it('--dry-run lists what each row would delete, in its own bucket, and changes nothing', async () => {
    const folder = assetFolder(`orgs/o/uploads/${A}`, 300);
    const sibling = assetFolder(`orgs/o/uploads/${A}b`, 1);
    const small = assetFolder(`orgs/o/uploads/${A}`, 1); // the same folder in the other bucket, smaller
    await Promise.all([put(bucket, new Map([...folder, ...sibling])), put(archive, small)]);
    const before = { media: await contents(bucket), archive: await contents(archive) };
    const [id, inArchive, bad, badBucket] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    await standin.seed('media_cleanup_jobs',
      cleanupRow(id, `orgs/o/uploads/${A}/raw/match.mp4`, { created: at(8) }),
      cleanupRow(inArchive, `orgs/o/uploads/${A}/raw/match.mp4`, { bucket: archive, created: at(9) }),
      cleanupRow(bad, 'orgs/o/x.mp4', { created: at(10) }),
      cleanupRow(badBucket, `orgs/o/uploads/${A}/raw/match.mp4`, { bucket: 'Not_A_Bucket', created: at(11) }),
    );
    const rowsBefore = await standin.rows('media_cleanup_jobs');

    const probe = recorder();
    const run = await runPass({ dryRun: true, wrapStore: probe.wrap });

    expect(await contents(bucket)).toEqual(before.media);
    expect(await contents(archive)).toEqual(before.archive);
    expect(await standin.rows('media_cleanup_jobs')).toEqual(rowsBefore);
    expect(cleanupRequests()).toEqual([PENDING_QUERY]);
    expect(probe.deletes()).toEqual([]);
    expect(run.of('cleanup_job_dry_run')).toEqual([
      expect.objectContaining({ job_id: id, bucket, prefix: `orgs/o/uploads/${A}/`, objects: folder.size, bytes: sizeOf(folder), first_keys: [...folder.keys()].sort().slice(0, 10), dry_run: true }),
      expect.objectContaining({ job_id: inArchive, bucket: archive, prefix: `orgs/o/uploads/${A}/`, objects: small.size, bytes: sizeOf(small) }),
    ]);
    expect(run.of('cleanup_job_dry_run')[0]!.msg).toBe(`would delete ${folder.size} objects (${sizeOf(folder)} bytes) under orgs/o/uploads/${A}/`);
    expect(run.of('cleanup_job_failed')).toEqual([
      expect.objectContaining({ job_id: bad, dry_run: true, recorded: false, final: true, error_message: expect.stringMatching(/^unsafe path "orgs\/o\/x\.mp4"/) }),
      expect.objectContaining({ job_id: badBucket, dry_run: true, recorded: false, final: true, error_message: 'invalid bucket "Not_A_Bucket"; nothing deleted' }),
    ]);
    expect(run.of('cleanup_pass_completed')).toEqual([expect.objectContaining({ jobs: 4, completed: 2, failed: 2, objects: folder.size + small.size, dry_run: true })]);
    await expect(counter(run.metrics, 'cleanup_objects_deleted_total')).resolves.toBe(0);
  }, 30_000); // 300 objects a folder, each bucket seeded and listed twice: slow on a loaded machine

  it('runs the first pass at start-up, repeats every interval, and stops at once while sleeping', async () => {
    const run = await startRole({ once: false, env: { CLEANUP_INTERVAL_SECONDS: '1' } });
    try {
      await until('two passes', 10_000, () => run.of('cleanup_pass_completed').length >= 2, { everyMs: 20 });
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
    expect(cleanupRequests().slice(0, 2)).toEqual([PENDING_QUERY, PENDING_QUERY]);
  });

  it('a pass that met an outage of the bucket sleeps CLEANUP_RETRY_SECONDS, not the 6 h interval; a refused key does not', async () => {
    const sleeps: Record<string, number> = {};
    for (const failure of ['outage', 'refused'] as const) {
      await standin.reset();
      const asset = randomUUID();
      const folder = assetFolder(`orgs/o/uploads/${asset}`, 1);
      await put(bucket, folder);
      await standin.seed('media_cleanup_jobs', cleanupRow(randomUUID(), `orgs/o/uploads/${asset}/raw/match.mp4`));
      // An outage: the call never got an answer. Refused: S3 answered, per key, AccessDenied.
      const wrapStore = (store: ObjectStore): ObjectStore => new (class extends DelegatingStore {
        override async deleteMany(keys: readonly string[]): ReturnType<ObjectStore['deleteMany']> {
          if (failure === 'outage') throw new Error('DeleteObjects failed', { cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) });
          return { deleted: [], errors: keys.map((key) => ({ key, message: 'AccessDenied: Access Denied' })) };
        }
      })(store);
      const run = await startRole({ once: false, wrapStore, env: { CLEANUP_INTERVAL_SECONDS: '21600' } });
      try {
        await until('the pass sleeping', 10_000, () => run.of('cleanup_sleeping').length >= 1, { everyMs: 20 });
        expect(run.of('cleanup_pass_completed')).toEqual([expect.objectContaining({ jobs: 1, failed: 1, outage: failure === 'outage' })]);
        sleeps[failure] = run.of('cleanup_sleeping')[0]!.seconds as number;
        run.stopping.abort();
        await run.service.stop(new AbortController().signal);
      } finally {
        await run.close();
      }
    }
    // ±5 % jitter around 300 s and 21600 s.
    expect(sleeps.outage).toBeGreaterThanOrEqual(285);
    expect(sleeps.outage).toBeLessThanOrEqual(315);
    expect(sleeps.refused).toBeGreaterThanOrEqual(20_520);
  });

  it('keeps CLEANUP_DELETE_CONCURRENCY DeleteObjects calls in flight, never more, while the listing goes on', async () => {
    const folder = assetFolder(`orgs/o/uploads/${BIG}`, 1250); // 5008 objects: 6 batches
    await put(archive, folder);
    await standin.seed('media_cleanup_jobs', cleanupRow(randomUUID(), `orgs/o/uploads/${BIG}/raw/match.mp4`, { bucket: archive }));
    let inFlight = 0;
    let maxInFlight = 0;
    let listed = 0;
    const listedAtDeleteStart: number[] = [];
    class Slow extends DelegatingStore {
      override async *list(p: string) {
        for await (const o of super.list(p)) {
          listed++;
          yield o;
        }
      }
      override async deleteMany(keys: readonly string[]) {
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        listedAtDeleteStart.push(listed);
        try {
          await new Promise((r) => setTimeout(r, 150));
          return await super.deleteMany(keys);
        } finally {
          inFlight--;
        }
      }
    }
    const run = await runPass({ wrapStore: (s) => new Slow(s), env: { CLEANUP_DELETE_CONCURRENCY: '3' } });
    expect(maxInFlight).toBe(3);
    // Batches 2 and 3 started while batch 1 was still being deleted: the listing did not wait for it.
    expect(listedAtDeleteStart.slice(0, 3)).toEqual([1000, 2000, 3000]);
    expect(run.of('cleanup_job_completed')).toEqual([expect.objectContaining({ bucket: archive, objects: folder.size })]);
    expect(await contents(archive)).toEqual(new Map());
  }, 60_000);

  it('a shutdown deadline stops a row between batches without marking it; the next pass finishes it', async () => {
    const folder = assetFolder(`orgs/o/uploads/${BIG}`, 1000); // 4008 objects: 5 batches
    await put(bucket, folder);
    const id = randomUUID();
    await standin.seed('media_cleanup_jobs', cleanupRow(id, `orgs/o/uploads/${BIG}/raw/match.mp4`));
    let calls = 0;
    let stopIt: () => void = () => undefined;
    const firstBatch = new Promise<void>((resolve) => { stopIt = resolve; });
    class Slow extends DelegatingStore {
      override async deleteMany(keys: readonly string[]) {
        if (++calls === 1) stopIt();
        await new Promise((r) => setTimeout(r, 100));
        return super.deleteMany(keys);
      }
    }
    const run = await startRole({ once: false, wrapStore: (s) => new Slow(s), env: { CLEANUP_DELETE_CONCURRENCY: '1' } });
    await firstBatch;
    run.stopping.abort();
    await run.service.stop(AbortSignal.abort(new Error('grace expired')));
    await run.close();
    expect(run.of('cleanup_job_interrupted')).toEqual([expect.objectContaining({ job_id: id, bucket, objects: expect.any(Number) })]);
    const interrupted = run.of('cleanup_job_interrupted')[0]!;
    expect(interrupted.objects).toBeGreaterThanOrEqual(1000);
    expect(interrupted.objects).toBeLessThan(folder.size);
    expect(calls).toBeLessThan(5);
    expect(await row(id)).toMatchObject({ processed_at: null, error: null });
    expect(cleanupRequests()).toEqual([PENDING_QUERY]); // nothing written
    expect((await contents(bucket)).size).toBe(folder.size - (interrupted.objects as number));
    expect(run.service.exitCode?.()).toBe(0);

    const next = await runPass();
    expect((await contents(bucket)).size).toBe(0);
    expect(await row(id)).toMatchObject({ processed_at: expect.stringMatching(PG_TIMESTAMP), error: null });
    expect(next.of('cleanup_job_completed')).toEqual([expect.objectContaining({ job_id: id, objects: folder.size - (interrupted.objects as number) })]);
  }, 60_000);

  it('a pass that cannot read media_cleanup_jobs fails (exit code 1) and deletes nothing', async () => {
    await put(bucket, new Map([[`orgs/o/uploads/${A}/raw/x.mp4`, 'x']]));
    await standin.seed('media_cleanup_jobs', cleanupRow(randomUUID(), `orgs/o/uploads/${A}/raw/x.mp4`));
    // 500, not 503: supabase-js retries a GET on 503 for seconds before giving up.
    standin.failNext(1, { status: 500, message: 'terminating connection due to administrator command', code: '57P01' });
    const run = await runPass();
    expect(run.of('cleanup_pass_failed')).toEqual([expect.objectContaining({ err: expect.objectContaining({ message: expect.stringMatching(/media_cleanup_jobs/) }) })]);
    expect(run.of('cleanup_started')).toEqual([]);
    expect(run.service.exitCode?.()).toBe(1);
    expect((await contents(bucket)).size).toBe(1);
    // The coach audio is read all the same (a list of its own), and is empty.
    expect(standin.requests.map((r) => [r.method, r.table, r.injected])).toEqual([['GET', 'media_cleanup_jobs', true], ['GET', 'segment_insight_audio_deletions', false]]);
  });
});

// ----------------------------------------------------------------------- coach audio

describeIfPostgres('cleanup role: coach audio (segment_insight_audio_deletions)', () => {
  const TABLE = 'segment_insight_audio_deletions';
  const ISO_PG = PG_TIMESTAMP;
  const coachKey = (org: string, segment: string): string => `orgs/${org}/insights/segments/${segment}/coach.mp3`;
  const audioRow = (id: string, created: string, more: Row): Row => ({ id, created_at: created, ...more });
  const audioRequests = (): Array<Pick<RecordedRequest, 'method' | 'query' | 'body'>> =>
    standin.requests.filter((r) => r.table === TABLE).map((r) => ({ method: r.method, query: r.query, body: r.body }));
  const PENDING_AUDIO = {
    method: 'GET', body: undefined,
    query: { select: 'id,coach_audio_url,storage_bucket,storage_key,attempt_count', status: 'eq.pending', order: 'created_at.asc,id.asc', offset: '0', limit: '500' },
  };
  const settle = (id: string, seen: number, body: Row) => ({ method: 'PATCH', query: { id: `eq.${id}`, status: 'eq.pending', attempt_count: `eq.${seen}`, select: 'id' }, body });

  beforeEach(async () => {
    // Where a row naming no bucket points (generate-coach-audio's bucket).
    await s3.send(new CreateBucketCommand({ Bucket: 'rugbycodex' })).catch(() => undefined);
  });

  it('deletes exactly each pending row\'s coach.mp3 from its bucket (row, CDN URL, virtual-hosted URL), fails an unsafe location at once deleting nothing, oldest first', async () => {
    const org = randomUUID();
    const [a, b, c, d, gone, done] = [randomUUID(), randomUUID(), randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    const objects = {
      [bucket]: [coachKey(org, a), coachKey(org, `${a}0`), `orgs/${org}/insights/segments/${a}/coach.mp3.bak`, `orgs/${org}/uploads/${d}/raw/match.mp4`],
      [archive]: [coachKey(org, a), coachKey(org, c)],
      rugbycodex: [coachKey(org, b), coachKey(org, done)],
    };
    for (const [into, keys] of Object.entries(objects)) await put(into, new Map(keys.map((k) => [k, 'mp3'])));
    await standin.seed(TABLE,
      audioRow(c, at(9), { coach_audio_url: `https://${archive}.s3.us-east-1.wasabisys.com/${coachKey(org, c)}` }),
      audioRow(a, at(8), { coach_audio_url: `https://cdn.rugbycodex.com/${coachKey(org, a)}`, storage_bucket: bucket, storage_key: coachKey(org, a), attempt_count: 2, last_error: 'read ECONNRESET (attempt 2 of 5)' }),
      audioRow(b, at(8, 30), { coach_audio_url: `https://cdn.rugbycodex.com/${coachKey(org, b)}` }),
      // A media folder's file named as if it were coach audio: refused, kept.
      audioRow(d, at(10), { coach_audio_url: 'https://cdn.rugbycodex.com/x', storage_bucket: bucket, storage_key: `orgs/${org}/uploads/${d}/raw/match.mp4` }),
      audioRow(gone, at(11), { coach_audio_url: `https://cdn.rugbycodex.com/${coachKey(org, gone)}` }),
      audioRow(done, at(7), { coach_audio_url: `https://cdn.rugbycodex.com/${coachKey(org, done)}`, status: 'completed', attempt_count: 1, processed_at: T0 }),
    );
    const probe = recorder();
    const run = await runPass({ wrapStore: probe.wrap });

    expect([...(await contents(bucket)).keys()].sort()).toEqual(objects[bucket]!.filter((k) => k !== coachKey(org, a)).sort());
    expect([...(await contents(archive)).keys()]).toEqual([coachKey(org, a)]);
    expect([...(await contents('rugbycodex')).keys()].filter((k) => k.startsWith(`orgs/${org}/`))).toEqual([coachKey(org, done)]);
    // One key per call, each in its own bucket, oldest row first.
    expect(probe.deletes().map((c) => [c.bucket, c.keys])).toEqual([[bucket, 1], ['rugbycodex', 1], [archive, 1], ['rugbycodex', 1]]);
    const completed = (attempts: number) => ({ status: 'completed', attempt_count: attempts, last_error: null, processed_at: expect.stringMatching(ISO_PG) });
    expect(await standin.row(TABLE, a)).toMatchObject(completed(3));
    for (const id of [b, c, gone]) expect(await standin.row(TABLE, id)).toMatchObject(completed(1));
    expect(await standin.row(TABLE, d)).toMatchObject({
      status: 'failed', attempt_count: 1, processed_at: expect.stringMatching(ISO_PG),
      last_error: expect.stringMatching(/^unsafe coach audio location: key "orgs\/.*\/uploads\/.*\/raw\/match\.mp4" must be orgs\/<org>\/insights\/segments\/<segment>\/coach\.mp3; nothing deleted$/),
    });
    expect(await standin.row(TABLE, done)).toMatchObject({ status: 'completed', attempt_count: 1, processed_at: '2026-11-24T10:00:00+00:00' });
    const ok = (attempts: number) => ({ status: 'completed', attempt_count: attempts, last_error: null, processed_at: expect.stringMatching(ISO) });
    expect(audioRequests()).toEqual([
      PENDING_AUDIO, settle(a, 2, ok(3)), settle(b, 0, ok(1)), settle(c, 0, ok(1)),
      settle(d, 0, { status: 'failed', attempt_count: 1, last_error: expect.stringMatching(/^unsafe coach audio location/), processed_at: expect.stringMatching(ISO) }),
      settle(gone, 0, ok(1)),
    ]);
    expect(run.of('coach_audio_deleted').map((e) => [e.coach_audio_id, e.bucket])).toEqual([[a, bucket], [b, 'rugbycodex'], [c, archive], [gone, 'rugbycodex']]);
    expect(run.of('coach_audio_pass_completed')).toEqual([expect.objectContaining({ rows: 5, completed: 4, failed: 1, retried: 0, skipped: 0, outage: false })]);
    expect(run.service.exitCode?.()).toBe(1); // the refused row
    await expect(counter(run.metrics, 'cleanup_coach_audio_deleted_total')).resolves.toBe(4);
  });

  it('a storage error keeps the row pending (attempt_count + 1, last_error), retried each pass until the last allowed attempt fails it', async () => {
    const org = randomUUID();
    const id = randomUUID();
    await put(bucket, new Map([[coachKey(org, id), 'mp3']]));
    await standin.seed(TABLE, audioRow(id, at(8), { coach_audio_url: `https://cdn.rugbycodex.com/${coachKey(org, id)}`, storage_bucket: bucket, storage_key: coachKey(org, id) }));
    class Throwing extends DelegatingStore {
      override async deleteMany(): Promise<never> { throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }); }
    }
    const env = { COACH_AUDIO_MAX_ATTEMPTS: '2' };
    const first = await runPass({ env, wrapStore: (st) => new Throwing(st) });
    expect(await standin.row(TABLE, id)).toMatchObject({ status: 'pending', attempt_count: 1, processed_at: null, last_error: expect.stringMatching(/read ECONNRESET \(attempt 1 of 2\)$/) });
    expect(first.of('coach_audio_pass_completed')).toEqual([expect.objectContaining({ retried: 1, outage: true })]);
    expect(first.service.exitCode?.()).toBe(1);
    const second = await runPass({ env, wrapStore: (st) => new Throwing(st) });
    expect(await standin.row(TABLE, id)).toMatchObject({ status: 'failed', attempt_count: 2, processed_at: expect.stringMatching(ISO_PG), last_error: expect.stringMatching(/\(attempt 2 of 2: given up\)$/) });
    expect(second.of('coach_audio_failed')).toEqual([expect.objectContaining({ coach_audio_id: id, final: true, recorded: true })]);
    expect([...(await contents(bucket)).keys()]).toEqual([coachKey(org, id)]);
    expect(audioRequests().filter((r) => r.method === 'PATCH').map((r) => r.query.attempt_count)).toEqual(['eq.0', 'eq.1']);
  });

  it('a row the edge function settles while the worker deletes its object is left as the edge function wrote it', async () => {
    const org = randomUUID();
    const id = randomUUID();
    await put(bucket, new Map([[coachKey(org, id), 'mp3']]));
    await standin.seed(TABLE, audioRow(id, at(8), { coach_audio_url: `https://cdn.rugbycodex.com/x`, storage_bucket: bucket, storage_key: coachKey(org, id) }));
    standin.onRequest(async (req) => {
      if (req.table !== TABLE || req.method !== 'PATCH') return;
      standin.onRequest(null);
      await standin.update(TABLE, id, { status: 'completed', attempt_count: 1, last_error: null, processed_at: T0 });
    });
    const run = await runPass();
    expect(await standin.row(TABLE, id)).toMatchObject({ status: 'completed', attempt_count: 1, processed_at: '2026-11-24T10:00:00+00:00' });
    expect(run.of('coach_audio_skipped')).toEqual([expect.objectContaining({ coach_audio_id: id })]);
    expect(run.of('coach_audio_pass_completed')).toEqual([expect.objectContaining({ skipped: 1, completed: 0 })]);
    expect(run.service.exitCode?.()).toBe(0);
  });

  it('--dry-run says which object each row would delete (and whether it is there) or why it would fail the row; deletes and writes nothing', async () => {
    const org = randomUUID();
    const [a, b, bad] = [randomUUID(), randomUUID(), randomUUID()];
    await put(bucket, new Map([[coachKey(org, a), 'mp3-bytes']]));
    await standin.seed(TABLE,
      audioRow(a, at(8), { coach_audio_url: 'https://cdn.rugbycodex.com/x', storage_bucket: bucket, storage_key: coachKey(org, a) }),
      audioRow(b, at(9), { coach_audio_url: `https://cdn.rugbycodex.com/${coachKey(org, b)}` }),
      audioRow(bad, at(10), { coach_audio_url: 'https://cdn.rugbycodex.com/orgs/' }),
    );
    const rows = await standin.rows(TABLE);
    const probe = recorder();
    const run = await runPass({ dryRun: true, wrapStore: probe.wrap });
    expect(await standin.rows(TABLE)).toEqual(rows);
    expect([...(await contents(bucket)).keys()]).toEqual([coachKey(org, a)]);
    expect(probe.deletes()).toEqual([]);
    expect(audioRequests()).toEqual([PENDING_AUDIO]);
    expect(run.of('coach_audio_dry_run')).toEqual([
      expect.objectContaining({ coach_audio_id: a, would: 'delete', bucket, key: coachKey(org, a), exists: true, bytes: 9, dry_run: true }),
      expect.objectContaining({ coach_audio_id: b, would: 'delete', bucket: 'rugbycodex', key: coachKey(org, b), exists: false }),
      expect.objectContaining({ coach_audio_id: bad, would: 'fail', error_message: expect.stringMatching(/^unsafe coach audio location: .*; nothing deleted$/) }),
    ]);
  });
});
