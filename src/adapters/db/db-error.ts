// What a MediaDb adapter throws. The role maps it to DB_ERROR; `transient` says whether
// another attempt can succeed (network, 5xx, a lost race) or never will (no such row).
export class DbError extends Error {
  override readonly name = 'DbError';
  readonly table: string;
  readonly transient: boolean;
  /** HTTP status of the PostgREST response; 0 when none came back (network, timeout). */
  readonly status: number | null;
  /** PostgREST's or Postgres's error code (PGRST116, 23514, …) when it sent one. */
  readonly code: string | null;

  constructor(table: string, message: string, opts: { transient?: boolean; status?: number | null; code?: string | null; cause?: unknown } = {}) {
    super(`${table}: ${message}`, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.table = table;
    this.transient = opts.transient ?? true;
    this.status = opts.status ?? null;
    this.code = opts.code ?? null;
  }
}
