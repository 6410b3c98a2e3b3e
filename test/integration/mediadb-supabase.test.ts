// SupabaseMediaDb through real supabase-js against the PostgREST stand-in: the shared
// behaviour, then the exact requests it makes, the races its conditional writes
// survive, and how failures come out.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { DbError } from '../../src/adapters/db/db-error.js';
import type { CleanupJobRow, MediaAssetRow, TranscodeJobRow } from '../../src/adapters/db/schema.js';
import { SupabaseMediaDb } from '../../src/adapters/db/supabase.js';
import { startPostgrestStandin } from '../helpers/postgrest-standin.js';
import type { PostgrestStandin, RecordedRequest, Row } from '../helpers/postgrest-standin.js';
import { freePort } from '../helpers/servers.js';
import { ASSET, JOB, MEDIA_COLUMNS, ORG, WORKER, assetRow, cleanupRow, describeMediaDbConformance, jobRow, transcodeResult } from './mediadb.conformance.js';

const KEY = 'service-role-key-for-tests';
const NOW = '2026-11-24T11:00:00.000Z';
const JOB_ID = `eq.${JOB}`;
const ASSET_ID = `eq.${ASSET}`;

let standin: PostgrestStandin;
beforeAll(async () => {
  standin = await startPostgrestStandin({ apiKey: KEY, schema: MEDIA_COLUMNS });
});
afterAll(async () => {
  await standin.stop();
});

describeMediaDbConformance('supabase (PostgREST stand-in)', async (clock) => {
  standin.reset();
  const s = standin;
  return {
    db: new SupabaseMediaDb({ url: s.url, serviceRoleKey: KEY, now: () => clock.now }),
    seedAsset: (row) => s.seed('media_assets', row as unknown as Row),
    seedJob: (row) => s.seed('transcode_jobs', row as unknown as Row),
    seedCleanupJob: (row) => s.seed('media_cleanup_jobs', row as unknown as Row),
    asset: (id) => s.row('media_assets', id) as MediaAssetRow | undefined,
    job: (id) => s.row('transcode_jobs', id) as TranscodeJobRow | undefined,
    cleanupJob: (id) => s.row('media_cleanup_jobs', id) as CleanupJobRow | undefined,
  };
});

/** What a request did, without the headers every request carries. */
function shape(req: RecordedRequest): { method: string; table: string; query: RecordedRequest['query']; prefer: string | undefined; body: unknown } {
  return { method: req.method, table: req.table, query: req.query, prefer: req.headers.prefer, body: req.body };
}

