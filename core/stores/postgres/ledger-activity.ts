import type { Money } from "../../../lib/money.js";
import { DomainError } from "../../domain/errors.js";
import {
  activityWindows,
  type CustomerActivity,
  type RuleRequest,
  type TransferRules,
} from "../../domain/transfer-rules.js";
import { epochMs } from "./ledger-rows.js";
import type { SqlClient } from "./sql-client.js";

/**
 * Locks the owner of the account to debit and returns their id: the lock that serialises one
 * customer's transfers, so the rules read their activity while no other transfer of theirs can
 * change it, and two transfers together can never pass a limit that each passes alone.
 *
 * It is taken before the account rows, always, so the lock order is customer, then accounts by
 * id (PG-2): a transfer holds at most one customer lock and waits for accounts only after it,
 * so no two transfers wait on each other in a circle. FOR NO KEY UPDATE rather than FOR UPDATE:
 * it conflicts with itself, which is all the serialising needs, but not with the FOR KEY SHARE
 * that foreign keys take, so opening an account or saving a payee for this customer never waits
 * on their transfers (and cannot join a lock cycle with them). NOT_FOUND for an unknown or
 * internal account, or one of another customer than `customerId` when that is given.
 */
export async function lockCustomerOf(
  tx: SqlClient,
  accountId: string,
  customerId: string | undefined,
): Promise<string> {
  const { rows } = await tx.query<{ id: string }>(
    `SELECT c.id FROM customers c JOIN accounts a ON a.customer_id = c.id
     WHERE a.id = $1 AND a.kind = 'customer' FOR NO KEY UPDATE OF c`,
    [accountId],
  );
  const owner = rows[0]?.id;
  // Someone else's account answers as a missing one: whether it exists is not the caller's business.
  if (owner === undefined || (customerId !== undefined && owner !== customerId)) {
    throw new DomainError("NOT_FOUND", "The account to debit does not exist.");
  }
  return owner;
}

interface ActivityRow {
  day_sum: string;
  window_count: number | string;
  recent: string;
  saved_ms: string | null;
}

/** Customer transfers debited from any account of customer $1. */
const MINE = `FROM transfers t JOIN accounts a ON a.id = t.from_account_id
  WHERE a.customer_id = $1 AND t.kind = 'transfer'`;

/**
 * Reads what the rules need about a customer in one statement, under their lock: the sum of their
 * posted transfers in this currency over the trailing 24 h, the count of their transfers (posted
 * or held) in the velocity window, the amounts of their latest posted transfers in this
 * currency, and when — if ever — they saved the payee's account as a beneficiary. The last one
 * goes by the account, not by how the request named it, so paying a new payee by account id
 * meets the same cooling-off as paying it by beneficiary id.
 */
export async function readActivity(
  tx: SqlClient,
  input: {
    readonly customerId: string;
    readonly toAccountId: string;
    readonly amount: Money;
    readonly rules: TransferRules;
    readonly now: number;
  },
): Promise<{ activity: CustomerActivity; request: RuleRequest }> {
  const windows = activityWindows(input.rules, input.now);
  const iso = (ms: number) => new Date(ms).toISOString();
  const { rows } = await tx.query<ActivityRow>(
    `SELECT
       (SELECT coalesce(sum(t.amount), 0)::text ${MINE} AND t.status = 'posted' AND t.currency = $2
          AND t.created_at > $3::timestamptz) AS day_sum,
       (SELECT count(*)::int ${MINE} AND t.created_at > $4::timestamptz) AS window_count,
       (SELECT coalesce(string_agg(r.amount::text, ','), '') FROM (SELECT t.amount ${MINE}
          AND t.status = 'posted' AND t.currency = $2 ORDER BY t.created_at DESC, t.id DESC LIMIT $5) r) AS recent,
       (SELECT ${epochMs("b.created_at")}::text FROM beneficiaries b
          WHERE b.customer_id = $1 AND b.account_id = $6) AS saved_ms`,
    [
      input.customerId,
      input.amount.currency,
      iso(windows.dayStart),
      iso(windows.velocityStart),
      windows.history,
      input.toAccountId,
    ],
  );
  const row = rows[0] as ActivityRow;
  const activity: CustomerActivity = {
    daySum: BigInt(row.day_sum),
    windowCount: Number(row.window_count),
    recentAmounts: row.recent === "" ? [] : row.recent.split(",").map((text) => BigInt(text)),
  };
  const request: RuleRequest = {
    amount: input.amount,
    now: input.now,
    ...(row.saved_ms === null ? {} : { beneficiarySavedAt: Number(row.saved_ms) }),
  };
  return { activity, request };
}
