import { PGlite, type Transaction } from "@electric-sql/pglite";
import type { SqlClient, SqlResult } from "./sql-client.js";
import { createAfterCommitTasks } from "./sql-client.js";

/** Settings of the embedded database. */
export interface PgliteClientOptions {
  /** Folder holding the database files; in memory when undefined (tests). */
  readonly dataDir?: string;
}

type Runner = Pick<PGlite, "query" | "exec"> | Transaction;

async function run<T>(db: Runner, sql: string, params?: readonly unknown[]): Promise<SqlResult<T>> {
  if (params === undefined || params.length === 0) {
    // exec uses the simple protocol, so a migration may hold several statements, as with pg.
    const results = await db.exec(sql);
    return { rows: (results.at(-1)?.rows ?? []) as T[] };
  }
  const result = await db.query<T>(sql, [...params]);
  return { rows: result.rows };
}

function transactionClient(tx: Transaction, afterCommit: NonNullable<SqlClient["afterCommit"]>): SqlClient {
  const client: SqlClient = {
    query: (sql, params) => run(tx, sql, params),
    transaction: (fn) => fn(client),
    afterCommit,
    close: async () => {},
  };
  return client;
}

/**
 * Creates a SqlClient on PGlite, PostgreSQL compiled to WebAssembly, stored in a folder on disk
 * or in memory. PGlite is one connection: its transaction mutex makes every other query and
 * transaction wait until the open one ends, so transactions run one at a time, and afterCommit
 * tasks run once the mutex is released.
 */
export function createPgliteClient(options: PgliteClientOptions = {}): SqlClient {
  const db = new PGlite(options.dataDir);
  let closing: Promise<void> | undefined;
  const client: SqlClient = {
    query: (sql, params) => run(db, sql, params),
    transaction: async (fn) => {
      const afterCommit = createAfterCommitTasks();
      const result = await db.transaction((tx) => fn(transactionClient(tx, afterCommit.register)));
      // Outside db.transaction: its mutex is free again, so the tasks' own queries can run.
      await afterCommit.run(client);
      return result;
    },
    close: () => {
      closing ??= db.close();
      return closing;
    },
  };
  return client;
}
