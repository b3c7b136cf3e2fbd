import { createHash } from "node:crypto";
import { isCurrency, MAX_MINOR_UNITS } from "../../../lib/money.js";
import { invalidArgument } from "../../domain/errors.js";
import type { TransferInput } from "../../domain/ledger.js";

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
