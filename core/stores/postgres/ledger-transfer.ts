import { createHash } from "node:crypto";
import type { Clock } from "../../../lib/clock.js";
import type { IdSource } from "../../../lib/ids.js";
import { isCurrency, MAX_MINOR_UNITS } from "../../../lib/money.js";
import { DomainError, invalidArgument } from "../../domain/errors.js";
import type { Transfer, TransferInput, TransferResult } from "../../domain/ledger.js";
import { appendAuditEvent } from "./audit-append.js";
import { credit, insertEntry } from "./ledger-deposit.js";
import type { AccountRow, TransferRow } from "./ledger-rows.js";
import { ACCOUNT_COLUMNS, TRANSFER_COLUMNS, toTransfer } from "./ledger-rows.js";
import type { SqlClient } from "./sql-client.js";
import { sqlState } from "./sql-client.js";

/** What posting a transfer needs besides the transaction. */
export interface TransferDeps {
  readonly clock: Clock;
  readonly ids: IdSource;
}

/** Longest idempotency key and caller id, in characters (security.md ID-2). */
const MAX_KEY_LENGTH = 255;
/** Longest reference, in characters (banking_service.proto, CreateTransferRequest.reference). */
const MAX_REFERENCE_LENGTH = 140;

const chars = (text: string): number => [...text].length;

function checkText(field: string, value: string, min: number, max: number): void {
  const length = chars(value);
  if (length < min || length > max) throw invalidArgument(field, `must be ${min}..${max} characters`);
}

/**
 * Refuses a malformed transfer request with INVALID_ARGUMENT before the database is asked:
 * caller and key 1..255 characters, two distinct account ids, an ISO 4217 currency, a positive
 * amount within MAX_MINOR_UNITS and a reference of at most 140 characters.
 */
export function checkTransfer(input: TransferInput): void {
  checkText("caller_id", input.callerId, 1, MAX_KEY_LENGTH);
  checkText("idempotency_key", input.idempotencyKey, 1, MAX_KEY_LENGTH);
  checkText("from_account_id", input.fromAccountId, 1, MAX_KEY_LENGTH);
  checkText("to_account_id", input.toAccountId, 1, MAX_KEY_LENGTH);
  if (input.fromAccountId === input.toAccountId) {
    throw invalidArgument("to_account_id", "must differ from from_account_id");
  }
  if (!isCurrency(input.amount.currency)) throw invalidArgument("amount.currency", "is not an ISO 4217 code");
  const units = input.amount.minorUnits;
  if (units <= 0n || units > MAX_MINOR_UNITS) throw invalidArgument("amount.minor_units", "is out of range");
  checkText("reference", input.reference, 0, MAX_REFERENCE_LENGTH);
}

/**
 * The SHA-256 (hex) of what a transfer request asks for: both accounts, the amount, its currency
 * and the reference. Stored with the transfer, it tells a replay from a reused key (ID-4, TB-4);
 * a JSON array keeps the fields apart, so two different requests never share a text.
 */
export function transferFingerprint(input: TransferInput): string {
  const { fromAccountId, toAccountId, amount, reference } = input;
  const fields = ["v1", fromAccountId, toAccountId, amount.currency, amount.minorUnits.toString(), reference];
  return createHash("sha256").update(JSON.stringify(fields)).digest("hex");
}

function insufficientFunds(cause?: unknown): DomainError {
  return new DomainError("INSUFFICIENT_FUNDS", "The account does not hold enough money for this transfer.", {
    cause,
  });
}

/** Locks both customer accounts in id order, whichever way the money moves (PG-2), and returns them. */
async function lockAccounts(tx: SqlClient, input: TransferInput) {
  const { rows } = await tx.query<AccountRow>(
    `SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id IN ($1, $2) AND kind = 'customer' ORDER BY id FOR UPDATE`,
    [input.fromAccountId, input.toAccountId],
  );
  const from = rows.find((row) => row.id === input.fromAccountId);
  const to = rows.find((row) => row.id === input.toAccountId);
  // Someone else's account answers as a missing one: whether it exists is not the caller's business.
  if (from === undefined || (input.customerId !== undefined && from.customer_id !== input.customerId)) {
    throw new DomainError("NOT_FOUND", "The account to debit does not exist.");
  }
  if (to === undefined) throw new DomainError("NOT_FOUND", "The payee's account does not exist.");
  return { from, to };
}

