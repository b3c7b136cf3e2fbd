import type { Clock } from "../../../lib/clock.js";
import type { IdSource } from "../../../lib/ids.js";
import { isCurrency, MAX_MINOR_UNITS } from "../../../lib/money.js";
import { maskPhone } from "../../../lib/redact.js";
import { DomainError, invalidArgument } from "../../domain/errors.js";
import type { Account, DepositInput, LedgerStore } from "../../domain/ledger.js";
import { appendAuditEvent } from "./audit-append.js";
import { addBeneficiary, findBeneficiary, listBeneficiaries } from "./ledger-beneficiaries.js";
import { postDeposit } from "./ledger-deposit.js";
import { createHoldReview } from "./ledger-hold-review.js";
import type { AccountRow, CustomerRow, PostingRow } from "./ledger-rows.js";
import {
  ACCOUNT_COLUMNS,
  CUSTOMER_COLUMNS,
  decodeCursor,
  encodeCursor,
  epochMs,
  toAccount,
  toCustomer,
  toPosting,
} from "./ledger-rows.js";
import { findTransfer, postTransfer } from "./ledger-transfer.js";
import { checkTransfer } from "./ledger-transfer-input.js";
import type { SqlClient } from "./sql-client.js";
import { sqlState } from "./sql-client.js";
import { transactionWithRetry } from "./sql-retry.js";

/** Collaborators of the PostgreSQL ledger store. */
export interface PostgresLedgerStoreDeps {
  /** PGlite or pg; migrated beforehand with `migrate`. The store owns it: `close` closes it. */
  readonly client: SqlClient;
  readonly clock: Clock;
  readonly ids: IdSource;
}

/** The most postings one page returns, whatever the caller asks. */
export const MAX_PAGE_SIZE = 100;

/** Every failure that is not already a DomainError means the database could not answer. */
function unavailable(error: unknown): DomainError {
  if (error instanceof DomainError) return error;
  return new DomainError("UNAVAILABLE", "The ledger is unavailable; try again later.", { cause: error });
}

async function guard<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw unavailable(error);
  }
}

function checkDeposit(input: DepositInput): void {
  if (!isCurrency(input.amount.currency)) throw invalidArgument("amount.currency", "is not an ISO 4217 code");
  const units = input.amount.minorUnits;
  if (units <= 0n || units > MAX_MINOR_UNITS) throw invalidArgument("amount.minor_units", "is out of range");
}

function pageSize(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1)
    throw invalidArgument("page.page_size", "must be a positive integer");
  return Math.min(limit, MAX_PAGE_SIZE);
}

/**
 * Creates the LedgerStore on PostgreSQL (or PGlite, with the same SQL). The database enforces
 * what must never break — no negative customer balance, one transfer per idempotency key,
 * append-only entries — and the store maps SQLSTATEs, never message text, to DomainError codes.
 * Payees live in ledger-beneficiaries.ts, transfers in ledger-transfer.ts, the review of held
 * transfers in ledger-hold-review.ts; this file composes.
 */
