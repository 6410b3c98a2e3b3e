// Throwaway PostgreSQL clusters for tests: the server binaries of /usr/lib/postgresql/<v>/bin
// on 127.0.0.1 and a free port, data in a temp directory that stop() removes. Start-up is
// fast: initdb runs once per PostgreSQL version and user (its data directory is kept under
// os.tmpdir() as a template) and every cluster starts from a `cp -a` of that template.
// As root, postgres (which refuses root) runs as the `postgres` user through setpriv.
// Free of jest imports.
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, readdir, readFile, rename, rm, stat, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from './servers.js';

const run = promisify(execFile);

/** The RugbyCodex tables (not a migration: see the file's header). */
export const RUGBYCODEX_TABLES_SQL = fileURLToPath(new URL('../../deploy/supabase/rugbycodex-tables.sql', import.meta.url));

export interface PostgresCluster {
  port: number;
  /** postgresql://postgres@127.0.0.1:<port>/postgres (trust authentication, no password). */
  connectionString: string;
  /** The same for another database of this cluster. */
  connectionStringFor(db: string): string;
  /** Runs SQL through psql (-At, fields separated by `|`); resolves to its trimmed output, rejects with psql's error. */
  psql(sql: string, db?: string): Promise<string>;
  /** Applies deploy/supabase/rugbycodex-tables.sql in one transaction (psql -1 -f); resolves to psql's stderr (NOTICEs). */
  applySchema(db?: string): Promise<string>;
  createDatabase(name: string): Promise<void>;
  /** Fast shutdown, then the data directory goes. Idempotent. */
  stop(): Promise<void>;
}

type Server = { bin: string; owner: string[] } | { skip: string };
let found: Server | undefined;

function findServer(): Server {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  const bin = versions.map((v) => join(root, v, 'bin')).find((dir) => ['initdb', 'postgres', 'psql'].every((exe) => existsSync(join(dir, exe))));
  if (!bin) return { skip: 'no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (bash build/ensure-system.sh postgresql-15)' };
  if (process.getuid?.() !== 0) return { bin, owner: [] };
  if (!existsSync('/usr/bin/setpriv')) return { skip: 'running as root and postgres refuses root: setpriv (util-linux) is needed to run it as the postgres user' };
  return { bin, owner: ['/usr/bin/setpriv', '--reuid=postgres', '--regid=postgres', '--init-groups'] };
}

function server(): Server {
  return (found ??= findServer());
}

/** Why startPostgres() cannot work here (no server binaries, …), or null when it can. */
export function postgresSkipReason(): string | null {
  const s = server();
  return 'skip' in s ? s.skip : null;
}

// The watchdog shell of test/helpers/servers.ts: when stdin closes (stop(), or the test
// process dying in any way) postgres gets a fast shutdown, so no cluster outlives the tests.
const WRAPPER = 'exec 3<&0; (read -r _ <&3; kill -INT $$ 2>/dev/null) & exec "$@" 3<&-';

const INITDB_ARGS = ['-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C'];

async function ownerIds(): Promise<{ uid: number; gid: number } | null> {
  if (process.getuid?.() !== 0) return null;
  const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
  const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
  return { uid, gid };
}

/** A new directory under `parent` that the cluster's user owns. */
async function ownedTempDir(parent: string, prefix: string, ids: { uid: number; gid: number } | null): Promise<string> {
  const dir = await mkdtemp(join(parent, prefix));
  if (ids) await chown(dir, ids.uid, ids.gid);
  return dir;
}

/**
 * Where clusters live: /dev/shm when it is a tmpfs with room (creating the cluster's ~1000
 * files there takes a tenth of the time it takes on a disk), else os.tmpdir().
 */
async function clusterParent(): Promise<string> {
  try {
    const fs = await statfs('/dev/shm');
    const TMPFS_MAGIC = 0x01021994;
    if (fs.type === TMPFS_MAGIC && fs.bavail * fs.bsize >= 512 * 1024 * 1024) return '/dev/shm';
  } catch {
    /* no /dev/shm */
  }
  return tmpdir();
}

/**
 * Removes what killed test processes left: cluster directories under `parent` whose postgres
 * is gone (the watchdog stopped it, so no postmaster.pid, or its pid is dead) and that are
 * more than a minute old (so a cluster being copied right now is safe). Best effort.
 */
