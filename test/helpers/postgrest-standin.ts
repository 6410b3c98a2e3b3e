// A PostgREST stand-in for the subset supabase-js sends (GET/PATCH/POST on
// /rest/v1/<table>; eq, neq, lt, lte, gt, gte, in, is filters; select, order, limit;
// Prefer: return=representation), with tables in memory. It records every request so
// tests can assert the exact calls, can fail the next requests on demand, and answers
// anything it does not understand with a 400 so an unexpected request never passes.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Row = Record<string, unknown>;

export interface RecordedRequest {
  method: string;
  path: string;
  table: string;
  /** Query parameters; a parameter given twice becomes an array. */
  query: Record<string, string | string[]>;
  /** The headers tests care about, as sent (undefined when absent). */
  headers: { apikey?: string; authorization?: string; prefer?: string; accept?: string; contentType?: string };
  /** The parsed JSON body, or undefined without one. */
  body: unknown;
  /** Answered by an injected failure. */
  injected: boolean;
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
  /** Columns of each table: unknown tables and columns are refused as PostgREST refuses them. Without it, anything goes. */
  schema?: Readonly<Record<string, readonly string[]>>;
  /** PATCH sets updated_at (where the table has it) as the migration's trigger does. Default true. */
  touchUpdatedAt?: boolean;
}

export interface PostgrestStandin {
  /** What to give createClient as SUPABASE_URL. */
  url: string;
  port: number;
  readonly requests: RecordedRequest[];
  /** Adds rows (copies) to a table. */
  seed(table: string, ...rows: Row[]): void;
  /** Copies of a table's rows, in insertion order. */
  rows(table: string): Row[];
  row(table: string, id: string): Row | undefined;
  /** Changes a row behind the client's back, as another client would (no trigger, no log). */
  update(table: string, id: string, patch: Row): void;
  /** The next `count` requests get this failure instead of an answer (they are still recorded). */
  failNext(count: number, failure: InjectedFailure): void;
  /** Runs after a request is recorded and before it is answered (to change rows under it, as another client would); null removes it. */
  onRequest(hook: ((req: RecordedRequest) => void) | null): void;
  clearRequests(): void;
  /** Empty tables, no recorded requests, no pending failures, no hook: as just started. */
  reset(): void;
  stop(): Promise<void>;
}

class RestError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly details: string | null = null) {
    super(message);
  }
}

const RESERVED = new Set(['select', 'order', 'limit', 'offset', 'columns', 'on_conflict']);

