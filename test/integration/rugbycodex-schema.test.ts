// deploy/supabase/rugbycodex-tables.sql on a real, throwaway PostgreSQL 15 cluster: it
// creates the tables, columns, types, enum values and CHECKs the worker relies on (the
// columns MEDIA_COLUMNS lists), applies twice without change, and — the file's promise —
// applied to a database that already has these tables and types in some other shape (the
// live project), it fails on nothing and changes nothing. Skipped, saying why, where no
// PostgreSQL server binaries are installed.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { MEDIA_COLUMNS } from '../helpers/media-columns.js';
import { postgresSkipReason, RUGBYCODEX_TABLES_SQL, startPostgres } from '../helpers/postgres.js';
import type { PostgresCluster } from '../helpers/postgres.js';

const LONG = 30_000;
const skip = postgresSkipReason();
if (skip) console.warn(`rugbycodex-schema.test.ts skipped: ${skip}`);
const describeIfPostgres = skip ? describe.skip : describe;

const SQL_TEXT = readFileSync(RUGBYCODEX_TABLES_SQL, 'utf8');
const SQL_CODE = SQL_TEXT.replace(/--[^\n]*/g, '');

/** The enum types the SQL file creates, with their values, read from the file itself. */
function enumsInFile(): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const m of SQL_CODE.matchAll(/create\s+type\s+public\.(\w+)\s+as\s+enum\s*\(([^)]*)\)/gi)) {
    out[m[1] ?? ''] = [...(m[2] ?? '').matchAll(/'([^']*)'/g)].map((v) => v[1] ?? '');
  }
  return out;
}

// Every column as the SQL file states it: name, type, NOT NULL, default.
const COLUMNS = `
jobs|id|uuid|NO|gen_random_uuid()
jobs|org_id|uuid|NO|
jobs|media_asset_id|uuid|YES|
jobs|type|job_type|NO|
jobs|state|job_state|NO|'queued'::job_state
jobs|progress|numeric|NO|0.0
jobs|error_code|text|YES|
jobs|error_message|text|YES|
jobs|attempt|integer|NO|1
jobs|payload|jsonb|YES|
jobs|result|jsonb|YES|
jobs|created_at|timestamp with time zone|NO|now()
jobs|updated_at|timestamp with time zone|NO|now()
jobs|started_at|timestamp with time zone|YES|
jobs|finished_at|timestamp with time zone|YES|
media_assets|id|uuid|NO|gen_random_uuid()
media_assets|org_id|uuid|NO|
media_assets|bucket|text|NO|'rugbycodex'::text
media_assets|storage_path|text|NO|
media_assets|file_name|text|NO|
media_assets|base_org_storage_path|text|NO|''::text
media_assets|status|media_asset_status|NO|'intent'::media_asset_status
media_assets|processing_stage|processing_stage|NO|'uploaded'::processing_stage
media_assets|transcode_progress|integer|YES|0
media_assets|streaming_ready|boolean|NO|false
media_assets|duration_seconds|double precision|NO|
media_assets|thumbnail_path|text|YES|
media_assets|thumbnail_sprite_path|text|YES|
media_assets|thumbnail_vtt_path|text|YES|
media_assets|thumbnail_frame_count|integer|YES|
media_assets|thumbnail_interval_seconds|double precision|YES|
media_assets|thumbnail_width|integer|YES|
media_assets|thumbnail_height|integer|YES|
media_assets|created_at|timestamp with time zone|NO|now()
media_cleanup_jobs|id|uuid|NO|gen_random_uuid()
media_cleanup_jobs|media_asset_id|uuid|NO|
media_cleanup_jobs|bucket|text|NO|
media_cleanup_jobs|storage_path|text|NO|
media_cleanup_jobs|created_at|timestamp with time zone|NO|now()
media_cleanup_jobs|processed_at|timestamp with time zone|YES|
media_cleanup_jobs|error|text|YES|
compute_devices|id|uuid|NO|gen_random_uuid()
compute_devices|name|text|NO|
compute_devices|hostname|text|YES|
compute_devices|device_type|text|NO|'jetson_orin'::text
compute_devices|status|compute_device_status|NO|'offline'::compute_device_status
compute_devices|last_heartbeat_at|timestamp with time zone|YES|
compute_devices|cpu_cores|integer|YES|
compute_devices|memory_total_mb|integer|YES|
compute_devices|gpu_model|text|YES|
compute_devices|cuda_version|text|YES|
compute_devices|jetpack_version|text|YES|
compute_devices|cpu_utilization|numeric|YES|
compute_devices|memory_used_mb|integer|YES|
compute_devices|gpu_utilization|numeric|YES|
compute_devices|temperature_c|numeric|YES|
compute_devices|last_error|text|YES|
compute_devices|created_at|timestamp with time zone|NO|now()
compute_devices|updated_at|timestamp with time zone|NO|now()
segment_insight_audio_deletions|id|uuid|NO|gen_random_uuid()
segment_insight_audio_deletions|coach_audio_url|text|NO|
segment_insight_audio_deletions|storage_bucket|text|YES|
segment_insight_audio_deletions|storage_key|text|YES|
segment_insight_audio_deletions|status|text|NO|'pending'::text
segment_insight_audio_deletions|attempt_count|integer|NO|0
segment_insight_audio_deletions|last_error|text|YES|
segment_insight_audio_deletions|created_at|timestamp with time zone|NO|now()
segment_insight_audio_deletions|processed_at|timestamp with time zone|YES|`.trim();

