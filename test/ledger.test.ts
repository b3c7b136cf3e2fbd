import { expect } from "chai";
import { DomainError } from "../core/domain/errors.js";
import type { Account, LedgerStore } from "../core/domain/ledger.js";
import { migrate, migrations } from "../core/stores/postgres/migrate.js";
import type { SqlClient } from "../core/stores/postgres/sql-client.js";
import { sqlState } from "../core/stores/postgres/sql-client.js";
import { newId } from "../lib/ids.js";
import type { Money } from "../lib/money.js";
import { ledgerBackends as backends, openLedger, rejection } from "./support/ledger-fixture.js";

async function expectDomainError(promise: Promise<unknown>, code: string): Promise<DomainError> {
  const error = await rejection(promise);
  expect(error).to.be.instanceOf(DomainError);
  expect(error).to.have.property("code", code);
  return error as DomainError;
}

const eur = (minorUnits: bigint): Money => ({ currency: "EUR", minorUnits });

for (const backend of backends) {
  describe(`LedgerStore (${backend.name})`, () => {
    let client: SqlClient;
    let dispose: () => Promise<void>;
    let store: LedgerStore;

    beforeEach(async () => {
      ({ client, store, dispose } = await openLedger(backend));
    });

    afterEach(async () => {
      await dispose();
    });

    async function openEurAccount(phoneNumber = "+15550001111"): Promise<Account> {
      const customer = await store.createCustomer({ displayName: "Ada", phoneNumber });
      return store.openAccount(customer.id, "EUR");
    }

    const deposit = (accountId: string, minorUnits: bigint, idempotencyKey = newId("key_")) =>
      store.deposit({ accountId, amount: eur(minorUnits), reference: "salary", idempotencyKey });

    it("should apply each migration once when migrations run twice", async () => {
      expect(await migrate(client)).to.deep.equal([]);
      const { rows } = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM schema_migrations");
      expect(rows[0]?.n).to.equal(migrations.length);
    });

    it("should create a customer and refuse a second one with the same phone number", async () => {
      const created = await store.createCustomer({ displayName: "Ada", phoneNumber: "+15550001111" });
      expect(created.id).to.match(/^cus_/);
      expect(await store.getCustomer(created.id)).to.deep.equal(created);
      expect(await store.findCustomerByPhone("+15550001111")).to.deep.equal(created);
      await expectDomainError(
        store.createCustomer({ displayName: "Eve", phoneNumber: "+15550001111" }),
        "ALREADY_EXISTS",
      );
    });

    it("should open accounts with a zero balance and list them oldest first", async () => {
      const customer = await store.createCustomer({ displayName: "Ada", phoneNumber: "+15550001111" });
      const first = await store.openAccount(customer.id, "EUR");
      const second = await store.openAccount(customer.id, "USD");
      expect(first).to.include({ customerId: customer.id, currency: "EUR", balance: 0n });
      expect(await store.getAccount(first.id)).to.deep.equal(first);
      expect((await store.listAccounts(customer.id)).map((a) => a.id)).to.deep.equal([first.id, second.id]);
    });

    it("should read a customer's profile by phone in one go: the customer and accounts, oldest first", async () => {
      const customer = await store.createCustomer({ displayName: "Bo", phoneNumber: "+15550002222" });
      expect(await store.findProfileByPhone("+15550002222")).to.deep.equal({ customer, accounts: [] });
      const eurAccount = await store.openAccount(customer.id, "EUR");
      const usdAccount = await store.openAccount(customer.id, "USD");
      await store.deposit({
        accountId: usdAccount.id,
        amount: { currency: "USD", minorUnits: 9_007_199_254_740_991n },
        reference: "",
        idempotencyKey: "big",
      });
      const profile = await store.findProfileByPhone("+15550002222");
      expect(profile?.customer).to.deep.equal(customer);
      expect(profile?.accounts.map((a) => [a.id, a.balance])).to.deep.equal([
        [eurAccount.id, 0n],
        [usdAccount.id, 9_007_199_254_740_991n],
      ]);
      expect(profile?.accounts[0]).to.deep.equal(await store.getAccount(eurAccount.id));
      expect(await store.findProfileByPhone("+15559999999")).to.equal(undefined);
    });

    it("should answer NOT_FOUND for unknown customers and accounts", async () => {
      expect(await store.getCustomer("cus_missing")).to.equal(undefined);
      expect(await store.findCustomerByPhone("+15559999999")).to.equal(undefined);
      expect(await store.getAccount("acc_missing")).to.equal(undefined);
      await expectDomainError(store.openAccount("cus_missing", "EUR"), "NOT_FOUND");
      await expectDomainError(store.listAccounts("cus_missing"), "NOT_FOUND");
      await expectDomainError(deposit("acc_missing", 100n), "NOT_FOUND");
      await expectDomainError(store.listPostings("acc_missing", { limit: 10 }), "NOT_FOUND");
    });

    it("should post a deposit as two entries that sum to zero against the funding account", async () => {
      const account = await openEurAccount();
      const { transfer, account: after } = await deposit(account.id, 12_345n);
      expect(after.balance).to.equal(12_345n);
      expect(transfer).to.include({ toAccountId: account.id, status: "posted", reference: "salary" });
      expect(transfer.amount).to.deep.equal(eur(12_345n));
      const { rows } = await client.query<{ account_id: string; amount: string }>(
        "SELECT account_id, amount::text AS amount FROM entries WHERE transfer_id = $1 ORDER BY seq",
        [transfer.id],
      );
      expect(rows.map((r) => BigInt(r.amount))).to.deep.equal([-12_345n, 12_345n]);
      const funding = await client.query<{ balance: string }>(
        "SELECT balance::text AS balance FROM accounts WHERE id = $1",
        [transfer.fromAccountId],
      );
      expect(BigInt(funding.rows[0]?.balance ?? "0")).to.equal(-12_345n);
      const [posting] = (await store.listPostings(account.id, { limit: 10 })).items;
      expect(posting).to.include({
        transferId: transfer.id,
        amount: 12_345n,
        balanceAfter: 12_345n,
        currency: "EUR",
      });
    });

    it("should return the original transfer when a deposit is replayed with the same key", async () => {
      const account = await openEurAccount();
      const first = await deposit(account.id, 500n, "key-1");
      const again = await deposit(account.id, 500n, "key-1");
      expect(again.transfer).to.deep.equal(first.transfer);
      expect(again.account.balance).to.equal(500n);
      expect((await store.listPostings(account.id, { limit: 10 })).items).to.have.length(1);
      await expectDomainError(deposit(account.id, 501n, "key-1"), "IDEMPOTENCY_CONFLICT");
    });

    it("should post exactly once when 20 deposits with the same key race", async () => {
      const account = await openEurAccount();
      const results = await Promise.all(Array.from({ length: 20 }, () => deposit(account.id, 700n, "race")));
      expect(new Set(results.map((r) => r.transfer.id)).size).to.equal(1);
      expect((await store.getAccount(account.id))?.balance).to.equal(700n);
      const { rows } = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM entries");
      expect(rows[0]?.n).to.equal(2);
    });

    it("should refuse a deposit in another currency with CURRENCY_MISMATCH", async () => {
      const account = await openEurAccount();
      const input = { accountId: account.id, reference: "x", idempotencyKey: "k" };
      await expectDomainError(
        store.deposit({ ...input, amount: { currency: "USD", minorUnits: 1n } }),
        "CURRENCY_MISMATCH",
      );
      expect((await store.getAccount(account.id))?.balance).to.equal(0n);
    });

    it("should page postings newest first without overlap", async () => {
      const account = await openEurAccount();
      for (let i = 1; i <= 25; i += 1) await deposit(account.id, BigInt(i));
      const first = await store.listPostings(account.id, { limit: 10 });
      const second = await store.listPostings(account.id, { limit: 10, cursor: first.nextCursor });
      const third = await store.listPostings(account.id, { limit: 10, cursor: second.nextCursor });
      expect([first.items.length, second.items.length, third.items.length]).to.deep.equal([10, 10, 5]);
      expect(third.nextCursor).to.equal(undefined);
      const amounts = [...first.items, ...second.items, ...third.items].map((p) => p.amount);
      expect(amounts).to.deep.equal(Array.from({ length: 25 }, (_, i) => BigInt(25 - i)));
    });

    it("should refuse a malformed page token with INVALID_ARGUMENT", async () => {
      const account = await openEurAccount();
      for (const cursor of ["not a cursor", "", Buffer.from("p1:-3").toString("base64url")]) {
        const error = await expectDomainError(
          store.listPostings(account.id, { limit: 10, cursor }),
          "INVALID_ARGUMENT",
        );
        expect(error.field).to.equal("page.page_token");
      }
    });

    it("should have the database refuse a negative customer balance", async () => {
      const account = await openEurAccount();
      const error = await rejection(
        client.query("UPDATE accounts SET balance = -1 WHERE id = $1", [account.id]),
      );
      expect(sqlState(error)).to.equal("23514");
    });

    it("should have the database refuse to change or delete entries and transfers", async () => {
      const account = await openEurAccount();
      await deposit(account.id, 100n);
      for (const sql of [
        "UPDATE entries SET amount = amount + 1",
        "DELETE FROM entries",
        "UPDATE transfers SET reference = 'changed'",
        "DELETE FROM transfers",
      ]) {
        expect(sqlState(await rejection(client.query(sql, [])))).to.equal("23001");
      }
      expect((await store.listPostings(account.id, { limit: 10 })).items).to.have.length(1);
    });

    it("should have the database refuse a transfer whose entries do not sum to zero", async () => {
      const account = await openEurAccount();
      const { transfer } = await deposit(account.id, 100n);
      const unbalanced = client.transaction(async (tx) => {
        await tx.query(
          `INSERT INTO transfers (id, kind, idempotency_key, from_account_id, to_account_id, currency, amount,
             reference, created_at)
           VALUES ('trf_x', 'deposit', 'unbalanced', $1, $2, 'EUR', 5, 'x', now())`,
          [transfer.fromAccountId, account.id],
        );
        await tx.query(
          `INSERT INTO entries (id, transfer_id, account_id, amount, balance_after, created_at)
           VALUES ('ent_x', 'trf_x', $1, 5, 105, now())`,
          [account.id],
        );
      });
      expect(sqlState(await rejection(unbalanced))).to.equal("23514");
      expect((await store.listPostings(account.id, { limit: 10 })).items).to.have.length(1);
    });

    it("should keep every balance equal to the sum of its entries", async () => {
      const ada = await openEurAccount("+15550001111");
      const bob = await openEurAccount("+15550002222");
      await Promise.all([
        deposit(ada.id, 100n),
        deposit(bob.id, 250n),
        deposit(ada.id, 7n),
        deposit(bob.id, 1n),
      ]);
      const { rows } = await client.query<{ balance: string; total: string }>(
        `SELECT a.balance::text AS balance, coalesce(sum(e.amount), 0)::text AS total
         FROM accounts a LEFT JOIN entries e ON e.account_id = a.id GROUP BY a.id, a.balance`,
        [],
      );
      expect(rows).to.have.length(3);
      for (const row of rows) expect(BigInt(row.balance)).to.equal(BigInt(row.total));
      expect((await store.getAccount(ada.id))?.balance).to.equal(107n);
    });

    it("should answer UNAVAILABLE with the cause once the database is gone", async () => {
      await store.close();
      const error = await expectDomainError(store.getAccount("acc_x"), "UNAVAILABLE");
      expect(error.cause).to.be.instanceOf(Error);
      expect(await store.ping()).to.equal(false);
    });
  });
}
