// A PostgREST stand-in on a real PostgreSQL: every request supabase-js sends to
// /rest/v1/<table> (GET/HEAD, PATCH, POST, DELETE; eq, neq, lt, lte, gt, gte, like, ilike,
// in, is, isdistinct filters and not.<op>; select with columns, aliases, casts and
// many-to-one embedding; order, limit, offset; Prefer return= and count=; upserts with
// on_conflict= and Prefer resolution=merge-duplicates|ignore-duplicates; Accept
// object+json) becomes the SQL PostgREST would run, on a database of its own holding
// deploy/supabase/rugbycodex-tables.sql. So an unknown column, a bad enum value, a fraction
// into an integer, a NULL into NOT NULL or a CHECK violation fails as it fails live, with
// PostgREST's HTTP status and error body ({code, details, hint, message}), and results are
// PostgreSQL's own JSON. It records every request so tests can assert the exact calls, can
// fail the next requests on demand, and answers anything it does not understand with a 400,
// so an unexpected request never passes.
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DatabaseError, Pool } from 'pg';
import type { PoolClient } from 'pg';
import { startPostgres } from './postgres.js';
import type { PostgresCluster } from './postgres.js';

export { postgresSkipReason } from './postgres.js';

export type Row = Record<string, unknown>;

export interface RecordedRequest {
  method: string;
  path: string;
  table: string;
  /** Query parameters; a parameter given twice becomes an array. */
  query: Record<string, string | string[]>;
  /** The headers tests care about, as sent (undefined when absent). */
  headers: { apikey?: string; authorization?: string; prefer?: string; accept?: string; contentType?: string };
  /** The parsed JSON body (the raw text when it is not JSON), or undefined without one. */
  body: unknown;
  /** Answered by an injected failure. */
  injected: boolean;
  /** The HTTP status answered (set once answered). */
  status?: number;
  /** Rows the statement returned or changed (set once executed). */
  rows?: number;
  /** When it came in (Date.now()). */
  at: number;
}

export interface InjectedFailure {
  status: number;
  message: string;
  code?: string;
  details?: string | null;
  hint?: string | null;
}

export interface PostgrestStandinOptions {
  /** When set, a request whose apikey differs is refused with 401, as Supabase does. */
  apiKey?: string;
  /** A cluster from startPostgres() to use (the stand-in makes a database of its own in it and drops it in stop()); without it the stand-in starts a cluster and stops it in stop(). */
  postgres?: PostgresCluster;
}

