import type { Clock } from "../../../lib/clock.js";
import type { IdSource } from "../../../lib/ids.js";
import { DomainError } from "../../domain/errors.js";
import type { Transfer, TransferInput, TransferResult } from "../../domain/ledger.js";
import {
  evaluateTransferRules,
  type RuleDecision,
  type TransferRuleId,
} from "../../domain/transfer-rules.js";
import { appendAuditEvent } from "./audit-append.js";
import { lockCustomerOf, readActivity } from "./ledger-activity.js";
import { credit } from "./ledger-deposit.js";
import type { AccountRow, TransferRow } from "./ledger-rows.js";
import { ACCOUNT_COLUMNS, TRANSFER_STATUS_COLUMNS, toTransfer } from "./ledger-rows.js";
import { transferFingerprint } from "./ledger-transfer-input.js";
import type { SqlClient } from "./sql-client.js";
import { sqlState } from "./sql-client.js";

/** What posting a transfer needs besides the transaction. */
export interface TransferDeps {
  readonly clock: Clock;
  readonly ids: IdSource;
}

function insufficientFunds(cause?: unknown): DomainError {
  return new DomainError("INSUFFICIENT_FUNDS", "The account does not hold enough money for this transfer.", {
    cause,
  });
}

/**
 * Locks both customer accounts in id order (PG-2), whichever way the money moves, and returns
 * them; a release of a held transfer (ledger-hold-review.ts) takes them the same way.
 */
export async function lockAccounts(
  tx: SqlClient,
  input: Pick<TransferInput, "fromAccountId" | "toAccountId">,
) {
  const { rows } = await tx.query<AccountRow>(
    `SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id IN ($1, $2) AND kind = 'customer' ORDER BY id FOR UPDATE`,
    [input.fromAccountId, input.toAccountId],
  );
  const from = rows.find((row) => row.id === input.fromAccountId);
  const to = rows.find((row) => row.id === input.toAccountId);
  if (from === undefined) throw new DomainError("NOT_FOUND", "The account to debit does not exist.");
  if (to === undefined) throw new DomainError("NOT_FOUND", "The payee's account does not exist.");
  return { from, to };
}

/** A decision that records a transfer: post it, or hold it with the rule's reason. */
type Recording = Exclude<RuleDecision, { action: "refuse" }>;

async function insertTransfer(
  tx: SqlClient,
  deps: TransferDeps,
  input: TransferInput,
  fingerprint: string,
  now: string,
  decision: Recording,
): Promise<TransferRow | undefined> {
  const held = decision.action === "hold";
  const { rows } = await tx.query<TransferRow>(
    `INSERT INTO transfers (id, kind, idempotency_key, caller_id, fingerprint, from_account_id, to_account_id,
       currency, amount, reference, created_at, status, status_reason)
     VALUES ($1, 'transfer', $2, $3, $4, $5, $6, $7, $8::int8, $9, $10::timestamptz, $11, $12)
     ON CONFLICT (kind, caller_id, idempotency_key) DO NOTHING
     RETURNING ${TRANSFER_STATUS_COLUMNS}`,
    [
      deps.ids("trf_"),
      input.idempotencyKey,
      input.callerId,
      fingerprint,
      input.fromAccountId,
      input.toAccountId,
      input.amount.currency,
      input.amount.minorUnits.toString(),
      input.reference,
      now,
      held ? "held" : "posted",
      held ? decision.reason : null,
    ],
  );
  return rows[0];
}

/** The transfer this caller's key already recorded, with its fingerprint; undefined when none. */
async function findKeyed(tx: SqlClient, input: TransferInput) {
  const { rows } = await tx.query<TransferRow & { fingerprint: string }>(
    `SELECT ${TRANSFER_STATUS_COLUMNS}, fingerprint FROM transfers
     WHERE kind = 'transfer' AND caller_id = $1 AND idempotency_key = $2`,
    [input.callerId, input.idempotencyKey],
  );
  return rows[0];
}

/** Answers a repeated key with its first transfer, or IDEMPOTENCY_CONFLICT if it asked otherwise. */
function replay(row: TransferRow & { fingerprint: string }, fingerprint: string): TransferResult {
  if (row.fingerprint !== fingerprint) {
    throw new DomainError("IDEMPOTENCY_CONFLICT", "This idempotency key was used for a different transfer.");
  }
  return { transfer: toTransfer(row), replayed: true };
}

/**
 * Takes `amount` off a customer account the caller has locked. The accounts CHECK (LED-4) backs
 * the caller's pre-check: its violation, SQLSTATE 23514 on this one statement, is
 * INSUFFICIENT_FUNDS; the transaction is then aborted and rolls back whole.
 */
export async function debit(tx: SqlClient, accountId: string, amount: bigint): Promise<AccountRow> {
  try {
    return await credit(tx, accountId, -amount);
  } catch (error) {
    if (sqlState(error) !== "23514") throw error;
    throw insufficientFunds(error);
  }
}

/** What postTransfer did: recorded a transfer (new or replayed), or a rule refused it. */
export type TransferOutcome =
  | TransferResult
  | { readonly refused: { readonly rule: TransferRuleId; readonly reason: string } };

