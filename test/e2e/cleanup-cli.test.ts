// The cleanup role in the shipped x64 executable, against fauxqs S3 with the two live
// media buckets and the PostgREST stand-in on real PostgreSQL holding the live
// media_cleanup_jobs table (rows with the live columns only; the worker's environment has
// no bucket setting: each row names its bucket). `--once --dry-run` reports and changes
// nothing (exit 0); `--once` deletes each folder in its row's own bucket, marks the rows
// (an unsafe path, or a folder not the row's asset's, for good: nothing deleted), and
// exits 1 when a row failed; --dry-run is refused for a role without it.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { awsTestClientConfig, startFauxqs, type LocalServer } from '../helpers/servers.js';
import { postgresSkipReason, startPostgrestStandin, type PostgrestStandin, type Row } from '../helpers/postgrest-standin.js';
import { exePath, runExe } from '../helpers/binary.js';
import { MEDIA_COLUMNS } from '../helpers/media-columns.js';
import { proxyEndpoint } from '../helpers/fault-proxy.js';

const KEY = 'service-role-key-for-cleanup-e2e';
/** The live default bucket, and a second one rows may name. */
const MEDIA = 'rugbycodex';
const ARCHIVE = 'rugbycodex-archive';
const cwd = mkdtempSync(join(tmpdir(), 'rw-e2e-cleanup-')); // no stray .env from the repo
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const skip = postgresSkipReason();
if (skip) console.warn(`cleanup-cli.test.ts skipped: ${skip}`);
const describeIfPostgres = skip ? describe.skip : describe;

let fauxqs: LocalServer;
let standin: PostgrestStandin;
let s3: S3Client;

beforeAll(async () => {
  if (skip) return;
  if (!existsSync(exePath())) throw new Error(`${exePath()} is missing: run \`npm run build\``);
  [fauxqs, standin] = await Promise.all([startFauxqs(), startPostgrestStandin({ apiKey: KEY })]);
  s3 = new S3Client(awsTestClientConfig(fauxqs.endpoint));
  await Promise.all([MEDIA, ARCHIVE].map((Bucket) => s3.send(new CreateBucketCommand({ Bucket }))));
}, 60_000);

afterAll(async () => {
  s3?.destroy();
  await Promise.all([fauxqs?.stop(), standin?.stop()]);
});

/** The Jetson `.env` as it is: no bucket name in it. */
const env = (): Record<string, string> => ({
  AWS_ENDPOINT_URL: fauxqs.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test',
  SUPABASE_URL: standin.url, SUPABASE_SERVICE_ROLE_KEY: KEY, AXIOM_ENVIRONMENT: 'e2e',
});

async function keys(bucket: string): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    out.push(...(page.Contents ?? []).map((o) => o.Key!));
    token = page.NextContinuationToken;
  } while (token);
  return out.sort();
}

/** A pending row, the live columns only (processed_at and error default to null), for the asset its path names unless told. */
function row(id: string, bucket: string, storagePath: string, createdAt: string, asset?: string): Row {
  const folderId = storagePath.split('/')[3] ?? '';
  const media = asset ?? (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(folderId) ? folderId : randomUUID());
  return { id, media_asset_id: media, bucket, storage_path: storagePath, created_at: createdAt };
}

const events = (stdout: string): Array<Record<string, unknown>> => stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

/** The requests of the run, after checking that PostgreSQL accepted every one (a 2xx). */
function requests(): Array<{ method: string; query: unknown; body: unknown }> {
  const refused = standin.requests.filter((q) => q.status === undefined || q.status < 200 || q.status >= 300);
  expect(refused.map((q) => ({ method: q.method, query: q.query, body: q.body, status: q.status }))).toEqual([]);
  return standin.requests.map((q) => ({ method: q.method, query: q.query, body: q.body }));
}

// The start-up check that Supabase accepts the service role key (src/runtime/startup-checks.ts).
const PING = { method: 'GET', query: { select: 'id', limit: '1' }, body: undefined };
const PENDING = { method: 'GET', query: { select: 'id,media_asset_id,bucket,storage_path', processed_at: 'is.null', order: 'created_at.asc,id.asc', offset: '0', limit: '500' }, body: undefined };
/** Then the coach audio to delete (segment_insight_audio_deletions). */
const PENDING_AUDIO = { method: 'GET', query: { select: 'id,coach_audio_url,storage_bucket,storage_key,attempt_count', status: 'eq.pending', order: 'created_at.asc,id.asc', offset: '0', limit: '500' }, body: undefined };
const mark = (id: string, body: Row) => ({ method: 'PATCH', query: { id: `eq.${id}`, processed_at: 'is.null' }, body });
/** The orgs of the pending rows' assets (those still in media_assets). */
const assetOrgs = (...assets: string[]) => ({ method: 'GET', query: { select: 'id,org_id', id: `in.(${assets.join(',')})` }, body: undefined });

