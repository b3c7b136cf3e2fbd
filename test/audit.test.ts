import { expect } from "chai";
import type { AuditLog, NewAuditEvent } from "../core/domain/audit.js";
import { auditHash, GENESIS_HASH } from "../core/domain/audit.js";
import { DomainError } from "../core/domain/errors.js";
import { appendAuditEvent } from "../core/stores/postgres/audit-append.js";
import { createPostgresAuditLog } from "../core/stores/postgres/audit-log.js";
import { createPostgresLedgerStore } from "../core/stores/postgres/ledger-store.js";
import { migrate } from "../core/stores/postgres/migrate.js";
import type { SqlClient } from "../core/stores/postgres/sql-client.js";
import { sqlState } from "../core/stores/postgres/sql-client.js";
import { createManualClock, type ManualClock, systemClock } from "../lib/clock.js";
import { newId } from "../lib/ids.js";
import { ledgerBackends as backends, rejection } from "./support/ledger-fixture.js";

/** An audit row as stored, every column as text. */
interface RawRow {
  seq_text: string;
  type: string;
  customer_id: string | null;
  outcome: "success" | "failure";
  occurred_ms: string;
  attributes: string;
  prev_hash: string;
  hash: string;
}

const event = (i: number): NewAuditEvent => ({
  type: i % 2 === 0 ? "login.succeeded" : "login.failed",
  customerId: i % 3 === 0 ? "cus_a" : "cus_b",
  outcome: i % 2 === 0 ? "success" : "failure",
  attributes: { n: String(i), channel: "whatsapp" },
});