const COLUMNS_QUERY = `
  select c.table_name, c.column_name, format_type(a.atttypid, a.atttypmod), c.is_nullable, coalesce(c.column_default, '')
    from information_schema.columns c
    join pg_attribute a on a.attrelid = format('public.%I', c.table_name)::regclass and a.attname = c.column_name
   where c.table_schema = 'public'
   order by array_position(array['jobs', 'media_assets', 'media_cleanup_jobs', 'compute_devices', 'segment_insight_audio_deletions'], c.table_name::text), c.ordinal_position`;

/** Everything in the public schema that the file could touch, and the rows, as text. */
const SNAPSHOT = `
  select 'column ' || table_name || '.' || column_name || ' ' || ordinal_position || ' ' || udt_name || ' ' || is_nullable || ' ' || coalesce(column_default, '')
    from information_schema.columns where table_schema = 'public'
  union all
  select 'enum ' || t.typname || ' ' || string_agg(e.enumlabel, ',' order by e.enumsortorder)
    from pg_type t join pg_enum e on e.enumtypid = t.oid where t.typnamespace = 'public'::regnamespace group by t.typname
  union all
  select 'type ' || typname || ' ' || typtype::text from pg_type where typnamespace = 'public'::regnamespace and typtype <> 'c' and typname not like '\\_%'
  union all
  select 'constraint ' || conrelid::regclass || '.' || conname || ' ' || convalidated || ' ' || pg_get_constraintdef(oid)
    from pg_constraint where connamespace = 'public'::regnamespace
  union all
  select 'index ' || indexdef from pg_indexes where schemaname = 'public'
  union all
  select 'trigger ' || tgrelid::regclass || '.' || tgname || ' ' || tgenabled::text from pg_trigger where not tgisinternal
  union all
  select 'table ' || relname || ' rls=' || relrowsecurity || ' force=' || relforcerowsecurity || ' acl=' || coalesce(relacl::text, '') || ' comment=' || coalesce(obj_description(oid, 'pg_class'), '')
    from pg_class where relnamespace = 'public'::regnamespace and relkind in ('r', 'p', 'v')
  union all
  select 'policy ' || tablename || '.' || policyname || ' ' || permissive || ' ' || roles::text || ' ' || cmd || ' ' || coalesce(qual, '') || ' ' || coalesce(with_check, '')
    from pg_policies where schemaname = 'public'
  union all
  select 'rows media_assets ' || coalesce(json_agg(t order by t.id)::text, '') from public.media_assets t
  union all
  select 'rows jobs ' || coalesce(json_agg(t order by t.id)::text, '') from public.jobs t
  union all
  select 'rows media_cleanup_jobs ' || coalesce(json_agg(t order by t.id)::text, '') from public.media_cleanup_jobs t
  union all
  select 'rows compute_devices ' || coalesce(json_agg(t order by t.id)::text, '') from public.compute_devices t
  union all
  select 'rows segment_insight_audio_deletions ' || coalesce(json_agg(t order by t.id)::text, '') from public.segment_insight_audio_deletions t
  order by 1`;

