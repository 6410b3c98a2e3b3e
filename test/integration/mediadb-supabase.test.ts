// SupabaseMediaDb through real supabase-js against the PostgREST stand-in on real
// PostgreSQL holding the live tables: the shared behaviour, then the exact requests it
// makes, the races its conditional writes survive, and how failures come out.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { DbError } from '../../src/ports/index.js';
import type { CleanupJobRow, JobRow, MediaAssetRow } from '../../src/adapters/db/schema.js';
import { SupabaseMediaDb } from '../../src/adapters/db/supabase.js';
import type { ComputeDeviceRow } from '../../src/ports/index.js';
import { postgresSkipReason, startPostgrestStandin } from '../helpers/postgrest-standin.js';
import type { PostgrestStandin, RecordedRequest, Row } from '../helpers/postgrest-standin.js';
import { freePort } from '../helpers/servers.js';
import { ASSET, JOB, NOW, ORG, OUTCOME, REF, STORYBOARD, assetRow, cleanupRow, describeMediaDbConformance, jobRow } from './mediadb.conformance.js';
import type { CoachAudioRow, CoachAudioSeed } from './mediadb.conformance.js';

const KEY = 'service-role-key-for-tests';
const J = `eq.${JOB}`;
const A = { id: `eq.${ASSET}`, org_id: `eq.${ORG}` };
const skip = postgresSkipReason();
if (skip) console.warn(`mediadb-supabase.test.ts skipped: ${skip}`);
const describeIfPostgres = skip ? describe.skip : describe;

let standin: PostgrestStandin;
beforeAll(async () => {
  if (!skip) standin = await startPostgrestStandin({ apiKey: KEY });
}, 60_000);
afterAll(async () => {
  await standin?.stop();
});

