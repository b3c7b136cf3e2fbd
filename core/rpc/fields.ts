import type { Money } from "../../lib/money.js";
import { isCurrency, MAX_MINOR_UNITS } from "../../lib/money.js";
import { invalidArgument } from "../domain/errors.js";

/**
 * The field rules of the contract, each stated in the proto comment of the field it guards.
 * Every rule throws DomainError INVALID_ARGUMENT naming the field, so the caller knows what to fix.
 */

/** E.164: "+" then 8..15 digits, the first not 0 (ITU-T E.164 §6; shortest real numbers are 8). */
export const E164 = /^\+[1-9]\d{7,14}$/;
const ID = /^[A-Za-z0-9_-]+$/;
// C0/C1 control characters other than tab and newline (a reply or log must not carry them).
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

/** A required string of 1..max characters (Unicode code points), no control characters. */
export function requireText(field: string, value: string, max: number, allowNewlines = false): string {
  if (value.length === 0) throw invalidArgument(field, "is required");
  const length = [...value].length;
  if (length > max) throw invalidArgument(field, `must be at most ${max} characters, got ${length}`);
  if (CONTROL.test(value) || (!allowNewlines && /[\n\t]/.test(value))) {
    throw invalidArgument(field, "must not contain control characters");
  }
  return value;
}

/** An optional string of 0..max characters. */
export function optionalText(field: string, value: string, max: number): string {
  return value.length === 0 ? value : requireText(field, value, max);
}

/** An opaque id: 1..max characters of [A-Za-z0-9_-]. */
export function requireId(field: string, value: string, max = 64): string {
  requireText(field, value, max);
  if (!ID.test(value)) throw invalidArgument(field, "must contain only letters, digits, '_' and '-'");
  return value;
}

/**
 * A reason code or case reference: 1..max characters of [A-Za-z0-9_.:-] ("confirmed_fraud",
 * "case:FR-2291"). No spaces, so no sentence and no name: it goes on the audit trail as given.
 */
export function requireReasonCode(field: string, value: string, max = 64): string {
  requireText(field, value, max);
  if (!/^[A-Za-z0-9_.:-]+$/.test(value)) {
    throw invalidArgument(field, "must contain only letters, digits, '_', '.', ':' and '-'");
  }
  return value;
}

/** A provider message id or idempotency key: 1..max printable ASCII characters. */
export function requireKey(field: string, value: string, max: number): string {
  requireText(field, value, max);
  if (!/^[\x21-\x7e]+$/.test(value)) throw invalidArgument(field, "must be printable ASCII without spaces");
  return value;
}

/** An E.164 phone number. */
export function requirePhone(field: string, value: string): string {
  if (!E164.test(value)) throw invalidArgument(field, "must be an E.164 number: '+' then 8 to 15 digits");
  return value;
}

/** An ISO 4217 currency code in upper case. */
export function requireCurrency(field: string, value: string): string {
  if (!isCurrency(value)) throw invalidArgument(field, "must be an ISO 4217 code such as EUR");
  return value;
}

/**
 * A positive amount of money. int64 arrives as bigint; values past 2^53 − 1 are refused here at
 * the edge rather than left to the encoder or the database (DESIGN.md, Transport).
 */
export function requirePositiveMoney(
  field: string,
  value: { currency: string; minorUnits: bigint } | undefined,
): Money {
  if (!value) throw invalidArgument(field, "is required");
  const currency = requireCurrency(`${field}.currency`, value.currency);
  if (value.minorUnits <= 0n) throw invalidArgument(`${field}.minor_units`, "must be positive");
  if (value.minorUnits > MAX_MINOR_UNITS) {
    throw invalidArgument(`${field}.minor_units`, `must be at most ${MAX_MINOR_UNITS}`);
  }
  return { currency, minorUnits: value.minorUnits };
}

/** A page size 0..100 (0 → default 20) and an opaque token of at most 512 characters. */
export function readPage(field: string, page: { pageSize: number; pageToken: string } | undefined) {
  const size = page?.pageSize ?? 0;
  if (size > 100) throw invalidArgument(`${field}.page_size`, "must be at most 100");
  const token = page?.pageToken ?? "";
  if (token.length > 512 || !/^[A-Za-z0-9_-]*$/.test(token)) {
    throw invalidArgument(`${field}.page_token`, "is not a token this service issued");
  }
  return { limit: size === 0 ? 20 : size, cursor: token === "" ? undefined : token };
}
