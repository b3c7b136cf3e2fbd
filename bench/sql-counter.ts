import type { SqlClient } from "../core/stores/postgres/sql-client.js";

/** Statements and transactions sent through one SqlClient since it was wrapped. */
export interface SqlCounts {
  /** Statements sent, inside transactions or not: each is one round trip to PostgreSQL. */
  queries: number;
  /** Transactions opened (each adds BEGIN and COMMIT round trips to its statements). */
  transactions: number;
}

/**
 * Wraps a SqlClient so that every statement and transaction is counted, for the benchmarks' round
 * trips per request; the wrapped client behaves exactly as the original.
 */
export function countSql(inner: SqlClient): { client: SqlClient; counts: SqlCounts } {
  const counts: SqlCounts = { queries: 0, transactions: 0 };
  const wrap = (target: SqlClient): SqlClient => ({
    query(sql, params) {
      counts.queries += 1;
      return target.query(sql, params);
    },
    transaction(fn) {
      counts.transactions += 1;
      return target.transaction((tx) => fn(wrap(tx)));
    },
    close: () => target.close(),
  });
  return { client: wrap(inner), counts };
}