describeIfPostgres('on PostgreSQL', () => {
  describeMediaDbConformance('supabase (PostgREST stand-in)', async (clock) => {
    await standin.reset();
    const s = standin;
    return {
      db: new SupabaseMediaDb({ url: s.url, serviceRoleKey: KEY, now: () => clock.now }),
      seedAsset: (row) => s.seed('media_assets', row as Row),
      seedJob: (row) => s.seed('jobs', row as Row),
      seedCleanupJob: (row) => s.seed('media_cleanup_jobs', row as Row),
      patchAsset: (id, patch) => s.update('media_assets', id, patch as Row),
      patchJob: (id, patch) => s.update('jobs', id, patch as Row),
      asset: async (id) => (await s.row('media_assets', id)) as MediaAssetRow | undefined,
      job: async (id) => (await s.row('jobs', id)) as JobRow | undefined,
      cleanupJob: async (id) => (await s.row('media_cleanup_jobs', id)) as CleanupJobRow | undefined,
      seedCoachAudio: (row) => s.seed('segment_insight_audio_deletions', coachAudioColumns(row)),
      coachAudio: async (id) => {
        const row = await s.row('segment_insight_audio_deletions', id);
        return row && coachAudioOf(row);
      },
      device: async (name) => {
        const [row] = (await s.rows('compute_devices')).filter((d) => d.name === name);
        return row && deviceOf(row);
      },
    };
  });

  it('device heartbeat: one POST compute_devices?on_conflict=name merging duplicates, only the columns sent; the admin\'s device_type and gpu_model stay', async () => {
    await standin.reset();
    const db = new SupabaseMediaDb({ url: standin.url, serviceRoleKey: KEY });
    const at = '2026-12-07T18:00:15.250Z';
    await db.upsertComputeDevice({
      name: 'jetson-1', status: 'online', lastHeartbeatAt: at, updatedAt: at, lastError: null, hostname: 'orin-a', cpuCores: 6, memoryTotalMb: 7650,
      memoryUsedMb: 2650, cpuUtilization: 51.5, gpuUtilization: null, temperatureC: 46.8, jetpackVersion: '6.0', cudaVersion: '12.2',
    });
    expect(standin.requests.map(shape)).toEqual([{
      method: 'POST', table: 'compute_devices', query: { on_conflict: 'name' }, prefer: expect.stringMatching(/^resolution=merge-duplicates(,|$)/),
      body: {
        name: 'jetson-1', status: 'online', last_heartbeat_at: at, updated_at: at, last_error: null, hostname: 'orin-a', cpu_cores: 6, memory_total_mb: 7650,
        memory_used_mb: 2650, cpu_utilization: 51.5, gpu_utilization: null, temperature_c: 46.8, jetpack_version: '6.0', cuda_version: '12.2',
      },
    }]);
    expect(standin.requests.map((r) => r.status)).toEqual([201]);
    const [first] = await standin.rows('compute_devices');
    expect(first).toMatchObject({ device_type: 'jetson_orin', gpu_model: null, status: 'online', last_heartbeat_at: '2026-12-07T18:00:15.25+00:00' });
    await standin.sql(`UPDATE compute_devices SET device_type = 'jetson_orin_nano', gpu_model = 'typed by the admin'`);
    await db.upsertComputeDevice({ name: 'jetson-1', status: 'offline', lastHeartbeatAt: NOW, updatedAt: NOW, lastError: null });
    const rows = await standin.rows('compute_devices');
    expect(rows).toEqual([{ ...first, device_type: 'jetson_orin_nano', gpu_model: 'typed by the admin', status: 'offline', last_heartbeat_at: '2026-11-24T11:00:00+00:00', updated_at: '2026-11-24T11:00:00+00:00' }]);
  });

  /** What a request did, without the headers every request carries. */
  function shape(req: RecordedRequest): { method: string; table: string; query: RecordedRequest['query']; prefer: string | undefined; body: unknown } {
    return { method: req.method, table: req.table, query: req.query, prefer: req.headers.prefer, body: req.body };
  }

  describe('SupabaseMediaDb requests', () => {
    let db: SupabaseMediaDb;

    beforeEach(async () => {
      await standin.reset();
      db = new SupabaseMediaDb({ url: standin.url, serviceRoleKey: KEY, now: () => new Date(NOW) });
    });

    const seed = async (job: Partial<JobRow> = {}, asset: Partial<MediaAssetRow> = {}): Promise<void> => {
      await standin.seed('media_assets', assetRow(asset) as Row);
      await standin.seed('jobs', jobRow(job) as Row);
      standin.clearRequests();
    };

    it('every request carries the service role key as apikey and bearer token; the job and its asset in one GET', async () => {
      await seed();
      await db.transcodeJob(JOB);
      expect(standin.requests.map((r) => ({ ...shape(r), path: r.path, apikey: r.headers.apikey, auth: r.headers.authorization }))).toEqual([{
        method: 'GET', table: 'jobs', path: '/rest/v1/jobs', apikey: KEY, auth: `Bearer ${KEY}`, prefer: undefined, body: undefined,
        query: {
          select: 'id,org_id,media_asset_id,type,state,attempt,started_at,updated_at,payload,media_assets:media_asset_id(id,org_id,bucket,storage_path,base_org_storage_path,processing_stage,status,streaming_ready)',
          id: J,
        },
      }]);
    });

    it('claim: a PATCH of the job conditional on its state (and the started_at read), then of the asset filtered by id, org and stage', async () => {
      await seed();
      await db.claimTranscode(REF, { from: { state: 'queued' }, attempt: 2, holder: { messageId: 'm-1', worker: 'w-1' } });
      await db.claimTranscode(REF, { from: { state: 'running', startedAt: NOW }, attempt: 3, holder: { messageId: 'm-2', worker: 'w-2' } });
      const claimed = { state: 'running', started_at: NOW, updated_at: NOW, progress: 0, finished_at: null, error_code: null, error_message: null };
      expect(standin.requests.map(shape)).toEqual([
        { method: 'PATCH', table: 'jobs', query: { id: J, state: 'eq.queued', select: 'id' }, prefer: 'return=representation', body: { ...claimed, attempt: 2, payload: { holder: { message_id: 'm-1', worker: 'w-1' } } } },
        {
          method: 'PATCH', table: 'media_assets', query: { ...A, processing_stage: 'in.(uploaded,transcoding,transcoded,complete,failed)', select: 'id' }, prefer: 'return=representation',
          body: { processing_stage: 'transcoding', transcode_progress: 0 },
        },
        {
          method: 'PATCH', table: 'jobs', query: { id: J, state: 'eq.running', started_at: `eq.${NOW}`, select: 'id' }, prefer: 'return=representation',
          body: { ...claimed, started_at: '2026-11-24T11:00:00.001Z', updated_at: '2026-11-24T11:00:00.001Z', attempt: 3, payload: { holder: { message_id: 'm-2', worker: 'w-2' } } },
        },
        expect.objectContaining({ table: 'media_assets' }),
      ]);
    });

    it('a claim that loses the race writes only the refused job update', async () => {
      await seed();
      standin.onRequest(async (req) => {
        if (req.method === 'PATCH' && req.table === 'jobs') await standin.update('jobs', JOB, { state: 'running' });
      });
      await expect(db.claimTranscode(REF, { from: { state: 'queued' }, attempt: 1, holder: { messageId: 'm', worker: 'w' } })).resolves.toBeNull();
      expect(standin.requests.map((r) => `${r.method} ${r.table}`)).toEqual(['PATCH jobs']);
      expect(await standin.row('media_assets', ASSET)).toMatchObject({ processing_stage: 'uploaded' });
    });

    it('progress: the fenced job PATCH first, then the asset, saying transcoding again over uploaded', async () => {
      await seed({ state: 'running', started_at: NOW, progress: 0.2 }, { processing_stage: 'uploaded' });
      await db.reportProgress({ ref: REF, token: NOW }, { encodePercent: 41.9, jobFraction: 0.45 });
      expect(standin.requests.map(shape)).toEqual([
        { method: 'PATCH', table: 'jobs', query: { id: J, state: 'eq.running', started_at: `eq.${NOW}`, select: 'id' }, prefer: 'return=representation', body: { updated_at: NOW, progress: 0.45 } },
        { method: 'PATCH', table: 'media_assets', query: { ...A, processing_stage: 'in.(uploaded,transcoding)', select: 'id' }, prefer: 'return=representation', body: { transcode_progress: 41, processing_stage: 'transcoding' } },
      ]);
    });

    it('the success writes and cleanup writes carry only live columns (PostgreSQL took them all)', async () => {
      await seed({ state: 'running', started_at: NOW }, { processing_stage: 'transcoding' });
      const hold = { ref: REF, token: NOW };
      await db.markTranscoded(hold);
      await db.publishStreaming(hold, STORYBOARD);
      await db.succeedJob(hold, OUTCOME);
      await db.completeAsset(hold);
      await standin.seed('media_cleanup_jobs', cleanupRow({ id: '0d5c8a3e-aaaa-4a1b-9c1d-00000000000a' }) as Row);
      await db.markCleanupFailed('0d5c8a3e-aaaa-4a1b-9c1d-00000000000a', 'boom', { final: false });
      await db.markCleanupProcessed('0d5c8a3e-aaaa-4a1b-9c1d-00000000000a');
      const patches = standin.requests.filter((r) => r.method === 'PATCH');
      expect(patches.map((r) => [r.table, Object.keys(r.body as Row).sort().join(','), r.status])).toEqual([
        ['jobs', 'updated_at', 200],
        ['media_assets', 'processing_stage,transcode_progress', 200],
        ['jobs', 'updated_at', 200],
        ['media_assets', 'streaming_ready,thumbnail_frame_count,thumbnail_height,thumbnail_interval_seconds,thumbnail_path,thumbnail_sprite_path,thumbnail_vtt_path,thumbnail_width', 200],
        ['jobs', 'finished_at,progress,result,state,updated_at', 200],
        ['jobs', 'updated_at', 200],
        ['media_assets', 'processing_stage,status,streaming_ready', 200],
        ['media_cleanup_jobs', 'error', 204],
        ['media_cleanup_jobs', 'error,processed_at', 204],
      ]);
      expect(patches.at(-1)!.query).toEqual({ id: 'eq.0d5c8a3e-aaaa-4a1b-9c1d-00000000000a', processed_at: 'is.null' });
    });

    it('the reconciler reads each kind with its own filter and takes a resend only with the updated_at it read', async () => {
      await seed({ state: 'queued', updated_at: '2026-11-24T10:30:00.000Z' });
      const [candidate] = await db.requeueCandidates({ queuedBefore: NOW, runningBefore: '2026-11-24T08:00:00.000Z', limit: 7 });
      await db.markRequeued(candidate!, NOW);
      expect(standin.requests.map(shape)).toEqual([
        expect.objectContaining({ method: 'GET', query: { select: 'id,org_id,media_asset_id,state,updated_at,started_at', type: 'eq.transcode', state: 'eq.queued', updated_at: `lt.${NOW}`, order: 'updated_at.asc', limit: '7' } }),
        expect.objectContaining({ method: 'GET', query: expect.objectContaining({ state: 'eq.running', updated_at: 'lt.2026-11-24T08:00:00.000Z' }) }),
        { method: 'PATCH', table: 'jobs', query: { id: J, state: 'eq.queued', updated_at: `eq.${candidate!.updatedAt}`, select: 'id' }, prefer: 'return=representation', body: { state: 'queued', updated_at: NOW } },
      ]);
    });
  });

  it('pending cleanup rows are read page by page (Supabase answers at most 1000 a request), all of them, oldest first', async () => {
    await standin.reset();
    const ids = Array.from({ length: 1203 }, (_, i) => `0d5c8a3e-0000-4a1b-9c1d-${String(i).padStart(12, '0')}`);
    await standin.sql(`insert into media_cleanup_jobs (id, media_asset_id, bucket, storage_path, created_at)
      select id::uuid, id::uuid, 'rugbycodex', 'orgs/o/uploads/' || id || '/raw/x.mp4', timestamptz '2026-11-24T10:00:00Z' + (n || ' seconds')::interval
      from unnest($1::text[]) with ordinality as t(id, n)`, [ids]);
    standin.clearRequests();
    const db = new SupabaseMediaDb({ url: standin.url, serviceRoleKey: KEY });
    expect((await db.pendingCleanupJobs()).map((j) => j.id)).toEqual(ids);
    const pages = standin.requests.filter((r) => r.table === 'media_cleanup_jobs');
    expect(pages.map((r) => [r.query.offset, r.query.limit])).toEqual([['0', '500'], ['500', '500'], ['1000', '500']]);
    // Each page's asset ids are looked up in media_assets, 100 a request (a URL of about 4 kB).
    const lookups = standin.requests.filter((r) => r.table === 'media_assets');
    expect(lookups.map((r) => String(r.query.id).split(',').length)).toEqual([100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 3]);
    expect(lookups[0]!.query).toEqual({ select: 'id,org_id', id: `in.(${ids.slice(0, 100).join(',')})` });
  });

  it('coach audio: the pending rows page by page, all of them, oldest first; each settle one PATCH conditional on pending and the attempts read', async () => {
    await standin.reset();
    const ids = Array.from({ length: 1001 }, (_, i) => `0d5c8a3e-0000-4a1b-9c1d-${String(i).padStart(12, '0')}`);
    await standin.sql(`insert into segment_insight_audio_deletions (id, coach_audio_url, attempt_count, status, created_at)
      select id::uuid, 'https://cdn.rugbycodex.com/orgs/o/insights/segments/' || id || '/coach.mp3', n % 3, case when n % 10 = 0 then 'completed' else 'pending' end,
             timestamptz '2026-11-24T10:00:00Z' + (n || ' seconds')::interval
      from unnest($1::text[]) with ordinality as t(id, n)`, [ids]);
    standin.clearRequests();
    const db = new SupabaseMediaDb({ url: standin.url, serviceRoleKey: KEY, now: () => new Date(NOW) });
    const pending = await db.pendingCoachAudioDeletions();
    expect(pending.map((r) => r.id)).toEqual(ids.filter((_, i) => (i + 1) % 10 !== 0));
    expect(pending[0]).toEqual({ id: ids[0], coachAudioUrl: `https://cdn.rugbycodex.com/orgs/o/insights/segments/${ids[0]}/coach.mp3`, storageBucket: null, storageKey: null, attemptCount: 1 });
    expect(standin.requests.map(shape)).toEqual([0, 500].map((offset) => ({
      method: 'GET', table: 'segment_insight_audio_deletions', prefer: undefined, body: undefined,
      query: { select: 'id,coach_audio_url,storage_bucket,storage_key,attempt_count', status: 'eq.pending', order: 'created_at.asc,id.asc', offset: String(offset), limit: '500' },
    })));
    standin.clearRequests();
    await expect(db.settleCoachAudioDeletion(ids[0]!, 1, { status: 'completed', attemptCount: 2, lastError: null, processed: true })).resolves.toBe(true);
    await expect(db.settleCoachAudioDeletion(ids[1]!, 0, { status: 'failed', attemptCount: 3, lastError: 'x', processed: true })).resolves.toBe(false); // it has 2
    expect(standin.requests.map(shape)).toEqual([
      {
        method: 'PATCH', table: 'segment_insight_audio_deletions', prefer: 'return=representation',
        query: { id: `eq.${ids[0]}`, status: 'eq.pending', attempt_count: 'eq.1', select: 'id' }, body: { status: 'completed', attempt_count: 2, last_error: null, processed_at: NOW },
      },
      expect.objectContaining({ query: { id: `eq.${ids[1]}`, status: 'eq.pending', attempt_count: 'eq.0', select: 'id' } }),
    ]);
    expect(standin.requests.map((r) => r.status)).toEqual([200, 200]);
    expect(await standin.row('segment_insight_audio_deletions', ids[1]!)).toMatchObject({ status: 'pending', attempt_count: 2, processed_at: null });
  });

  describe('SupabaseMediaDb errors', () => {
    beforeEach(async () => standin.reset());

    const db = (): SupabaseMediaDb => new SupabaseMediaDb({ url: standin.url, serviceRoleKey: KEY });

    it('ping with a key Supabase refuses rejects with status 401 (what start-up turns into exit 78)', async () => {
      const wrong = new SupabaseMediaDb({ url: standin.url, serviceRoleKey: 'not-the-key' });
      await expect(wrong.ping()).rejects.toMatchObject({ name: 'DbError', status: 401 });
    });

    it('a 500 becomes a transient DbError naming the table and carrying PostgREST’s message', async () => {
      await standin.seed('media_assets', assetRow({ processing_stage: 'transcoding' }) as Row);
      await standin.seed('jobs', jobRow({ state: 'running', started_at: NOW }) as Row);
      standin.failNext(1, { status: 500, code: 'XX000', message: 'could not write\nblock 7' });
      const err = await db().restoreAsset(REF).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DbError);
      expect(err).toMatchObject({ name: 'DbError', table: 'media_assets', transient: true, status: 500, code: 'XX000', message: 'media_assets: update failed (HTTP 500): could not write block 7' });
      expect(await standin.row('media_assets', ASSET)).toMatchObject({ processing_stage: 'transcoding' });
    });

    it('what PostgreSQL refuses comes back as PostgREST says it (a value the live CHECK rejects is never sent)', async () => {
      await standin.seed('media_assets', assetRow({ processing_stage: 'transcoding' }) as Row);
      await standin.seed('jobs', jobRow({ state: 'running', started_at: NOW }) as Row);
      // The adapter clamps to the CHECK's range; the stand-in would refuse 1.5 with 23514.
      await db().reportProgress({ ref: REF, token: NOW }, { encodePercent: 180, jobFraction: 1.5 });
      expect(standin.requests.map((r) => r.status)).toEqual([200, 200]);
      expect(await standin.row('jobs', JOB)).toMatchObject({ progress: 1 });
    });

    it('a wrong key is refused by the server and comes out as a DbError', async () => {
      const wrong = new SupabaseMediaDb({ url: standin.url, serviceRoleKey: 'not-the-key' });
      await expect(wrong.pendingCleanupJobs()).rejects.toThrow('media_cleanup_jobs: select failed (HTTP 401): Invalid API key');
    });

    it('no server at all: a transient DbError with status 0 and the cause', async () => {
      const port = await freePort();
      const gone = new SupabaseMediaDb({ url: `http://127.0.0.1:${port}`, serviceRoleKey: KEY, timeoutMs: 5_000 });
      const err = await gone.markCleanupFailed('c1', 'x', { final: false }).catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'DbError', table: 'media_cleanup_jobs', transient: true, status: 0 });
      expect((err as Error).message).toMatch(/^media_cleanup_jobs: update failed \(HTTP 0\): .*ECONNREFUSED/);
      expect((err as Error).message).not.toContain('\n');
    });
  });
});

