import type { Clock } from "../../../lib/clock.js";
import type { IdSource } from "../../../lib/ids.js";
import { DomainError } from "../../domain/errors.js";
import type { Account, DepositInput, Transfer } from "../../domain/ledger.js";
import { appendAuditEvent } from "./audit-append.js";
import type { AccountRow, TransferRow } from "./ledger-rows.js";
import { ACCOUNT_COLUMNS, TRANSFER_COLUMNS, toAccount, toTransfer } from "./ledger-rows.js";
import type { SqlClient } from "./sql-client.js";

/** What posting a deposit needs besides the transaction. */
export interface DepositDeps {
  readonly clock: Clock;
  readonly ids: IdSource;
}

/** The outcome of a deposit: the transfer (new or replayed) and the account as it is now. */
export interface DepositResult {
  readonly transfer: Transfer;
  readonly account: Account;
}

async function customerAccount(tx: SqlClient, accountId: string): Promise<AccountRow> {
  const { rows } = await tx.query<AccountRow>(
    `SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = $1 AND kind = 'customer'`,
    [accountId],
  );
  const row = rows[0];
  if (row === undefined) throw new DomainError("NOT_FOUND", "The account does not exist.");
  return row;
}

/** The bank's funding account of a currency, created on first use (one per currency, by index). */
async function fundingAccountId(tx: SqlClient, deps: DepositDeps, currency: string, now: string) {
  await tx.query(
    `INSERT INTO accounts (id, customer_id, kind, currency, balance, created_at)
     VALUES ($1, NULL, 'funding', $2, 0, $3::timestamptz)
     ON CONFLICT (currency) WHERE kind = 'funding' DO NOTHING`,
    [deps.ids("acc_"), currency, now],
  );
  const { rows } = await tx.query<{ id: string }>(
    "SELECT id FROM accounts WHERE kind = 'funding' AND currency = $1",
    [currency],
  );
  const id = rows[0]?.id;
  if (id === undefined) throw new Error("funding account missing after upsert");
  return id;
}

/** Returns the transfer already posted under the key, or IDEMPOTENCY_CONFLICT if it differs. */
async function replay(tx: SqlClient, input: DepositInput): Promise<DepositResult> {
  const { rows } = await tx.query<TransferRow>(
    `SELECT ${TRANSFER_COLUMNS} FROM transfers WHERE kind = 'deposit' AND idempotency_key = $1`,
    [input.idempotencyKey],
  );
  const row = rows[0];
  if (row === undefined) throw new Error("transfer missing after idempotency conflict");
  const transfer = toTransfer(row);
  const same =
    transfer.toAccountId === input.accountId &&
    transfer.amount.currency === input.amount.currency &&
    transfer.amount.minorUnits === input.amount.minorUnits &&
    transfer.reference === input.reference;
  if (!same) {
    throw new DomainError("IDEMPOTENCY_CONFLICT", "This idempotency key was used for a different deposit.");
  }
  return { transfer, account: toAccount(await customerAccount(tx, input.accountId)) };
}

/**
 * Adds a signed amount to the balance of an account the caller has locked and returns the row as
 * it is now, for the entry's balance_after. Shared by deposits and transfers.
 */
export async function credit(tx: SqlClient, accountId: string, amount: bigint): Promise<AccountRow> {
  const { rows } = await tx.query<AccountRow>(
    `UPDATE accounts SET balance = balance + $2::int8 WHERE id = $1 RETURNING ${ACCOUNT_COLUMNS}`,
    [accountId, amount.toString()],
  );
  const row = rows[0];
  if (row === undefined) throw new Error("locked account vanished");
  return row;
}

/** Appends the entry of one leg of a transfer, with the account's balance after it (LED-3). */
export async function insertEntry(
  tx: SqlClient,
  deps: DepositDeps,
  transferId: string,
  row: AccountRow,
  amount: bigint,
  now: string,
) {
  await tx.query(
    `INSERT INTO entries (id, transfer_id, account_id, amount, balance_after, created_at)
     VALUES ($1, $2, $3, $4::int8, $5::int8, $6::timestamptz)`,
    [deps.ids("ent_"), transferId, row.id, amount.toString(), String(row.balance), now],
  );
}

/**
 * Posts a deposit inside the caller's transaction: checks the account, locks it and the funding
 * account in id order (PG-2), inserts the transfer unless its key exists (then replays it,
 * LED-5/TB-4), moves both balances and appends one entry each, so the pair sums to zero (LED-1).
 * The UNIQUE key makes concurrent duplicates wait for the first and then replay it. A new posting
 * appends "deposit.posted" to the audit chain in the same transaction; a replay appends nothing.
 */
export async function postDeposit(
  tx: SqlClient,
  deps: DepositDeps,
  input: DepositInput,
): Promise<DepositResult> {
  const target = await customerAccount(tx, input.accountId);
  const { currency, minorUnits } = input.amount;
  if (target.currency !== currency) {
    throw new DomainError("CURRENCY_MISMATCH", `The account holds ${target.currency}, not ${currency}.`);
  }
  const now = new Date(deps.clock.now()).toISOString();
  const fundingId = await fundingAccountId(tx, deps, currency, now);
  await tx.query("SELECT id FROM accounts WHERE id IN ($1, $2) ORDER BY id FOR UPDATE", [
    fundingId,
    target.id,
  ]);
  const inserted = await tx.query<TransferRow>(
    `INSERT INTO transfers (id, kind, idempotency_key, from_account_id, to_account_id, currency, amount,
       reference, created_at)
     VALUES ($1, 'deposit', $2, $3, $4, $5, $6::int8, $7, $8::timestamptz)
     ON CONFLICT (kind, idempotency_key) WHERE kind = 'deposit' DO NOTHING
     RETURNING ${TRANSFER_COLUMNS}`,
    [
      deps.ids("trf_"),
      input.idempotencyKey,
      fundingId,
      target.id,
      currency,
      minorUnits.toString(),
      input.reference,
      now,
    ],
  );
  const row = inserted.rows[0];
  if (row === undefined) return replay(tx, input);
  const funding = await credit(tx, fundingId, -minorUnits);
  const account = await credit(tx, target.id, minorUnits);
  await insertEntry(tx, deps, row.id, funding, -minorUnits, now);
  await insertEntry(tx, deps, row.id, account, minorUnits, now);
  // Only a new posting is audited, last, after the row locks: a replay changed nothing.
  await appendAuditEvent(tx, deps.clock, {
    type: "deposit.posted",
    customerId: target.customer_id ?? undefined,
    outcome: "success",
    attributes: { transfer_id: row.id, account_id: target.id, amount: minorUnits.toString(), currency },
  });
  return { transfer: toTransfer(row), account: toAccount(account) };
}
