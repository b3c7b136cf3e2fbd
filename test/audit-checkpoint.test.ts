import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { verifyAuditTrail } from "../bin/audit.js";
import { startAuditCheckpoints } from "../core/audit-checkpoints.js";
import type { AuditConfig } from "../core/audit-config.js";
import { auditHash, type NewAuditEvent } from "../core/domain/audit.js";
import { checkpointFileIn } from "../core/stores/audit-checkpoint-file.js";
import { appendAuditEvent } from "../core/stores/postgres/audit-append.js";
import { createPostgresAuditLog } from "../core/stores/postgres/audit-log.js";
import { migrate } from "../core/stores/postgres/migrate.js";
import type { SqlClient } from "../core/stores/postgres/sql-client.js";
import { checkpointPublicJwk } from "../lib/audit-checkpoint.js";
import { createManualClock, type ManualClock } from "../lib/clock.js";
import { createLogger } from "../lib/logger.js";
import { createTestKeys, startTestCore } from "./support/core.js";
import { ledgerBackends as backends } from "./support/ledger-fixture.js";
import { eventually } from "./support/teller-process.js";

const event = (i: number): NewAuditEvent => ({
  type: "login.succeeded",
  customerId: "cus_a",
  outcome: "success",
  attributes: { n: String(i) },
});

