import type { SqlClient } from "./sql-client.js";
import { sqlState } from "./sql-client.js";

/**
 * SQLSTATEs after which PostgreSQL asks the client to run the whole transaction again
 * (security.md PG-1; PostgreSQL docs §13.5): serialization_failure and deadlock_detected.
 */
const RETRYABLE = new Set(["40001", "40P01"]);

/** How many times a transaction runs at most before its last serialization failure is reported. */
export const MAX_TRANSACTION_ATTEMPTS = 5;

/**
 * Runs `fn` in a transaction and runs it again, from BEGIN, when the database aborted it with a
 * serialization failure or a deadlock, at most `attempts` times in all. The failed attempt rolled
 * back, so nothing of it remains; any other error, and the last retryable one, goes to the caller.
 */
export async function transactionWithRetry<T>(
  client: SqlClient,
  fn: (tx: SqlClient) => Promise<T>,
  attempts: number = MAX_TRANSACTION_ATTEMPTS,
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await client.transaction(fn);
    } catch (error) {
      // Classified by SQLSTATE only (STYLE.md §6); the retry is the handling.
      const retryable = RETRYABLE.has(sqlState(error) ?? "");
      if (!retryable || attempt >= attempts) throw error;
    }
  }
}