describe('SupabaseMediaDb requests', () => {
  let db: SupabaseMediaDb;

  beforeEach(() => {
    standin.reset();
    db = new SupabaseMediaDb({ url: standin.url, serviceRoleKey: KEY, now: () => new Date(NOW) });
  });

  it('claim: read the job, one conditional update of it, then the asset', async () => {
    standin.seed('media_assets', assetRow() as unknown as Row);
    standin.seed('transcode_jobs', jobRow({ attempts: 2, status: 'failed' }) as unknown as Row);
    await expect(db.claimTranscodeJob(JOB, ASSET, WORKER)).resolves.toEqual({ outcome: 'claimed', attempts: 3, orgId: ORG });
    expect(standin.requests.map(shape)).toEqual([
      { method: 'GET', table: 'transcode_jobs', query: { select: 'media_asset_id,status,attempts', id: JOB_ID }, prefer: undefined, body: undefined },
      {
        method: 'PATCH', table: 'transcode_jobs',
        query: { id: JOB_ID, attempts: 'eq.2', status: 'in.(pending,processing,failed)', select: 'attempts' },
        prefer: 'return=representation',
        body: { status: 'processing', worker_id: WORKER, started_at: NOW, attempts: 3, error_code: null, error_message: null },
      },
      {
        method: 'PATCH', table: 'media_assets',
        query: { id: ASSET_ID, select: 'org_id' },
        prefer: 'return=representation',
        body: { status: 'processing', error_code: null, error_message: null },
      },
    ]);
  });

  it('every request carries the service role key as apikey and bearer token, to /rest/v1/<table>', async () => {
    standin.seed('media_assets', assetRow() as unknown as Row);
    standin.seed('transcode_jobs', jobRow() as unknown as Row);
    await db.claimTranscodeJob(JOB, ASSET, WORKER);
    await db.updateProgress(JOB, 12);
    await db.completeTranscode(transcodeResult());
    await db.failTranscode(JOB, ASSET, 'FFMPEG_ERROR', 'x');
    await db.pendingCleanupJobs();
    await db.markCleanupProcessed('c1', 1);
    await db.markCleanupFailed('c1', 'e');
    expect(standin.requests.length).toBeGreaterThanOrEqual(10);
    for (const req of standin.requests) {
      expect(req.path).toBe(`/rest/v1/${req.table}`);
      expect(req.headers).toMatchObject({ apikey: KEY, authorization: `Bearer ${KEY}` });
      if (req.method !== 'GET') expect(req.headers.contentType).toBe('application/json');
    }
  });

  it('claim of a completed job: one read, no write', async () => {
    standin.seed('media_assets', assetRow({ status: 'ready' }) as unknown as Row);
    standin.seed('transcode_jobs', jobRow({ status: 'completed', attempts: 1, progress: 100 }) as unknown as Row);
    await expect(db.claimTranscodeJob(JOB, ASSET, WORKER)).resolves.toEqual({ outcome: 'completed', attempts: 1, orgId: null });
    expect(standin.requests.map((r) => r.method)).toEqual(['GET']);
  });

  it('claim that loses the race to another worker reads again and claims on top of it', async () => {
    standin.seed('media_assets', assetRow() as unknown as Row);
    standin.seed('transcode_jobs', jobRow() as unknown as Row);
    let raced = false;
    standin.onRequest((req) => {
      if (req.method !== 'PATCH' || req.table !== 'transcode_jobs' || raced) return;
      raced = true; // another worker claims between our read and our update
      standin.update('transcode_jobs', JOB, { attempts: 1, status: 'processing', worker_id: 'other' });
    });
    await expect(db.claimTranscodeJob(JOB, ASSET, WORKER)).resolves.toMatchObject({ outcome: 'claimed', attempts: 2 });
    expect(standin.requests.map((r) => `${r.method} ${r.table} ${String(r.query.attempts ?? '')}`)).toEqual([
      'GET transcode_jobs ', 'PATCH transcode_jobs eq.0', 'GET transcode_jobs ', 'PATCH transcode_jobs eq.1', 'PATCH media_assets ',
    ]);
    expect(standin.row('transcode_jobs', JOB)).toMatchObject({ attempts: 2, worker_id: WORKER });
  });

  it('claim that finds the job completed after losing the race does nothing more', async () => {
    standin.seed('media_assets', assetRow() as unknown as Row);
    standin.seed('transcode_jobs', jobRow({ status: 'processing', attempts: 1 }) as unknown as Row);
    standin.onRequest((req) => {
      if (req.method === 'PATCH') standin.update('transcode_jobs', JOB, { attempts: 2, status: 'completed', progress: 100 });
    });
    await expect(db.claimTranscodeJob(JOB, ASSET, WORKER)).resolves.toEqual({ outcome: 'completed', attempts: 2, orgId: null });
    expect(standin.requests.map((r) => r.method)).toEqual(['GET', 'PATCH', 'GET']);
  });

  it('claim that loses twice gives up with a transient DbError', async () => {
    standin.seed('media_assets', assetRow() as unknown as Row);
    standin.seed('transcode_jobs', jobRow() as unknown as Row);
    let bumps = 0;
    standin.onRequest((req) => {
      if (req.method === 'PATCH') standin.update('transcode_jobs', JOB, { attempts: ++bumps * 10 });
    });
    const err = await db.claimTranscodeJob(JOB, ASSET, WORKER).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DbError);
    expect(err).toMatchObject({ table: 'transcode_jobs', transient: true, message: `transcode_jobs: claim of job ${JOB} lost a race twice` });
    expect(standin.requests.filter((r) => r.table === 'media_assets')).toEqual([]);
  });

  it('updateProgress: one PATCH of progress only, filtered on progress < p, no representation', async () => {
    standin.seed('transcode_jobs', jobRow({ status: 'processing', progress: 40 }) as unknown as Row);
    await db.updateProgress(JOB, 42.5);
    await db.updateProgress(JOB, 30);
    expect(standin.requests.map(shape)).toEqual([
      { method: 'PATCH', table: 'transcode_jobs', query: { id: JOB_ID, progress: 'lt.42' }, prefer: undefined, body: { progress: 42 } },
      { method: 'PATCH', table: 'transcode_jobs', query: { id: JOB_ID, progress: 'lt.30' }, prefer: undefined, body: { progress: 30 } },
    ]);
    expect(standin.row('transcode_jobs', JOB)?.progress).toBe(42);
  });

  it('completeTranscode: the asset, then the job (only from processing)', async () => {
    standin.seed('media_assets', assetRow({ status: 'processing' }) as unknown as Row);
    standin.seed('transcode_jobs', jobRow({ status: 'processing', attempts: 1 }) as unknown as Row);
    const result = transcodeResult();
    await db.completeTranscode(result);
    expect(standin.requests.map(shape)).toEqual([
      {
        method: 'PATCH', table: 'media_assets', query: { id: ASSET_ID, select: 'id' }, prefer: 'return=representation',
        body: {
          status: 'ready', streaming_path: result.streamingPath, thumbnail_path: result.thumbnailPath, duration_seconds: 61.44, width: 1920, height: 1080,
          renditions: result.renditions, error_code: null, error_message: null,
        },
      },
      {
        method: 'PATCH', table: 'transcode_jobs', query: { id: JOB_ID, status: 'in.(processing)', select: 'id' }, prefer: 'return=representation',
        body: { status: 'completed', progress: 100, completed_at: NOW, error_code: null, error_message: null },
      },
    ]);
  });

  it('completeTranscode of an already completed job: the update matches nothing, a read confirms, no error', async () => {
    standin.seed('media_assets', assetRow({ status: 'ready' }) as unknown as Row);
    standin.seed('transcode_jobs', jobRow({ status: 'completed', progress: 100 }) as unknown as Row);
    await db.completeTranscode(transcodeResult());
    expect(standin.requests.map((r) => `${r.method} ${r.table}`)).toEqual(['PATCH media_assets', 'PATCH transcode_jobs', 'GET transcode_jobs']);
  });

  it('failTranscode: the asset unless ready, then the job from pending or processing', async () => {
    standin.seed('media_assets', assetRow({ status: 'processing' }) as unknown as Row);
    standin.seed('transcode_jobs', jobRow({ status: 'processing' }) as unknown as Row);
    await db.failTranscode(JOB, ASSET, 'INVALID_INPUT', 'no video stream');
    const body = { status: 'failed', error_code: 'INVALID_INPUT', error_message: 'no video stream' };
    expect(standin.requests.map(shape)).toEqual([
      { method: 'PATCH', table: 'media_assets', query: { id: ASSET_ID, status: 'neq.ready' }, prefer: undefined, body },
      { method: 'PATCH', table: 'transcode_jobs', query: { id: JOB_ID, status: 'in.(pending,processing)' }, prefer: undefined, body },
    ]);
  });

  it('cleanup: list pending oldest first, mark processed / failed only while unprocessed', async () => {
    standin.seed('media_cleanup_jobs', cleanupRow({ id: 'c1' }) as unknown as Row);
    await expect(db.pendingCleanupJobs()).resolves.toEqual([{ id: 'c1', storagePath: `orgs/${ORG}/uploads/c1/raw/x.mp4` }]);
    await db.markCleanupFailed('c1', 'S3 said no');
    await db.markCleanupProcessed('c1', 2501);
    expect(standin.requests.map(shape)).toEqual([
      {
        method: 'GET', table: 'media_cleanup_jobs',
        query: { select: 'id,storage_path', processed_at: 'is.null', order: 'created_at.asc,id.asc' }, prefer: undefined, body: undefined,
      },
      { method: 'PATCH', table: 'media_cleanup_jobs', query: { id: 'eq.c1', processed_at: 'is.null' }, prefer: undefined, body: { error: 'S3 said no' } },
      {
        method: 'PATCH', table: 'media_cleanup_jobs', query: { id: 'eq.c1', processed_at: 'is.null' }, prefer: undefined,
        body: { processed_at: NOW, objects_deleted: 2501, error: null },
      },
    ]);
  });
});