// A database shaped like the live project: the same tables and types, in some other shape
// (extra columns and enum values, other defaults and constraints, RLS, policies, a trigger,
// grants, comments, rows the file's CHECKs would refuse).
const LIVE = `
  create role worker_test_reader;
  create type public.job_state as enum ('queued', 'running', 'succeeded', 'failed', 'canceled', 'paused');
  create type public.job_type as enum ('transcode', 'thumbnail', 'clip');
  create type public.media_asset_status as enum ('intent', 'uploading', 'uploaded', 'processing', 'ready', 'failed', 'interrupted', 'archived');
  create type public.processing_stage as enum ('uploaded', 'transcoding', 'transcoded', 'complete', 'failed');
  create table public.media_assets (
    id uuid primary key default gen_random_uuid(),
    org_id uuid not null,
    uploader_id uuid,
    bucket text default '''rugbycodex''::text',
    storage_path text not null,
    file_name text not null,
    base_org_storage_path text default '""',
    status public.media_asset_status not null default 'intent',
    processing_stage public.processing_stage not null default 'uploaded',
    transcode_progress integer default 0,
    streaming_ready boolean not null default false,
    duration_seconds double precision not null,
    thumbnail_path text,
    created_at timestamptz not null default now(),
    constraint media_assets_storage_path_key unique (storage_path)
  );
  create table public.jobs (
    id uuid primary key default gen_random_uuid(),
    org_id uuid not null,
    media_asset_id uuid references public.media_assets (id) on delete cascade,
    type public.job_type not null,
    state public.job_state not null default 'queued',
    progress numeric not null default 0 constraint jobs_progress_percent check (progress between 0 and 100),
    attempt integer not null default 0,
    priority smallint not null default 5,
    locked_by text,
    payload jsonb,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
  );
  create index jobs_state_idx on public.jobs (state) where state in ('queued', 'running');
  create table public.media_cleanup_jobs (
    id bigint generated always as identity primary key,
    media_asset_id uuid not null references public.media_assets (id),
    bucket text not null,
    storage_path text not null,
    requested_by uuid,
    created_at timestamptz not null default now(),
    processed_at timestamptz
  );
  create type public.compute_device_status as enum ('online', 'offline', 'degraded', 'maintenance');
  create table public.compute_devices (
    id uuid primary key default gen_random_uuid(),
    name text not null unique,
    hostname text,
    device_type text not null default 'jetson_orin',
    status public.compute_device_status not null default 'offline',
    last_heartbeat_at timestamptz,
    rack text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
  );
  create table public.segment_insight_audio_deletions (
    id uuid primary key default gen_random_uuid(),
    coach_audio_url text not null,
    storage_bucket text,
    storage_key text,
    status text not null default 'pending' check (status = any (array['pending', 'processing', 'completed', 'failed'])),
    attempt_count integer not null default 0,
    created_at timestamptz not null default now()
  );
  insert into public.compute_devices (name, status) values ('jetson-1', 'maintenance');
  create function public.touch_updated_at() returns trigger language plpgsql as $$ begin new.updated_at := now(); return new; end $$;
  create trigger jobs_touch before update on public.jobs for each row execute function public.touch_updated_at();
  alter table public.media_assets enable row level security;
  alter table public.jobs enable row level security;
  alter table public.jobs force row level security;
  alter table public.media_cleanup_jobs enable row level security;
  create policy "members read assets" on public.media_assets for select to worker_test_reader using (org_id is not null);
  create policy "members read jobs" on public.jobs for select using (true);
  grant select on public.media_assets, public.jobs to worker_test_reader;
  comment on table public.jobs is 'Work for all the workers (live)';
  insert into public.media_assets (id, org_id, storage_path, file_name, duration_seconds, status)
    values ('11111111-1111-4111-8111-111111111111', '00000000-0000-4000-8000-000000000001', 'orgs/o/uploads/a/raw/x.mp4', 'x.mp4', 12.5, 'archived');
  insert into public.jobs (id, org_id, media_asset_id, type, state, progress, attempt)
    values ('22222222-2222-4222-8222-222222222222', '00000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', 'clip', 'paused', 42, 0);
  insert into public.media_cleanup_jobs (media_asset_id, bucket, storage_path)
    values ('11111111-1111-4111-8111-111111111111', 'rugbycodex', 'orgs/o/uploads/a/');`;

