import { expect } from "chai";
import { DomainError } from "../core/domain/errors.js";
import type { Account, LedgerStore } from "../core/domain/ledger.js";
import { createPostgresAuditLog } from "../core/stores/postgres/audit-log.js";
import type { SqlClient } from "../core/stores/postgres/sql-client.js";
import { transactionWithRetry } from "../core/stores/postgres/sql-retry.js";
import { systemClock } from "../lib/clock.js";
import {
  countRows,
  fundedAccount,
  ledgerBackends,
  openLedger,
  rejection,
  rulesWith,
  transferInput,
  unbalancedAccounts,
} from "./support/ledger-fixture.js";

/** A seeded generator (mulberry32), so a failing mix of transfers can be run again as it was. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A velocity limit no test here reaches. */
const ANY_VELOCITY = { points: 1_000_000, durationMs: 3_600_000 };

for (const backend of ledgerBackends) {
  describe(`LedgerStore transfers under concurrency (${backend.name})`, () => {
    let client: SqlClient;
    let dispose: () => Promise<void>;
    let store: LedgerStore;

    beforeEach(async () => {
      ({ client, store, dispose } = await openLedger(backend));
    });

    afterEach(async () => {
      await dispose();
    });

    it("should post exactly once when 50 requests with one key race, all answering that transfer", async () => {
      const ada = await fundedAccount(store, 10_000n);
      const bob = await fundedAccount(store, 0n);
      const input = transferInput(ada, bob, 1_234n, { idempotencyKey: "one-key" });
      const results = await Promise.all(Array.from({ length: 50 }, () => store.createTransfer(input)));
      expect(new Set(results.map((r) => r.transfer.id)).size).to.equal(1);
      expect(results.filter((r) => !r.replayed)).to.have.length(1);
      expect((await store.getAccount(ada.id))?.balance).to.equal(10_000n - 1_234n);
      expect((await store.getAccount(bob.id))?.balance).to.equal(1_234n);
      const { rows } = await client.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM entries WHERE transfer_id = $1",
        [results[0]?.transfer.id],
      );
      expect(rows[0]?.n).to.equal(2);
      // The opening deposit and the one transfer.
      expect(await countRows(client, "transfers")).to.equal(2);
    });

    it("should keep every balance non-negative and the total unchanged after 200 concurrent transfers", async () => {
      const start = 10_000n;
      const accounts: Account[] = [];
      for (let i = 0; i < 5; i += 1) accounts.push(await fundedAccount(store, start));
      const random = seeded(20_260_101);
      const pick = () => accounts[Math.floor(random() * accounts.length)] as Account;
      const requests = Array.from({ length: 200 }, (_, i) => {
        const from = pick();
        let to = pick();
        while (to.id === from.id) to = pick();
        // Every 20th asks for more than the five accounts hold together: a refusal is certain.
        const amount = i % 20 === 0 ? 60_000n : BigInt(1 + Math.floor(random() * 5_000));
        // About 40 transfers per customer within the hour: the velocity rule (10/1h by default)
        // would refuse most; this test is about balances, so it raises that limit.
        return transferInput(from, to, amount, { rules: rulesWith({ velocity: ANY_VELOCITY }) });
      });
      const settled = await Promise.allSettled(requests.map((input) => store.createTransfer(input)));
      const refused = settled.flatMap((s) => (s.status === "rejected" ? [s.reason as unknown] : []));
      for (const reason of refused) {
        expect(reason, String(reason)).to.be.instanceOf(DomainError);
        expect(reason).to.have.property("code", "INSUFFICIENT_FUNDS");
      }
      const posted = settled.length - refused.length;
      expect(refused.length).to.be.at.least(10);
      expect(posted).to.be.at.least(1);
      const balances = await Promise.all(
        accounts.map(async (a) => (await store.getAccount(a.id))?.balance ?? -1n),
      );
      for (const value of balances) expect(value >= 0n, `balance ${value}`).to.equal(true);
      expect(balances.reduce((sum, value) => sum + value, 0n)).to.equal(start * 5n);
      expect(await unbalancedAccounts(client)).to.deep.equal([]);
      expect(await countRows(client, "transfers")).to.equal(5 + posted);
      expect(await countRows(client, "entries")).to.equal(2 * (5 + posted));
      const events = await client.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM audit_events WHERE type = 'transfer.posted'",
        [],
      );
      expect(events.rows[0]?.n).to.equal(posted);
      expect(await createPostgresAuditLog({ client, clock: systemClock }).verify()).to.include({ ok: true });
    });
  });
}

describe("transactionWithRetry", () => {
  /** A client whose transactions fail with the given SQLSTATEs, in turn, then succeed. */
  function failingClient(codes: string[]): SqlClient & { runs: number } {
    const client = {
      runs: 0,
      query: async () => ({ rows: [] }),
      close: async () => {},
      transaction: async <T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> => {
        const code = codes[client.runs];
        client.runs += 1;
        if (code !== undefined) throw Object.assign(new Error("aborted"), { code });
        return fn(client);
      },
    };
    return client;
  }

  it("should run the transaction again after a deadlock or a serialization failure", async () => {
    const client = failingClient(["40P01", "40001"]);
    expect(await transactionWithRetry(client, async () => "done")).to.equal("done");
    expect(client.runs).to.equal(3);
  });

  it("should give up after the last attempt with the database's error", async () => {
    const client = failingClient(["40001", "40001", "40001"]);
    const error = await rejection(transactionWithRetry(client, async () => "done", 3));
    expect(error).to.have.property("code", "40001");
    expect(client.runs).to.equal(3);
  });

  it("should not retry any other error", async () => {
    const client = failingClient(["23514"]);
    expect(await rejection(transactionWithRetry(client, async () => "done"))).to.have.property(
      "code",
      "23514",
    );
    expect(client.runs).to.equal(1);
  });
});