async function insertTransfer(
  tx: SqlClient,
  deps: TransferDeps,
  input: TransferInput,
  fingerprint: string,
  now: string,
): Promise<TransferRow | undefined> {
  const { rows } = await tx.query<TransferRow>(
    `INSERT INTO transfers (id, kind, idempotency_key, caller_id, fingerprint, from_account_id, to_account_id,
       currency, amount, reference, created_at)
     VALUES ($1, 'transfer', $2, $3, $4, $5, $6, $7, $8::int8, $9, $10::timestamptz)
     ON CONFLICT (kind, caller_id, idempotency_key) DO NOTHING
     RETURNING ${TRANSFER_COLUMNS}`,
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
    ],
  );
  return rows[0];
}

/** Returns the transfer this caller's key already posted, or IDEMPOTENCY_CONFLICT if it asked otherwise. */
async function replay(tx: SqlClient, input: TransferInput, fingerprint: string): Promise<TransferResult> {
  const { rows } = await tx.query<TransferRow & { fingerprint: string }>(
    `SELECT ${TRANSFER_COLUMNS}, fingerprint FROM transfers
     WHERE kind = 'transfer' AND caller_id = $1 AND idempotency_key = $2`,
    [input.callerId, input.idempotencyKey],
  );
  const row = rows[0];
  if (row === undefined) throw new Error("transfer missing after idempotency conflict");
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

/**
 * Posts a transfer between two customer accounts inside the caller's transaction: locks both in
 * id order (PG-2), checks they exist and hold the amount's currency, inserts the transfer unless
 * the caller's key exists (then replays it or refuses other fields, LED-5/ID-4), checks the funds
 * on the locked balance, moves both balances and appends one entry each (LED-1, LED-3), and
 * appends "transfer.posted" to the audit chain last. A concurrent duplicate queues on the row
 * locks (or the unique key) until the first commits, then replays it. Any refusal throws, so the
 * transaction rolls back: nothing changes and no key is kept (ID-5).
 */
export async function postTransfer(
  tx: SqlClient,
  deps: TransferDeps,
  input: TransferInput,
): Promise<TransferResult> {
  const { from, to } = await lockAccounts(tx, input);
  const { currency, minorUnits } = input.amount;
  if (from.currency !== currency || to.currency !== currency) {
    throw new DomainError("CURRENCY_MISMATCH", "Both accounts must hold the currency of the amount.");
  }
  const now = new Date(deps.clock.now()).toISOString();
  const fingerprint = transferFingerprint(input);
  const row = await insertTransfer(tx, deps, input, fingerprint, now);
  if (row === undefined) return replay(tx, input, fingerprint);
  // Checked after the key, so a replay of a posted transfer never fails on today's balance.
  if (BigInt(from.balance) < minorUnits) throw insufficientFunds();
  const debited = await debit(tx, from.id, minorUnits);
  const credited = await credit(tx, to.id, minorUnits);
  await insertEntry(tx, deps, row.id, debited, -minorUnits, now);
  await insertEntry(tx, deps, row.id, credited, minorUnits, now);
  // The reference is customer text: it stays out of the trail (issue 5 item 5).
  await appendAuditEvent(tx, deps.clock, {
    type: "transfer.posted",
    customerId: from.customer_id ?? undefined,
    outcome: "success",
    attributes: {
      transfer_id: row.id,
      from_account_id: from.id,
      to_account_id: to.id,
      amount: minorUnits.toString(),
      currency,
      caller_id: input.callerId,
    },
  });
  return { transfer: toTransfer(row), replayed: false };
}

/** Reads a transfer (of either kind) by id. */
export async function findTransfer(client: SqlClient, transferId: string): Promise<Transfer | undefined> {
  const { rows } = await client.query<TransferRow>(
    `SELECT ${TRANSFER_COLUMNS} FROM transfers WHERE id = $1`,
    [transferId],
  );
  return rows[0] === undefined ? undefined : toTransfer(rows[0]);
}
