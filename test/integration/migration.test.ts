// The Supabase migration on a real, throwaway PostgreSQL 15 cluster: it applies twice
// without change, creates what the adapters rely on (columns MEDIA_COLUMNS lists for the
// stand-in, checks, cascade, trigger, indexes), and upgrades an older schema in place.
// Skipped, saying why, where no PostgreSQL server binaries are installed.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../helpers/servers.js';
import { MEDIA_COLUMNS } from '../helpers/media-columns.js';

const run = promisify(execFile);
const MIGRATION = fileURLToPath(new URL('../../deploy/supabase/migrations/20261124000000_rugbycodex_media.sql', import.meta.url));
const LONG = 60_000;

/** The newest /usr/lib/postgresql/<v>/bin holding initdb and postgres, or why there is none. */
function findServer(): { bin: string } | { skip: string } {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  const bin = versions.map((v) => join(root, v, 'bin')).find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres')));
  if (!bin) return { skip: 'no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (apt-get install postgresql-15)' };
  if (process.getuid?.() === 0 && !existsSync('/usr/bin/setpriv')) return { skip: 'running as root and postgres refuses root: setpriv is needed to drop to the postgres user' };
  return { bin };
}

const server = findServer();
if ('skip' in server) console.warn(`migration.test.ts skipped: ${server.skip}`);
const describeIfPostgres = 'skip' in server ? describe.skip : describe;

interface Cluster {
  port: number;
  psql(sql: string, db?: string): Promise<string>;
  applyMigration(db?: string): Promise<string>;
  stop(): Promise<void>;
}

// The watchdog shell of test/helpers/servers.ts: when stdin closes (stop(), or jest
// dying in any way) postgres gets a fast shutdown, so no cluster outlives the tests.
const WRAPPER = 'exec 3<&0; (read -r _ <&3; kill -INT $$ 2>/dev/null) & exec "$@" 3<&-';

