import { expect } from "chai";
import type { LedgerStore, TransferInput } from "../core/domain/ledger.js";
import { createPostgresAuditLog } from "../core/stores/postgres/audit-log.js";
import { createPostgresLedgerStore } from "../core/stores/postgres/ledger-store.js";
import { debit } from "../core/stores/postgres/ledger-transfer.js";
import { migrate, migrations } from "../core/stores/postgres/migrate.js";
import { auditInboxMigration } from "../core/stores/postgres/migrations/007-audit-inbox.js";
import type { SqlClient } from "../core/stores/postgres/sql-client.js";
import { createManualClock, systemClock } from "../lib/clock.js";
import { newId } from "../lib/ids.js";
import {
  countRows,
  eur,
  expectDomainError,
  fundedAccount,
  ledgerBackends,
  openLedger,
  rejection,
  transferInput,
  unbalancedAccounts,
} from "./support/ledger-fixture.js";

for (const backend of ledgerBackends) {
  describe(`LedgerStore transfers (${backend.name})`, () => {
    let client: SqlClient;
    let dispose: () => Promise<void>;
    let store: LedgerStore;

    beforeEach(async () => {
      ({ client, store, dispose } = await openLedger(backend));
    });

    afterEach(async () => {
      await dispose();
    });

    const balance = async (accountId: string) => (await store.getAccount(accountId))?.balance;
    const snapshot = async (...accountIds: string[]) => ({
      balances: await Promise.all(accountIds.map(balance)),
      transfers: await countRows(client, "transfers"),
      entries: await countRows(client, "entries"),
      audit: await countRows(client, "audit_events"),
    });

    it("should move money as two entries that sum to zero, each with the balance after it", async () => {
      const ada = await fundedAccount(store, 10_000n);
      const bob = await fundedAccount(store, 500n);
      const { transfer, replayed } = await store.createTransfer(transferInput(ada, bob, 2_500n));
      expect(replayed).to.equal(false);
      expect(transfer).to.include({ fromAccountId: ada.id, toAccountId: bob.id, status: "posted" });
      expect(transfer.amount).to.deep.equal(eur(2_500n));
      expect([await balance(ada.id), await balance(bob.id)]).to.deep.equal([7_500n, 3_000n]);
      const { rows } = await client.query<{ account_id: string; amount: string; balance_after: string }>(
        `SELECT account_id, amount::text AS amount, balance_after::text AS balance_after
         FROM entries WHERE transfer_id = $1 ORDER BY seq`,
        [transfer.id],
      );
      expect(rows.map((r) => [r.account_id, BigInt(r.amount), BigInt(r.balance_after)])).to.deep.equal([
        [ada.id, -2_500n, 7_500n],
        [bob.id, 2_500n, 3_000n],
      ]);
      expect(await store.getTransfer(transfer.id)).to.deep.equal(transfer);
      expect(await store.getTransfer("trf_missing")).to.equal(undefined);
      const [posting] = (await store.listPostings(bob.id, { limit: 1 })).items;
      expect(posting).to.include({ transferId: transfer.id, amount: 2_500n, reference: "rent March" });
      expect(await unbalancedAccounts(client)).to.deep.equal([]);
    });

    it("should refuse an overdraft with INSUFFICIENT_FUNDS and change nothing", async () => {
      const ada = await fundedAccount(store, 1_000n);
      const bob = await fundedAccount(store, 0n);
      const before = await snapshot(ada.id, bob.id);
      await expectDomainError(store.createTransfer(transferInput(ada, bob, 1_001n)), "INSUFFICIENT_FUNDS");
      expect(await snapshot(ada.id, bob.id)).to.deep.equal(before);
      await store.createTransfer(transferInput(ada, bob, 1_000n));
      expect([await balance(ada.id), await balance(bob.id)]).to.deep.equal([0n, 1_000n]);
    });

    it("should keep no key for a refused transfer, so the same key runs again later", async () => {
      const ada = await fundedAccount(store, 100n);
      const bob = await fundedAccount(store, 0n);
      const input = transferInput(ada, bob, 300n, { idempotencyKey: "retry-later" });
      await expectDomainError(store.createTransfer(input), "INSUFFICIENT_FUNDS");
      await store.deposit({ accountId: ada.id, amount: eur(200n), reference: "top-up", idempotencyKey: "t" });
      expect((await store.createTransfer(input)).replayed).to.equal(false);
      expect(await balance(bob.id)).to.equal(300n);
    });

    it("should return the same transfer with replayed=true for the same key and post once", async () => {
      const ada = await fundedAccount(store, 1_000n);
      const bob = await fundedAccount(store, 0n);
      const input = transferInput(ada, bob, 400n, { idempotencyKey: "once" });
      const first = await store.createTransfer(input);
      const before = await snapshot(ada.id, bob.id);
      const again = await store.createTransfer(input);
      expect(again).to.deep.equal({ transfer: first.transfer, replayed: true });
      expect(await snapshot(ada.id, bob.id)).to.deep.equal(before);
      // A replay answers from the stored transfer even when today's balance could not pay it.
      await store.createTransfer(transferInput(ada, bob, 600n));
      expect((await store.createTransfer(input)).transfer).to.deep.equal(first.transfer);
    });

    it("should refuse the same key with another amount, payee or reference with IDEMPOTENCY_CONFLICT", async () => {
      const ada = await fundedAccount(store, 1_000n);
      const bob = await fundedAccount(store, 0n);
      const cy = await fundedAccount(store, 0n);
      const input = transferInput(ada, bob, 100n, { idempotencyKey: "same" });
      await store.createTransfer(input);
      const before = await snapshot(ada.id, bob.id, cy.id);
      for (const other of [
        { ...input, amount: eur(101n) },
        { ...input, toAccountId: cy.id },
        { ...input, reference: "something else" },
      ]) {
        await expectDomainError(store.createTransfer(other), "IDEMPOTENCY_CONFLICT");
      }
      expect(await snapshot(ada.id, bob.id, cy.id)).to.deep.equal(before);
    });

    it("should treat the same key from another caller as another transfer", async () => {
      const ada = await fundedAccount(store, 1_000n);
      const bob = await fundedAccount(store, 0n);
      const web = await store.createTransfer(transferInput(ada, bob, 100n, { idempotencyKey: "k1" }));
      const wa = await store.createTransfer(
        transferInput(ada, bob, 100n, { idempotencyKey: "k1", callerId: "gateway-whatsapp" }),
      );
      expect(wa.replayed).to.equal(false);
      expect(wa.transfer.id).not.to.equal(web.transfer.id);
      expect(await balance(bob.id)).to.equal(200n);
      // Deposits keep their own, global key space: the same text is no conflict.
      await store.deposit({ accountId: bob.id, amount: eur(1n), reference: "", idempotencyKey: "k1" });
    });

    it("should refuse a currency mismatch with CURRENCY_MISMATCH", async () => {
      const ada = await fundedAccount(store, 1_000n);
      const usd = await fundedAccount(store, 1_000n, "USD");
      const bob = await fundedAccount(store, 0n);
      const before = await snapshot(ada.id, usd.id, bob.id);
      await expectDomainError(store.createTransfer(transferInput(ada, usd, 10n)), "CURRENCY_MISMATCH");
      const inUsd = transferInput(ada, bob, 10n, { amount: { currency: "USD", minorUnits: 10n } });
      await expectDomainError(store.createTransfer(inUsd), "CURRENCY_MISMATCH");
      expect(await snapshot(ada.id, usd.id, bob.id)).to.deep.equal(before);
    });

    it("should answer NOT_FOUND for unknown, internal or someone else's accounts", async () => {
      const ada = await fundedAccount(store, 1_000n);
      const bob = await fundedAccount(store, 0n);
      const missing = { ...bob, id: "acc_missing" };
      await expectDomainError(store.createTransfer(transferInput(ada, missing, 1n)), "NOT_FOUND");
      await expectDomainError(store.createTransfer(transferInput(missing, ada, 1n)), "NOT_FOUND");
      const { rows } = await client.query<{ id: string }>(
        "SELECT id FROM accounts WHERE kind = 'funding'",
        [],
      );
      const funding = { ...bob, id: rows[0]?.id ?? "" };
      await expectDomainError(store.createTransfer(transferInput(funding, bob, 1n)), "NOT_FOUND");
      const notHers = transferInput(ada, bob, 1n, { customerId: bob.customerId });
      await expectDomainError(store.createTransfer(notHers), "NOT_FOUND");
      await store.createTransfer(transferInput(ada, bob, 1n, { customerId: ada.customerId }));
      expect(await balance(bob.id)).to.equal(1n);
    });

    it("should refuse malformed requests with INVALID_ARGUMENT naming the field", async () => {
      const ada = await fundedAccount(store, 1_000n);
      const bob = await fundedAccount(store, 0n);
      const cases: [Partial<TransferInput>, string][] = [
        [{ toAccountId: ada.id }, "to_account_id"],
        [{ amount: eur(0n) }, "amount.minor_units"],
        [{ amount: eur(-5n) }, "amount.minor_units"],
        [{ amount: { currency: "EU", minorUnits: 1n } }, "amount.currency"],
        [{ idempotencyKey: "" }, "idempotency_key"],
        [{ idempotencyKey: "k".repeat(256) }, "idempotency_key"],
        [{ callerId: "" }, "caller_id"],
        [{ reference: "r".repeat(141) }, "reference"],
      ];
      for (const [override, field] of cases) {
        const error = await expectDomainError(
          store.createTransfer(transferInput(ada, bob, 1n, override)),
          "INVALID_ARGUMENT",
        );
        expect(error.field).to.equal(field);
      }
      expect(await countRows(client, "transfers")).to.equal(1);
    });

    it("should have the accounts CHECK refuse a debit below zero as INSUFFICIENT_FUNDS", async () => {
      const ada = await fundedAccount(store, 10n);
      const overdraw = client.transaction((tx) => debit(tx, ada.id, 11n));
      const error = await expectDomainError(overdraw, "INSUFFICIENT_FUNDS");
      expect(error.cause).to.have.property("code", "23514");
      expect(await balance(ada.id)).to.equal(10n);
    });

    it("should save, list and read payees and refuse duplicates and unknown accounts", async () => {
      const ada = await fundedAccount(store, 0n);
      const bob = await fundedAccount(store, 0n);
      const cy = await fundedAccount(store, 0n);
      expect(await store.listBeneficiaries(ada.customerId)).to.deep.equal([]);
      const first = await store.addBeneficiary({
        customerId: ada.customerId,
        name: "Bob",
        accountId: bob.id,
      });
      expect(first).to.include({ customerId: ada.customerId, name: "Bob", accountId: bob.id });
      expect(first.id).to.match(/^ben_/);
      const own = await store.addBeneficiary({ customerId: ada.customerId, name: "Mine", accountId: ada.id });
      await store.addBeneficiary({ customerId: cy.customerId, name: "Bobby", accountId: bob.id });
      expect(await store.listBeneficiaries(ada.customerId)).to.deep.equal([first, own]);
      expect(await store.getBeneficiary(first.id)).to.deep.equal(first);
      expect(await store.getBeneficiary("ben_missing")).to.equal(undefined);
      const again = { customerId: ada.customerId, name: "Bob again", accountId: bob.id };
      await expectDomainError(store.addBeneficiary(again), "ALREADY_EXISTS");
      const noAccount = { customerId: ada.customerId, name: "X", accountId: "acc_missing" };
      await expectDomainError(store.addBeneficiary(noAccount), "NOT_FOUND");
      const noCustomer = { customerId: "cus_missing", name: "X", accountId: bob.id };
      await expectDomainError(store.addBeneficiary(noCustomer), "NOT_FOUND");
      await expectDomainError(store.listBeneficiaries("cus_missing"), "NOT_FOUND");
      for (const name of ["", "   ", "n".repeat(71)]) {
        const bad = await expectDomainError(
          store.addBeneficiary({ customerId: cy.customerId, name, accountId: ada.id }),
          "INVALID_ARGUMENT",
        );
        expect(bad.field).to.equal("name");
      }
      expect(await store.listBeneficiaries(cy.customerId)).to.have.length(1);
    });

    it("should audit transfers and payees without their customer text, and the chain should verify", async () => {
      const audit = createPostgresAuditLog({ client, clock: systemClock });
      const ada = await fundedAccount(store, 1_000n);
      const bob = await fundedAccount(store, 0n);
      const payee = await store.addBeneficiary({
        customerId: ada.customerId,
        name: "Bob Payee",
        accountId: bob.id,
      });
      const input = transferInput(ada, bob, 250n, { reference: "secret note" });
      const { transfer } = await store.createTransfer(input);
      await store.createTransfer(input);
      await rejection(store.createTransfer(transferInput(ada, bob, 5_000n)));
      const posted = await audit.list({ type: "transfer.posted", limit: 10 });
      expect(posted.items.map((e) => [e.customerId, e.outcome, e.attributes])).to.deep.equal([
        [
          ada.customerId,
          "success",
          {
            transfer_id: transfer.id,
            from_account_id: ada.id,
            to_account_id: bob.id,
            amount: "250",
            currency: "EUR",
            caller_id: "gateway-web",
          },
        ],
      ]);
      const added = await audit.list({ type: "beneficiary.added", limit: 10 });
      expect(added.items.map((e) => e.attributes)).to.deep.equal([
        { beneficiary_id: payee.id, account_id: bob.id },
      ]);
      const dump = await client.query<{ row: string }>(
        "SELECT row_to_json(a)::text AS row FROM audit_events a",
      );
      const text = dump.rows.map((r) => r.row).join("\n");
      expect(text).not.to.include("secret note");
      expect(text).not.to.include("Bob Payee");
      expect(await audit.verify()).to.include({ ok: true });
    });

    it("should keep deposits working across migration 3, their keys still global", async () => {
      await dispose();
      ({ client, dispose } = await backend.open());
      // Today's store records its events through the audit inbox (7), which needs only 2.
      await migrate(client, [...migrations.slice(0, 2), auditInboxMigration]);
      store = createPostgresLedgerStore({ client, clock: createManualClock(), ids: newId });
      const ada = await fundedAccount(store, 0n);
      const input = { accountId: ada.id, amount: eur(70n), reference: "before", idempotencyKey: "old" };
      const before = await store.deposit(input);
      // Every later migration runs too; this test is about 3.
      const later = migrations.slice(2).filter((m) => m !== auditInboxMigration);
      expect(await migrate(client)).to.deep.equal(later.map((m) => m.version));
      expect((await store.deposit(input)).transfer).to.deep.equal(before.transfer);
      await expectDomainError(store.deposit({ ...input, amount: eur(71n) }), "IDEMPOTENCY_CONFLICT");
      expect(await balance(ada.id)).to.equal(70n);
    });
  });
}