describeIfPostgres('deploy/supabase/rugbycodex-tables.sql on PostgreSQL', () => {
  let pg: PostgresCluster;

  beforeAll(async () => {
    pg = await startPostgres();
    await pg.createDatabase('fresh');
    await pg.applySchema('fresh');
  }, LONG);

  afterAll(async () => {
    await pg?.stop();
  }, LONG);

  it('only creates: no statement alters, drops, grants, enables or writes anything', () => {
    expect(SQL_CODE).not.toMatch(/\b(alter|drop|grant|revoke|truncate|delete|update|insert|comment\s+on|enable|disable|policy|trigger|function|index|replace)\b/i);
    const creates = [...SQL_CODE.matchAll(/\bcreate\s+(\w+(?:\s+\w+)?)/gi)].map((m) => m[1]?.toLowerCase().replace(/\s+/g, ' '));
    expect(creates).toEqual(['type public', 'type public', 'type public', 'type public', 'table if', 'table if', 'table if', 'type public', 'table if', 'table if']);
  });

  it('applies a second time without changing anything', async () => {
    const first = await pg.psql(SNAPSHOT, 'fresh');
    await pg.applySchema('fresh');
    expect(await pg.psql(SNAPSHOT, 'fresh')).toBe(first);
  }, LONG);

  it('has exactly the tables and columns MEDIA_COLUMNS lists, with the types, NOT NULLs and defaults of the file', async () => {
    const columns = await pg.psql(COLUMNS_QUERY, 'fresh');
    expect(columns).toBe(COLUMNS);
    const rows = columns.split('\n').map((line) => line.split('|'));
    const tables = [...new Set(rows.map(([t]) => t))].sort();
    expect(tables).toEqual(Object.keys(MEDIA_COLUMNS).sort());
    for (const [table, names] of Object.entries(MEDIA_COLUMNS)) {
      expect(rows.filter(([t]) => t === table).map(([, c]) => c)).toEqual([...names]);
    }
  }, LONG);

  it('has the enum values of the file, in its order', async () => {
    const inDb = Object.fromEntries((await pg.psql(`select t.typname, string_agg(e.enumlabel, ',' order by e.enumsortorder)
      from pg_type t join pg_enum e on e.enumtypid = t.oid where t.typnamespace = 'public'::regnamespace group by t.typname order by 1`, 'fresh'))
      .split('\n').map((line) => line.split('|')).map(([name, values]) => [name, (values ?? '').split(',')]));
    expect(inDb).toEqual(enumsInFile());
    expect(inDb).toEqual({
      job_state: ['queued', 'running', 'succeeded', 'failed', 'canceled'],
      job_type: ['transcode'],
      media_asset_status: ['intent', 'uploading', 'uploaded', 'processing', 'ready', 'failed', 'interrupted'],
      processing_stage: ['uploaded', 'transcoding', 'transcoded', 'complete', 'failed'],
      compute_device_status: ['online', 'offline', 'degraded'],
    });
  }, LONG);

  it('has the constraints of the file and enforces them: progress 0..1, attempt >= 1, the asset foreign key', async () => {
    expect((await pg.psql(`select conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) from pg_constraint
      where connamespace = 'public'::regnamespace order by 1`, 'fresh')).split('\n')).toEqual([
      'compute_devices compute_devices_name_key UNIQUE (name)',
      'compute_devices compute_devices_pkey PRIMARY KEY (id)',
      'jobs jobs_attempt_check CHECK ((attempt >= 1))',
      'jobs jobs_media_asset_id_fkey FOREIGN KEY (media_asset_id) REFERENCES media_assets(id)',
      'jobs jobs_pkey PRIMARY KEY (id)',
      'jobs jobs_progress_check CHECK (((progress >= (0)::numeric) AND (progress <= (1)::numeric)))',
      'media_assets media_assets_pkey PRIMARY KEY (id)',
      'media_cleanup_jobs media_cleanup_jobs_pkey PRIMARY KEY (id)',
      "segment_insight_audio_deletions segment_insight_audio_deletions_pkey PRIMARY KEY (id)",
      "segment_insight_audio_deletions segment_insight_audio_deletions_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'processing'::text, 'completed'::text, 'failed'::text])))",
    ]);
    await pg.psql('create database checks');
    await pg.applySchema('checks');
    const asset = '11111111-1111-4111-8111-111111111111';
    await pg.psql(`insert into media_assets (id, org_id, storage_path, file_name, duration_seconds) values ('${asset}', gen_random_uuid(), 'orgs/o/uploads/a/raw/x.mp4', 'x.mp4', 1)`, 'checks');
    await pg.psql(`insert into jobs (org_id, media_asset_id, type) values (gen_random_uuid(), '${asset}', 'transcode')`, 'checks');
    expect(await pg.psql('select state, progress, attempt from jobs', 'checks')).toBe('queued|0.0|1');
    expect(await pg.psql('select bucket, base_org_storage_path, status, processing_stage, transcode_progress, streaming_ready from media_assets', 'checks'))
      .toBe('rugbycodex||intent|uploaded|0|f');
    await pg.psql('update jobs set progress = 1', 'checks');
    await pg.psql('update jobs set progress = 0', 'checks');
    await expect(pg.psql('update jobs set progress = 1.5', 'checks')).rejects.toThrow(/jobs_progress_check/);
    await expect(pg.psql('update jobs set progress = -0.1', 'checks')).rejects.toThrow(/jobs_progress_check/);
    await expect(pg.psql('update jobs set attempt = 0', 'checks')).rejects.toThrow(/jobs_attempt_check/);
    await expect(pg.psql(`update jobs set state = 'done'`, 'checks')).rejects.toThrow(/invalid input value for enum job_state: "done"/);
    // As PostgREST passes it (text, through json_populate_record): SQL's numeric 12.5 would be rounded.
    await expect(pg.psql(`update media_assets set transcode_progress = '12.5'`, 'checks')).rejects.toThrow(/invalid input syntax for type integer: "12.5"/);
    await expect(pg.psql(`insert into jobs (org_id, media_asset_id, type) values (gen_random_uuid(), gen_random_uuid(), 'transcode')`, 'checks'))
      .rejects.toThrow(/jobs_media_asset_id_fkey/);
    await expect(pg.psql(`insert into media_cleanup_jobs (media_asset_id, storage_path) values (gen_random_uuid(), 'x')`, 'checks'))
      .rejects.toThrow(/null value in column "bucket"/);
  }, LONG);

  it('applied to a database that already has the tables and types in another shape, fails on nothing and changes nothing', async () => {
    await pg.createDatabase('live');
    await pg.psql(LIVE, 'live');
    const before = await pg.psql(SNAPSHOT, 'live');
    expect(before).toMatch(/enum job_state queued,running,succeeded,failed,canceled,paused/);
    expect(before).toMatch(/policy jobs.members read jobs/);
    const notices = await pg.applySchema('live');
    for (const table of Object.keys(MEDIA_COLUMNS)) expect(notices).toContain(`relation "${table}" already exists, skipping`);
    expect(await pg.psql(SNAPSHOT, 'live')).toBe(before);
    await pg.applySchema('live');
    expect(await pg.psql(SNAPSHOT, 'live')).toBe(before);
  }, LONG);
});