for (const backend of backends) {
  describe(`audit checkpoints (${backend.name})`, () => {
    let client: SqlClient;
    let dispose: () => Promise<void>;
    let clock: ManualClock;
    let dir: string;
    let audit: AuditConfig;

    beforeEach(async () => {
      ({ client, dispose } = await backend.open());
      await migrate(client);
      clock = createManualClock();
      dir = mkdtempSync(join(tmpdir(), "teller-checkpoints-"));
      const { privateJwk } = await createTestKeys("audit-checkpoint");
      audit = {
        checkpointPrivateJwk: privateJwk,
        checkpointPublicJwk: checkpointPublicJwk(privateJwk),
        checkpointDir: dir,
        checkpointIntervalMs: 3_600_000,
      };
    });

    afterEach(async () => {
      await dispose();
      rmSync(dir, { recursive: true, force: true });
    });

    async function appendUpTo(seq: number): Promise<void> {
      const { items } = await createPostgresAuditLog({ client, clock }).list({ limit: 100 });
      for (let i = items.length + 1; i <= seq; i += 1) {
        await client.transaction((tx) => appendAuditEvent(tx, clock, event(i)));
        clock.advance(1_000);
      }
    }

    /** Takes one checkpoint the way the core does, then stops. */
    async function checkpointNow(): Promise<void> {
      const checkpoints = startAuditCheckpoints({
        config: audit,
        sql: client,
        clock,
        logger: silentLogger(),
      });
      await checkpoints.close();
    }

    const verify = (requireCheckpoints = false) =>
      verifyAuditTrail({
        sql: client,
        checkpointFile: checkpointFileIn(dir),
        publicJwk: audit.checkpointPublicJwk,
        requireCheckpoints,
      });

    /** Runs `sql` as a DB administrator would: with the append-only triggers switched off. */
    async function tamper(sql: string, params: readonly unknown[] = []): Promise<void> {
      await client.transaction(async (tx) => {
        await tx.query("ALTER TABLE audit_events DISABLE TRIGGER ALL", []);
        await tx.query(sql, params);
        await tx.query("ALTER TABLE audit_events ENABLE TRIGGER ALL", []);
      });
    }

    it("should report newest entries removed after a checkpoint, which the chain alone cannot see", async () => {
      await appendUpTo(20);
      await checkpointNow();
      expect(await verify()).to.deep.equal({
        code: 0,
        line: "audit chain ok: 20 entries, 1 checkpoint verified",
      });
      await tamper("DELETE FROM audit_events WHERE seq > 15");
      expect(await createPostgresAuditLog({ client, clock }).verify()).to.deep.equal({
        ok: true,
        checked: 15n,
      });
      expect(await verify()).to.deep.equal({
        code: 1,
        line: "audit chain truncated: a checkpoint vouches for entry 20, the chain ends at entry 15",
      });
    });

    it("should report an entry rewritten at a checkpoint even when every later hash was recomputed", async () => {
      await appendUpTo(12);
      await checkpointNow();
      await appendUpTo(20);
      await checkpointNow();
      expect((await verify()).line).to.equal("audit chain ok: 20 entries, 2 checkpoints verified");
      await rewriteFrom(12n);
      expect(await createPostgresAuditLog({ client, clock }).verify()).to.deep.equal({
        ok: true,
        checked: 20n,
      });
      expect(await verify()).to.deep.equal({
        code: 1,
        line: "audit chain rewritten: entry 12 differs from its checkpoint",
      });
    });

    /** Edits entry `from` and recomputes its hash and every later one, as an attacker with DB rights could. */
    async function rewriteFrom(from: bigint): Promise<void> {
      const { items } = await createPostgresAuditLog({ client, clock }).list({ limit: 100 });
      let prev = items.find((e) => e.seq === from - 1n)?.hash as string;
      for (const entry of items.filter((e) => e.seq >= from)) {
        const body = {
          ...entry,
          attributes: entry.seq === from ? { n: "forged" } : entry.attributes,
        };
        const hash = auditHash(prev, body);
        await tamper(
          `UPDATE audit_events SET attributes = $1::jsonb, prev_hash = decode($2, 'hex'), hash = decode($3, 'hex')
           WHERE seq = $4::int8`,
          [JSON.stringify(body.attributes), prev, hash, entry.seq.toString()],
        );
        prev = hash;
      }
    }

    it("should keep the checkpoint file whole and verifiable when two instances checkpoint at once", async () => {
      for (let round = 1; round <= 5; round += 1) {
        await appendUpTo(round * 3);
        const instances = [0, 1].map(() =>
          startAuditCheckpoints({ config: audit, sql: client, clock, logger: silentLogger() }),
        );
        await Promise.all(instances.map((i) => i.checkpoint()));
        await Promise.all(instances.map((i) => i.close()));
      }
      const lines = readFileSync(checkpointFileIn(dir), "utf8").trimEnd().split("\n");
      expect(lines.length).to.be.within(5, 10);
      for (const line of lines) expect(JSON.parse(line)).to.have.keys(["seq", "hash", "at", "jws"]);
      expect(await verify(true)).to.deep.include({
        code: 0,
        line: `audit chain ok: 15 entries, ${lines.length} checkpoints verified`,
      });
    });

    it("should say there are no checkpoints yet in development, and fail in production", async () => {
      await appendUpTo(2);
      expect(await verify()).to.deep.equal({
        code: 0,
        line: "audit chain ok: 2 entries",
        notice: `no checkpoints yet (${checkpointFileIn(dir)})`,
      });
      expect(await verify(true)).to.deep.equal({
        code: 1,
        line: `audit checkpoints missing: none in ${checkpointFileIn(dir)}`,
      });
    });

    it("should checkpoint at core shutdown only when the chain grew, and on its interval", async function () {
      this.timeout(30_000);
      const env = {
        AUDIT_CHECKPOINT_JWK: JSON.stringify(audit.checkpointPrivateJwk),
        AUDIT_CHECKPOINT_DIR: dir,
        AUDIT_CHECKPOINT_INTERVAL: "1s",
      };
      const start = () => startTestCore({ state: "memory", database: "pglite", sql: client, env });
      const first = await start();
      await first.core.ledger.createCustomer({ displayName: "Ada", phoneNumber: "+447700900123" });
      const file = checkpointFileIn(dir);
      const lines = () => readFileSync(file, "utf8").trimEnd().split("\n");
      // The interval: a checkpoint appears while the core runs, without a shutdown.
      await eventually("an interval checkpoint", () => (existsSync(file) ? true : undefined), 10_000);
      await first.core.ledger.createCustomer({ displayName: "Bob", phoneNumber: "+447700900124" });
      await first.close();
      const written = lines();
      // One from the interval after Ada, one (interval or shutdown) after Bob.
      expect(written.map((line) => JSON.parse(line).seq)).to.deep.equal(["1", "2"]);
      const idle = await start();
      await idle.close();
      expect(lines(), "nothing new to vouch for").to.deep.equal(written);
      expect(await verify(true)).to.deep.equal({
        code: 0,
        line: "audit chain ok: 2 entries, 2 checkpoints verified",
      });
    });
  });
}

function silentLogger() {
  // pino's "silent" level: these tests assert on files, not logs.
  return createLogger({ level: "silent" });
}
