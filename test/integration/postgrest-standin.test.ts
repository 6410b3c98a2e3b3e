// The PostgREST stand-in, driven by a real supabase-js client: requests run on PostgreSQL
// with the RugbyCodex tables, so bad columns, enum values, integers and CHECKs fail as they
// fail live, with PostgREST's status and error body. One cluster and one stand-in for the
// file, reset before each test. Skipped, saying why, where no PostgreSQL server is installed.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createClient } from '@supabase/supabase-js';
import type { SupabaseClient, SupabaseClientOptions } from '@supabase/supabase-js';
import { postgresSkipReason, startPostgres } from '../helpers/postgres.js';
import type { PostgresCluster } from '../helpers/postgres.js';
import { startPostgrestStandin } from '../helpers/postgrest-standin.js';
import type { PostgrestStandin } from '../helpers/postgrest-standin.js';

const skip = postgresSkipReason();
if (skip) console.warn(`postgrest-standin.test.ts skipped: ${skip}`);
const describeIfPostgres = skip ? describe.skip : describe;

const KEY = 'service-role-key';
const ORG = '00000000-0000-4000-8000-000000000001';
const ASSET = '11111111-1111-4111-8111-111111111111';
const JOB = '22222222-2222-4222-8222-222222222222';
const OTHER_JOB = '33333333-3333-4333-8333-333333333333';
const ASSET_ROW = { id: ASSET, org_id: ORG, storage_path: `orgs/${ORG}/uploads/${ASSET}/raw/match.mp4`, file_name: 'match.mp4', duration_seconds: 5400.5 };
const JOB_ROW = { id: JOB, org_id: ORG, media_asset_id: ASSET, type: 'transcode' };

type RealtimeTransport = NonNullable<NonNullable<SupabaseClientOptions<'public'>['realtime']>['transport']>;
class NoRealtime {
  constructor() {
    throw new Error('the tests do not use Supabase realtime');
  }
}

function client(url: string, key = KEY): SupabaseClient {
  return createClient(url, key, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    realtime: { transport: NoRealtime as unknown as RealtimeTransport },
  });
}

