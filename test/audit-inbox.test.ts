import { expect } from "chai";
import type { AuditLog, NewAuditEvent } from "../core/domain/audit.js";
import type { Account, LedgerStore } from "../core/domain/ledger.js";
import { appendAuditEvent } from "../core/stores/postgres/audit-append.js";
import { createAuditChainer } from "../core/stores/postgres/audit-chainer.js";
import { startAuditChaining } from "../core/stores/postgres/audit-chaining.js";
import { createPostgresAuditLog } from "../core/stores/postgres/audit-log.js";
import { createPostgresLedgerStore } from "../core/stores/postgres/ledger-store.js";
import { migrate } from "../core/stores/postgres/migrate.js";
import { createPgClient } from "../core/stores/postgres/pg-client.js";
import type { SqlClient } from "../core/stores/postgres/sql-client.js";
import { sqlState } from "../core/stores/postgres/sql-client.js";
import { createManualClock, systemClock } from "../lib/clock.js";
import { newId } from "../lib/ids.js";
import { createLogger } from "../lib/logger.js";
import {
  countRows,
  fundedAccount,
  ledgerBackends,
  openLedger,
  rejection,
  rulesWith,
  transferInput,
} from "./support/ledger-fixture.js";
import { createTestSchemaClient, postgresUrl } from "./support/postgres.js";

const event = (i: number): NewAuditEvent => ({
  type: "login.succeeded",
  customerId: "cus_a",
  outcome: "success",
  attributes: { n: String(i) },
});

/** The chain as stored, in seq order: seq, type, the inbox row it came from, attribute n. */
async function chainRows(client: SqlClient) {
  // The text alias differs from the column: ORDER BY an output name would sort as text.
  const { rows } = await client.query<{ seq_text: string; type: string; inbox_id: string; n: string | null }>(
    `SELECT seq::text AS seq_text, type, inbox_id::text AS inbox_id, attributes->>'n' AS n
     FROM audit_events ORDER BY seq`,
    [],
  );
  return rows;
}

