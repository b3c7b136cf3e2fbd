import pg from "pg";

/**
 * The transfers benchmark's proof that speed did not cost correctness, read straight from the
 * core's schema after the run rather than through the core: money only moved between customers
 * (their total is what it was), every accepted transfer was posted exactly once, and every
 * balance still equals the sum of its account's entries (double entry held under load).
 */

/** What the ledger holds at one moment. */
export interface LedgerTotals {
  /** Sum of every customer account's balance, in minor units. */
  readonly customerBalances: bigint;
  /** Rows of kind 'transfer' (deposits excluded). */
  readonly transfers: number;
  /** Accounts whose balance differs from the sum of their entries. */
  readonly unbalancedAccounts: number;
}

/** Reads the totals of the ledger in `schema` on the server at `url`. */
export async function readLedgerTotals(url: string, schema: string): Promise<LedgerTotals> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new TypeError(`not a schema name: ${schema}`);
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    const { rows } = await client.query<{ balances: string | null; transfers: string; unbalanced: string }>(
      `SELECT
         (SELECT sum(balance) FROM "${schema}".accounts WHERE kind = 'customer') AS balances,
         (SELECT count(*) FROM "${schema}".transfers WHERE kind = 'transfer') AS transfers,
         (SELECT count(*) FROM "${schema}".accounts a
           WHERE a.balance <> (SELECT coalesce(sum(e.amount), 0) FROM "${schema}".entries e
                               WHERE e.account_id = a.id)) AS unbalanced`,
    );
    const row = rows[0];
    return {
      customerBalances: BigInt(row?.balances ?? 0),
      transfers: Number(row?.transfers ?? 0),
      unbalancedAccounts: Number(row?.unbalanced ?? 0),
    };
  } finally {
    await client.end();
  }
}

/**
 * The problems between `before` and `after` a run that the core answered `accepted` transfers
 * in: empty when the books are right.
 */
export function ledgerProblems(before: LedgerTotals, after: LedgerTotals, accepted: number): string[] {
  const problems: string[] = [];
  if (after.customerBalances !== before.customerBalances) {
    problems.push(
      `customer balances sum to ${after.customerBalances} after the run, ${before.customerBalances} before`,
    );
  }
  const posted = after.transfers - before.transfers;
  if (posted !== accepted) problems.push(`${posted} transfers posted, ${accepted} accepted over gRPC`);
  if (after.unbalancedAccounts > 0) {
    problems.push(`${after.unbalancedAccounts} accounts whose balance is not the sum of their entries`);
  }
  return problems;
}
