import { invalidArgument } from "../../domain/errors.js";
import type {
  Account,
  Beneficiary,
  Customer,
  Posting,
  Transfer,
  TransferStatus,
} from "../../domain/ledger.js";

/**
 * Row shapes and converters of the PostgreSQL ledger. Drivers differ on int8: pg returns a
 * string, PGlite a number or a bigint, so every integer column goes through BigInt once here.
 */
type Int8 = string | number | bigint;

/** Select list turning a timestamptz into epoch milliseconds, the domain's time unit. */
export const epochMs = (column: string): string => `(extract(epoch FROM ${column}) * 1000)::int8`;

/** Columns of a customer row, for SELECT and RETURNING. */
export const CUSTOMER_COLUMNS = `id, display_name, phone_number, ${epochMs("created_at")} AS created_ms`;

/** Columns of an account row, for SELECT and RETURNING. */
export const ACCOUNT_COLUMNS = `id, customer_id, kind, currency, balance, ${epochMs("created_at")} AS created_ms`;

/**
 * Columns of a transfer row, for SELECT and RETURNING, without its status: what deposits read,
 * since a deposit is always posted (CHECK transfers_status_reason, migration 4).
 */
export const TRANSFER_COLUMNS = `id, from_account_id, to_account_id, currency, amount, reference,
  ${epochMs("created_at")} AS created_ms`;

/** Columns of a transfer row with its status: what customer transfers and GetTransfer read. */
export const TRANSFER_STATUS_COLUMNS = `${TRANSFER_COLUMNS}, status, status_reason`;

/** Columns of a beneficiary row, for SELECT and RETURNING. */
export const BENEFICIARY_COLUMNS = `id, customer_id, name, account_id, ${epochMs("created_at")} AS created_ms`;

/** A row of beneficiaries as selected with BENEFICIARY_COLUMNS. */
export interface BeneficiaryRow {
  id: string;
  customer_id: string;
  name: string;
  account_id: string;
  created_ms: Int8;
}

/** A row of customers as selected with CUSTOMER_COLUMNS. */
export interface CustomerRow {
  id: string;
  display_name: string;
  phone_number: string;
  created_ms: Int8;
}

/** A row of accounts as selected with ACCOUNT_COLUMNS. */
export interface AccountRow {
  id: string;
  customer_id: string | null;
  kind: "customer" | "funding";
  currency: string;
  balance: Int8;
  created_ms: Int8;
}

/** A row of transfers as selected with TRANSFER_COLUMNS. */
export interface TransferRow {
  id: string;
  from_account_id: string;
  to_account_id: string;
  currency: string;
  amount: Int8;
  reference: string;
  created_ms: Int8;
  /** Selected by TRANSFER_STATUS_COLUMNS only; absent means posted. */
  status?: TransferStatus;
  status_reason?: string | null;
}

/** An entry joined with its transfer, as listPostings selects it. */
export interface PostingRow {
  id: string;
  seq: Int8;
  transfer_id: string;
  account_id: string;
  currency: string;
  amount: Int8;
  balance_after: Int8;
  reference: string;
  created_ms: Int8;
}

/** Converts a row to a Customer. */
export function toCustomer(row: CustomerRow): Customer {
  return {
    id: row.id,
    displayName: row.display_name,
    phoneNumber: row.phone_number,
    createdAt: Number(row.created_ms),
  };
}

/** Converts a customer account row to an Account (funding accounts never leave the store). */
export function toAccount(row: AccountRow): Account {
  return {
    id: row.id,
    customerId: row.customer_id ?? "",
    currency: row.currency,
    balance: BigInt(row.balance),
    openedAt: Number(row.created_ms),
  };
}

/** Converts a row to a Transfer: posted unless the row says otherwise, with a held one's reason. */
export function toTransfer(row: TransferRow): Transfer {
  const held = row.status === "held";
  return {
    id: row.id,
    fromAccountId: row.from_account_id,
    toAccountId: row.to_account_id,
    amount: { currency: row.currency, minorUnits: BigInt(row.amount) },
    reference: row.reference,
    status: row.status ?? "posted",
    ...(held ? { statusReason: row.status_reason ?? "" } : {}),
    createdAt: Number(row.created_ms),
  };
}

/** Converts a row to a Beneficiary. */
export function toBeneficiary(row: BeneficiaryRow): Beneficiary {
  return {
    id: row.id,
    customerId: row.customer_id,
    name: row.name,
    accountId: row.account_id,
    createdAt: Number(row.created_ms),
  };
}

/** Converts a joined entry row to a Posting. */
export function toPosting(row: PostingRow): Posting {
  return {
    id: row.id,
    transferId: row.transfer_id,
    accountId: row.account_id,
    currency: row.currency,
    amount: BigInt(row.amount),
    balanceAfter: BigInt(row.balance_after),
    reference: row.reference,
    bookedAt: Number(row.created_ms),
  };
}

const CURSOR = /^p1:([1-9][0-9]{0,18})$/;
const MAX_INT8 = 9_223_372_036_854_775_807n;

/** Encodes the sequence of the last posting on a page as an opaque base64url page token. */
export function encodeCursor(seq: Int8): string {
  return Buffer.from(`p1:${BigInt(seq)}`).toString("base64url");
}

/**
 * Decodes a page token back to an entry sequence (as a decimal string for the driver), or throws
 * INVALID_ARGUMENT on "page.page_token" for anything this store did not issue.
 */
export function decodeCursor(cursor: string): string {
  const match = CURSOR.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  const seq = match?.[1];
  if (seq === undefined || BigInt(seq) > MAX_INT8 || encodeCursor(seq) !== cursor) {
    throw invalidArgument("page.page_token", "is not a valid page token");
  }
  return seq;
}