export async function startPostgrestStandin(options: PostgrestStandinOptions = {}): Promise<PostgrestStandin> {
  const tables = new Map<string, Row[]>();
  const requests: RecordedRequest[] = [];
  let failures: { left: number; failure: InjectedFailure } | null = null;
  let hook: ((req: RecordedRequest) => void) | null = null;
  const touchUpdatedAt = options.touchUpdatedAt ?? true;

  const tableRows = (name: string): Row[] => {
    let list = tables.get(name);
    if (!list) tables.set(name, (list = []));
    return list;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://standin');
    const raw = await readBody(req);
    const recorded: RecordedRequest = {
      method: req.method ?? '',
      path: url.pathname,
      table: /^\/rest\/v1\/([^/]+)$/.exec(url.pathname)?.[1] ?? '',
      query: queryObject(url.searchParams),
      headers: {
        apikey: header(req, 'apikey'),
        authorization: header(req, 'authorization'),
        prefer: header(req, 'prefer'),
        accept: header(req, 'accept'),
        contentType: header(req, 'content-type'),
      },
      body: raw === '' ? undefined : safeJson(raw),
      injected: false,
    };
    requests.push(recorded);
    hook?.(recorded);
    try {
      if (failures && failures.left > 0) {
        const { failure } = failures;
        if (--failures.left === 0) failures = null;
        recorded.injected = true;
        throw new RestError(failure.status, failure.code ?? 'XX000', failure.message, failure.details ?? null);
      }
      if (options.apiKey !== undefined && recorded.headers.apikey !== options.apiKey) throw new RestError(401, 'PGRST301', 'Invalid API key');
      if (!recorded.table) throw new RestError(404, 'PGRST125', `Invalid path specified in request URL: ${url.pathname}`);
      const columns = options.schema ? options.schema[recorded.table] : undefined;
      if (options.schema && !columns) throw new RestError(404, 'PGRST205', `Could not find the table 'public.${recorded.table}' in the schema cache`);
      const answer = execute(recorded, url.searchParams, tableRows(recorded.table), columns);
      const wantsRows = (recorded.headers.prefer ?? '').split(/\s*,\s*/).includes('return=representation');
      if (!wantsRows && recorded.method !== 'GET') return send(res, answer.status === 200 ? 204 : answer.status, undefined);
      if (recorded.headers.accept?.startsWith('application/vnd.pgrst.object+json')) {
        if (answer.rows.length !== 1) throw new RestError(406, 'PGRST116', 'Cannot coerce the result to a single JSON object', `The result contains ${answer.rows.length} rows`);
        return send(res, answer.status, answer.rows[0]);
      }
      send(res, answer.status, answer.rows);
    } catch (err) {
      if (!(err instanceof RestError)) throw err;
      send(res, err.status, { code: err.code, details: err.details, hint: null, message: err.message });
    }
  };

  const execute = (r: RecordedRequest, params: URLSearchParams, list: Row[], columns: readonly string[] | undefined): { status: number; rows: Row[] } => {
    const select = params.get('select');
    const checkColumn = (name: string): void => {
      if (columns && !columns.includes(name)) throw new RestError(400, '42703', `column ${r.table}.${name} does not exist`);
    };
    const filter = parseFilters(params, checkColumn);
    const project = (row: Row): Row => projectRow(row, select, checkColumn);
    switch (r.method) {
      case 'GET': {
        let found = list.filter(filter);
        found = sortRows(found, params.get('order'), checkColumn);
        const offset = Number(params.get('offset') ?? 0);
        const limit = params.has('limit') ? Number(params.get('limit')) : Infinity;
        return { status: 200, rows: found.slice(offset, offset + limit).map(project) };
      }
      case 'PATCH': {
        const patch = bodyObject(r.body);
        for (const key of Object.keys(patch)) {
          if (columns && !columns.includes(key)) throw new RestError(400, 'PGRST204', `Could not find the '${key}' column of '${r.table}' in the schema cache`);
        }
        if (Object.keys(patch).length === 0) throw new RestError(400, 'PGRST102', 'Empty or invalid json');
        const changed = list.filter(filter);
        const at = new Date().toISOString();
        for (const row of changed) {
          Object.assign(row, structuredClone(patch));
          if (touchUpdatedAt && (columns ? columns.includes('updated_at') : 'updated_at' in row)) row.updated_at = at;
        }
        return { status: 200, rows: changed.map(project) };
      }
      case 'POST': {
        const inserted = (Array.isArray(r.body) ? r.body : [bodyObject(r.body)]).map((item) => {
          const row = { ...bodyObject(item) };
          for (const key of Object.keys(row)) {
            if (columns && !columns.includes(key)) throw new RestError(400, 'PGRST204', `Could not find the '${key}' column of '${r.table}' in the schema cache`);
          }
          if (row.id === undefined) row.id = randomUUID();
          if (list.some((existing) => existing.id === row.id)) throw new RestError(409, '23505', `duplicate key value violates unique constraint "${r.table}_pkey"`);
          return row;
        });
        list.push(...inserted.map((row) => structuredClone(row)));
        return { status: 201, rows: inserted.map(project) };
      }
      default:
        throw new RestError(405, 'PGRST117', `Unsupported HTTP method: ${r.method}`);
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => send(res, 500, { code: 'XX000', details: null, hint: null, message: `stand-in bug: ${String(err)}` }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let stopped = false;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    seed(table, ...rows) {
      tableRows(table).push(...rows.map((row) => structuredClone(row)));
    },
    rows(table) {
      return structuredClone(tableRows(table));
    },
    row(table, id) {
      const found = tableRows(table).find((row) => row.id === id);
      return found && structuredClone(found);
    },
    update(table, id, patch) {
      const found = tableRows(table).find((row) => row.id === id);
      if (!found) throw new Error(`stand-in: no ${table} row ${id}`);
      Object.assign(found, structuredClone(patch));
    },
    failNext(count, failure) {
      failures = count > 0 ? { left: count, failure } : null;
    },
    onRequest(fn) {
      hook = fn;
    },
    clearRequests() {
      requests.length = 0;
    },
    reset() {
      tables.clear();
      requests.length = 0;
      failures = null;
      hook = null;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections(); // supabase-js keeps sockets alive
      });
    },
  };
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

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw new RestError(400, 'PGRST102', 'Empty or invalid json');
  }
}