/**
 * Decides and records a customer transfer inside the caller's transaction. It locks the debited
 * customer (lockCustomerOf), then both accounts in id order (PG-2), and checks they hold the
 * amount's currency. A key this caller used before answers with its first transfer, posted or
 * held, and nothing is decided again (LED-5/ID-4). Then the rules decide on the customer's
 * activity as the lock freezes it:
 * - refuse: "transfer.refused" is appended and nothing else is written, so committing it keeps
 *   the refusal on the trail atomically with the decision and records no key (ID-5);
 * - otherwise the funds are checked on the locked balance (a transfer that could not be paid is
 *   INSUFFICIENT_FUNDS, never held), and the transfer is inserted as held — no entries, audited
 *   "transfer.held" — or posted: both balances move, one entry each (LED-1, LED-3), audited
 *   "transfer.posted". The audit append comes last, after the row locks.
 * Any error throws and rolls back: nothing changes and no key is kept. A concurrent duplicate
 * queues on the customer lock (or the unique key) until the first commits, then replays it.
 */
export async function postTransfer(
  tx: SqlClient,
  deps: TransferDeps,
  input: TransferInput,
): Promise<TransferOutcome> {
  const customerId = await lockCustomerOf(tx, input.fromAccountId, input.customerId);
  const { from, to } = await lockAccounts(tx, input);
  const { currency, minorUnits } = input.amount;
  if (from.currency !== currency || to.currency !== currency) {
    throw new DomainError("CURRENCY_MISMATCH", "Both accounts must hold the currency of the amount.");
  }
  const fingerprint = transferFingerprint(input);
  const earlier = await findKeyed(tx, input);
  // Checked before the rules and the balance, so a replay never fails on today's limits or funds.
  if (earlier !== undefined) return replay(earlier, fingerprint);
  const nowMs = deps.clock.now();
  const { request, activity } = await readActivity(tx, { ...input, customerId, now: nowMs });
  const decision = evaluateTransferRules(input.rules, request, activity);
  const event = { customerId, amount: minorUnits.toString(), currency };
  if (decision.action === "refuse") {
    // No reference text and no key: the trail says which rule refused how much (issue 5 item 5).
    await audit(tx, deps, "transfer.refused", event, { rule: decision.rule });
    return { refused: { rule: decision.rule, reason: decision.reason } };
  }
  if (BigInt(from.balance) < minorUnits) throw insufficientFunds();
  const now = new Date(nowMs).toISOString();
  const row = await insertTransfer(tx, deps, input, fingerprint, now, decision);
  if (row === undefined) return replayRaced(tx, input, fingerprint);
  if (decision.action === "hold") {
    await audit(tx, deps, "transfer.held", event, { transfer_id: row.id, rule: decision.rule });
  } else {
    await move(tx, deps, { row, from, to, now, minorUnits });
    // The reference is customer text: it stays out of the trail (issue 5 item 5).
    await audit(tx, deps, "transfer.posted", event, {
      transfer_id: row.id,
      from_account_id: from.id,
      to_account_id: to.id,
      caller_id: input.callerId,
    });
  }
  return { transfer: toTransfer(row), replayed: false };
}

/** The same key from this caller, for another customer's account, committed while this one ran. */
async function replayRaced(tx: SqlClient, input: TransferInput, fingerprint: string) {
  const raced = await findKeyed(tx, input);
  if (raced === undefined) throw new Error("transfer missing after idempotency conflict");
  return replay(raced, fingerprint);
}

/** Appends a transfer event, last in the transaction (after the row locks): refused is a failure. */
async function audit(
  tx: SqlClient,
  deps: TransferDeps,
  type: "transfer.posted" | "transfer.held" | "transfer.refused",
  event: { customerId: string; amount: string; currency: string },
  attributes: Record<string, string>,
): Promise<void> {
  await appendAuditEvent(tx, deps.clock, {
    type,
    customerId: event.customerId,
    outcome: type === "transfer.refused" ? "failure" : "success",
    attributes: { ...attributes, amount: event.amount, currency: event.currency },
  });
}

/**
 * Moves both balances and appends one entry each, so the pair sums to zero (LED-1, LED-3), in
 * ONE statement: the two updates and the two inserts of a transfer cost one round trip instead of
 * four, which is most of a transfer's client CPU (bench/transfers.ts). Each entry takes its
 * account's balance as the update left it. The accounts CHECK still stands behind the balance
 * pre-check: its violation (23514) is INSUFFICIENT_FUNDS. A release of a held transfer posts with it.
 */
export async function move(
  tx: SqlClient,
  deps: TransferDeps,
  leg: { row: TransferRow; from: AccountRow; to: AccountRow; now: string; minorUnits: bigint },
): Promise<void> {
  try {
    await tx.query(
      `WITH debited AS (
         UPDATE accounts SET balance = balance - $3::int8 WHERE id = $1 RETURNING id, balance
       ), credited AS (
         UPDATE accounts SET balance = balance + $3::int8 WHERE id = $2 RETURNING id, balance
       )
       INSERT INTO entries (id, transfer_id, account_id, amount, balance_after, created_at)
       SELECT $4, $6, id, -$3::int8, balance, $7::timestamptz FROM debited
       UNION ALL
       SELECT $5, $6, id, $3::int8, balance, $7::timestamptz FROM credited`,
      [
        leg.from.id,
        leg.to.id,
        leg.minorUnits.toString(),
        deps.ids("ent_"),
        deps.ids("ent_"),
        leg.row.id,
        leg.now,
      ],
    );
  } catch (error) {
    if (sqlState(error) !== "23514") throw error;
    throw insufficientFunds(error);
  }
}

/** Reads a transfer (of either kind, posted or held) by id. */
export async function findTransfer(client: SqlClient, transferId: string): Promise<Transfer | undefined> {
  const { rows } = await client.query<TransferRow>(
    `SELECT ${TRANSFER_STATUS_COLUMNS} FROM transfers WHERE id = $1`,
    [transferId],
  );
  return rows[0] === undefined ? undefined : toTransfer(rows[0]);
}