async function startCluster(bin: string): Promise<Cluster> {
  const dir = await mkdtemp(join(tmpdir(), 'rugbyworker-pg-'));
  // Root cannot run postgres: as root, everything runs as the postgres user.
  const asRoot = process.getuid?.() === 0;
  let owner: string[] = [];
  if (asRoot) {
    const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
    await chown(dir, uid, gid);
    owner = ['setpriv', '--reuid=postgres', '--regid=postgres', '--init-groups'];
  }
  const data = join(dir, 'data');
  const [cmd = '', ...pre] = [...owner, join(bin, 'initdb')];
  await run(cmd, [...pre, '-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C']);
  const port = await freePort();
  const args = [...owner, join(bin, 'postgres'), '-D', data, '-p', String(port), '-k', dir,
    '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'synchronous_commit=off'];
  const child: ChildProcess = spawn('/bin/sh', ['-c', WRAPPER, 'postgres', ...args], { stdio: ['pipe', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => { log = (log + chunk.toString()).slice(-4000); });
  child.stdin?.on('error', () => { /* EPIPE once the watchdog is gone */ });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const psqlArgs = (db: string): string[] => ['-X', '-q', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', db, '-v', 'ON_ERROR_STOP=1'];
  const cluster: Cluster = {
    port,
    async psql(sql, db = 'postgres') {
      return (await run(join(bin, 'psql'), [...psqlArgs(db), '-At', '-F', '|', '-c', sql])).stdout.trim();
    },
    async applyMigration(db = 'postgres') {
      // One transaction per file, as `supabase db push` applies migrations; NOTICEs are on stderr.
      return (await run(join(bin, 'psql'), [...psqlArgs(db), '-1', '-f', MIGRATION])).stderr;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin?.end();
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };

  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await cluster.psql('select 1');
      return cluster;
    } catch (err) {
      if (child.exitCode !== null || Date.now() > deadline) {
        await cluster.stop();
        throw new Error(`postgres did not start on port ${port}: ${String(err)}\n${log}`, { cause: err });
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Everything the migration defines, as text, to compare one application with the next. */
const SNAPSHOT = `
  select 'column', table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '')
    from information_schema.columns where table_schema = 'public'
  union all
  select 'constraint', conrelid::regclass || '.' || conname || ' ' || convalidated || ' ' || pg_get_constraintdef(oid)
    from pg_constraint where connamespace = 'public'::regnamespace
  union all
  select 'index', indexdef from pg_indexes where schemaname = 'public'
  union all
  select 'trigger', tgrelid::regclass || '.' || tgname from pg_trigger where not tgisinternal
  union all
  select 'rls', relname || ' ' || relrowsecurity from pg_class where relnamespace = 'public'::regnamespace and relkind = 'r'
  order by 1, 2`;

describeIfPostgres('Supabase migration on PostgreSQL', () => {
  let pg: Cluster;

  beforeAll(async () => {
    if ('skip' in server) return;
    pg = await startCluster(server.bin);
    await pg.psql('create database fresh');
    await pg.psql('create database legacy');
  }, LONG);

  afterAll(async () => {
    await pg?.stop();
  }, LONG);

  it('applies twice; the second application changes nothing', async () => {
    await pg.applyMigration('fresh');
    const first = await pg.psql(SNAPSHOT, 'fresh');
    await pg.applyMigration('fresh');
    expect(await pg.psql(SNAPSHOT, 'fresh')).toBe(first);
  }, LONG);

  it('has exactly the columns the adapters and the stand-in use, with their types', async () => {
    const rows = (await pg.psql(`select table_name, column_name, data_type, is_nullable from information_schema.columns
      where table_schema = 'public' order by table_name, ordinal_position`, 'fresh')).split('\n').map((line) => line.split('|'));
    for (const [table, columns] of Object.entries(MEDIA_COLUMNS)) {
      expect(rows.filter(([t]) => t === table).map(([, c]) => c).sort()).toEqual([...columns].sort());
    }
    const type = (table: string, column: string): string => rows.find(([t, c]) => t === table && c === column)?.slice(2).join(' ') ?? 'missing';
    expect(type('media_assets', 'id')).toBe('uuid NO');
    expect(type('media_assets', 'status')).toBe('text NO');
    expect(type('media_assets', 'duration_seconds')).toBe('numeric YES');
    expect(type('media_assets', 'renditions')).toBe('jsonb YES');
    expect(type('media_assets', 'updated_at')).toBe('timestamp with time zone NO');
    expect(type('transcode_jobs', 'media_asset_id')).toBe('uuid NO');
    expect(type('transcode_jobs', 'progress')).toBe('integer NO');
    expect(type('transcode_jobs', 'attempts')).toBe('integer NO');
    expect(type('media_cleanup_jobs', 'storage_path')).toBe('text NO');
    expect(type('media_cleanup_jobs', 'processed_at')).toBe('timestamp with time zone YES');
  }, LONG);

  it('has the constraints (validated), indexes, trigger, comments and RLS', async () => {
    const constraints = (await pg.psql(`select conname || ' ' || convalidated from pg_constraint
      where connamespace = 'public'::regnamespace and contype in ('c', 'f') order by 1`, 'fresh')).split('\n');
    expect(constraints).toEqual([
      'media_assets_status_check true',
      'media_cleanup_jobs_objects_deleted_check true',
      'transcode_jobs_attempts_check true',
      'transcode_jobs_media_asset_id_fkey true',
      'transcode_jobs_progress_check true',
      'transcode_jobs_status_check true',
    ]);
    const indexes = await pg.psql(`select indexname || ': ' || indexdef from pg_indexes where schemaname = 'public' and indexname like '%_idx' order by 1`, 'fresh');
    expect(indexes).toContain('transcode_jobs_status_idx: CREATE INDEX transcode_jobs_status_idx ON public.transcode_jobs USING btree (status)');
    expect(indexes).toContain('media_cleanup_jobs_pending_idx: CREATE INDEX media_cleanup_jobs_pending_idx ON public.media_cleanup_jobs USING btree (created_at) WHERE (processed_at IS NULL)');
    expect(await pg.psql(`select tgrelid::regclass || '.' || tgname from pg_trigger where not tgisinternal order by 1`, 'fresh'))
      .toBe('media_assets.media_assets_set_updated_at\ntranscode_jobs.transcode_jobs_set_updated_at');
    for (const table of Object.keys(MEDIA_COLUMNS)) {
      expect(await pg.psql(`select obj_description('public.${table}'::regclass, 'pg_class')`, 'fresh')).toMatch(/^.{40,}$/);
      expect(await pg.psql(`select relrowsecurity from pg_class where oid = 'public.${table}'::regclass`, 'fresh')).toBe('t');
    }
  }, LONG);

  it('enforces the states, the progress range and the cascade, and keeps updated_at current', async () => {
    const asset = '11111111-1111-4111-8111-111111111111';
    const job = '22222222-2222-4222-8222-222222222222';
    await pg.psql(`insert into media_assets (id, org_id, storage_path, updated_at) values ('${asset}', gen_random_uuid(), 'orgs/o/uploads/a/raw/x.mp4', '2000-01-01')`, 'fresh');
    await pg.psql(`insert into transcode_jobs (id, media_asset_id, updated_at) values ('${job}', '${asset}', '2000-01-01')`, 'fresh');
    expect(await pg.psql(`select status, progress, attempts from transcode_jobs`, 'fresh')).toBe('pending|0|0');
    await expect(pg.psql(`update transcode_jobs set status = 'done'`, 'fresh')).rejects.toThrow(/transcode_jobs_status_check/);
    await expect(pg.psql(`update transcode_jobs set progress = 101`, 'fresh')).rejects.toThrow(/transcode_jobs_progress_check/);
    await expect(pg.psql(`update media_assets set status = 'deleted'`, 'fresh')).rejects.toThrow(/media_assets_status_check/);
    await expect(pg.psql(`insert into transcode_jobs (media_asset_id) values (gen_random_uuid())`, 'fresh')).rejects.toThrow(/transcode_jobs_media_asset_id_fkey/);
    await expect(pg.psql(`insert into media_cleanup_jobs (media_asset_id) values (gen_random_uuid())`, 'fresh')).rejects.toThrow(/storage_path/);
    await pg.psql(`update transcode_jobs set status = 'processing', attempts = attempts + 1`, 'fresh');
    await pg.psql(`update media_assets set status = 'processing'`, 'fresh');
    expect(await pg.psql(`select count(*) from transcode_jobs where updated_at > now() - interval '1 minute'`, 'fresh')).toBe('1');
    expect(await pg.psql(`select count(*) from media_assets where updated_at > now() - interval '1 minute'`, 'fresh')).toBe('1');
    await pg.psql(`delete from media_assets where id = '${asset}'`, 'fresh');
    expect(await pg.psql(`select count(*) from transcode_jobs`, 'fresh')).toBe('0');
  }, LONG);

  it('upgrades an older schema in place: adds what is missing, keeps rows, never fails on legacy data', async () => {
    await pg.psql(`
      create table media_assets (id uuid primary key, org_id uuid, storage_path text, status text);
      create table transcode_jobs (id uuid primary key, media_asset_id uuid, status text);
      create table media_cleanup_jobs (id uuid primary key default gen_random_uuid(), storage_path text, processed_at timestamptz);
      insert into media_assets (id, status) values ('11111111-1111-4111-8111-111111111111', 'uploaded');
      insert into transcode_jobs values ('22222222-2222-4222-8222-222222222222', '11111111-1111-4111-8111-111111111111', 'queued');
      insert into media_cleanup_jobs (storage_path) values (null)`, 'legacy');
    const notices = await pg.applyMigration('legacy');
    expect(notices).toMatch(/transcode_jobs_status_check left NOT VALID/);
    await pg.applyMigration('legacy');
    expect(await pg.psql(`select status, progress, attempts from transcode_jobs`, 'legacy')).toBe('queued|0|0');
    expect(await pg.psql(`select conname || ' ' || convalidated from pg_constraint where conname in ('transcode_jobs_status_check', 'media_assets_status_check') order by 1`, 'legacy'))
      .toBe('media_assets_status_check true\ntranscode_jobs_status_check false');
    // NOT VALID still checks new writes.
    await expect(pg.psql(`update transcode_jobs set status = 'queued2'`, 'legacy')).rejects.toThrow(/transcode_jobs_status_check/);
    // storage_path stays nullable while a legacy row lacks it; media_asset_id could become NOT NULL.
    expect(await pg.psql(`select table_name || '.' || column_name || ' ' || is_nullable from information_schema.columns
      where (table_name, column_name) in (('media_cleanup_jobs', 'storage_path'), ('transcode_jobs', 'media_asset_id')) order by 1`, 'legacy'))
      .toBe('media_cleanup_jobs.storage_path YES\ntranscode_jobs.media_asset_id NO');
    // Once the old row is fixed, applying again validates the constraint.
    await pg.psql(`update transcode_jobs set status = 'pending'`, 'legacy');
    await pg.applyMigration('legacy');
    expect(await pg.psql(`select convalidated from pg_constraint where conname = 'transcode_jobs_status_check'`, 'legacy')).toBe('t');
  }, LONG);
});