describeIfPostgres('rugbyworker --role cleanup', () => {
  const org = randomUUID();
  const [a, b] = [randomUUID(), randomUUID()];
  /** An asset folder as the transcode role leaves it: raw, streaming/index.m3u8, a rendition, the storyboard. */
  const folder = (asset: string, segments: number): string[] => [
    `orgs/${org}/uploads/${asset}/raw/match.mp4`, `orgs/${org}/uploads/${asset}/streaming/index.m3u8`,
    `orgs/${org}/uploads/${asset}/streaming/720p/index.m3u8`,
    `orgs/${org}/uploads/${asset}/streaming/thumbnails/storyboard_000.jpg`, `orgs/${org}/uploads/${asset}/streaming/thumbnails/storyboard.vtt`,
    ...Array.from({ length: segments }, (_, i) => `orgs/${org}/uploads/${asset}/streaming/720p/seg_${String(i).padStart(5, '0')}.ts`),
  ];
  const folderA = folder(a, 12);
  const folderB = folder(b, 3);
  const sibling = `orgs/${org}/uploads/${a}0/raw/match.mp4`;
  // A is in both buckets (its archive copy has no row yet), B only in the archive.
  const contents = { [MEDIA]: [...folderA, sibling], [ARCHIVE]: [...folderA, ...folderB, sibling] };
  const [good, archived, bad, foreign] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
  const [otherAsset, badAsset] = [randomUUID(), randomUUID()];

  beforeAll(async () => {
    if (skip) return;
    await Promise.all(Object.entries(contents).flatMap(([Bucket, list]) => list.map((Key) => s3.send(new PutObjectCommand({ Bucket, Key, Body: 'bytes' })))));
    await standin.seed('media_cleanup_jobs',
      row(archived, ARCHIVE, folderB[0]!, '2026-11-24T09:00:00.000Z'),
      row(good, MEDIA, folderA[0]!, '2026-11-24T08:00:00.000Z'),
    );
  });

  it('--once --dry-run prints what would be deleted from each row\'s bucket, changes nothing, exits 0', async () => {
    const before = { media: await keys(MEDIA), archive: await keys(ARCHIVE) };
    const rows = await standin.rows('media_cleanup_jobs');
    expect(Object.keys(rows[0]!)).toEqual([...MEDIA_COLUMNS.media_cleanup_jobs]);
    standin.clearRequests();
    const r = await runExe(['--role', 'cleanup', '--once', '--dry-run'], { cwd, env: env(), timeoutMs: 30_000 });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const planned = events(r.stdout).filter((e) => e.event_type === 'cleanup_job_dry_run');
    expect(planned).toEqual([
      expect.objectContaining({
        job_id: good, bucket: MEDIA, prefix: `orgs/${org}/uploads/${a}/`, objects: folderA.length, bytes: folderA.length * 5, first_keys: [...folderA].sort().slice(0, 10),
        message: `would delete ${folderA.length} objects (${folderA.length * 5} bytes) under orgs/${org}/uploads/${a}/`, environment: 'e2e',
      }),
      expect.objectContaining({ job_id: archived, bucket: ARCHIVE, prefix: `orgs/${org}/uploads/${b}/`, objects: folderB.length }),
    ]);
    expect(events(r.stdout).find((e) => e.event_type === 'cleanup_started')).toMatchObject({ jobs: 2, buckets: [MEDIA, ARCHIVE], dry_run: true });
    expect({ media: await keys(MEDIA), archive: await keys(ARCHIVE) }).toEqual(before);
    expect(await standin.rows('media_cleanup_jobs')).toEqual(rows);
    expect(requests()).toEqual([PING, PENDING, assetOrgs(a, b), PENDING_AUDIO]);
  });

  it('--once deletes each folder from its row\'s bucket only, marks the rows, and exits 1 when another row failed', async () => {
    await standin.seed('media_cleanup_jobs',
      row(bad, ARCHIVE, `orgs/${org}/uploads/../raw/x.mp4`, '2026-11-24T08:30:00.000Z', badAsset),
      // A's archive copy named by a row for another asset (whose storage_path its uploader chose).
      row(foreign, ARCHIVE, folderA[0]!, '2026-11-24T08:45:00.000Z', otherAsset),
    );
    standin.clearRequests();
    const r = await runExe(['--role', 'cleanup', '--once'], { cwd, env: env(), timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    const log = events(r.stdout);
    expect(log.map((e) => e.event_type)).toEqual(expect.arrayContaining(['cleanup_started', 'cleanup_job_completed', 'cleanup_job_failed', 'cleanup_pass_completed', 'shutdown_completed']));
    expect(log.find((e) => e.event_type === 'shutdown_completed')).toMatchObject({ exit_code: 1 }); // the log agrees with the exit
    expect(log.filter((e) => e.event_type === 'cleanup_job_completed').map((e) => [e.job_id, e.bucket])).toEqual([[good, MEDIA], [archived, ARCHIVE]]);
    // A went from the media bucket; its archive copy, which no row names, stays; B went from the archive.
    expect(await keys(MEDIA)).toEqual([sibling]);
    expect(await keys(ARCHIVE)).toEqual([...folderA, sibling].sort());
    for (const id of [good, archived]) {
      expect(await standin.row('media_cleanup_jobs', id)).toMatchObject({ processed_at: expect.any(String), error: null });
    }
    // The unsafe path is final: processed, with the reason, never retried.
    expect(await standin.row('media_cleanup_jobs', bad)).toMatchObject({
      processed_at: expect.any(String), error: expect.stringMatching(/^unsafe path "orgs\/.*\/uploads\/\.\.\/raw\/x\.mp4": .*; nothing deleted$/),
    });
    // The row naming another asset's folder is final too, and A's archive copy is still there (above).
    const foreignError = `folder orgs/${org}/uploads/${a}/ is not the one of the row's asset ${otherAsset}; nothing deleted`;
    expect(await standin.row('media_cleanup_jobs', foreign)).toMatchObject({ processed_at: expect.any(String), error: foreignError });
    // Oldest first: good (08:00), bad (08:30), foreign (08:45), archived (09:00).
    expect(requests()).toEqual([
      PING,
      PENDING,
      assetOrgs(a, badAsset, otherAsset, b),
      mark(good, { processed_at: expect.stringMatching(ISO), error: null }),
      mark(bad, { processed_at: expect.stringMatching(ISO), error: expect.stringMatching(/^unsafe path /) }),
      mark(foreign, { processed_at: expect.stringMatching(ISO), error: foreignError }),
      mark(archived, { processed_at: expect.stringMatching(ISO), error: null }),
      PENDING_AUDIO,
    ]);
  });

  it('--once exits 0 when every job succeeded; a final row is not taken again', async () => {
    const id = randomUUID();
    await standin.seed('media_cleanup_jobs', row(id, ARCHIVE, folderA[0]!, '2026-11-24T10:00:00.000Z')); // now the archive copy of A
    standin.clearRequests();
    const r = await runExe(['--role', 'cleanup', '--once'], { cwd, env: env(), timeoutMs: 30_000 });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(await keys(MEDIA)).toEqual([sibling]);
    expect(await keys(ARCHIVE)).toEqual([sibling]);
    expect(await standin.row('media_cleanup_jobs', id)).toMatchObject({ processed_at: expect.any(String), error: null });
    expect(requests()).toEqual([PING, PENDING, assetOrgs(a), mark(id, { processed_at: expect.stringMatching(ISO), error: null }), PENDING_AUDIO]);
  });

  it('--once on coach audio: a pass with S3 resetting keeps its row pending (attempt 1, the error); the next completes it beside a safe row (object gone) and an unsafe one (object kept, row failed)', async () => {
    const audioKey = (segment: string): string => `orgs/${org}/insights/segments/${segment}/coach.mp3`;
    const [failing, safe, unsafe] = [randomUUID(), randomUUID(), randomUUID()];
    const unsafeKey = `orgs/${org}/insights/segments/${unsafe}/../coach.mp3`;
    // The CDN URL generate-coach-audio stores (the bucket is rugbycodex); a row naming its bucket and key; a key that escapes its folder.
    await Promise.all([audioKey(failing), audioKey(safe)].map((Key) => s3.send(new PutObjectCommand({ Bucket: MEDIA, Key, Body: 'mp3' }))));
    await s3.send(new PutObjectCommand({ Bucket: ARCHIVE, Key: unsafeKey, Body: 'mp3' }));
    await standin.seed('segment_insight_audio_deletions', { id: failing, coach_audio_url: `https://cdn.rugbycodex.com/${audioKey(failing)}`, created_at: '2026-11-24T11:00:00.000Z' });
    const proxy = await proxyEndpoint(fauxqs.endpoint, { mode: { kind: 'reset' } });
    try {
      const down = await runExe(['--role', 'cleanup', '--once'], { cwd, env: { ...env(), AWS_ENDPOINT_URL_S3: proxy.endpoint }, timeoutMs: 60_000 });
      expect({ code: down.code, stderr: down.stderr }).toEqual({ code: 1, stderr: '' });
      expect(events(down.stdout).filter((e) => e.event_type === 'coach_audio_failed')).toEqual([expect.objectContaining({ coach_audio_id: failing, final: false, status: 'pending' })]);
    } finally {
      await proxy.close();
    }
    expect(await standin.row('segment_insight_audio_deletions', failing)).toMatchObject({
      status: 'pending', attempt_count: 1, processed_at: null, last_error: expect.stringMatching(/^deleting orgs\/.*\/coach\.mp3 from rugbycodex failed: .*\(attempt 1 of 5\)$/),
    });
    expect(await keys(MEDIA)).toEqual(expect.arrayContaining([audioKey(failing), audioKey(safe)]));

    await standin.seed('segment_insight_audio_deletions',
      { id: safe, coach_audio_url: 'https://cdn.rugbycodex.com/elsewhere', storage_bucket: MEDIA, storage_key: audioKey(safe), created_at: '2026-11-24T11:01:00.000Z' },
      { id: unsafe, coach_audio_url: `https://${ARCHIVE}.s3.us-east-1.wasabisys.com/${unsafeKey}`, created_at: '2026-11-24T11:02:00.000Z' },
    );
    standin.clearRequests();
    const r = await runExe(['--role', 'cleanup', '--once'], { cwd, env: env(), timeoutMs: 30_000 });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 1, stderr: '' }); // the unsafe row failed
    expect(await keys(MEDIA)).toEqual([sibling]);
    expect(await keys(ARCHIVE)).toEqual([unsafeKey, sibling].sort());
    const done = { status: 'completed', last_error: null, processed_at: expect.any(String) };
    expect(await standin.row('segment_insight_audio_deletions', failing)).toMatchObject({ ...done, attempt_count: 2 });
    expect(await standin.row('segment_insight_audio_deletions', safe)).toMatchObject({ ...done, attempt_count: 1 });
    expect(await standin.row('segment_insight_audio_deletions', unsafe)).toMatchObject({
      status: 'failed', attempt_count: 1, processed_at: expect.any(String), last_error: expect.stringMatching(/^unsafe coach audio location: key ".*" has a "\.\." segment; nothing deleted$/),
    });
    const settle = (id: string, seen: number, body: Row) => ({ method: 'PATCH', query: { id: `eq.${id}`, status: 'eq.pending', attempt_count: `eq.${seen}`, select: 'id' }, body });
    expect(requests()).toEqual([
      PING, PENDING, PENDING_AUDIO,
      settle(failing, 1, { status: 'completed', attempt_count: 2, last_error: null, processed_at: expect.stringMatching(ISO) }),
      settle(safe, 0, { status: 'completed', attempt_count: 1, last_error: null, processed_at: expect.stringMatching(ISO) }),
      settle(unsafe, 0, { status: 'failed', attempt_count: 1, last_error: expect.stringMatching(/^unsafe coach audio location/), processed_at: expect.stringMatching(ISO) }),
    ]);
    expect(events(r.stdout).find((e) => e.event_type === 'coach_audio_pass_completed')).toMatchObject({ rows: 3, completed: 2, failed: 1, retried: 0 });
  }, 90_000);

  it('refuses --dry-run for a role that does not support it (exit 64), before anything starts', async () => {
    const r = await runExe(['--role', 'transcode', '--once', '--dry-run'], { cwd, env: env() });
    expect(r.code).toBe(64);
    expect(r.stderr).toBe('rugbyworker: --dry-run is not supported by role transcode (only cleanup)\n');
    expect(r.stdout).toBe('');
  });
});
