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
  /**
   * On a transaction's client: runs `task` on the root client once this transaction has
   * committed (never after a rollback), awaited before `transaction` resolves, so the caller sees
   * its effect. Tasks registered under one key run once per transaction. A task's rejection is
   * ignored: it runs after the commit, and a committed change must not be reported as failed, so
   * a task handles its own errors. Absent on a root client and on wrappers that do not forward it.
   */
  afterCommit?(key: string, task: AfterCommitTask): void;
  /** Releases the connections; safe to call more than once. */
  close(): Promise<void>;
}

/** Work that runs after a commit, on the root client the transaction came from. */
export type AfterCommitTask = (client: SqlClient) => Promise<void>;

/**
 * Collects the afterCommit tasks of one transaction, for the drivers: `register` is the
 * transaction client's afterCommit, `run` is called once COMMIT succeeded.
 */
export function createAfterCommitTasks(): {
  register(key: string, task: AfterCommitTask): void;
  run(root: SqlClient): Promise<void>;
} {
  const tasks = new Map<string, AfterCommitTask>();
  return {
    register: (key, task) => {
      if (!tasks.has(key)) tasks.set(key, task);
    },
    run: async (root) => {
      // Settled, not all: one failing task must neither fail the committed call nor stop the rest.
      await Promise.allSettled([...tasks.values()].map((task) => task(root)));
    },
  };
}

/** The SQLSTATE of a driver error (for example "23505" unique_violation), or undefined. */
export function sqlState(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null || !("code" in error)) return undefined;
  const code = (error as { code: unknown }).code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}
