-- RugbyCodex media tables used by rugbyworker (transcode and cleanup roles).
--
-- Idempotent: safe to apply again, and safe on a project where these tables already
-- exist from before (seed 001's Supabase): tables are created when missing, missing
-- columns are added, and constraints, indexes and triggers are added only when absent.
-- Nothing is dropped or rewritten, and rows from before never make it fail (see the
-- constraint block below).
--
-- Status values are plain text with CHECK constraints (not enum types): a new state
-- is a constraint change, not an `alter type` that cannot run inside a transaction.

-- media_assets: one uploaded video. The raw upload lives at
-- orgs/{org}/uploads/{id}/raw/{file} in Wasabi; the transcoder writes the HLS ladder
-- under …/streaming/ (master.m3u8) and the poster under …/thumbnails/, then marks it ready.
create table if not exists public.media_assets (
  id uuid primary key default gen_random_uuid()
);
alter table public.media_assets
  add column if not exists org_id uuid,
  add column if not exists storage_path text,
  add column if not exists streaming_path text,
  add column if not exists thumbnail_path text,
  add column if not exists status text not null default 'uploaded',
  add column if not exists duration_seconds numeric,
  add column if not exists width integer,
  add column if not exists height integer,
  add column if not exists renditions jsonb,
  add column if not exists error_code text,
  add column if not exists error_message text,
  add column if not exists created_at timestamptz not null default now(),
  add column if not exists updated_at timestamptz not null default now();

comment on table public.media_assets is
  'An uploaded video (raw at orgs/{org}/uploads/{id}/raw/) and, once transcoded, its HLS stream (streaming/master.m3u8) and poster (thumbnails/poster.jpg) in Wasabi.';
comment on column public.media_assets.storage_path is 'Key of the raw upload: orgs/{org}/uploads/{id}/raw/{file}.';
comment on column public.media_assets.streaming_path is 'Key of the HLS master playlist, set when the asset becomes ready.';
comment on column public.media_assets.thumbnail_path is 'Key of the poster image, set when the asset becomes ready.';
comment on column public.media_assets.status is 'uploaded → processing (a worker claimed its job) → ready | failed.';
comment on column public.media_assets.renditions is 'The HLS ladder: [{name, width, height, bandwidth, playlist}] as in master.m3u8.';
comment on column public.media_assets.error_code is 'Why it failed: INVALID_INPUT, FFMPEG_ERROR, DOWNLOAD_ERROR, UPLOAD_ERROR, DB_ERROR, ABORTED.';

-- transcode_jobs: one request to transcode an asset. The SQS message names the job;
-- Jetson and ECS workers compete for messages, and this row records who has it and how far.
create table if not exists public.transcode_jobs (
  id uuid primary key default gen_random_uuid()
);
alter table public.transcode_jobs
  add column if not exists media_asset_id uuid,
  add column if not exists status text not null default 'pending',
  add column if not exists progress integer not null default 0,
  add column if not exists attempts integer not null default 0,
  add column if not exists worker_id text,
  add column if not exists error_code text,
  add column if not exists error_message text,
  add column if not exists started_at timestamptz,
  add column if not exists completed_at timestamptz,
  add column if not exists created_at timestamptz not null default now(),
  add column if not exists updated_at timestamptz not null default now();

comment on table public.transcode_jobs is
  'A transcode of one media asset to HLS, queued on SQS and taken by a Jetson or ECS worker; the worker records its claim, progress and outcome here.';
comment on column public.transcode_jobs.status is 'pending → processing → completed | failed; failed → processing on a retry; pending → failed when every delivery failed before a worker could claim it. A completed job is never redone.';
comment on column public.transcode_jobs.progress is 'Percent done, 0–100; only ever increases.';
comment on column public.transcode_jobs.attempts is 'How many times a worker claimed the job (a redelivered message claims again).';
comment on column public.transcode_jobs.worker_id is 'The worker that claimed it last (host and process).';

-- media_cleanup_jobs: written when a user deletes a video; the cleanup worker (or the
-- cleanup-media-assets Edge Function that replaces it) deletes the asset's whole folder.
create table if not exists public.media_cleanup_jobs (
  id uuid primary key default gen_random_uuid()
);
alter table public.media_cleanup_jobs
  add column if not exists media_asset_id uuid, -- no foreign key: the asset row is usually gone already
  add column if not exists storage_path text,
  add column if not exists processed_at timestamptz,
  add column if not exists objects_deleted integer,
  add column if not exists error text,
  add column if not exists created_at timestamptz not null default now();

comment on table public.media_cleanup_jobs is
  'Media folders to delete from Wasabi after a user deleted a video: the folder is storage_path minus its last two segments (orgs/{org}/uploads/{id}/). Pending while processed_at is null; polled every 6 hours.';
comment on column public.media_cleanup_jobs.storage_path is 'The raw upload key of the deleted asset; its folder (raw, streaming, thumbnails) is what goes.';
comment on column public.media_cleanup_jobs.processed_at is 'Set only when every object of the folder is gone; null means the next pass tries again.';
comment on column public.media_cleanup_jobs.error is 'Why the last pass could not finish the row (unsafe path, S3 errors); cleared when processed.';

-- Constraints: named, added only when absent. Added NOT VALID and then validated: on a
-- fresh table that always succeeds; where rows from before this migration break one,
-- it stays NOT VALID (every new or updated row is still checked) and a NOTICE says so.
do $$
declare
  c record;
begin
  for c in
    select * from (values
      ('public.media_assets', 'media_assets_status_check',
       'check (status in (''uploaded'', ''processing'', ''ready'', ''failed''))'),
      ('public.transcode_jobs', 'transcode_jobs_status_check',
       'check (status in (''pending'', ''processing'', ''completed'', ''failed''))'),
      ('public.transcode_jobs', 'transcode_jobs_progress_check',
       'check (progress between 0 and 100)'),
      ('public.transcode_jobs', 'transcode_jobs_attempts_check',
       'check (attempts >= 0)'),
      ('public.transcode_jobs', 'transcode_jobs_media_asset_id_fkey',
       'foreign key (media_asset_id) references public.media_assets (id) on delete cascade'),
      ('public.media_cleanup_jobs', 'media_cleanup_jobs_objects_deleted_check',
       'check (objects_deleted is null or objects_deleted >= 0)')
    ) as t(tbl, name, def)
  loop
    if not exists (select 1 from pg_constraint where conrelid = c.tbl::regclass and conname = c.name) then
      execute format('alter table %s add constraint %I %s not valid', c.tbl, c.name, c.def);
    end if;
    -- Also retried on every run, so applying again after fixing old rows validates it.
    if exists (select 1 from pg_constraint where conrelid = c.tbl::regclass and conname = c.name and not convalidated) then
      begin
        execute format('alter table %s validate constraint %I', c.tbl, c.name);
      exception when check_violation or foreign_key_violation then
        raise notice '% left NOT VALID: existing rows of % break it (%)', c.name, c.tbl, sqlerrm;
      end;
    end if;
  end loop;
end
$$;

-- storage_path and media_asset_id are required; NOT NULL is set only where no old row
-- lacks them, so the migration never fails on a legacy table.
do $$
begin
  if not exists (select 1 from public.media_cleanup_jobs where storage_path is null) then
    alter table public.media_cleanup_jobs alter column storage_path set not null;
  end if;
  if not exists (select 1 from public.transcode_jobs where media_asset_id is null) then
    alter table public.transcode_jobs alter column media_asset_id set not null;
  end if;
end
$$;

-- updated_at follows every update, whoever writes (worker, frontend, SQL editor).
create or replace function public.rugbycodex_set_updated_at()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end
$$;

create or replace trigger media_assets_set_updated_at
  before update on public.media_assets
  for each row execute function public.rugbycodex_set_updated_at();

create or replace trigger transcode_jobs_set_updated_at
  before update on public.transcode_jobs
  for each row execute function public.rugbycodex_set_updated_at();

-- The monitoring queries of seed 001 (count by status, pending cleanup rows) and the
-- foreign key's cascade (delete of an asset finds its jobs).
create index if not exists transcode_jobs_status_idx on public.transcode_jobs (status);
create index if not exists transcode_jobs_media_asset_id_idx on public.transcode_jobs (media_asset_id);
create index if not exists media_cleanup_jobs_pending_idx
  on public.media_cleanup_jobs (created_at) where processed_at is null;

-- Only the service role (which bypasses RLS) touches these without a policy; the app
-- adds its own read policies. Enabling is a no-op where it already is.
alter table public.media_assets enable row level security;
alter table public.transcode_jobs enable row level security;
alter table public.media_cleanup_jobs enable row level security;
