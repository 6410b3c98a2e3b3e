-- ============================================================================================
-- NOT A MIGRATION. DO NOT RUN THIS AGAINST THE LIVE RUGBYCODEX DATABASE.
--
-- The live Supabase project already has these tables (and many more columns, constraints,
-- policies and RLS that this file does not know about). This file restates the part of them
-- that rugbyworker reads and writes, as ../shared/RUGBYCODEX.md and the project's
-- docs/sql/SCHEMA_REFERENCE.md describe them, so that the tests (and a fresh, throwaway
-- install) run against the same column names, types, enum values and CHECKs as production.
-- It lives outside supabase/migrations/ on purpose: `supabase db push` never picks it up.
--
-- Even so it is written to be harmless: every statement is `create … if not exists` (or skips
-- an enum type that exists), nothing is altered, dropped, granted or enabled, and no
-- constraint, policy or RLS setting of an existing table is touched.
-- ============================================================================================

-- Enum types. Values as in the live contract; the worker writes only the ones it needs.
do $$
begin
  create type public.job_state as enum ('queued', 'running', 'succeeded', 'failed', 'canceled');
exception when duplicate_object then null;
end
$$;

do $$
begin
  -- The live enum may have more values (other job kinds); the worker's rows are 'transcode'.
  create type public.job_type as enum ('transcode');
exception when duplicate_object then null;
end
$$;

do $$
begin
  create type public.media_asset_status as enum ('intent', 'uploading', 'uploaded', 'processing', 'ready', 'failed', 'interrupted');
exception when duplicate_object then null;
end
$$;

do $$
begin
  create type public.processing_stage as enum ('uploaded', 'transcoding', 'transcoded', 'complete', 'failed');
exception when duplicate_object then null;
end
$$;

-- One uploaded video. The raw file is `bucket`/`storage_path`
-- (orgs/{org_id}/uploads/{id}/raw/{file_name}); the HLS output goes under
-- {base_org_storage_path or orgs/{org_id}/uploads/}{id}/streaming/ (index.m3u8 on top).
-- Live defaults differ in spelling (the reference shows bucket default '''rugbycodex''::text'
-- and base_org_storage_path default '""', both artefacts of the dashboard); these are the
-- values those were meant to be.
create table if not exists public.media_assets (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null,
  bucket text not null default 'rugbycodex',
  storage_path text not null,
  file_name text not null,
  base_org_storage_path text not null default '',
  status public.media_asset_status not null default 'intent',
  processing_stage public.processing_stage not null default 'uploaded',
  transcode_progress integer default 0,
  streaming_ready boolean not null default false,
  duration_seconds double precision not null,
  thumbnail_path text,
  thumbnail_sprite_path text,
  thumbnail_vtt_path text,
  thumbnail_frame_count integer,
  thumbnail_interval_seconds double precision,
  thumbnail_width integer,
  thumbnail_height integer,
  created_at timestamptz not null default now()
);

-- Work for the workers; the transcode worker's rows have type 'transcode'. progress is a
-- fraction (0–1), attempt counts deliveries (≥ 1).
create table if not exists public.jobs (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null,
  media_asset_id uuid references public.media_assets (id),
  type public.job_type not null,
  state public.job_state not null default 'queued',
  progress numeric not null default 0.0 check (progress >= 0 and progress <= 1),
  error_code text,
  error_message text,
  attempt integer not null default 1 check (attempt >= 1),
  payload jsonb,
  result jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz
);

-- Written when a user deletes a video: the folder orgs/{org}/uploads/{id}/ in `bucket` goes.
-- Pending while processed_at is null.
create table if not exists public.media_cleanup_jobs (
  id uuid primary key default gen_random_uuid(),
  media_asset_id uuid not null,
  bucket text not null,
  storage_path text not null,
  created_at timestamptz not null default now(),
  processed_at timestamptz,
  error text
);

do $$
begin
  create type public.compute_device_status as enum ('online', 'offline', 'degraded');
exception when duplicate_object then null;
end
$$;

-- The admin dashboard's devices widget (offline when last_heartbeat_at is older than 60 s).
-- Each worker process with RC_DEVICE_NAME upserts its own row on `name` every 15 s.
create table if not exists public.compute_devices (
  id uuid primary key default gen_random_uuid(),
  name text not null unique,
  hostname text,
  device_type text not null default 'jetson_orin',
  status public.compute_device_status not null default 'offline',
  last_heartbeat_at timestamptz,
  cpu_cores integer,
  memory_total_mb integer,
  gpu_model text,
  cuda_version text,
  jetpack_version text,
  cpu_utilization numeric,
  memory_used_mb integer,
  gpu_utilization numeric,
  temperature_c numeric,
  last_error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- Coach audio to delete (orgs/{org}/insights/segments/{segment}/coach.mp3 in storage_bucket,
-- or where coach_audio_url points); the cleanup role drains the pending rows.
create table if not exists public.segment_insight_audio_deletions (
  id uuid primary key default gen_random_uuid(),
  coach_audio_url text not null,
  storage_bucket text,
  storage_key text,
  status text not null default 'pending' check (status in ('pending', 'processing', 'completed', 'failed')),
  attempt_count integer not null default 0,
  last_error text,
  created_at timestamptz not null default now(),
  processed_at timestamptz
);