async function sweepDeadClusters(parent: string): Promise<void> {
  const entries = await readdir(parent).catch(() => [] as string[]);
  await Promise.all(entries.filter((e) => e.startsWith('rugbyworker-pg-')).map(async (entry) => {
    const dir = join(parent, entry);
    try {
      if (Date.now() - (await stat(dir)).mtimeMs < 60_000) return;
      const pid = Number((await readFile(join(dir, 'data', 'postmaster.pid'), 'utf8').catch(() => '')).split('\n')[0]);
      if (pid > 0 && alive(pid)) return;
      await rm(dir, { recursive: true, force: true });
    } catch {
      /* someone else's, or gone already */
    }
  }));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const templates = new Map<string, Promise<string>>();

/**
 * The initdb'd data directory to copy, made once per PostgreSQL version, initdb options and
 * user: <tmpdir>/rugbyworker-pgdata-<version>-<user>/data. Made aside and renamed into place,
 * so concurrent test workers never see half of one (the loser of a race discards its own).
 */
function templateDataDir(bin: string, owner: string[], ids: { uid: number; gid: number } | null): Promise<string> {
  let made = templates.get(bin);
  if (!made) {
    made = makeTemplate(bin, owner, ids);
    made.catch(() => templates.delete(bin));
    templates.set(bin, made);
  }
  return made;
}

async function makeTemplate(bin: string, owner: string[], ids: { uid: number; gid: number } | null): Promise<string> {
  const version = /\d+(?:\.\d+)*/.exec((await run(join(bin, 'postgres'), ['--version'])).stdout)?.[0] ?? 'unknown';
  const user = ids ? 'postgres' : String(process.getuid?.() ?? 'user');
  const dir = join(tmpdir(), `rugbyworker-pgdata-${version}-${user}-v1`);
  const data = join(dir, 'data');
  const whole = (): boolean => existsSync(join(data, 'PG_VERSION')) && existsSync(join(data, 'global', 'pg_control'));
  if (whole()) return data;
  const aside = await ownedTempDir(tmpdir(), `rugbyworker-pgdata-${version}-new-`, ids);
  try {
    const [cmd = '', ...pre] = [...owner, join(bin, 'initdb')];
    await run(cmd, [...pre, '-D', join(aside, 'data'), ...INITDB_ARGS, '--no-sync']);
    // Once, so a template that outlives a crash of the machine is whole.
    await run(cmd, [...pre, '-D', join(aside, 'data'), '--sync-only']);
    // Never replace a whole template (another process may be copying it): only a broken one.
    if (!whole()) {
      await rm(dir, { recursive: true, force: true });
      await rename(aside, dir);
    }
  } catch (err) {
    if (!whole()) throw err; // else another process won the race
  } finally {
    await rm(aside, { recursive: true, force: true });
  }
  return data;
}

/** Starts a throwaway cluster; see the file's header. Throws where postgresSkipReason() says why. */
export async function startPostgres(): Promise<PostgresCluster> {
  const s = server();
  if ('skip' in s) throw new Error(`startPostgres: ${s.skip}`);
  const { bin, owner } = s;
  const ids = await ownerIds();
  const template = await templateDataDir(bin, owner, ids);
  const parent = await clusterParent();
  await sweepDeadClusters(parent);
  const dir = await ownedTempDir(parent, 'rugbyworker-pg-', ids);
  const data = join(dir, 'data');
  await run('cp', ['-a', template, data]);
  const port = await freePort();
  const args = [...owner, join(bin, 'postgres'), '-D', data, '-p', String(port), '-k', dir,
    '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'synchronous_commit=off',
    '-c', 'autovacuum=off',
    // As Supabase: timestamps render as UTC (+00:00) whatever the machine's zone; English messages (initdb --locale=C).
    '-c', 'TimeZone=UTC', '-c', 'log_timezone=UTC'];
  const child: ChildProcess = spawn('/bin/sh', ['-c', WRAPPER, 'postgres', ...args], { stdio: ['pipe', 'ignore', 'pipe'] });
  let log = '';
  let onLog: (() => void) | null = null;
  child.stderr?.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-8000);
    onLog?.();
  });
  child.stdin?.on('error', () => { /* EPIPE once the watchdog is gone */ });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopping: Promise<void> | null = null;

  const psqlArgs = (db: string): string[] => ['-X', '-q', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', db, '-v', 'ON_ERROR_STOP=1'];
  const connectionStringFor = (db: string): string => `postgresql://postgres@127.0.0.1:${port}/${encodeURIComponent(db)}`;
  const cluster: PostgresCluster = {
    port,
    connectionString: connectionStringFor('postgres'),
    connectionStringFor,
    async psql(sql, db = 'postgres') {
      return (await run(join(bin, 'psql'), [...psqlArgs(db), '-At', '-F', '|', '-c', sql])).stdout.trim();
    },
    async applySchema(db = 'postgres') {
      return (await run(join(bin, 'psql'), [...psqlArgs(db), '-1', '-f', RUGBYCODEX_TABLES_SQL])).stderr;
    },
    async createDatabase(name) {
      await cluster.psql(`create database "${name.replaceAll('"', '""')}"`);
    },
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.stdin?.end();
          await exited;
        }
        await rm(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };

  // Ready when postgres says so (it logs to stderr), or never: it exited, or 20 s passed.
  let timer: NodeJS.Timeout | undefined;
  const ready = await new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), 20_000);
    onLog = () => {
      if (log.includes('database system is ready to accept connections')) resolve(true);
    };
    onLog();
    void exited.then(() => resolve(false));
  });
  clearTimeout(timer);
  onLog = null;
  if (!ready) {
    await cluster.stop();
    throw new Error(`postgres did not start on port ${port}:\n${log}`);
  }
  return cluster;
}