/** A compute_devices row (PostgREST's JSON) in the port's words, timestamps as ISO instants. */
function deviceOf(row: Row): Partial<ComputeDeviceRow> {
  const names: Record<string, keyof ComputeDeviceRow> = {
    name: 'name', status: 'status', last_heartbeat_at: 'lastHeartbeatAt', updated_at: 'updatedAt', last_error: 'lastError', hostname: 'hostname',
    cpu_cores: 'cpuCores', memory_total_mb: 'memoryTotalMb', memory_used_mb: 'memoryUsedMb', cpu_utilization: 'cpuUtilization',
    gpu_utilization: 'gpuUtilization', temperature_c: 'temperatureC', gpu_model: 'gpuModel', cuda_version: 'cudaVersion', jetpack_version: 'jetpackVersion',
  };
  const out: Record<string, unknown> = {};
  for (const [column, key] of Object.entries(names)) {
    const v = row[column];
    out[key] = v !== null && (key === 'lastHeartbeatAt' || key === 'updatedAt') ? new Date(v as string).toISOString() : v;
  }
  return out as Partial<ComputeDeviceRow>;
}

const COACH_AUDIO_COLUMNS: Record<keyof CoachAudioRow, string> = {
  id: 'id', coachAudioUrl: 'coach_audio_url', storageBucket: 'storage_bucket', storageKey: 'storage_key', status: 'status',
  attemptCount: 'attempt_count', lastError: 'last_error', createdAt: 'created_at', processedAt: 'processed_at',
};

/** A seed in the port's words → the live columns (only those given, so the table's defaults apply). */
function coachAudioColumns(seed: CoachAudioSeed): Row {
  return Object.fromEntries(Object.entries(seed).map(([k, v]) => [COACH_AUDIO_COLUMNS[k as keyof CoachAudioRow], v]));
}

function coachAudioOf(row: Row): CoachAudioRow {
  const out = Object.fromEntries(Object.entries(COACH_AUDIO_COLUMNS).map(([k, column]) => [k, row[column]])) as unknown as CoachAudioRow;
  for (const k of ['createdAt', 'processedAt'] as const) if (out[k] !== null) out[k] = new Date(out[k]).toISOString();
  return out;
}
