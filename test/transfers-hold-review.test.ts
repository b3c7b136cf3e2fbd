import { expect } from "chai";
import type { AuditLog } from "../core/domain/audit.js";
import type { Account, LedgerStore, Transfer } from "../core/domain/ledger.js";
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
  transferInput,
  unbalancedAccounts,
} from "./support/ledger-fixture.js";

const BY = "svc-fraud-desk";

/** A held transfer as it reads once the review ended in `status`: no reason any more. */
function decided(held: Transfer, status: Transfer["status"]): Transfer {
  const { statusReason: _reason, ...rest } = held;
  return { ...rest, status };
}

for (const backend of ledgerBackends) {
  describe(`LedgerStore review of held transfers (${backend.name})`, () => {
    let client: SqlClient;
    let dispose: () => Promise<void>;
    let store: LedgerStore;
    let audit: AuditLog;
    let clock: ManualClock;

    beforeEach(async () => {
      ({ client, store, clock, dispose } = await openLedger(backend));
      audit = createPostgresAuditLog({ client, clock });
    });

    afterEach(async () => {
      await dispose();
    });

    const balance = async (accountId: string) => (await store.getAccount(accountId))?.balance;
    const entriesOf = async (transferId: string) => {
      const { rows } = await client.query<{ account_id: string; amount: string }>(
        "SELECT account_id, amount::text AS amount FROM entries WHERE transfer_id = $1 ORDER BY seq",
        [transferId],
      );
      return rows.map((row) => [row.account_id, BigInt(row.amount)]);
    };
    const events = async (type: string) => (await audit.list({ type, limit: 100 })).items;

    /** Ada (funded with `funds`) pays Bob, a payee she saved just now, 300.00 EUR: held by the cooling-off. */
    const heldTransfer = async (
      funds = 100_000n,
    ): Promise<{ ada: Account; bob: Account; held: Transfer }> => {
      const ada = await fundedAccount(store, funds);
      const bob = await fundedAccount(store, 0n);
      await store.addBeneficiary({ customerId: ada.customerId, name: "Bob", accountId: bob.id });
      const { transfer: held } = await store.createTransfer(transferInput(ada, bob, 30_000n));
      expect(held.status).to.equal("held");
      return { ada, bob, held };
    };

    it("should post a released hold once, moving both balances by two entries that sum to zero", async () => {
      const { ada, bob, held } = await heldTransfer();
      const entriesBefore = await countRows(client, "entries");
      const released = await store.releaseHeldTransfer({ transferId: held.id, by: BY });
      expect(released).to.deep.equal(decided(held, "posted"));
      expect(await store.getTransfer(held.id)).to.deep.equal(released);
      expect([await balance(ada.id), await balance(bob.id)]).to.deep.equal([70_000n, 30_000n]);
      expect(await entriesOf(held.id)).to.deep.equal([
        [ada.id, -30_000n],
        [bob.id, 30_000n],
      ]);
      const [posting] = (await store.listPostings(bob.id, { limit: 1 })).items;
      expect(posting).to.include({ transferId: held.id, amount: 30_000n, balanceAfter: 30_000n });
      // A repeat answers the posted transfer and moves nothing again.
      expect(await store.releaseHeldTransfer({ transferId: held.id, by: BY })).to.deep.equal(released);
      expect(await countRows(client, "entries")).to.equal(entriesBefore + 2);
      expect(await unbalancedAccounts(client)).to.deep.equal([]);
      const audited = await events("transfer.released");
      expect(audited.map((e) => [e.customerId, e.outcome, e.attributes])).to.deep.equal([
        [
          ada.customerId,
          "success",
          {
            transfer_id: held.id,
            by: BY,
            from_account_id: ada.id,
            to_account_id: bob.id,
            amount: "30000",
            currency: "EUR",
          },
        ],
      ]);
      expect(await audit.verify()).to.include({ ok: true });
    });

    it("should post exactly once when ten releases of one hold race, all answering it posted", async () => {
      const { ada, bob, held } = await heldTransfer();
      const results = await Promise.all(
        Array.from({ length: 10 }, () => store.releaseHeldTransfer({ transferId: held.id, by: BY })),
      );
      for (const result of results) expect(result).to.include({ id: held.id, status: "posted" });
      expect(await entriesOf(held.id)).to.have.length(2);
      expect([await balance(ada.id), await balance(bob.id)]).to.deep.equal([70_000n, 30_000n]);
      expect(await events("transfer.released")).to.have.length(1);
      expect(await unbalancedAccounts(client)).to.deep.equal([]);
    });

    it("should let exactly one of a racing release and cancel decide a hold", async () => {
      const { bob, held } = await heldTransfer();
      const settled = await Promise.allSettled([
        store.releaseHeldTransfer({ transferId: held.id, by: BY }),
        store.cancelHeldTransfer({ transferId: held.id, by: BY, reason: "confirmed_fraud" }),
      ]);
      const won = settled.filter((s) => s.status === "fulfilled");
      const lost = settled.flatMap((s) => (s.status === "rejected" ? [s.reason as unknown] : []));
      expect(won).to.have.length(1);
      expect(lost).to.have.length(1);
      expect(lost[0]).to.have.property("code", "TRANSFER_NOT_HELD");
      const final = await store.getTransfer(held.id);
      expect(await balance(bob.id)).to.equal(final?.status === "posted" ? 30_000n : 0n);
      expect(await entriesOf(held.id)).to.have.length(final?.status === "posted" ? 2 : 0);
    });

    it("should answer INSUFFICIENT_FUNDS and keep the hold when the account cannot pay, then release after a deposit", async () => {
      const { ada, bob, held } = await heldTransfer();
      const cy = await fundedAccount(store, 0n);
      await store.createTransfer(transferInput(ada, cy, 80_000n));
      await expectDomainError(
        store.releaseHeldTransfer({ transferId: held.id, by: BY }),
        "INSUFFICIENT_FUNDS",
      );
      expect(await store.getTransfer(held.id)).to.deep.equal(held);
      expect(await entriesOf(held.id)).to.deep.equal([]);
      expect([await balance(ada.id), await balance(bob.id)]).to.deep.equal([20_000n, 0n]);
      expect(await events("transfer.released")).to.have.length(0);
      const top = { accountId: ada.id, amount: held.amount, reference: "top-up", idempotencyKey: "top-1" };
      await store.deposit(top);
      expect(await store.releaseHeldTransfer({ transferId: held.id, by: BY })).to.include({
        status: "posted",
      });
      expect([await balance(ada.id), await balance(bob.id)]).to.deep.equal([20_000n, 30_000n]);
      expect(await unbalancedAccounts(client)).to.deep.equal([]);
    });

    it("should cancel a hold for good: no entries, a later release is TRANSFER_NOT_HELD, a repeat answers it", async () => {
      const { ada, bob, held } = await heldTransfer();
      const cancel = { transferId: held.id, by: BY, reason: "case:FR-2291" };
      const cancelled = await store.cancelHeldTransfer(cancel);
      expect(cancelled).to.deep.equal(decided(held, "cancelled"));
      expect(await store.getTransfer(held.id)).to.deep.equal(cancelled);
      expect(await store.cancelHeldTransfer({ ...cancel, reason: "again" })).to.deep.equal(cancelled);
      const error = await expectDomainError(
        store.releaseHeldTransfer({ transferId: held.id, by: BY }),
        "TRANSFER_NOT_HELD",
      );
      expect(error.message).to.equal("The transfer is cancelled, no longer held for review.");
      expect(await entriesOf(held.id)).to.deep.equal([]);
      expect([await balance(ada.id), await balance(bob.id)]).to.deep.equal([100_000n, 0n]);
      const audited = await events("transfer.cancelled");
      expect(audited.map((e) => [e.customerId, e.attributes])).to.deep.equal([
        [
          ada.customerId,
          { transfer_id: held.id, by: BY, reason: "case:FR-2291", amount: "30000", currency: "EUR" },
        ],
      ]);
      expect(await audit.verify()).to.include({ ok: true });
    });

    it("should refuse to cancel a posted transfer or deposit with TRANSFER_NOT_HELD, and know no unknown id", async () => {
      const ada = await fundedAccount(store, 10_000n);
      const bob = await fundedAccount(store, 0n);
      const { transfer } = await store.createTransfer(transferInput(ada, bob, 1_000n));
      const cancel = (transferId: string) =>
        store.cancelHeldTransfer({ transferId, by: BY, reason: "mistake" });
      await expectDomainError(cancel(transfer.id), "TRANSFER_NOT_HELD");
      const [deposit] = (await store.listPostings(ada.id, { limit: 10 })).items.slice(-1);
      await expectDomainError(cancel(deposit?.transferId ?? ""), "TRANSFER_NOT_HELD");
      expect(await store.releaseHeldTransfer({ transferId: transfer.id, by: BY })).to.deep.equal(transfer);
      await expectDomainError(cancel("trf_missing"), "NOT_FOUND");
      await expectDomainError(store.releaseHeldTransfer({ transferId: "trf_missing", by: BY }), "NOT_FOUND");
      expect(await store.getTransfer(transfer.id)).to.deep.equal(transfer);
      expect(await events("transfer.cancelled")).to.have.length(0);
    });

    it("should have the database refuse every change of a transfer but a hold's release or cancel", async () => {
      const { bob, held } = await heldTransfer();
      const sql = (text: string) => rejection(client.query(text, [held.id]));
      expect(await sql("UPDATE transfers SET amount = 1 WHERE id = $1")).to.have.property("code", "23001");
      expect(
        await sql("UPDATE transfers SET status = 'cancelled', reference = 'x' WHERE id = $1"),
      ).to.have.property("code", "23001");
      expect(await sql("DELETE FROM transfers WHERE id = $1")).to.have.property("code", "23001");
      await store.cancelHeldTransfer({ transferId: held.id, by: BY, reason: "customer_request" });
      expect(await sql("UPDATE transfers SET status = 'held' WHERE id = $1")).to.have.property(
        "code",
        "23001",
      );
      expect(await sql("UPDATE transfers SET status = 'posted' WHERE id = $1")).to.have.property(
        "code",
        "23001",
      );
      // Money moved by a cancelled transfer, even as a balanced pair, fails at commit.
      const pair = client.transaction(async (tx) => {
        for (const [id, account, amount] of [
          ["ent_x1", bob.id, 30_000],
          ["ent_x2", held.fromAccountId, -30_000],
        ] as const) {
          await tx.query(
            `INSERT INTO entries (id, transfer_id, account_id, amount, balance_after, created_at)
             VALUES ($1, $2, $3, $4, 0, now())`,
            [id, held.id, account, amount],
          );
        }
      });
      expect(await rejection(pair)).to.have.property("code", "23514");
      expect(await unbalancedAccounts(client)).to.deep.equal([]);
    });
  });
}