describeIfPostgres('PostgREST stand-in on PostgreSQL', () => {
  let pg: PostgresCluster;
  let standin: PostgrestStandin;
  let db: SupabaseClient;

  beforeAll(async () => {
    pg = await startPostgres();
    standin = await startPostgrestStandin({ apiKey: KEY, postgres: pg });
    db = client(standin.url);
  }, 30_000);

  afterAll(async () => {
    await standin?.stop();
    await pg?.stop();
  }, 30_000);

  beforeEach(async () => {
    await standin.reset();
    await standin.seed('media_assets', ASSET_ROW);
    await standin.seed('jobs', JOB_ROW);
    standin.clearRequests();
  });

  it('embeds the many-to-one media asset: by table, aliased, by FK column; null without one', async () => {
    const byTable = await db.from('jobs').select('id,state,media_assets(id,bucket,storage_path)').eq('id', JOB).single();
    expect(byTable.error).toBeNull();
    expect(byTable.data).toEqual({ id: JOB, state: 'queued', media_assets: { id: ASSET, bucket: 'rugbycodex', storage_path: ASSET_ROW.storage_path } });

    const aliased = await db.from('jobs').select('id, asset:media_assets(id,bucket)').eq('id', JOB);
    expect(aliased.data).toEqual([{ id: JOB, asset: { id: ASSET, bucket: 'rugbycodex' } }]);

    const byColumn = await db.from('jobs').select('media_assets:media_asset_id(id,bucket)').eq('id', JOB);
    expect(byColumn.data).toEqual([{ media_assets: { id: ASSET, bucket: 'rugbycodex' } }]);

    await standin.seed('jobs', { id: OTHER_JOB, org_id: ORG, type: 'transcode' });
    const orphan = await db.from('jobs').select('id,media_assets(*)').eq('id', OTHER_JOB).single();
    expect(orphan.data).toEqual({ id: OTHER_JOB, media_assets: null });

    const inner = await db.from('jobs').select('id,media_assets!inner(id)').order('created_at');
    expect(inner.data).toEqual([{ id: JOB, media_assets: { id: ASSET } }]);

    const updated = await db.from('jobs').update({ state: 'running' }).eq('id', JOB).select('state,asset:media_assets(org_id)').single();
    expect(updated.data).toEqual({ state: 'running', asset: { org_id: ORG } });
  });

  it('refuses unknown relations and columns in select= as PostgREST does', async () => {
    const relation = await db.from('jobs').select('id,assets(id)');
    expect(relation.status).toBe(400);
    expect(relation.error).toMatchObject({ code: 'PGRST200', message: "Could not find a relationship between 'jobs' and 'assets' in the schema cache" });

    const column = await db.from('jobs').select('id,foo');
    expect(column.status).toBe(400);
    expect(column.error).toMatchObject({ code: '42703', message: 'column jobs.foo does not exist' });

    const embedded = await db.from('jobs').select('id,media_assets(id,foo)');
    expect(embedded.status).toBe(400);
    expect(embedded.error?.code).toBe('42703');
  });

  it('refuses an update of an unknown column with PGRST204 and changes nothing', async () => {
    const before = await standin.row('jobs', JOB);
    const res = await db.from('jobs').update({ state: 'running', worker_id: 'w1' }).eq('id', JOB);
    expect(res.status).toBe(400);
    expect(res.error).toEqual({ code: 'PGRST204', details: null, hint: null, message: "Could not find the 'worker_id' column of 'jobs' in the schema cache" });
    expect(await standin.row('jobs', JOB)).toEqual(before);
  });

  it('fails bad values where PostgreSQL fails them: enums, integers, CHECKs, NOT NULL, foreign keys', async () => {
    const cases: Array<[string, Record<string, unknown>, number, string, RegExp]> = [
      ['jobs', { state: 'done' }, 400, '22P02', /^invalid input value for enum job_state: "done"$/],
      ['media_assets', { processing_stage: 'ready' }, 400, '22P02', /^invalid input value for enum processing_stage: "ready"$/],
      ['media_assets', { transcode_progress: 12.5 }, 400, '22P02', /^invalid input syntax for type integer: "12.5"$/],
      ['jobs', { progress: 1.5 }, 400, '23514', /"jobs_progress_check"/],
      ['jobs', { attempt: 0 }, 400, '23514', /"jobs_attempt_check"/],
      ['jobs', { type: null }, 400, '23502', /null value in column "type" of relation "jobs"/],
      ['jobs', { media_asset_id: '99999999-9999-4999-8999-999999999999' }, 409, '23503', /"jobs_media_asset_id_fkey"/],
    ];
    const before = { jobs: await standin.rows('jobs'), media_assets: await standin.rows('media_assets') };
    for (const [table, patch, status, code, message] of cases) {
      const res = await db.from(table).update(patch).eq('id', table === 'jobs' ? JOB : ASSET).select();
      expect({ table, patch, status: res.status, code: res.error?.code }).toEqual({ table, patch, status, code });
      expect(res.error?.message).toMatch(message);
      expect(res.data).toBeNull();
    }
    expect({ jobs: await standin.rows('jobs'), media_assets: await standin.rows('media_assets') }).toEqual(before);

    const notNull = await db.from('jobs').insert({ org_id: ORG, media_asset_id: ASSET });
    expect(notNull.status).toBe(400);
    expect(notNull.error).toMatchObject({ code: '23502', message: 'null value in column "type" of relation "jobs" violates not-null constraint' });
    expect(notNull.error?.details).toMatch(/^Failing row contains/);
  });

  it('filters as PostgreSQL does: unknown column 42703, bad enum operand 22P02', async () => {
    const column = await db.from('jobs').update({ state: 'running' }).eq('foo', 1);
    expect(column.status).toBe(400);
    expect(column.error).toMatchObject({ code: '42703', message: 'column jobs.foo does not exist' });

    const value = await db.from('jobs').select('id').eq('state', 'done');
    expect(value.status).toBe(400);
    expect(value.error).toMatchObject({ code: '22P02', message: 'invalid input value for enum job_state: "done"' });
    expect((await standin.row('jobs', JOB))?.state).toBe('queued');
  });

  it('returns the updated rows with PostgreSQL JSON types on return=representation; 204 without', async () => {
    const res = await db.from('jobs')
      .update({ state: 'running', progress: 0.25, started_at: '2026-11-24T10:00:00Z', payload: { height: 720 } })
      .eq('id', JOB)
      .select();
    expect(res.status).toBe(200);
    expect(res.error).toBeNull();
    expect(res.data).toHaveLength(1);
    expect(res.data?.[0]).toMatchObject({
      id: JOB, state: 'running', progress: 0.25, attempt: 1, started_at: '2026-11-24T10:00:00+00:00',
      payload: { height: 720 }, finished_at: null, error_code: null,
    });
    expect(res.data?.[0]?.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00$/);

    const minimal = await db.from('jobs').update({ progress: 0.5 }).eq('id', JOB);
    expect(minimal).toMatchObject({ status: 204, error: null, data: null });
    expect(await standin.row('jobs', JOB)).toMatchObject({ progress: 0.5 });

    const asset = await db.from('media_assets').select('duration_seconds,transcode_progress,streaming_ready').eq('id', ASSET).single();
    expect(asset.data).toEqual({ duration_seconds: 5400.5, transcode_progress: 0, streaming_ready: false });
  });

  it('changes only the rows a conditional update matches', async () => {
    await standin.seed('jobs', { id: OTHER_JOB, org_id: ORG, media_asset_id: ASSET, type: 'transcode', state: 'succeeded' });
    const claim = (id: string) => db.from('jobs').update({ state: 'running' }).eq('id', id).in('state', ['queued', 'running']).select('id,state');
    expect((await claim(JOB)).data).toEqual([{ id: JOB, state: 'running' }]);
    expect((await claim(JOB)).data).toEqual([{ id: JOB, state: 'running' }]);
    expect((await claim(OTHER_JOB)).data).toEqual([]);
    expect((await standin.row('jobs', OTHER_JOB))?.state).toBe('succeeded');

    const single = await claim(OTHER_JOB).single();
    expect(single.status).toBe(406);
    expect(single.error).toMatchObject({ code: 'PGRST116', details: 'The result contains 0 rows' });
    // A singular request over two rows is rolled back.
    const both = await db.from('jobs').update({ error_code: 'x' }).in('id', [JOB, OTHER_JOB]).select().single();
    expect(both.status).toBe(406);
    expect((await standin.rows('jobs')).map((j) => j.error_code)).toEqual([null, null]);
  });

  it('selects pending cleanup rows with is.null, in created order, with limit', async () => {
    const ids = ['a0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000003'];
    for (const id of ids) await standin.seed('media_cleanup_jobs', { id, media_asset_id: ASSET, bucket: 'rugbycodex', storage_path: `orgs/${ORG}/uploads/${id}/` });
    await standin.update('media_cleanup_jobs', ids[1] ?? '', { processed_at: '2026-11-24T10:00:00Z' });

    const pending = await db.from('media_cleanup_jobs').select('id').is('processed_at', null).order('created_at');
    expect(pending.data).toEqual([{ id: ids[0] }, { id: ids[2] }]);
    const newest = await db.from('media_cleanup_jobs').select('id').is('processed_at', null).order('created_at', { ascending: false }).limit(1);
    expect(newest.data).toEqual([{ id: ids[2] }]);
    const processed = await db.from('media_cleanup_jobs').select('id,processed_at').not('processed_at', 'is', null);
    expect(processed.data).toEqual([{ id: ids[1], processed_at: '2026-11-24T10:00:00+00:00' }]);
    const counted = await db.from('media_cleanup_jobs').select('id', { count: 'exact', head: true }).is('processed_at', null);
    expect(counted.count).toBe(2);
  });

  it('inserts with defaults and returns the row; unknown tables are 404 PGRST205', async () => {
    await standin.reset();
    await standin.seed('media_assets', ASSET_ROW);
    const inserted = await db.from('jobs').insert({ org_id: ORG, media_asset_id: ASSET, type: 'transcode' }).select('state,progress,attempt,type').single();
    expect(inserted).toMatchObject({ status: 201, error: null, data: { state: 'queued', progress: 0.0, attempt: 1, type: 'transcode' } });
    expect(await standin.rows('jobs')).toHaveLength(1);

    const table = await db.from('transcode_jobs').select('*');
    expect(table.status).toBe(404);
    expect(table.error).toMatchObject({ code: 'PGRST205', message: "Could not find the table 'public.transcode_jobs' in the schema cache" });
  });

  it('upserts as PostgREST does: ON CONFLICT on on_conflict= (else the primary key), DO UPDATE SET only the columns sent', async () => {
    const first = await db.from('compute_devices')
      .upsert({ name: 'jetson-1', hostname: 'orin-a', status: 'online', cpu_cores: 6 }, { onConflict: 'name' })
      .select('id,name,hostname,device_type,status,cpu_cores,created_at')
      .single();
    expect(first).toMatchObject({ status: 201, error: null, data: { name: 'jetson-1', hostname: 'orin-a', device_type: 'jetson_orin', status: 'online', cpu_cores: 6 } });
    expect(standin.requests.at(-1)).toMatchObject({ method: 'POST', query: { on_conflict: 'name', select: expect.any(String) } });
    expect(standin.requests.at(-1)?.headers.prefer).toMatch(/resolution=merge-duplicates/);
    // The admin names the device type; a later upsert that does not send it leaves it alone.
    await standin.sql(`UPDATE compute_devices SET device_type = 'jetson_orin_nano', gpu_model = 'set by hand' WHERE name = 'jetson-1'`);
    const again = await db.from('compute_devices').upsert({ name: 'jetson-1', status: 'degraded', last_error: 's3 down' }, { onConflict: 'name' });
    expect(again).toMatchObject({ status: 201, error: null });
    const [row, ...others] = await standin.rows('compute_devices');
    expect(others).toEqual([]);
    expect(row).toMatchObject({
      id: first.data?.id, created_at: first.data?.created_at, name: 'jetson-1', hostname: 'orin-a', device_type: 'jetson_orin_nano', gpu_model: 'set by hand',
      status: 'degraded', last_error: 's3 down', cpu_cores: 6,
    });

    // ignore-duplicates: an existing row stays as it is, a new one goes in.
    const ignored = await db.from('compute_devices')
      .upsert([{ name: 'jetson-1', status: 'offline' }, { name: 'jetson-2', status: 'online' }], { onConflict: 'name', ignoreDuplicates: true })
      .select('name,status');
    expect(ignored).toMatchObject({ status: 201, error: null, data: [{ name: 'jetson-2', status: 'online' }] });
    expect((await standin.rows('compute_devices')).map((d) => [d.name, d.status])).toEqual([['jetson-1', 'degraded'], ['jetson-2', 'online']]);

    // No on_conflict=: the primary key is the target.
    const byKey = await db.from('jobs').upsert({ id: JOB, org_id: ORG, media_asset_id: ASSET, type: 'transcode', state: 'running' });
    expect(byKey).toMatchObject({ status: 201, error: null });
    expect(await standin.rows('jobs')).toEqual([expect.objectContaining({ id: JOB, state: 'running' })]);

    // An enum value PostgreSQL refuses fails the upsert as a plain insert would.
    const badStatus = await db.from('compute_devices').upsert({ name: 'jetson-1', status: 'busy' }, { onConflict: 'name' });
    expect(badStatus).toMatchObject({ status: 400, error: { code: '22P02', message: 'invalid input value for enum compute_device_status: "busy"' } });
  });

  it('refuses an upsert whose on_conflict= no unique constraint covers (42P10) or names no column (42703), changing nothing', async () => {
    await standin.seed('compute_devices', { name: 'jetson-1', hostname: 'orin-a', status: 'online' });
    const before = await standin.rows('compute_devices');
    const notUnique = await db.from('compute_devices').upsert({ name: 'jetson-1', hostname: 'orin-a', status: 'offline' }, { onConflict: 'hostname' });
    expect(notUnique).toMatchObject({
      status: 400, error: { code: '42P10', message: 'there is no unique or exclusion constraint matching the ON CONFLICT specification' },
    });
    const noColumn = await db.from('compute_devices').upsert({ name: 'jetson-1', status: 'offline' }, { onConflict: 'device_name' });
    expect(noColumn).toMatchObject({ status: 400, error: { code: '42703' } });
    expect(await standin.rows('compute_devices')).toEqual(before);

    // PostgREST reads on_conflict= only with a resolution preference: without one the stand-in refuses rather than guess.
    const bare = await fetch(`${standin.url}/rest/v1/compute_devices?on_conflict=name`, {
      method: 'POST', headers: { apikey: KEY, authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'jetson-1' }),
    });
    expect(bare.status).toBe(400);
    expect(await standin.rows('compute_devices')).toEqual(before);
  });

  it('answers requests it does not understand with 400, and records every request with its status', async () => {
    const or = await db.from('jobs').select('id').or('state.eq.queued,state.eq.running');
    expect(or.status).toBe(400);
    const everything = await db.from('jobs').delete();
    expect(everything.status).toBe(400);
    expect(everything.error?.message).toBe('DELETE requires a WHERE clause');
    expect(await standin.rows('jobs')).toHaveLength(1);

    expect(standin.requests.map((r) => [r.method, r.table, r.status])).toEqual([['GET', 'jobs', 400], ['DELETE', 'jobs', 400]]);
    expect(standin.requests[0]?.query).toEqual({ select: 'id', or: '(state.eq.queued,state.eq.running)' });
    expect(standin.requests[0]?.headers.apikey).toBe(KEY);
  });

  it('fails the next requests on demand without executing them', async () => {
    standin.failNext(2, { status: 500, code: 'XX000', message: 'injected' });
    const first = await db.from('jobs').update({ state: 'running' }).eq('id', JOB);
    const second = await db.from('jobs').update({ state: 'running' }).eq('id', JOB);
    expect([first.status, first.error?.message, second.status]).toEqual([500, 'injected', 500]);
    expect((await standin.row('jobs', JOB))?.state).toBe('queued');
    const third = await db.from('jobs').update({ state: 'running' }).eq('id', JOB);
    expect(third.status).toBe(204);
    expect(standin.requests.map((r) => [r.injected, r.status])).toEqual([[true, 500], [true, 500], [false, 204]]);
  });

  it('runs the onRequest hook before executing, so rows can change under a request', async () => {
    standin.onRequest(async () => {
      await standin.update('jobs', JOB, { state: 'canceled' });
    });
    const res = await db.from('jobs').update({ state: 'running' }).eq('id', JOB).in('state', ['queued']).select();
    expect(res.data).toEqual([]);
    expect((await standin.row('jobs', JOB))?.state).toBe('canceled');
  });

  it('refuses a wrong API key with 401 PGRST301', async () => {
    const res = await client(standin.url, 'wrong').from('jobs').select('id');
    expect(res.status).toBe(401);
    expect(res.error).toMatchObject({ code: 'PGRST301', message: 'Invalid API key' });
    expect(standin.requests.at(-1)).toMatchObject({ status: 401, headers: { apikey: 'wrong' } });
  });

  it('keeps each stand-in in a database of its own; bad seeds fail', async () => {
    const second = await startPostgrestStandin({ postgres: pg });
    try {
      expect(await second.rows('jobs')).toEqual([]);
      await second.seed('media_assets', ASSET_ROW);
      expect(await standin.rows('media_assets')).toHaveLength(1);
      await expect(second.seed('jobs', { ...JOB_ROW, state: 'done' })).rejects.toThrow(/invalid input value for enum job_state: "done"/);
      await expect(second.seed('jobs', { ...JOB_ROW, worker_id: 'w' })).rejects.toThrow(/column "worker_id" of relation "jobs" does not exist/);
      expect(await second.sql('select count(*)::int as n from jobs')).toEqual([{ n: 0 }]);
    } finally {
      await second.stop();
    }
  });
});