export function createPostgresLedgerStore(deps: PostgresLedgerStoreDeps): LedgerStore {
  const { client, clock, ids } = deps;
  const now = () => new Date(clock.now()).toISOString();
  const review = createHoldReview({ client, clock, ids });

  const findAccount = async (accountId: string): Promise<Account | undefined> => {
    const { rows } = await client.query<AccountRow>(
      `SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = $1 AND kind = 'customer'`,
      [accountId],
    );
    return rows[0] === undefined ? undefined : toAccount(rows[0]);
  };
  const customerExists = async (customerId: string): Promise<boolean> => {
    const { rows } = await client.query("SELECT 1 FROM customers WHERE id = $1", [customerId]);
    return rows.length > 0;
  };

  return {
    createCustomer: (input) =>
      guard(async () => {
        try {
          return await client.transaction(async (tx) => {
            const { rows } = await tx.query<CustomerRow>(
              `INSERT INTO customers (id, display_name, phone_number, created_at)
               VALUES ($1, $2, $3, $4::timestamptz) RETURNING ${CUSTOMER_COLUMNS}`,
              [ids("cus_"), input.displayName, input.phoneNumber, now()],
            );
            const customer = toCustomer(rows[0] as CustomerRow);
            // The trail keeps a masked phone only: it outlives erasure (DESIGN.md, Banking).
            await appendAuditEvent(tx, clock, {
              type: "customer.created",
              customerId: customer.id,
              outcome: "success",
              attributes: { phone_masked: maskPhone(input.phoneNumber) },
            });
            return customer;
          });
        } catch (error) {
          if (sqlState(error) !== "23505") throw error;
          throw new DomainError("ALREADY_EXISTS", "A customer with this phone number exists.", {
            cause: error,
          });
        }
      }),

    getCustomer: (customerId) =>
      guard(async () => {
        const { rows } = await client.query<CustomerRow>(
          `SELECT ${CUSTOMER_COLUMNS} FROM customers WHERE id = $1`,
          [customerId],
        );
        return rows[0] === undefined ? undefined : toCustomer(rows[0]);
      }),

    findCustomerByPhone: (phoneNumber) =>
      guard(async () => {
        const { rows } = await client.query<CustomerRow>(
          `SELECT ${CUSTOMER_COLUMNS} FROM customers WHERE phone_number = $1`,
          [phoneNumber],
        );
        return rows[0] === undefined ? undefined : toCustomer(rows[0]);
      }),

    findProfileByPhone: (phoneNumber) =>
      guard(async () => {
        // One statement: the customer and their accounts (a LEFT JOIN keeps a customer without any).
        const { rows } = await client.query<CustomerRow & { account: AccountRow | null }>(
          `SELECT c.id, c.display_name, c.phone_number, ${epochMs("c.created_at")} AS created_ms,
             CASE WHEN a.id IS NULL THEN NULL ELSE json_build_object('id', a.id, 'customer_id', a.customer_id,
               'kind', a.kind, 'currency', a.currency, 'balance', a.balance::text,
               'created_ms', ${epochMs("a.created_at")}::text) END AS account
           FROM customers c LEFT JOIN accounts a ON a.customer_id = c.id AND a.kind = 'customer'
           WHERE c.phone_number = $1 ORDER BY a.seq`,
          [phoneNumber],
        );
        const first = rows[0];
        if (first === undefined) return undefined;
        const accounts = rows.flatMap((r) =>
          r.account === null ? [] : [toAccount(parseJson<AccountRow>(r.account))],
        );
        return { customer: toCustomer(first), accounts };
      }),

    openAccount: (customerId, currency) =>
      guard(async () => {
        if (!isCurrency(currency)) throw invalidArgument("currency", "is not an ISO 4217 code");
        return client.transaction(async (tx) => {
          const { rows } = await tx.query<AccountRow>(
            `INSERT INTO accounts (id, customer_id, kind, currency, balance, created_at)
             SELECT $1, id, 'customer', $3, 0, $4::timestamptz FROM customers WHERE id = $2
             RETURNING ${ACCOUNT_COLUMNS}`,
            [ids("acc_"), customerId, currency, now()],
          );
          if (rows[0] === undefined) throw new DomainError("NOT_FOUND", "The customer does not exist.");
          const account = toAccount(rows[0]);
          await appendAuditEvent(tx, clock, {
            type: "account.opened",
            customerId,
            outcome: "success",
            attributes: { account_id: account.id, currency },
          });
          return account;
        });
      }),

    getAccount: (accountId) => guard(() => findAccount(accountId)),

    listAccounts: (customerId) =>
      guard(async () => {
        const { rows } = await client.query<AccountRow>(
          `SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE customer_id = $1 AND kind = 'customer' ORDER BY seq`,
          [customerId],
        );
        // Only an empty answer needs the second question: no accounts, or no such customer?
        if (rows.length === 0 && !(await customerExists(customerId)))
          throw new DomainError("NOT_FOUND", "The customer does not exist.");
        return rows.map(toAccount);
      }),

    deposit: (input) =>
      guard(() => {
        checkDeposit(input);
        return client.transaction((tx) => postDeposit(tx, { clock, ids }, input));
      }),

    addBeneficiary: (input) => guard(() => addBeneficiary(client, { clock, ids }, input)),
    listBeneficiaries: (customerId) => guard(() => listBeneficiaries(client, customerId)),
    getBeneficiary: (beneficiaryId) => guard(() => findBeneficiary(client, beneficiaryId)),

    createTransfer: (input) =>
      guard(async () => {
        checkTransfer(input);
        // Deadlocks and serialization failures rerun the whole transaction (PG-1); a run that
        // is still refused after the last attempt answers UNAVAILABLE through guard.
        const outcome = await transactionWithRetry(client, (tx) => postTransfer(tx, { clock, ids }, input));
        if (!("refused" in outcome)) return outcome;
        // Thrown after the commit that put the refusal on the audit trail, and nothing else.
        const { rule, reason } = outcome.refused;
        throw new DomainError("TRANSFER_REFUSED", reason, { rule });
      }),
    getTransfer: (transferId) => guard(() => findTransfer(client, transferId)),
    releaseHeldTransfer: (decision) => guard(() => review.release(decision)),
    cancelHeldTransfer: (cancellation) => guard(() => review.cancel(cancellation)),

    listPostings: (accountId, page) =>
      guard(async () => {
        const limit = pageSize(page.limit);
        const before = page.cursor === undefined ? null : decodeCursor(page.cursor);
        if ((await findAccount(accountId)) === undefined) {
          throw new DomainError("NOT_FOUND", "The account does not exist.");
        }
        const { rows } = await client.query<PostingRow>(
          `SELECT e.id, e.seq, e.transfer_id, e.account_id, t.currency, e.amount, e.balance_after, t.reference,
             ${epochMs("e.created_at")} AS created_ms
           FROM entries e JOIN transfers t ON t.id = e.transfer_id
           WHERE e.account_id = $1 AND ($2::int8 IS NULL OR e.seq < $2::int8)
           ORDER BY e.seq DESC LIMIT $3`,
          [accountId, before, limit + 1],
        );
        const items = rows.slice(0, limit);
        const last = items.at(-1);
        const more = rows.length > limit && last !== undefined;
        return { items: items.map(toPosting), ...(more ? { nextCursor: encodeCursor(last.seq) } : {}) };
      }),

    ping: async () => {
      try {
        await client.query("SELECT 1");
        return true;
      } catch {
        // A failed probe is the answer "not ready", not an error (health checks poll this).
        return false;
      }
    },

    close: () => client.close(),
  };
}

/** pg decodes json columns; PGlite may hand back text: accept both. */
function parseJson<T>(value: unknown): T {
  return (typeof value === "string" ? JSON.parse(value) : value) as T;
}