export interface PostgrestStandin {
  /** What to give createClient as SUPABASE_URL. */
  url: string;
  port: number;
  /** The PostgreSQL it runs on: another stand-in may share it (a database of its own). */
  readonly cluster: PostgresCluster;
  readonly requests: RecordedRequest[];
  /** Inserts rows, one statement each (so created_at follows the order given), only the keys given (so defaults apply), through json_populate_record: a bad seed fails as a bad insert would. */
  seed(table: string, ...rows: Row[]): Promise<void>;
  /** Every row of a table as PostgREST's JSON (timestamps as strings, numerics as numbers), ordered by created_at, id. */
  rows(table: string): Promise<Row[]>;
  row(table: string, id: string): Promise<Row | undefined>;
  /** Changes a row behind the client's back, as another client would (not recorded; throws when there is no such row). */
  update(table: string, id: string, patch: Row): Promise<void>;
  /** Raw SQL on the stand-in's database (node-postgres types: Date, numeric as string, …). */
  sql(text: string, params?: unknown[]): Promise<Row[]>;
  /** The next `count` requests get this failure instead of an answer (they are still recorded, not executed). */
  failNext(count: number, failure: InjectedFailure): void;
  /** Runs, and is awaited, after a request is recorded and before it is executed (to change rows under it, as another client would); null removes it. */
  onRequest(hook: ((req: RecordedRequest) => void | Promise<void>) | null): void;
  /** Runs, and is awaited, after a request was executed and before it is answered (another client acting right after it); null removes it. */
  onResponse(hook: ((req: RecordedRequest) => void | Promise<void>) | null): void;
  clearRequests(): void;
  /** Empty tables, no recorded requests, no pending failures, no hook: as just started. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

class RestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: string | null = null,
    readonly hint: string | null = null,
  ) {
    super(message);
  }
}

/** A request (or part of one) real PostgREST would take but this stand-in does not: refused loudly. */
function unsupported(what: string): RestError {
  return new RestError(400, 'PGRST100', `PostgREST stand-in does not support ${what}`, 'test/helpers/postgrest-standin.ts answers what it cannot do with 400, so an unexpected request never passes');
}

interface Table {
  columns: string[];
  /** The primary key's columns, in key order ([] without one): an upsert's target when on_conflict= is absent. */
  primaryKey: string[];
}

interface ForeignKey {
  name: string;
  table: string;
  columns: string[];
  refTable: string;
  refColumns: string[];
}

interface SchemaCache {
  tables: Map<string, Table>;
  fks: ForeignKey[];
}

let databases = 0;

export async function startPostgrestStandin(options: PostgrestStandinOptions = {}): Promise<PostgrestStandin> {
  const owned = options.postgres === undefined;
  const cluster = options.postgres ?? await startPostgres();
  const database = `standin_${process.pid}_${++databases}_${Math.random().toString(36).slice(2, 8)}`;
  let pool: Pool | undefined;
  let server: ReturnType<typeof createServer> | undefined;
  try {
    await cluster.createDatabase(database);
    await cluster.applySchema(database);
    pool = new Pool({ connectionString: cluster.connectionStringFor(database), max: 10, allowExitOnIdle: true });
    pool.on('error', () => { /* an idle client lost its connection: the next query says so */ });
    const standin = await serve(pool, options, database, cluster, owned);
    server = standin.server;
    return standin.api;
  } catch (err) {
    server?.close();
    await pool?.end().catch(() => undefined);
    if (owned) await cluster.stop();
    throw err;
  }
}

async function serve(pool: Pool, options: PostgrestStandinOptions, database: string, cluster: PostgresCluster, owned: boolean): Promise<{ server: ReturnType<typeof createServer>; api: PostgrestStandin }> {
  const requests: RecordedRequest[] = [];
  let failures: { left: number; failure: InjectedFailure } | null = null;
  let hook: ((req: RecordedRequest) => void | Promise<void>) | null = null;
  let afterHook: ((req: RecordedRequest) => void | Promise<void>) | null = null;
  let cache = await loadSchemaCache(pool);

  const table = async (name: string): Promise<Table> => {
    let found = cache.tables.get(name);
    if (!found) {
      cache = await loadSchemaCache(pool); // a test may have created it since
      found = cache.tables.get(name);
    }
    if (!found) throw new RestError(404, 'PGRST205', `Could not find the table 'public.${name}' in the schema cache`);
    return found;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://standin');
    const raw = await readBody(req);
    const recorded: RecordedRequest = {
      method: req.method ?? '',
      path: url.pathname,
      table: tableOf(url.pathname),
      query: queryObject(url.searchParams),
      headers: {
        apikey: header(req, 'apikey'),
        authorization: header(req, 'authorization'),
        prefer: header(req, 'prefer'),
        accept: header(req, 'accept'),
        contentType: header(req, 'content-type'),
      },
      body: raw === '' ? undefined : parseOr(raw),
      injected: false,
      at: Date.now(),
    };
    requests.push(recorded);
    const answer = (status: number, body: string | undefined, headers: Record<string, string> = {}): void => {
      recorded.status = status;
      send(res, status, body, headers);
    };
    try {
      await hook?.(recorded);
      if (failures && failures.left > 0) {
        const { failure } = failures;
        if (--failures.left === 0) failures = null;
        recorded.injected = true;
        throw new RestError(failure.status, failure.code ?? 'XX000', failure.message, failure.details ?? null, failure.hint ?? null);
      }
      if (options.apiKey !== undefined && recorded.headers.apikey !== options.apiKey) throw new RestError(401, 'PGRST301', 'Invalid API key');
      if (!recorded.table) throw new RestError(404, 'PGRST125', 'Invalid path specified in request URL');
      const result = await execute(recorded, url.searchParams, raw, req);
      recorded.rows = result.rows;
      await afterHook?.(recorded);
      answer(result.status, result.body, result.headers);
    } catch (err) {
      const e = toRestError(err);
      answer(e.status, JSON.stringify({ code: e.code, details: e.details, hint: e.hint, message: e.message }), { 'content-type': 'application/json; charset=utf-8' });
    }
  };

  const execute = async (r: RecordedRequest, params: URLSearchParams, raw: string, req: IncomingMessage): Promise<{ status: number; body: string | undefined; headers: Record<string, string>; rows: number }> => {
    const profile = header(req, r.method === 'GET' || r.method === 'HEAD' ? 'accept-profile' : 'content-profile');
    if (profile !== undefined && profile !== 'public') throw new RestError(406, 'PGRST106', `Invalid schema: ${profile}`, null, 'Only the following schemas are exposed: public');
    if (header(req, 'range') !== undefined) throw unsupported('the Range header (use limit and offset)');
    const singular = acceptsObject(r.headers.accept);
    const prefer = preferences(r.headers.prefer);
    const tbl = await table(r.table);
    const name = r.table;
    const sqlParams: unknown[] = [];
    const param = (value: unknown): string => `$${sqlParams.push(value)}`;
    const ref = quote(name);

    for (const key of params.keys()) {
      if (!FILTERLESS.has(key) && !(['GET', 'HEAD', 'PATCH', 'DELETE'].includes(r.method))) throw unsupported(`filters on ${r.method} (${key})`);
    }
    const where = filters(params, ref, param);
    const projection = project(parseSelect(params.get('select') ?? '*'), name, ref, cache);
    const tail = `SELECT count(*)::int AS n, coalesce(json_agg(_postgrest_t), '[]')::text AS body, (json_agg(_postgrest_t)->0)::text AS one
      FROM (SELECT ${projection.columns} FROM pgrst_source AS ${ref} ${projection.joins}) _postgrest_t`;

    let text: string;
    let countText: string | null = null;
    let status: number;
    const mutation = r.method !== 'GET' && r.method !== 'HEAD';
    switch (r.method) {
      case 'GET':
      case 'HEAD': {
        for (const key of ['columns', 'on_conflict']) if (params.has(key)) throw unsupported(`${key}= on ${r.method}`);
        const order = orderBy(params.get('order'), ref);
        const limit = integerParam(params, 'limit');
        const offset = integerParam(params, 'offset');
        text = `SELECT count(*)::int AS n, coalesce(json_agg(_postgrest_t), '[]')::text AS body, (json_agg(_postgrest_t)->0)::text AS one
          FROM (SELECT ${projection.columns} FROM public.${ref} ${projection.joins} ${whereSql(where)} ${order}
                ${limit === null ? '' : `LIMIT ${limit}`} ${offset === null ? '' : `OFFSET ${offset}`}) _postgrest_t`;
        if (prefer.count) countText = `SELECT count(*)::int AS n FROM public.${ref} ${whereSql(where)}`;
        status = 200;
        break;
      }
      case 'PATCH': {
        noPaging(params, r.method);
        const body = bodyObject(r.body, raw);
        const columns = params.has('columns') ? columnsParam(params.get('columns') ?? '') : Object.keys(body);
        for (const c of columns) if (!tbl.columns.includes(c)) throw new RestError(400, 'PGRST204', `Could not find the '${c}' column of '${name}' in the schema cache`);
        if (columns.length === 0) throw new RestError(400, 'PGRST102', 'Empty or invalid json');
        // Supabase loads pg-safeupdate for PostgREST's role: no mass updates by mistake.
        if (where.length === 0) throw new RestError(400, '21000', 'UPDATE requires a WHERE clause');
        const body$ = param(raw);
        text = `WITH pgrst_source AS (
            UPDATE public.${ref} SET ${columns.map((c) => `${quote(c)} = pgrst_body.${quote(c)}`).join(', ')}
            FROM (SELECT * FROM json_populate_record(null::public.${ref}, ${body$}::json)) AS pgrst_body
            ${whereSql(where)}
            RETURNING ${ref}.*)
          ${tail}`;
        status = 200;
        break;
      }
      case 'POST': {
        noPaging(params, r.method);
        if (prefer.missingDefault) throw unsupported('Prefer: missing=default');
        // PostgREST reads on_conflict= only with a resolution preference (Plan.hs); supabase-js always sends both.
        if (params.has('on_conflict') && prefer.resolution === null) throw unsupported('on_conflict= without Prefer: resolution=');
        const rows = bodyRows(r.body, raw);
        const columns = params.has('columns') ? columnsParam(params.get('columns') ?? '') : [...new Set(rows.flatMap((row) => Object.keys(row)))];
        for (const c of columns) if (!tbl.columns.includes(c)) throw new RestError(400, 'PGRST204', `Could not find the '${c}' column of '${name}' in the schema cache`);
        const list = columns.map(quote).join(', ');
        const body$ = param(Array.isArray(r.body) ? raw : `[${raw}]`);
        text = `WITH pgrst_source AS (
            INSERT INTO public.${ref} ${columns.length ? `(${list})` : ''}
            SELECT ${list} FROM json_populate_recordset(null::public.${ref}, ${body$}::json) _
            ${onConflict(prefer.resolution, params.has('on_conflict') ? columnsParam(params.get('on_conflict') ?? '') : tbl.primaryKey, columns)}
            RETURNING ${ref}.*)
          ${tail}`;
        status = 201;
        break;
      }
      case 'DELETE': {
        noPaging(params, r.method);
        if (raw !== '') throw unsupported('a body on DELETE');
        if (where.length === 0) throw new RestError(400, '21000', 'DELETE requires a WHERE clause');
        text = `WITH pgrst_source AS (DELETE FROM public.${ref} ${whereSql(where)} RETURNING ${ref}.*) ${tail}`;
        status = 200;
        break;
      }
      case 'PUT':
      case 'OPTIONS':
        throw unsupported(`${r.method} requests`);
      default:
        throw new RestError(405, 'PGRST117', `Unsupported HTTP method: ${r.method}`);
    }

    const { n, body, one, total } = await transaction(pool, !mutation, async (client) => {
      const result = (await client.query<{ n: number; body: string; one: string | null }>(text, sqlParams)).rows[0];
      if (!result) throw new Error('no result row');
      const count = countText === null ? null : (await client.query<{ n: number }>(countText, sqlParams)).rows[0]?.n ?? null;
      // A singular request that does not find exactly one row changes nothing (PostgREST rolls back).
      if (singular && result.n !== 1) throw new RestError(406, 'PGRST116', 'Cannot coerce the result to a single JSON object', `The result contains ${result.n} rows`);
      return { ...result, total: count ?? (mutation && prefer.count ? result.n : null) };
    });
    const offset = integerParam(params, 'offset') ?? 0;
    const headers: Record<string, string> = {
      'content-range': `${n > 0 ? `${offset}-${offset + n - 1}` : '*'}/${total ?? '*'}`,
    };
    const contentType = singular ? 'application/vnd.pgrst.object+json; charset=utf-8' : 'application/json; charset=utf-8';
    if (mutation && prefer.return !== 'representation') return { status: status === 201 ? 201 : 204, body: undefined, headers, rows: n };
    headers['content-type'] = contentType;
    if (r.method === 'HEAD') return { status, body: undefined, headers, rows: n };
    return { status, body: singular ? one ?? 'null' : body, headers, rows: n };
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, JSON.stringify({ code: 'XX000', details: null, hint: null, message: `stand-in bug: ${String(err)}` }), { 'content-type': 'application/json; charset=utf-8' });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let stopping: Promise<void> | null = null;

  const known = async (name: string): Promise<Table> => {
    try {
      return await table(name);
    } catch {
      throw new Error(`stand-in: no table public.${name}`);
    }
  };

  const api: PostgrestStandin = {
    url: `http://127.0.0.1:${port}`,
    port,
    cluster,
    requests,
    async seed(name, ...rows) {
      await known(name);
      for (const row of rows) {
        const columns = Object.keys(row).map(quote).join(', ');
        const sql = columns === ''
          ? `INSERT INTO public.${quote(name)} DEFAULT VALUES`
          : `INSERT INTO public.${quote(name)} (${columns}) SELECT ${columns} FROM json_populate_record(null::public.${quote(name)}, $1::json)`;
        try {
          await pool.query(sql, columns === '' ? [] : [JSON.stringify(row)]);
        } catch (err) {
          throw new Error(`stand-in seed of ${name} ${JSON.stringify(row)}: ${describe(err)}`, { cause: err });
        }
      }
    },
    async rows(name) {
      const { columns } = await known(name);
      const order = ['created_at', 'id'].filter((c) => columns.includes(c)).map((c) => `t.${quote(c)}`).join(', ');
      const { rows } = await pool.query<{ body: string }>(`SELECT coalesce(json_agg(t ${order ? `ORDER BY ${order}` : ''}), '[]')::text AS body FROM public.${quote(name)} t`);
      return JSON.parse(rows[0]?.body ?? '[]') as Row[];
    },
    async row(name, id) {
      await known(name);
      const { rows } = await pool.query<{ body: string }>(`SELECT row_to_json(t)::text AS body FROM public.${quote(name)} t WHERE t.id = $1`, [id]);
      return rows[0] ? JSON.parse(rows[0].body) as Row : undefined;
    },
    async update(name, id, patch) {
      await known(name);
      const keys = Object.keys(patch);
      const sql = keys.length === 0
        ? `SELECT 1 FROM public.${quote(name)} t WHERE t.id = $1`
        : `UPDATE public.${quote(name)} t SET ${keys.map((k) => `${quote(k)} = b.${quote(k)}`).join(', ')}
           FROM json_populate_record(null::public.${quote(name)}, $2::json) b WHERE t.id = $1`;
      let count: number | null;
      try {
        count = (await pool.query(sql, keys.length === 0 ? [id] : [id, JSON.stringify(patch)])).rowCount;
      } catch (err) {
        throw new Error(`stand-in update of ${name} ${id} ${JSON.stringify(patch)}: ${describe(err)}`, { cause: err });
      }
      if (!count) throw new Error(`stand-in: no ${name} row ${id}`);
    },
    async sql(text, params) {
      return (await pool.query(text, params)).rows as Row[];
    },
    failNext(count, failure) {
      failures = count > 0 ? { left: count, failure } : null;
    },
    onRequest(fn) {
      hook = fn;
    },
    onResponse(fn) {
      afterHook = fn;
    },
    clearRequests() {
      requests.length = 0;
    },
    async reset() {
      cache = await loadSchemaCache(pool);
      const tables = [...cache.tables.keys()].map((t) => `public.${quote(t)}`);
      if (tables.length) await pool.query(`TRUNCATE ${tables.join(', ')} RESTART IDENTITY CASCADE`);
      requests.length = 0;
      failures = null;
      hook = null;
      afterHook = null;
    },
    stop() {
      stopping ??= (async () => {
        await new Promise<void>((resolve, reject) => {
          server.close((err) => (err ? reject(err) : resolve()));
          server.closeAllConnections(); // supabase-js keeps sockets alive
        });
        await pool.end();
        if (owned) await cluster.stop();
        else await cluster.psql(`DROP DATABASE IF EXISTS ${quote(database)} WITH (FORCE)`);
      })();
      return stopping;
    },
  };
  return { server, api };
}

// ---------------------------------------------------------------------------------------
// The schema cache: tables, their columns, and foreign keys (for embedding), as PostgREST
// reads them from the catalogs.

async function loadSchemaCache(pool: Pool): Promise<SchemaCache> {
  const tables = await pool.query<{ name: string; columns: string[]; primary_key: string[] }>(`
    SELECT c.relname AS name,
           coalesce(json_agg(a.attname ORDER BY a.attnum) FILTER (WHERE a.attnum IS NOT NULL), '[]') AS columns,
           coalesce((SELECT json_agg(pa.attname ORDER BY k.i)
                       FROM pg_constraint pk, unnest(pk.conkey) WITH ORDINALITY k(n, i)
                       JOIN pg_attribute pa ON pa.attrelid = c.oid AND pa.attnum = k.n
                      WHERE pk.conrelid = c.oid AND pk.contype = 'p'), '[]') AS primary_key
      FROM pg_class c
      LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
     GROUP BY c.oid, c.relname`);
  const fks = await pool.query<ForeignKey>(`
    SELECT con.conname AS name, src.relname AS "table", dst.relname AS "refTable",
           (SELECT json_agg(a.attname ORDER BY k.i) FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
              JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n) AS columns,
           (SELECT json_agg(a.attname ORDER BY k.i) FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
              JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n) AS "refColumns"
      FROM pg_constraint con
      JOIN pg_class src ON src.oid = con.conrelid
      JOIN pg_class dst ON dst.oid = con.confrelid
     WHERE con.contype = 'f' AND src.relnamespace = 'public'::regnamespace AND dst.relnamespace = 'public'::regnamespace`);
  return {
    tables: new Map(tables.rows.map((t) => [t.name, { columns: t.columns, primaryKey: t.primary_key }])),
    fks: fks.rows,
  };
}

// ---------------------------------------------------------------------------------------
// select=: columns, `alias:column`, `column::type`, `*`, and embedded resources
// `[alias:]relation[!hint][!inner|!left](select)`.

type SelectItem =
  | { kind: 'star' }
  | { kind: 'column'; name: string; alias: string | null; cast: string | null }
  | { kind: 'embed'; name: string; alias: string | null; hints: string[]; items: SelectItem[] };

function parseSelect(text: string): SelectItem[] {
  let pos = 0;
  const fail = (why: string): RestError => new RestError(400, 'PGRST100', `"failed to parse select parameter (${text})" (line 1, column ${pos + 1})`, why);
  const peek = (): string => text[pos] ?? '';
  const skipSpaces = (): void => {
    while (peek() === ' ') pos++;
  };
  const token = (stops: string): string => {
    skipSpaces();
    if (peek() === '"') {
      let out = '';
      pos++;
      for (;;) {
        if (pos >= text.length) throw fail('unterminated quoted identifier');
        const ch = text[pos++] ?? '';
        if (ch === '"') break;
        if (ch === '\\' && pos < text.length) out += text[pos++];
        else out += ch;
      }
      skipSpaces();
      return out;
    }
    const start = pos;
    while (pos < text.length && !stops.includes(peek())) pos++;
    return text.slice(start, pos).trim();
  };
  const list = (depth: number): SelectItem[] => {
    const items: SelectItem[] = [];
    for (;;) {
      items.push(item());
      skipSpaces();
      if (peek() === ',') {
        pos++;
        continue;
      }
      if (peek() === ')' && depth > 0) return items;
      if (pos >= text.length && depth === 0) return items;
      throw fail(`unexpected "${peek() || 'end of input'}"`);
    }
  };
  const item = (): SelectItem => {
    skipSpaces();
    if (peek() === '*') {
      pos++;
      return { kind: 'star' };
    }
    if (text.startsWith('...', pos)) throw unsupported(`spread embedding in select=${text}`);
    let name = token(',():!');
    let alias: string | null = null;
    if (peek() === ':' && text[pos + 1] !== ':') {
      pos++;
      alias = name;
      name = token(',():!');
    }
    if (name === '') throw fail('expected a column or relation name');
    if (name.includes('->')) throw unsupported(`JSON paths in select=${text}`);
    if (name.includes('.')) throw unsupported(`aggregates in select=${text}`);
    let cast: string | null = null;
    if (text.startsWith('::', pos)) {
      pos += 2;
      cast = token(',()');
      if (!/^[A-Za-z_][A-Za-z0-9_ ]*(\[\])?$/.test(cast)) throw fail(`bad cast type "${cast}"`);
    }
    const hints: string[] = [];
    while (peek() === '!') {
      pos++;
      hints.push(token(',():!'));
    }
    if (peek() === '(') {
      if (cast !== null) throw fail('a cast on an embedded resource');
      pos++;
      skipSpaces();
      if (peek() === ')') throw unsupported(`embedding without columns (${name}()) in select=${text}`);
      const items = list(1);
      pos++; // ')'
      return { kind: 'embed', name, alias, hints, items };
    }
    if (hints.length > 0) throw fail(`"!" after a column (${name})`);
    return { kind: 'column', name, alias, cast };
  };
  if (text.trim() === '') return [{ kind: 'star' }];
  return list(0);
}

/** The SELECT list and LATERAL joins for `items` over the relation named `ref` (a quoted name) of table `table`. */
function project(items: SelectItem[], table: string, ref: string, cache: SchemaCache, counter = { n: 0 }): { columns: string; joins: string } {
  const columns: string[] = [];
  const joins: string[] = [];
  for (const item of items) {
    if (item.kind === 'star') {
      columns.push(`${ref}.*`);
    } else if (item.kind === 'column') {
      const col = `${ref}.${quote(item.name)}`;
      columns.push(`${item.cast ? `CAST(${col} AS ${item.cast})` : col}${item.alias !== null || item.cast ? ` AS ${quote(item.alias ?? item.name)}` : ''}`);
    } else {
      const fk = relationship(table, item, cache);
      const childRef = quote(`${fk.refTable}_${++counter.n}`);
      const joinAlias = quote(`${unquote(ref)}_${fk.refTable}_${counter.n}`);
      const inner = project(item.items, fk.refTable, childRef, cache, counter);
      const on = fk.columns.map((c, i) => `${childRef}.${quote(fk.refColumns[i] ?? '')} = ${ref}.${quote(c)}`).join(' AND ');
      const joinType = item.hints.includes('inner') ? 'INNER' : 'LEFT';
      joins.push(`${joinType} JOIN LATERAL (SELECT ${inner.columns} FROM public.${quote(fk.refTable)} AS ${childRef} ${inner.joins} WHERE ${on}) AS ${joinAlias} ON TRUE`);
      columns.push(`row_to_json(${joinAlias}.*)::jsonb AS ${quote(item.alias ?? item.name)}`);
    }
  }
  return { columns: columns.join(', '), joins: joins.join(' ') };
}

/** The many-to-one foreign key `item` embeds through, found as PostgREST finds it: by target table or by FK column, narrowed by a `!hint`. */
function relationship(table: string, item: Extract<SelectItem, { kind: 'embed' }>, cache: SchemaCache): ForeignKey {
  const hint = item.hints.find((h) => h !== 'inner' && h !== 'left') ?? null;
  const matches = (fk: ForeignKey, hintValue: string | null): boolean => hintValue === null || fk.name === hintValue || (fk.columns.length === 1 && fk.columns[0] === hintValue) || fk.refTable === hintValue;
  const manyToOne = cache.fks.filter((fk) => fk.table === table
    && (fk.refTable === item.name || (fk.columns.length === 1 && fk.columns[0] === item.name))
    && matches(fk, hint));
  if (manyToOne.length === 1) return manyToOne[0] as ForeignKey;
  if (manyToOne.length > 1) {
    throw new RestError(300, 'PGRST201', `Could not embed because more than one relationship was found for '${table}' and '${item.name}'`, null,
      `Try changing '${item.name}' to one of the following: ${manyToOne.map((fk) => `'${item.name}!${fk.name}'`).join(', ')}.`);
  }
  if (cache.fks.some((fk) => fk.refTable === table && fk.table === item.name)) throw unsupported(`one-to-many embedding (${table} → ${item.name})`);
  throw new RestError(400, 'PGRST200', `Could not find a relationship between '${table}' and '${item.name}' in the schema cache`,
    `Searched for a foreign key relationship between '${table}' and '${item.name}'${hint === null ? '' : ` using the hint '${hint}'`} in the schema 'public', but no matches were found.`);
}

// ---------------------------------------------------------------------------------------
// Horizontal filters: `column=[not.]op.value`, the value always a parameter that
// PostgreSQL casts to the column's type (so a bad value fails as it fails live).

const FILTERLESS = new Set(['select', 'order', 'limit', 'offset', 'columns', 'on_conflict']);

function filters(params: URLSearchParams, ref: string, param: (value: unknown) => string): string[] {
  const out: string[] = [];
  for (const [key, expr] of params) {
    if (FILTERLESS.has(key)) continue;
    if (key === 'or' || key === 'and' || key === 'not.or' || key === 'not.and') throw unsupported(`logical filters (${key}=${expr})`);
    if (key.includes('.')) throw unsupported(`filters on embedded resources (${key}=${expr})`);
    if (key.includes('->')) throw unsupported(`filters on JSON paths (${key}=${expr})`);
    const fail = (why: string): RestError => new RestError(400, 'PGRST100', `"failed to parse filter (${expr})" (line 1, column 1)`, why);
    let rest = expr;
    let negate = false;
    if (rest.startsWith('not.')) {
      negate = true;
      rest = rest.slice(4);
    }
    const dot = rest.indexOf('.');
    if (dot < 0) throw fail('expected <operator>.<value>');
    const op = rest.slice(0, dot);
    const operand = rest.slice(dot + 1);
    const col = `${ref}.${quote(key)}`;
    let sql: string;
    switch (op) {
      case 'eq': sql = `${col} = ${param(operand)}`; break;
      case 'neq': sql = `${col} <> ${param(operand)}`; break;
      case 'lt': sql = `${col} < ${param(operand)}`; break;
      case 'lte': sql = `${col} <= ${param(operand)}`; break;
      case 'gt': sql = `${col} > ${param(operand)}`; break;
      case 'gte': sql = `${col} >= ${param(operand)}`; break;
      case 'like': sql = `${col} LIKE ${param(operand.replaceAll('*', '%'))}`; break;
      case 'ilike': sql = `${col} ILIKE ${param(operand.replaceAll('*', '%'))}`; break;
      case 'isdistinct': sql = `${col} IS DISTINCT FROM ${param(operand)}`; break;
      case 'in': sql = `${col} = ANY(${param(inList(operand, fail))})`; break;
      case 'is': {
        const value = { null: 'NULL', not_null: 'NOT NULL', true: 'TRUE', false: 'FALSE', unknown: 'UNKNOWN' }[operand.toLowerCase()];
        if (value === undefined) throw fail(`unexpected "${operand}" expecting null, not_null, true, false or unknown`);
        sql = `${col} IS ${value}`;
        break;
      }
      default:
        throw unsupported(`the filter operator "${op}" (${key}=${expr})`);
    }
    out.push(negate ? `NOT (${sql})` : sql);
  }
  return out;
}

/** `(a,b,"c,d")` → ['a', 'b', 'c,d'] (double quotes keep commas and parentheses; backslash escapes). */
function inList(operand: string, fail: (why: string) => RestError): string[] {
  if (!operand.startsWith('(') || !operand.endsWith(')')) throw fail('expected in.(value,…)');
  const body = operand.slice(1, -1);
  const items: string[] = [];
  if (body === '') return items;
  let pos = 0;
  for (;;) {
    let value = '';
    if (body[pos] === '"') {
      pos++;
      while (pos < body.length && body[pos] !== '"') {
        if (body[pos] === '\\') pos++;
        value += body[pos++] ?? '';
      }
      if (body[pos] !== '"') throw fail('unterminated quoted value');
      pos++;
    } else {
      while (pos < body.length && body[pos] !== ',') value += body[pos++];
    }
    items.push(value);
    if (pos >= body.length) return items;
    if (body[pos] !== ',') throw fail(`unexpected "${body[pos]}" in the in.() list`);
    pos++;
  }
}

/**
 * PostgREST's upsert clause (QueryBuilder.hs): ON CONFLICT on the target columns, then DO
 * UPDATE SET only the columns sent (DO NOTHING for ignore-duplicates, or when none were
 * sent); nothing without a resolution or a target. PostgreSQL itself refuses a target
 * that no unique constraint covers (42P10) or a column that does not exist (42703).
 */
function onConflict(resolution: Preferences['resolution'], target: string[], columns: string[]): string {
  if (resolution === null || target.length === 0) return '';
  const action = resolution === 'ignore' || columns.length === 0
    ? 'DO NOTHING'
    : `DO UPDATE SET ${columns.map((c) => `${quote(c)} = EXCLUDED.${quote(c)}`).join(', ')}`;
  return `ON CONFLICT (${target.map(quote).join(', ')}) ${action}`;
}

function whereSql(where: string[]): string {
  return where.length ? `WHERE ${where.join(' AND ')}` : '';
}

function orderBy(order: string | null, ref: string): string {
  if (order === null || order === '') return '';
  const terms = order.split(',').map((term) => {
    if (term.includes('(')) throw unsupported(`ordering by embedded resources (order=${order})`);
    if (term.includes('->')) throw unsupported(`ordering by JSON paths (order=${order})`);
    const [column = '', ...mods] = term.split('.');
    let dir = '';
    let nulls = '';
    for (const mod of mods) {
      if (mod === 'asc' || mod === 'desc') dir = ` ${mod.toUpperCase()}`;
      else if (mod === 'nullsfirst') nulls = ' NULLS FIRST';
      else if (mod === 'nullslast') nulls = ' NULLS LAST';
      else throw new RestError(400, 'PGRST100', `"failed to parse order (${order})" (line 1, column 1)`, `unexpected "${mod}" expecting asc, desc, nullsfirst or nullslast`);
    }
    return `${ref}.${quote(column)}${dir}${nulls}`;
  });
  return `ORDER BY ${terms.join(', ')}`;
}

function integerParam(params: URLSearchParams, name: 'limit' | 'offset'): number | null {
  const value = params.get(name);
  if (value === null) return null;
  if (!/^\d+$/.test(value)) throw new RestError(400, 'PGRST100', `"failed to parse ${name} parameter (${value})" (line 1, column 1)`, 'expected a non-negative integer');
  return Number(value);
}

function noPaging(params: URLSearchParams, method: string): void {
  for (const key of ['order', 'limit', 'offset']) if (params.has(key)) throw unsupported(`${key}= on ${method}`);
}

function columnsParam(value: string): string[] {
  return value.split(',').map((c) => c.trim().replace(/^"(.*)"$/, '$1')).filter((c) => c !== '');
}

// ---------------------------------------------------------------------------------------
// Headers and bodies.

interface Preferences {
  return: 'representation' | 'minimal' | 'headers-only' | null;
  count: boolean;
  missingDefault: boolean;
  /** Prefer: resolution=merge-duplicates | ignore-duplicates (an upsert); null without one. */
  resolution: 'merge' | 'ignore' | null;
}

function preferences(prefer: string | undefined): Preferences {
  const out: Preferences = { return: null, count: false, missingDefault: false, resolution: null };
  for (const item of (prefer ?? '').split(',').map((p) => p.trim()).filter(Boolean)) {
    const [key = '', value = ''] = item.split('=').map((s) => s.trim());
    if (key === 'return' && (value === 'representation' || value === 'minimal' || value === 'headers-only')) out.return = value;
    else if (key === 'count') out.count = true; // exact, planned and estimated all count exactly here
    else if (key === 'missing' && value === 'default') out.missingDefault = true;
    else if (key === 'resolution' && (value === 'merge-duplicates' || value === 'ignore-duplicates')) out.resolution = value === 'merge-duplicates' ? 'merge' : 'ignore';
    else if (key === 'handling' && value === 'strict') throw unsupported('Prefer: handling=strict');
    else if (key === 'max-affected') throw unsupported('Prefer: max-affected');
    // Anything else (tx=, timezone=, params=, handling=lenient) PostgREST ignores by default, and so does the stand-in.
  }
  return out;
}

/** True for `application/vnd.pgrst.object+json`; refuses media types neither PostgREST's JSON nor understood here. */
function acceptsObject(accept: string | undefined): boolean {
  const types = (accept ?? '*/*').split(',').map((t) => t.trim()).filter(Boolean);
  let array = false;
  for (const full of types) {
    const [type = '', ...params] = full.split(';').map((s) => s.trim());
    if (params.some((p) => p.startsWith('nulls='))) throw unsupported(`Accept: ${full}`);
    if (type === 'application/vnd.pgrst.object+json' || type === 'application/vnd.pgrst.object') return true;
    if (type === 'application/json' || type === '*/*' || type === 'application/*') array = true;
  }
  if (!array) throw new RestError(406, 'PGRST107', `None of these media types are available: ${types.join(', ')}`);
  return false;
}

function bodyObject(body: unknown, raw: string): Row {
  if (raw === '' || body === null || typeof body !== 'object' || Array.isArray(body) || typeof body === 'string') throw new RestError(400, 'PGRST102', 'Empty or invalid json');
  return body as Row;
}

function bodyRows(body: unknown, raw: string): Row[] {
  if (Array.isArray(body)) {
    for (const item of body) bodyObject(item, raw);
    return body as Row[];
  }
  return [bodyObject(body, raw)];
}

function parseOr(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** The table of /rest/v1/<table>, or '' for any other path. */
function tableOf(path: string): string {
  const name = /^\/rest\/v1\/([^/]+)$/.exec(path)?.[1] ?? '';
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, body: string | undefined, headers: Record<string, string>): void {
  if (body === undefined) {
    res.writeHead(status, headers).end();
    return;
  }
  res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(body)) }).end(body);
}