function bodyObject(body: unknown): Row {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new RestError(400, 'PGRST102', 'Empty or invalid json');
  return body as Row;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text);
}

function queryObject(params: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of params) {
    const prev = out[key];
    out[key] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return out;
}

/** PostgREST's horizontal filters, with SQL's NULL semantics (NULL matches only `is.null`). */
function parseFilters(params: URLSearchParams, checkColumn: (name: string) => void): (row: Row) => boolean {
  const tests: Array<(row: Row) => boolean> = [];
  for (const [column, expr] of params) {
    if (RESERVED.has(column)) continue;
    checkColumn(column);
    const dot = expr.indexOf('.');
    const op = dot < 0 ? expr : expr.slice(0, dot);
    const operand = dot < 0 ? '' : expr.slice(dot + 1);
    const cmp = (ok: (c: number) => boolean) => (row: Row): boolean => {
      const value = row[column];
      return value !== null && value !== undefined && ok(compare(value, operand));
    };
    switch (op) {
      case 'eq': tests.push(cmp((c) => c === 0)); break;
      case 'neq': tests.push(cmp((c) => c !== 0)); break;
      case 'lt': tests.push(cmp((c) => c < 0)); break;
      case 'lte': tests.push(cmp((c) => c <= 0)); break;
      case 'gt': tests.push(cmp((c) => c > 0)); break;
      case 'gte': tests.push(cmp((c) => c >= 0)); break;
      case 'in': {
        const list = /^\((.*)\)$/.exec(operand)?.[1];
        if (list === undefined) throw new RestError(400, 'PGRST100', `"failed to parse filter (${expr})" (line 1, column 4)`);
        const items = list === '' ? [] : list.split(',').map((item) => item.replace(/^"(.*)"$/, '$1'));
        tests.push((row) => row[column] !== null && row[column] !== undefined && items.some((item) => compare(row[column], item) === 0));
        break;
      }
      case 'is': {
        const want = { null: null, true: true, false: false }[operand as 'null' | 'true' | 'false'];
        if (want === undefined) throw new RestError(400, 'PGRST100', `"failed to parse filter (${expr})" (line 1, column 4)`);
        tests.push((row) => (row[column] ?? null) === want);
        break;
      }
      default:
        throw new RestError(400, 'PGRST100', `"failed to parse filter (${expr})" (stand-in does not know "${op}")`);
    }
  }
  return (row) => tests.every((test) => test(row));
}

/** Compares a row value with a filter operand the way Postgres would for the column's type. */
function compare(value: unknown, operand: string): number {
  if (typeof value === 'number') {
    const n = Number(operand);
    return value === n ? 0 : value < n ? -1 : 1;
  }
  if (typeof value === 'boolean') return String(value) === operand ? 0 : 1;
  const s = String(value);
  return s === operand ? 0 : s < operand ? -1 : 1;
}

function sortRows(rows: Row[], order: string | null, checkColumn: (name: string) => void): Row[] {
  if (!order) return rows;
  const keys = order.split(',').map((term) => {
    const [column = '', ...mods] = term.split('.');
    checkColumn(column);
    const desc = mods.includes('desc');
    const nullsFirst = mods.includes('nullsfirst') || (desc && !mods.includes('nullslast'));
    return { column, desc, nullsFirst };
  });
  return [...rows].sort((a, b) => {
    for (const { column, desc, nullsFirst } of keys) {
      const x = a[column] ?? null;
      const y = b[column] ?? null;
      if (x === y) continue;
      if (x === null) return nullsFirst ? -1 : 1;
      if (y === null) return nullsFirst ? 1 : -1;
      const c = compare(x, String(y));
      if (c !== 0) return desc ? -c : c;
    }
    return 0;
  });
}

function projectRow(row: Row, select: string | null, checkColumn: (name: string) => void): Row {
  if (select === null || select === '*') return structuredClone(row);
  if (/[()!:]/.test(select)) throw new RestError(400, 'PGRST100', `stand-in does not support embedding or casts in select=${select}`);
  const out: Row = {};
  for (const column of select.split(',')) {
    checkColumn(column);
    out[column] = structuredClone(row[column] ?? null);
  }
  return out;
}
