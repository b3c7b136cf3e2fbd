import { expect } from "chai";
import { DomainError } from "../../core/domain/errors.js";
import type { Account, LedgerStore, TransferInput } from "../../core/domain/ledger.js";
import type { TransferRules } from "../../core/domain/transfer-rules.js";
import { createPostgresLedgerStore } from "../../core/stores/postgres/ledger-store.js";
import { migrate } from "../../core/stores/postgres/migrate.js";
import { createPgliteClient } from "../../core/stores/postgres/pglite-client.js";
import type { SqlClient } from "../../core/stores/postgres/sql-client.js";
import { DEFAULT_TRANSFER_RULES } from "../../core/transfer-rules-config.js";
import { createManualClock, type ManualClock } from "../../lib/clock.js";
import { newId } from "../../lib/ids.js";
import type { Money } from "../../lib/money.js";
import { createTestSchemaClient } from "./postgres.js";

/** A database the ledger suites run on: PGlite in memory, or a fresh schema on PostgreSQL. */
export interface LedgerBackend {
  readonly name: string;
  open(): Promise<{ client: SqlClient; dispose(): Promise<void> }>;
}

/** Both backends, so every ledger promise is proven on the default and on a server. */
export const ledgerBackends: readonly LedgerBackend[] = [
  {
    name: "PGlite",
    open: async () => {
      const client = createPgliteClient();
      return { client, dispose: () => client.close() };
    },
  },
  {
    name: "PostgreSQL",
    open: async () => {
      const { client, drop } = await createTestSchemaClient();
      return { client, dispose: drop };
    },
  },
];

/** The error a promise rejects with; fails when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

/** Asserts that a promise rejects with a DomainError of `code`, and returns it. */
export async function expectDomainError(promise: Promise<unknown>, code: string): Promise<DomainError> {
  const error = await rejection(promise);
  expect(error).to.be.instanceOf(DomainError);
  expect(error).to.have.property("code", code);
  return error as DomainError;
}

/** Euros in minor units. */
export const eur = (minorUnits: bigint): Money => ({ currency: "EUR", minorUnits });

let phone = 0;

/** Creates a customer with one account in `currency`, funded by a deposit of `minorUnits` when positive. */
export async function fundedAccount(
  store: LedgerStore,
  minorUnits: bigint,
  currency = "EUR",
): Promise<Account> {
  phone += 1;
  const customer = await store.createCustomer({
    displayName: `Customer ${phone}`,
    phoneNumber: `+1555${String(phone).padStart(7, "0")}`,
  });
  const account = await store.openAccount(customer.id, currency);
  if (minorUnits === 0n) return account;
  const amount = { currency, minorUnits };
  const { account: funded } = await store.deposit({
    accountId: account.id,
    amount,
    reference: "opening",
    idempotencyKey: `open-${account.id}`,
  });
  return funded;
}

/** The default transfer rules with some changed, for a test that needs a limit tighter or looser. */
export function rulesWith(changes: Partial<TransferRules>): TransferRules {
  return { ...DEFAULT_TRANSFER_RULES, ...changes };
}

/**
 * Opens another account for the owner of `account` and funds it with `minorUnits` when positive,
 * so a test can spend one customer's money from two accounts.
 */
export async function siblingAccount(store: LedgerStore, account: Account, minorUnits: bigint) {
  const sibling = await store.openAccount(account.customerId, account.currency);
  if (minorUnits === 0n) return sibling;
  const amount = { currency: account.currency, minorUnits };
  const key = `open-${sibling.id}`;
  return (await store.deposit({ accountId: sibling.id, amount, reference: "opening", idempotencyKey: key }))
    .account;
}

/**
 * A transfer request of `minorUnits` EUR from the caller "gateway-web", with a fresh key unless
 * given, decided by the default transfer rules (the product's, as .env.example documents them).
 */
export function transferInput(
  from: Account,
  to: Account,
  minorUnits: bigint,
  overrides: Partial<TransferInput> = {},
): TransferInput {
  return {
    callerId: "gateway-web",
    idempotencyKey: newId("key_"),
    fromAccountId: from.id,
    toAccountId: to.id,
    amount: eur(minorUnits),
    reference: "rent March",
    rules: DEFAULT_TRANSFER_RULES,
    ...overrides,
  };
}

/** Counts the rows of a ledger or audit table. */
export async function countRows(client: SqlClient, table: "transfers" | "entries" | "audit_events") {
  const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`, []);
  return Number(rows[0]?.n ?? 0);
}

/** Every account whose stored balance differs from the sum of its entries (LED-3); empty when sound. */
export async function unbalancedAccounts(client: SqlClient): Promise<string[]> {
  const { rows } = await client.query<{ id: string }>(
    `SELECT a.id FROM accounts a LEFT JOIN entries e ON e.account_id = a.id
     GROUP BY a.id, a.balance HAVING a.balance <> coalesce(sum(e.amount), 0)`,
    [],
  );
  return rows.map((row) => row.id);
}

/**
 * A migrated ledger store on one backend, with its client for direct SQL, its manual clock (the
 * store stamps transfers with it, so a test moves the rules' time windows by advancing it) and a
 * way to dispose of both.
 */
export async function openLedger(
  backend: LedgerBackend,
): Promise<{ client: SqlClient; store: LedgerStore; clock: ManualClock; dispose(): Promise<void> }> {
  const { client, dispose } = await backend.open();
  await migrate(client);
  const clock = createManualClock();
  return { client, store: createPostgresLedgerStore({ client, clock, ids: newId }), clock, dispose };
}