for (const backend of backends) {
  describe(`audit trail (${backend.name})`, () => {
    let client: SqlClient;
    let dispose: () => Promise<void>;
    let clock: ManualClock;
    let audit: AuditLog;

    beforeEach(async () => {
      ({ client, dispose } = await backend.open());
      await migrate(client);
      clock = createManualClock();
      audit = createPostgresAuditLog({ client, clock: systemClock, batchSize: 7 });
    });

    afterEach(async () => {
      await dispose();
    });

    /** Appends events 1..n, each in its own transaction, one second apart. */
    async function appendMany(n: number): Promise<void> {
      for (let i = 1; i <= n; i += 1) {
        await client.transaction((tx) => appendAuditEvent(tx, clock, event(i)));
        clock.advance(1_000);
      }
    }

    async function rawRows(): Promise<RawRow[]> {
      const { rows } = await client.query<RawRow>(
        `SELECT seq::text AS seq_text, type, customer_id, outcome,
           (extract(epoch FROM occurred_at) * 1000)::int8::text AS occurred_ms, attributes::text AS attributes,
           encode(prev_hash, 'hex') AS prev_hash, encode(hash, 'hex') AS hash
         FROM audit_events ORDER BY seq`,
        [],
      );
      return rows;
    }

    /**
     * Runs `sql` as a database administrator would: with the append-only triggers switched off.
     * This models an attacker holding DB admin rights, the one change the triggers cannot stop
     * and exactly what the hash chain exists to expose.
     */
    async function tamper(sql: string, params: readonly unknown[] = []): Promise<void> {
      await client.transaction(async (tx) => {
        await tx.query("ALTER TABLE audit_events DISABLE TRIGGER ALL", []);
        await tx.query(sql, params);
        await tx.query("ALTER TABLE audit_events ENABLE TRIGGER ALL", []);
      });
    }

    it("should chain appends: the first links to 32 zero bytes and every hash recomputes", async () => {
      await appendMany(5);
      const rows = await rawRows();
      expect(rows.map((r) => r.seq_text)).to.deep.equal(["1", "2", "3", "4", "5"]);
      expect(rows[0]?.prev_hash).to.equal("00".repeat(32)).and.equal(GENESIS_HASH);
      let prev = GENESIS_HASH;
      for (const row of rows) {
        expect(row.prev_hash).to.equal(prev);
        const body = {
          seq: BigInt(row.seq_text),
          type: row.type,
          customerId: row.customer_id ?? undefined,
          outcome: row.outcome,
          occurredAt: Number(row.occurred_ms),
          attributes: JSON.parse(row.attributes) as Record<string, string>,
        };
        expect(auditHash(prev, body)).to.equal(row.hash);
        prev = row.hash;
      }
    });

    it("should verify an empty chain and an untouched chain of 20 events", async () => {
      expect(await audit.verify()).to.deep.equal({ ok: true, checked: 0n });
      await appendMany(20);
      expect(await audit.verify()).to.deep.equal({ ok: true, checked: 20n });
    });

    it("should fail at the edited entry when an attribute was changed", async () => {
      await appendMany(20);
      await tamper(
        `UPDATE audit_events SET attributes = jsonb_set(attributes, '{n}', '"999"') WHERE seq = 9`,
      );
      expect(await audit.verify()).to.deep.equal({ ok: false, firstBrokenSeq: 9n, checked: 8n });
    });

    it("should fail at the next entry when the attacker also recomputed the edited entry's hash", async () => {
      await appendMany(20);
      const row = (await rawRows())[8] as RawRow;
      const forged = auditHash(row.prev_hash, {
        seq: 9n,
        type: row.type,
        customerId: row.customer_id ?? undefined,
        outcome: "success",
        occurredAt: Number(row.occurred_ms),
        attributes: { ...JSON.parse(row.attributes), n: "999" },
      });
      await tamper(
        `UPDATE audit_events SET outcome = 'success', attributes = jsonb_set(attributes, '{n}', '"999"'),
           hash = decode($1, 'hex') WHERE seq = 9`,
        [forged],
      );
      expect(await audit.verify()).to.deep.equal({ ok: false, firstBrokenSeq: 10n, checked: 9n });
    });

    it("should fail at the missing entry when a row was deleted", async () => {
      await appendMany(20);
      await tamper("DELETE FROM audit_events WHERE seq = 14");
      expect(await audit.verify()).to.deep.equal({ ok: false, firstBrokenSeq: 14n, checked: 13n });
      await tamper("DELETE FROM audit_events WHERE seq = 1");
      expect(await audit.verify()).to.deep.equal({ ok: false, firstBrokenSeq: 1n, checked: 0n });
    });

    it("should fail at the first of two entries whose contents were swapped", async () => {
      await appendMany(20);
      await tamper(
        `UPDATE audit_events a SET type = b.type, customer_id = b.customer_id, subject_id = b.subject_id,
           outcome = b.outcome, occurred_at = b.occurred_at, attributes = b.attributes
         FROM audit_events b WHERE (a.seq, b.seq) IN ((5, 6), (6, 5))`,
      );
      expect((await rawRows())[4]?.attributes).to.include('"6"');
      expect(await audit.verify()).to.deep.equal({ ok: false, firstBrokenSeq: 5n, checked: 4n });
    });

    it("should have the database refuse to update, delete or truncate audit events", async () => {
      await appendMany(3);
      for (const sql of [
        "UPDATE audit_events SET outcome = 'failure'",
        "DELETE FROM audit_events WHERE seq = 2",
        "TRUNCATE audit_events",
      ]) {
        expect(sqlState(await rejection(client.query(sql, []))), sql).to.equal("23001");
      }
      expect(await audit.verify()).to.deep.equal({ ok: true, checked: 3n });
    });

    it("should keep the chain gapless and valid when 20 appends race in separate transactions", async () => {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          client.transaction((tx) => appendAuditEvent(tx, clock, event(i))),
        ),
      );
      const rows = await rawRows();
      expect(rows.map((r) => Number(r.seq_text))).to.deep.equal(Array.from({ length: 20 }, (_, i) => i + 1));
      expect(await audit.verify()).to.deep.equal({ ok: true, checked: 20n });
    });

    it("should roll an event back with the transaction that appended it", async () => {
      const failed = client.transaction(async (tx) => {
        await appendAuditEvent(tx, clock, event(1));
        throw new Error("the change failed");
      });
      expect(await rejection(failed)).to.have.property("message", "the change failed");
      expect(await rawRows()).to.deep.equal([]);
      await client.transaction((tx) => appendAuditEvent(tx, clock, event(2)));
      expect((await rawRows()).map((r) => [r.seq_text, r.prev_hash])).to.deep.equal([["1", GENESIS_HASH]]);
    });

    it("should record ledger changes in their own transactions, a replay adding none, no raw phone", async () => {
      const ledger = createPostgresLedgerStore({ client, clock, ids: newId });
      const customer = await ledger.createCustomer({ displayName: "Ada", phoneNumber: "+447700900123" });
      const account = await ledger.openAccount(customer.id, "EUR");
      const input = {
        accountId: account.id,
        amount: { currency: "EUR", minorUnits: 2_500n },
        reference: "salary",
        idempotencyKey: "dep-1",
      };
      const { transfer } = await ledger.deposit(input);
      await ledger.deposit(input);
      const { items } = await audit.list({ limit: 10 });
      expect(items.map((e) => [e.type, e.customerId, e.outcome])).to.deep.equal([
        ["customer.created", customer.id, "success"],
        ["account.opened", customer.id, "success"],
        ["deposit.posted", customer.id, "success"],
      ]);
      expect(items[1]?.attributes).to.deep.equal({ account_id: account.id, currency: "EUR" });
      expect(items[2]?.attributes).to.deep.equal({
        transfer_id: transfer.id,
        account_id: account.id,
        amount: "2500",
        currency: "EUR",
      });
      const dump = await client.query<{ row: string }>(
        "SELECT row_to_json(a)::text AS row FROM audit_events a",
        [],
      );
      const text = dump.rows.map((r) => r.row).join("\n");
      expect(text).not.to.include("447700900123");
      expect(text).not.to.include("salary");
      expect(await audit.verify()).to.deep.equal({ ok: true, checked: 3n });
    });

    it("should write no event when a ledger change is refused", async () => {
      const ledger = createPostgresLedgerStore({ client, clock, ids: newId });
      await ledger.createCustomer({ displayName: "Ada", phoneNumber: "+447700900123" });
      const duplicate = ledger.createCustomer({ displayName: "Eve", phoneNumber: "+447700900123" });
      expect(await rejection(duplicate)).to.have.property("code", "ALREADY_EXISTS");
      expect(await rejection(ledger.openAccount("cus_missing", "EUR"))).to.have.property("code", "NOT_FOUND");
      expect((await audit.list({ limit: 10 })).items.map((e) => e.type)).to.deep.equal(["customer.created"]);
    });

    it("should list by customer, type and time, oldest first, across pages", async () => {
      await appendMany(12);
      const start = clock.now() - 12_000;
      const byCustomer = await audit.list({ customerId: "cus_a", limit: 2 });
      const next = await audit.list({ customerId: "cus_a", limit: 2, cursor: byCustomer.nextCursor });
      expect([...byCustomer.items, ...next.items].map((e) => e.attributes.n)).to.deep.equal([
        "3",
        "6",
        "9",
        "12",
      ]);
      expect(next.nextCursor).to.equal(undefined);
      const failures = await audit.list({ type: "login.failed", limit: 100 });
      expect(failures.items.map((e) => e.seq)).to.deep.equal([1n, 3n, 5n, 7n, 9n, 11n]);
      const window = await audit.list({ startMs: start + 2_000, endMs: start + 5_000, limit: 100 });
      expect(window.items.map((e) => e.seq)).to.deep.equal([3n, 4n, 5n]);
      expect(window.items[0]?.occurredAt).to.equal(start + 2_000);
      const both = await audit.list({
        customerId: "cus_b",
        type: "login.succeeded",
        startMs: start,
        limit: 100,
      });
      expect(both.items.map((e) => e.seq)).to.deep.equal([2n, 4n, 8n, 10n]);
      expect(both.items[0]?.hash).to.match(/^[0-9a-f]{64}$/);
    });

    it("should refuse a page token it did not issue with INVALID_ARGUMENT on page.page_token", async () => {
      await appendMany(3);
      const posting = Buffer.from("p1:2").toString("base64url");
      for (const cursor of ["not a cursor", "", posting, Buffer.from("a1:-1").toString("base64url")]) {
        const error = await rejection(audit.list({ limit: 10, cursor }));
        expect(error).to.be.instanceOf(DomainError);
        expect(error).to.include({ code: "INVALID_ARGUMENT", field: "page.page_token" });
      }
    });
  });
}
