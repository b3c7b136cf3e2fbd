import pg from "pg";
import type { SqlClient, SqlResult } from "./sql-client.js";
import { createAfterCommitTasks, sqlState } from "./sql-client.js";

/** Settings of the connection pool to a PostgreSQL server. */
export interface PgClientOptions {
  /** A libpq URL, for example postgres://teller@db:5432/teller. */
  readonly connectionString: string;
  /** Schema every connection uses (created if missing), so tests can isolate; lower-case identifier. */
  readonly schema?: string;
  /** Pool size; 10 when unset. */
  readonly maxConnections?: number;
  /** How long to wait for a connection before failing; 5 s when unset. */
  readonly connectTimeoutMs?: number;
  /** Server-side limit per statement; 15 s when unset. */
  readonly statementTimeoutMs?: number;
  /** Told about errors of idle pooled connections, which the pool then discards. */
  readonly onIdleError?: (error: Error) => void;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

type Queryable = Pick<pg.Pool | pg.PoolClient, "query">;

async function run<T>(db: Queryable, sql: string, params?: readonly unknown[]): Promise<SqlResult<T>> {
  // Without values pg uses the simple protocol, which accepts several statements (migrations).
  const result = params === undefined ? await db.query(sql) : await db.query(sql, [...params]);
  return { rows: result.rows as T[] };
}

async function inTransaction<T>(
  root: SqlClient,
  pool: pg.Pool,
  fn: (tx: SqlClient) => Promise<T>,
): Promise<T> {
  const conn = await pool.connect();
  const afterCommit = createAfterCommitTasks();
  const tx: SqlClient = {
    query: (sql, params) => run(conn, sql, params),
    transaction: (inner) => inner(tx),
    afterCommit: afterCommit.register,
    close: async () => {},
  };
  let result: T;
  try {
    await conn.query("BEGIN");
    result = await fn(tx);
    await conn.query("COMMIT");
    conn.release();
  } catch (error) {
    try {
      await conn.query("ROLLBACK");
      conn.release();
    } catch (rollbackError) {
      // The connection is broken: destroy it instead of returning it to the pool.
      conn.release(rollbackError instanceof Error ? rollbackError : true);
    }
    throw error;
  }
  // After release: the tasks take connections of their own.
  await afterCommit.run(root);
  return result;
}

/**
 * Creates a SqlClient on a pg Pool. With `schema`, every connection starts with that schema as
 * its search_path (a startup option, so no query can run before it) and the schema is created
 * before the first query. Every timeout is bounded (STYLE.md §7).
 */
export function createPgClient(options: PgClientOptions): SqlClient {
  const { schema } = options;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new TypeError("createPgClient: schema must be a lower-case SQL identifier");
  }
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    statement_timeout: options.statementTimeoutMs ?? 15_000,
    options: schema === undefined ? undefined : `-c search_path=${schema}`,
  });
  // Without a listener an idle connection's error would crash the process; the pool drops it.
  pool.on("error", (error) => options.onIdleError?.(error));
  let ready: Promise<void> | undefined;
  const ensureSchema = (): Promise<void> => {
    if (schema === undefined) return Promise.resolve();
    ready ??= createSchema(pool, schema).catch((error: unknown) => {
      ready = undefined;
      throw error;
    });
    return ready;
  };
  let closing: Promise<void> | undefined;
  const client: SqlClient = {
    query: async (sql, params) => {
      await ensureSchema();
      return run(pool, sql, params);
    },
    transaction: async (fn) => {
      await ensureSchema();
      return inTransaction(client, pool, fn);
    },
    close: () => {
      closing ??= pool.end();
      return closing;
    },
  };
  return client;
}

async function createSchema(pool: pg.Pool, schema: string): Promise<void> {
  try {
    await pool.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  } catch (error) {
    // Two processes racing on IF NOT EXISTS: the loser sees unique_violation; the schema exists.
    if (sqlState(error) !== "23505") throw error;
  }
}
