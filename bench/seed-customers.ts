import type { LedgerStore } from "../core/domain/ledger.js";

/** How many customers the HandleMessage benchmark writes as; senders cycle over all of them. */
export const CUSTOMER_COUNT = 1_000;

/** Customers created at once while seeding: below the test SQL pool of 20 connections. */
const SEED_CONCURRENCY = 16;

/**
 * The phone number of bench customer `index` (0 ≤ index < 100,000): `+4477009` and five digits,
 * in Ofcom's range reserved for drama (07700 900xxx), so never a real line.
 */
export function benchPhone(index: number): string {
  return `+4477009${String(index).padStart(5, "0")}`;
}

/**
 * Creates `count` customers straight through the ledger, each with a EUR account and one deposit
 * (idempotent by key), so every bench sender is a known customer with a balance to report.
 * Resolves with their customer ids, by index.
 */
export async function seedCustomers(ledger: LedgerStore, count: number = CUSTOMER_COUNT): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      ids[index] = await seedOne(ledger, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(SEED_CONCURRENCY, count) }, worker));
  return ids;
}

async function seedOne(ledger: LedgerStore, index: number): Promise<string> {
  const customer = await ledger.createCustomer({
    displayName: `Bench ${index}`,
    phoneNumber: benchPhone(index),
  });
  const account = await ledger.openAccount(customer.id, "EUR");
  await ledger.deposit({
    accountId: account.id,
    amount: { currency: "EUR", minorUnits: 100_000n + BigInt(index) },
    reference: "Bench deposit",
    idempotencyKey: `bench-seed-${index}`,
  });
  return customer.id;
}
