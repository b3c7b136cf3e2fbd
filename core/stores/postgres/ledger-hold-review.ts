import { DomainError } from "../../domain/errors.js";
import type { HoldCancellation, HoldDecision, Transfer } from "../../domain/ledger.js";
import { appendAuditEvent } from "./audit-append.js";
import { lockCustomerOf } from "./ledger-activity.js";
import type { TransferRow } from "./ledger-rows.js";
import { TRANSFER_STATUS_COLUMNS, toTransfer } from "./ledger-rows.js";
import { lockAccounts, move, type TransferDeps } from "./ledger-transfer.js";
import type { SqlClient } from "./sql-client.js";
import { transactionWithRetry } from "./sql-retry.js";

/** A transfer row with the kind and owner of its debited account, as the review reads it. */
type ReviewRow = TransferRow & { kind: "deposit" | "transfer"; customer_id: string | null };

function notFound(): DomainError {
  return new DomainError("NOT_FOUND", "The transfer does not exist.");
}

function notHeld(status: string): DomainError {
  return new DomainError("TRANSFER_NOT_HELD", `The transfer is ${status}, no longer held for review.`);
}

/** Reads a transfer for review, with its debited account's owner; `lock` takes its row FOR UPDATE. */
async function readForReview(tx: SqlClient, transferId: string, lock: boolean): Promise<ReviewRow> {
  const { rows } = await tx.query<ReviewRow>(
    `SELECT ${TRANSFER_STATUS_COLUMNS}, kind,
       (SELECT a.customer_id FROM accounts a WHERE a.id = transfers.from_account_id) AS customer_id
     FROM transfers WHERE id = $1${lock ? " FOR UPDATE" : ""}`,
    [transferId],
  );
  if (rows[0] === undefined) throw notFound();
  return rows[0];
}

/**
 * Takes the locks of a review in the posting path's order (ledger-transfer.ts): the debited
 * customer, then — for a release — both accounts by id, then the transfer row, so a review and a
 * new transfer of the same customer queue on the customer and never wait on each other in a
 * circle. Posted and cancelled are final (the transfers_review_only trigger of migration 8), so
 * a transfer seen in either state needs no lock: only a held one is locked and read again, and
 * whatever review committed first is what the others find.
 */
async function lockHeld(tx: SqlClient, transferId: string, withAccounts: boolean) {
  const seen = await readForReview(tx, transferId, false);
  if (seen.status !== "held" || seen.customer_id === null) return { row: seen };
  await lockCustomerOf(tx, seen.from_account_id, seen.customer_id);
  const accounts = withAccounts
    ? await lockAccounts(tx, { fromAccountId: seen.from_account_id, toAccountId: seen.to_account_id })
    : undefined;
  return { row: await readForReview(tx, transferId, true), accounts };
}

/** Sets a held transfer's final status (the one update migration 8 allows) and returns it. */
async function settle(
  tx: SqlClient,
  transferId: string,
  status: "posted" | "cancelled",
): Promise<TransferRow> {
  const { rows } = await tx.query<TransferRow>(
    `UPDATE transfers SET status = $2, status_reason = NULL WHERE id = $1 AND status = 'held'
     RETURNING ${TRANSFER_STATUS_COLUMNS}`,
    [transferId, status],
  );
  if (rows[0] === undefined) throw new Error("held transfer changed under its row lock");
  return rows[0];
}

/**
 * Releases a held transfer inside the caller's transaction: under the locks of lockHeld, it
 * checks the currencies and the funds on the locked balance (the limits are not run again: the
 * review decided), posts both entries with the posting path's own statement (move), sets it
 * posted and appends "transfer.released", last. Too little money is INSUFFICIENT_FUNDS and rolls
 * back whole: the transfer stays held. A posted transfer (or deposit) is returned unchanged,
 * a cancelled one is TRANSFER_NOT_HELD.
 */
export async function releaseHeldTransfer(
  tx: SqlClient,
  deps: TransferDeps,
  decision: HoldDecision,
): Promise<Transfer> {
  const { row, accounts } = await lockHeld(tx, decision.transferId, true);
  if (row.status === "posted") return toTransfer(row);
  if (row.status !== "held" || accounts === undefined) throw notHeld(row.status ?? "posted");
  const { from, to } = accounts;
  const minorUnits = BigInt(row.amount);
  if (from.currency !== row.currency || to.currency !== row.currency) {
    throw new DomainError("CURRENCY_MISMATCH", "Both accounts must hold the currency of the amount.");
  }
  if (BigInt(from.balance) < minorUnits) {
    throw new DomainError("INSUFFICIENT_FUNDS", "The account does not hold enough money for this transfer.");
  }
  const now = new Date(deps.clock.now()).toISOString();
  await move(tx, deps, { row, from, to, now, minorUnits });
  const posted = await settle(tx, row.id, "posted");
  await appendAuditEvent(tx, deps.clock, {
    type: "transfer.released",
    customerId: row.customer_id ?? "",
    outcome: "success",
    attributes: {
      transfer_id: row.id,
      by: decision.by,
      from_account_id: from.id,
      to_account_id: to.id,
      amount: minorUnits.toString(),
      currency: row.currency,
    },
  });
  return toTransfer(posted);
}

/**
 * Cancels a held transfer inside the caller's transaction: under the customer's lock and the
 * transfer row's, it becomes cancelled, moving nothing, and "transfer.cancelled" is appended with
 * the reason code. A cancelled transfer is returned unchanged; a posted one is TRANSFER_NOT_HELD.
 */
export async function cancelHeldTransfer(
  tx: SqlClient,
  deps: TransferDeps,
  cancellation: HoldCancellation,
): Promise<Transfer> {
  const { row } = await lockHeld(tx, cancellation.transferId, false);
  if (row.status === "cancelled") return toTransfer(row);
  if (row.status !== "held") throw notHeld(row.status ?? "posted");
  const cancelled = await settle(tx, row.id, "cancelled");
  await appendAuditEvent(tx, deps.clock, {
    type: "transfer.cancelled",
    customerId: row.customer_id ?? "",
    outcome: "success",
    attributes: {
      transfer_id: row.id,
      by: cancellation.by,
      reason: cancellation.reason,
      amount: BigInt(row.amount).toString(),
      currency: row.currency,
    },
  });
  return toTransfer(cancelled);
}

/**
 * The review of held transfers on one database: each decision in a transaction of its own, run
 * again from BEGIN on a deadlock or serialization failure (PG-1), as createTransfer is.
 */
export function createHoldReview(deps: TransferDeps & { readonly client: SqlClient }) {
  const { client } = deps;
  return {
    release: (decision: HoldDecision) =>
      transactionWithRetry(client, (tx) => releaseHeldTransfer(tx, deps, decision)),
    cancel: (cancellation: HoldCancellation) =>
      transactionWithRetry(client, (tx) => cancelHeldTransfer(tx, deps, cancellation)),
  };
}
