import { expect } from "chai";
import type { AuditLog } from "../core/domain/audit.js";
import type { LedgerStore, TransferInput } from "../core/domain/ledger.js";
import { createPostgresAuditLog } from "../core/stores/postgres/audit-log.js";
import type { SqlClient } from "../core/stores/postgres/sql-client.js";
import type { ManualClock } from "../lib/clock.js";
import {
  countRows,
  expectDomainError,
  fundedAccount,
  ledgerBackends,
  openLedger,
  rejection,
  rulesWith,
  siblingAccount,
  transferInput,
  unbalancedAccounts,
} from "./support/ledger-fixture.js";

const HOUR = 3_600_000;

for (const backend of ledgerBackends) {
  describe(`LedgerStore transfer rules (${backend.name})`, () => {
    let client: SqlClient;
    let clock: ManualClock;
    let dispose: () => Promise<void>;
    let store: LedgerStore;
    let audit: AuditLog;

    beforeEach(async () => {
      ({ client, store, clock, dispose } = await openLedger(backend));
      audit = createPostgresAuditLog({ client, clock });
    });

    afterEach(async () => {
      await dispose();
    });

    const balance = async (accountId: string) => (await store.getAccount(accountId))?.balance;
    const ledgerState = async (...accountIds: string[]) => ({
      balances: await Promise.all(accountIds.map(balance)),
      transfers: await countRows(client, "transfers"),
      entries: await countRows(client, "entries"),
    });
    const events = async (type: string) =>
      (await audit.list({ type, limit: 100 })).items.map((e) => [e.customerId, e.outcome, e.attributes]);
    const post = async (input: TransferInput) => {
      const { transfer } = await store.createTransfer(input);
      expect(transfer.status).to.equal("posted");
      return transfer;
    };

    it("should refuse a transfer above the per-transfer limit, move nothing, keep no key and audit it", async () => {
      const ada = await fundedAccount(store, 1_000_000n);
      const bob = await fundedAccount(store, 0n);
      const before = await ledgerState(ada.id, bob.id);
      const input = transferInput(ada, bob, 500_001n, { idempotencyKey: "big", reference: "secret note" });
      const error = await expectDomainError(store.createTransfer(input), "TRANSFER_REFUSED");
      expect(error.rule).to.equal("per_transfer_limit");
      expect(error.message).to.equal("This transfer is above the limit of 5,000.00 EUR per transfer.");
      expect(await ledgerState(ada.id, bob.id)).to.deep.equal(before);
      expect(await events("transfer.refused")).to.deep.equal([
        [ada.customerId, "failure", { rule: "per_transfer_limit", amount: "500001", currency: "EUR" }],
      ]);
      const dump = await client.query<{ row: string }>(
        "SELECT row_to_json(a)::text AS row FROM audit_events a",
      );
      expect(dump.rows.map((r) => r.row).join("\n")).not.to.include("secret note");
      // No key was kept: the same key runs again, here under a looser limit, and posts.
      const looser = { ...input, rules: rulesWith({ perTransferLimit: 600_000n }) };
      expect((await store.createTransfer(looser)).replayed).to.equal(false);
      expect(await balance(bob.id)).to.equal(500_001n);
      expect(await audit.verify()).to.include({ ok: true });
    });

    it("should refuse past the daily limit over all the customer's accounts, counting the last 24 hours only", async () => {
      const rules = rulesWith({ dailyLimit: 10_000n });
      const ada = await fundedAccount(store, 50_000n);
      const savings = await siblingAccount(store, ada, 50_000n);
      const bob = await fundedAccount(store, 0n);
      await post(transferInput(ada, bob, 6_000n, { rules }));
      await post(transferInput(savings, bob, 3_000n, { rules }));
      const before = await ledgerState(ada.id, savings.id, bob.id);
      const error = await expectDomainError(
        store.createTransfer(transferInput(savings, bob, 1_001n, { rules })),
        "TRANSFER_REFUSED",
      );
      expect(error).to.include({
        rule: "daily_limit",
        message:
          "This transfer is above your daily limit of 100.00 EUR. You can send up to 10.00 EUR more for now.",
      });
      expect(await ledgerState(ada.id, savings.id, bob.id)).to.deep.equal(before);
      await post(transferInput(ada, bob, 1_000n, { rules }));
      // Money Bob received and deposits are not his spending: he may send up to his own limit.
      await post(transferInput(bob, ada, 10_000n, { rules }));
      clock.advance(24 * HOUR - 1);
      await expectDomainError(
        store.createTransfer(transferInput(ada, bob, 1n, { rules })),
        "TRANSFER_REFUSED",
      );
      clock.advance(1);
      await post(transferInput(ada, bob, 10_000n, { rules }));
    });

    it("should refuse one transfer more than the velocity allows, counting held ones, until the window passes", async () => {
      const rules = rulesWith({ velocity: { points: 3, durationMs: HOUR } });
      const ada = await fundedAccount(store, 100_000n);
      const bob = await fundedAccount(store, 0n);
      const cy = await fundedAccount(store, 0n);
      await store.addBeneficiary({ customerId: ada.customerId, name: "Cy", accountId: cy.id });
      const held = await store.createTransfer(transferInput(ada, cy, 30_000n, { rules }));
      expect(held.transfer.status).to.equal("held");
      await post(transferInput(ada, bob, 100n, { rules }));
      await post(transferInput(ada, bob, 100n, { rules }));
      const error = await expectDomainError(
        store.createTransfer(transferInput(ada, bob, 100n, { rules })),
        "TRANSFER_REFUSED",
      );
      expect(error).to.include({
        rule: "velocity",
        message: "You have reached the limit of 3 transfers in 1 hour. Please try again later.",
      });
      expect(await balance(bob.id)).to.equal(200n);
      clock.advance(HOUR);
      await post(transferInput(ada, bob, 100n, { rules }));
    });

    it("should hold a large transfer to a payee saved within the cooling-off, moving no money, and replay it", async () => {
      const ada = await fundedAccount(store, 100_000n);
      const bob = await fundedAccount(store, 0n);
      await store.addBeneficiary({ customerId: ada.customerId, name: "Bob", accountId: bob.id });
      clock.advance(24 * HOUR - 1);
      const before = await ledgerState(ada.id, bob.id);
      const input = transferInput(ada, bob, 25_001n, { idempotencyKey: "new-payee" });
      const { transfer, replayed } = await store.createTransfer(input);
      expect(replayed).to.equal(false);
      expect(transfer).to.include({
        status: "held",
        statusReason:
          "This payee was added less than 24 hours ago, so a transfer above 250.00 EUR to them is held for review.",
      });
      expect(await ledgerState(ada.id, bob.id)).to.deep.equal({ ...before, transfers: before.transfers + 1 });
      expect(await store.getTransfer(transfer.id)).to.deep.equal(transfer);
      expect((await store.listPostings(ada.id, { limit: 10 })).items.map((p) => p.transferId)).not.to.include(
        transfer.id,
      );
      expect(await events("transfer.held")).to.deep.equal([
        [
          ada.customerId,
          "success",
          { transfer_id: transfer.id, rule: "payee_cooling_off", amount: "25001", currency: "EUR" },
        ],
      ]);
      // The repeat answers the first outcome and decides nothing, though the payee is no longer new.
      clock.advance(HOUR);
      const repeats = await Promise.all([1, 2, 3].map(() => store.createTransfer(input)));
      for (const repeat of repeats) expect(repeat).to.deep.equal({ transfer, replayed: true });
      expect(await countRows(client, "transfers")).to.equal(before.transfers + 1);
      expect(await events("transfer.held")).to.have.length(1);
      await post(transferInput(ada, bob, 25_001n));
      expect(await balance(bob.id)).to.equal(25_001n);
      expect(await unbalancedAccounts(client)).to.deep.equal([]);
      expect(await audit.verify()).to.include({ ok: true });
    });

    it("should hold an amount far above the customer's usual transfers once they have three", async () => {
      const ada = await fundedAccount(store, 100_000n);
      const bob = await fundedAccount(store, 0n);
      await post(transferInput(ada, bob, 1_000n));
      await post(transferInput(ada, bob, 1_200n));
      // Two earlier transfers are no habit yet.
      await post(transferInput(ada, bob, 12_000n));
      const { transfer } = await store.createTransfer(transferInput(ada, bob, 12_001n));
      expect(transfer).to.include({
        status: "held",
        statusReason: "This transfer is much larger than your usual transfers, so it is held for review.",
      });
      expect(await balance(bob.id)).to.equal(14_200n);
      expect((await events("transfer.held")).map((e) => (e[2] as { rule: string }).rule)).to.deep.equal([
        "unusual_amount",
      ]);
    });

    it("should refuse a transfer it would hold with INSUFFICIENT_FUNDS when the account cannot pay it", async () => {
      const ada = await fundedAccount(store, 20_000n);
      const bob = await fundedAccount(store, 0n);
      await store.addBeneficiary({ customerId: ada.customerId, name: "Bob", accountId: bob.id });
      const before = await ledgerState(ada.id, bob.id);
      await expectDomainError(store.createTransfer(transferInput(ada, bob, 30_000n)), "INSUFFICIENT_FUNDS");
      expect(await ledgerState(ada.id, bob.id)).to.deep.equal(before);
    });

    it("should have the database refuse money moved by a held transfer, or a held one turned posted", async () => {
      const ada = await fundedAccount(store, 100_000n);
      const bob = await fundedAccount(store, 0n);
      await store.addBeneficiary({ customerId: ada.customerId, name: "Bob", accountId: bob.id });
      const { transfer } = await store.createTransfer(transferInput(ada, bob, 30_000n));
      const entry = client.transaction((tx) =>
        tx.query(
          `INSERT INTO entries (id, transfer_id, account_id, amount, balance_after, created_at)
           VALUES ('ent_x', $1, $2, 30000, 30000, now())`,
          [transfer.id, bob.id],
        ),
      );
      expect(await rejection(entry)).to.have.property("code", "23514");
      // Turned posted without its entries: the trigger lets the review's update through, and the
      // balanced-entries check refuses it at commit (migration 8).
      const release = client.query("UPDATE transfers SET status = 'posted' WHERE id = $1", [transfer.id]);
      expect(await rejection(release)).to.have.property("code", "23514");
      expect(await unbalancedAccounts(client)).to.deep.equal([]);
    });

    it("should post exactly ten of 30 concurrent transfers from two accounts against a daily limit of ten", async () => {
      const rules = rulesWith({ dailyLimit: 10_000n, velocity: { points: 1_000, durationMs: HOUR } });
      const ada = await fundedAccount(store, 50_000n);
      const savings = await siblingAccount(store, ada, 50_000n);
      const bob = await fundedAccount(store, 0n);
      const cy = await fundedAccount(store, 0n);
      // Two streams that share no account (Ada's current account to Bob, her savings to Cy): only
      // the lock on Ada herself can make each see what the other spent.
      const pairs = [
        [ada, bob],
        [savings, cy],
      ] as const;
      const settled = await Promise.allSettled(
        Array.from({ length: 30 }, (_, i) => {
          const [from, to] = pairs[i % 2] ?? pairs[0];
          return store.createTransfer(transferInput(from, to, 1_000n, { rules }));
        }),
      );
      const refused = settled.flatMap((s) => (s.status === "rejected" ? [s.reason as unknown] : []));
      for (const reason of refused)
        expect(reason).to.include({ code: "TRANSFER_REFUSED", rule: "daily_limit" });
      expect(settled.length - refused.length).to.equal(10);
      expect(refused).to.have.length(20);
      const after = await Promise.all([ada, savings, bob, cy].map((account) => balance(account.id)));
      const [paidAda, paidSavings, toBob, toCy] = after.map((value) => value ?? -1n) as bigint[];
      expect((toBob ?? 0n) + (toCy ?? 0n)).to.equal(10_000n);
      expect((paidAda ?? 0n) + (paidSavings ?? 0n)).to.equal(90_000n);
      expect(await unbalancedAccounts(client)).to.deep.equal([]);
      expect(await events("transfer.posted")).to.have.length(10);
      expect(await events("transfer.refused")).to.have.length(20);
      expect(await audit.verify()).to.include({ ok: true });
    });
  });
}