describe('SupabaseMediaDb errors', () => {
  beforeEach(() => standin.reset());

  const db = (): SupabaseMediaDb => new SupabaseMediaDb({ url: standin.url, serviceRoleKey: KEY });

  it('a 500 becomes a transient DbError naming the table and carrying PostgREST’s message', async () => {
    standin.seed('media_assets', assetRow({ status: 'processing' }) as unknown as Row);
    standin.seed('transcode_jobs', jobRow({ status: 'processing' }) as unknown as Row);
    standin.failNext(1, { status: 500, code: 'XX000', message: 'could not write\nblock 7' });
    const err = await db().completeTranscode(transcodeResult()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DbError);
    expect(err).toMatchObject({
      name: 'DbError', table: 'media_assets', transient: true, status: 500, code: 'XX000',
      message: 'media_assets: update failed (HTTP 500): could not write block 7',
    });
    // Asset first, so the job was never touched.
    expect(standin.requests.map((r) => r.table)).toEqual(['media_assets']);
    expect(standin.row('transcode_jobs', JOB)?.status).toBe('processing');
  });

  it('a failure on the second write names that table; the next call goes through', async () => {
    standin.seed('media_assets', assetRow() as unknown as Row);
    standin.seed('transcode_jobs', jobRow() as unknown as Row);
    standin.onRequest((req) => {
      if (req.table === 'media_assets') standin.failNext(1, { status: 503, message: 'upstream unavailable' });
    });
    await expect(db().claimTranscodeJob(JOB, ASSET, WORKER)).rejects.toThrow('media_assets: update failed (HTTP 503): upstream unavailable');
    standin.onRequest(null);
    await expect(db().updateProgress(JOB, 3)).resolves.toBeUndefined();
    await expect(db().pendingCleanupJobs()).resolves.toEqual([]);
  });

  it('a wrong key is refused by the server and comes out as a DbError', async () => {
    const wrong = new SupabaseMediaDb({ url: standin.url, serviceRoleKey: 'not-the-key' });
    await expect(wrong.pendingCleanupJobs()).rejects.toThrow('media_cleanup_jobs: select failed (HTTP 401): Invalid API key');
  });

  it('no server at all: a transient DbError with status 0 and the cause', async () => {
    const port = await freePort();
    const gone = new SupabaseMediaDb({ url: `http://127.0.0.1:${port}`, serviceRoleKey: KEY, timeoutMs: 5_000 });
    const err = await gone.markCleanupFailed('c1', 'x').catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'DbError', table: 'media_cleanup_jobs', transient: true, status: 0 });
    expect((err as Error).message).toMatch(/^media_cleanup_jobs: update failed \(HTTP 0\): .*ECONNREFUSED/);
    expect((err as Error).message).not.toContain('\n');
  });
});
