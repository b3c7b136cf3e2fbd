/** One result of a query: the rows, typed by the caller. */
export interface SqlResult<T> {
  readonly rows: T[];
}

/**
 * SqlClient is the small seam between the PostgreSQL stores and a driver, so one set of SQL and
 * migrations runs on both PGlite (the embedded default) and a PostgreSQL server (DESIGN.md, Banking).
 * Errors are the driver's own, carrying the SQLSTATE in `code`; the stores map them.
 */
export interface SqlClient {
  /**
   * Runs one statement with `$1…` parameters. Without parameters the text may hold several
   * statements (the simple query protocol), which is how migrations run.
   */
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<SqlResult<T>>;
  /**
   * Runs `fn` inside BEGIN … COMMIT on one connection and rolls back when it throws. A nested call
   * joins the outer transaction rather than opening a savepoint.
   */
  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T>;
  /** Releases the connections; safe to call more than once. */
  close(): Promise<void>;
}

/** The SQLSTATE of a driver error (for example "23505" unique_violation), or undefined. */
export function sqlState(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null || !("code" in error)) return undefined;
  const code = (error as { code: unknown }).code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}