const inboxCount = async (client: SqlClient) =>
  Number((await client.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_inbox", [])).rows[0]?.n);

/**
 * The client as a process that crashed after its business commits and before their flushes
 * would see it: its transactions commit, but offer no afterCommit, so nothing gets chained.
 */
function withoutFlush(client: SqlClient): SqlClient {
  const bare = (tx: SqlClient): SqlClient => ({
    query: (sql, params) => tx.query(sql, params),
    transaction: (fn) => fn(bare(tx)),
    close: async () => {},
  });
  return {
    query: (sql, params) => client.query(sql, params),
    transaction: (fn) => client.transaction((tx) => fn(bare(tx))),
    close: () => client.close(),
  };
}

/** A velocity limit no test here reaches. */
const ANY_VELOCITY = { points: 1_000_000, durationMs: 3_600_000 };

for (const backend of ledgerBackends) {
  describe(`audit inbox and chainer (${backend.name})`, () => {
    let client: SqlClient;
    let store: LedgerStore;
    let dispose: () => Promise<void>;
    let audit: AuditLog;

    beforeEach(async () => {
      ({ client, store, dispose } = await openLedger(backend));
      audit = createPostgresAuditLog({ client, clock: systemClock });
    });

    afterEach(async () => {
      await dispose();
    });

    it("should chain every event of 30 concurrent transfers: gapless, verified, one per transfer", async () => {
      const accounts: Account[] = [];
      for (let i = 0; i < 4; i += 1) accounts.push(await fundedAccount(store, 100_000n));
      const before = (await chainRows(client)).length;
      const rules = rulesWith({ velocity: ANY_VELOCITY });
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) => {
          const from = accounts[i % 4] as Account;
          const to = accounts[(i + 1) % 4] as Account;
          return store.createTransfer(transferInput(from, to, BigInt(100 + i), { rules }));
        }),
      );
      // Read straight from the table: the flush after each commit already chained the events.
      const rows = await chainRows(client);
      expect(rows.map((r) => Number(r.seq_text))).to.deep.equal(rows.map((_, i) => i + 1));
      expect(rows.length).to.equal(before + 30);
      expect(await inboxCount(client)).to.equal(0);
      const { rows: posted } = await client.query<{ transfer_id: string }>(
        "SELECT attributes->>'transfer_id' AS transfer_id FROM audit_events WHERE type = 'transfer.posted'",
        [],
      );
      expect(posted.map((r) => r.transfer_id).sort()).to.deep.equal(results.map((r) => r.transfer.id).sort());
      expect(await audit.verify()).to.deep.equal({ ok: true, checked: BigInt(before + 30) });
    });

    it("should leave no inbox row and no chain entry when the business transaction rolls back", async () => {
      const failed = client.transaction(async (tx) => {
        await appendAuditEvent(tx, systemClock, event(1));
        throw new Error("the change failed");
      });
      expect(await rejection(failed)).to.have.property("message", "the change failed");
      await store.createCustomer({ displayName: "Ada", phoneNumber: "+447700900123" });
      const duplicate = store.createCustomer({ displayName: "Eve", phoneNumber: "+447700900123" });
      expect(await rejection(duplicate)).to.have.property("code", "ALREADY_EXISTS");
      expect(await inboxCount(client)).to.equal(0);
      expect((await chainRows(client)).map((r) => [r.seq_text, r.type])).to.deep.equal([
        ["1", "customer.created"],
      ]);
      expect(await audit.verify()).to.deep.equal({ ok: true, checked: 1n });
    });

    it("should chain rows a crash left in the inbox at the next start, in id order, with their own times", async () => {
      const clock = createManualClock();
      const crashed = createPostgresLedgerStore({ client: withoutFlush(client), clock, ids: newId });
      const ada = await crashed.createCustomer({ displayName: "Ada", phoneNumber: "+447700900124" });
      clock.advance(60_000);
      await crashed.openAccount(ada.id, "EUR");
      for (let i = 1; i <= 3; i += 1) {
        await withoutFlush(client).transaction((tx) => appendAuditEvent(tx, clock, event(i)));
      }
      expect(await inboxCount(client)).to.equal(5);
      expect(await chainRows(client)).to.deep.equal([]);
      const chaining = await startAuditChaining({ client, logger: createLogger({ level: "silent" }) });
      await chaining.close();
      const rows = await chainRows(client);
      expect(rows.map((r) => r.type)).to.deep.equal([
        "customer.created",
        "account.opened",
        "login.succeeded",
        "login.succeeded",
        "login.succeeded",
      ]);
      expect(rows.map((r) => r.n)).to.deep.equal([null, null, "1", "2", "3"]);
      const ids = rows.map((r) => BigInt(r.inbox_id));
      expect(ids).to.deep.equal([...ids].sort((a, b) => (a < b ? -1 : 1)));
      expect(await inboxCount(client)).to.equal(0);
      const { items } = await audit.list({ limit: 10 });
      expect(items[1]?.occurredAt).to.equal((items[0]?.occurredAt ?? 0) + 60_000);
      expect(await audit.verify()).to.deep.equal({ ok: true, checked: 5n });
    });

    it("should answer a business call that committed even when chaining fails, and chain it later", async () => {
      const logs: Record<string, unknown>[] = [];
      const logger = createLogger({
        level: "error",
        destination: { write: (l) => void logs.push(JSON.parse(l)) },
      });
      const chaining = await startAuditChaining({ client, logger, intervalMs: 3_600_000 });
      // An administrator's mistake: a trigger that refuses every new chain entry.
      await client.query(
        `CREATE FUNCTION refuse_entry() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN RAISE EXCEPTION 'no new entries'; END; $$;
         CREATE TRIGGER refuse_entry BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse_entry();`,
      );
      const ada = await store.createCustomer({ displayName: "Ada", phoneNumber: "+447700900125" });
      expect(await store.getCustomer(ada.id)).to.include({ id: ada.id });
      expect(await inboxCount(client)).to.equal(1);
      expect(logs.map((l) => l.msg)).to.include("audit chaining failed: the events wait in the inbox");
      expect(await rejection(audit.list({ limit: 10 }))).to.have.property("code", "UNAVAILABLE");
      await client.query("DROP TRIGGER refuse_entry ON audit_events");
      const { items } = await audit.list({ limit: 10 });
      expect(items.map((e) => [e.seq, e.type, e.customerId])).to.deep.equal([
        [1n, "customer.created", ada.id],
      ]);
      await chaining.close();
    });

    it("should let the inbox be written and chained only: no update, no truncate, no deletion unchained", async () => {
      await withoutFlush(client).transaction((tx) => appendAuditEvent(tx, systemClock, event(1)));
      for (const sql of [
        "UPDATE audit_inbox SET outcome = 'failure'",
        "DELETE FROM audit_inbox",
        "TRUNCATE audit_inbox",
      ]) {
        expect(sqlState(await rejection(client.transaction((tx) => tx.query(sql, [])))), sql).to.equal(
          "23001",
        );
      }
      expect(await inboxCount(client)).to.equal(1);
      expect(await audit.verify()).to.deep.equal({ ok: true, checked: 1n });
    });

    it("should coalesce concurrent flushes into one running and one waiting chain transaction", async () => {
      let transactions = 0;
      const counting: SqlClient = {
        query: (sql, params) => client.query(sql, params),
        transaction: (fn) => {
          transactions += 1;
          return client.transaction(fn);
        },
        close: async () => {},
      };
      const chainer = createAuditChainer(counting);
      await Promise.all(Array.from({ length: 10 }, () => chainer.flush()));
      expect(transactions).to.equal(2);
    });
  });
}

describe("audit chainers of two processes (PostgreSQL)", () => {
  it("should neither fork nor duplicate the chain when two pools append and flush at once", async () => {
    const first = await createTestSchemaClient();
    const second = createPgClient({ connectionString: await postgresUrl(), schema: first.schema });
    try {
      await migrate(first.client);
      const clients = [first.client, second];
      // Small batches in two more chainers, so runs of several batches interleave under the lock.
      const extra = clients.map((c) => createAuditChainer(c, { batchSize: 7 }));
      const appended = await Promise.all(
        Array.from({ length: 120 }, async (_, i) => {
          const c = clients[i % 2] as SqlClient;
          const id = await c.transaction((tx) => appendAuditEvent(tx, systemClock, event(i)));
          if (i % 10 === 0) await Promise.all(extra.map((chainer) => chainer.flush()));
          return id;
        }),
      );
      await Promise.all(extra.map((chainer) => chainer.flush()));
      const rows = await chainRows(first.client);
      expect(rows.map((r) => Number(r.seq_text))).to.deep.equal(rows.map((_, i) => i + 1));
      expect(rows.map((r) => r.inbox_id).sort()).to.deep.equal(appended.map(String).sort());
      expect(await inboxCount(first.client)).to.equal(0);
      expect(await countRows(first.client, "audit_events")).to.equal(120);
      const verification = await createPostgresAuditLog({ client: second, clock: systemClock }).verify();
      expect(verification).to.deep.equal({ ok: true, checked: 120n });
    } finally {
      await second.close();
      await first.drop();
    }
  });
});