function queryObject(params: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of params) {
    const prev = out[key];
    out[key] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// SQL and PostgreSQL errors.

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

function unquote(quoted: string): string {
  return quoted.slice(1, -1).replaceAll('""', '"');
}

async function transaction<T>(pool: Pool, readOnly: boolean, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query(readOnly ? 'BEGIN READ ONLY' : 'BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch((rollbackError: unknown) => {
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    });
    throw err;
  } finally {
    client.release(broken);
  }
}

function toRestError(err: unknown): RestError {
  if (err instanceof RestError) return err;
  if (err instanceof DatabaseError && err.code) {
    return new RestError(pgErrorStatus(err.code, err.message), err.code, err.message, err.detail ?? null, err.hint ?? null);
  }
  return new RestError(500, 'XX000', `stand-in bug: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
}

/** PostgREST's mapping of SQLSTATE to HTTP status (mapSQLtoHTTP in src/PostgREST/Error.hs; the service role key counts as authenticated). */
function pgErrorStatus(code: string, message = ''): number {
  const exact: Record<string, number> = {
    '23503': 409, '23505': 409, '25006': 405, '53400': 500, '57P01': 503, 'P0001': 400,
    '42P01': 404, '42P17': 500, '42501': 403,
  };
  if (code === '21000') return message.endsWith('requires a WHERE clause') ? 400 : 500;
  if (code === '22023') return message.startsWith('role') && message.endsWith('does not exist') ? 401 : 400;
  if (code === '42883') return message.startsWith('function xmlagg(') ? 406 : 404;
  const known = exact[code];
  if (known !== undefined) return known;
  const prefixes: Array<[string, number]> = [
    ['08', 503], ['09', 500], ['0L', 403], ['0P', 403], ['25', 500], ['28', 403], ['2D', 500], ['38', 500], ['39', 500],
    ['3B', 500], ['40', 500], ['53', 503], ['54', 500], ['55', 500], ['57', 500], ['58', 500], ['F0', 500], ['HV', 500],
    ['P0', 500], ['XX', 500],
  ];
  return prefixes.find(([prefix]) => code.startsWith(prefix))?.[1] ?? 400;
}

function describe(err: unknown): string {
  if (err instanceof DatabaseError) return `${err.code ?? ''} ${err.message}${err.detail ? ` (${err.detail})` : ''}`;
  return err instanceof Error ? err.message : String(err);
}
