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
import { type CoreMetrics, createMetrics } from "../lib/metrics.js";
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
        metrics: createMetrics("core"),
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

    /** Checkpoints as the core runs them, with its metrics, what it logged and the seqs each query read. */
    function watched(options: { batchSize?: number; config?: AuditConfig } = {}) {
      const logs: Record<string, unknown>[] = [];
      const reads: number[][] = [];
      const metrics = createMetrics("core");
      const checkpoints = startAuditCheckpoints({
        config: options.config ?? audit,
        sql: recording(client, reads),
        clock,
        logger: createLogger({
          level: "debug",
          destination: { write: (l) => void logs.push(JSON.parse(l)) },
        }),
        metrics,
        ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
      });
      const counts = () => verifications(metrics);
      return { checkpoints, logs, reads, counts };
    }

    const checkpointSeqs = () =>
      existsSync(checkpointFileIn(dir))
        ? readFileSync(checkpointFileIn(dir), "utf8")
            .trimEnd()
            .split("\n")
            .map((line) => JSON.parse(line).seq)
        : [];

    it("should verify the entries appended since the last run before signing each checkpoint", async () => {
      await appendUpTo(5);
      const { checkpoints, counts } = watched();
      await checkpoints.checkpoint();
      await appendUpTo(8);
      await checkpoints.checkpoint();
      await checkpoints.close();
      expect(checkpointSeqs()).to.deep.equal(["5", "8"]);
      // Two runs that read new entries, and the shutdown that re-checked the head with none new.
      expect(await counts()).to.deep.equal({ ok: 3, broken: 0 });
      expect((await verify(true)).line).to.equal("audit chain ok: 8 entries, 2 checkpoints verified");
    });

    it("should write no checkpoint over an entry edited since the last one, and count it broken on every run", async () => {
      await appendUpTo(5);
      const { checkpoints, counts, logs } = watched();
      await checkpoints.checkpoint();
      await appendUpTo(8);
      await tamper(`UPDATE audit_events SET attributes = '{"n": "forged"}'::jsonb WHERE seq = 7`);
      await checkpoints.checkpoint();
      expect(checkpointSeqs()).to.deep.equal(["5"]);
      expect(await counts()).to.deep.equal({ ok: 1, broken: 1 });
      const broken = logs.filter((l) => l.msg === "audit chain broken: no checkpoint written");
      expect(broken).to.have.length(1);
      expect(broken[0]).to.include({ level: "error", firstBrokenSeq: "7", verifiedUpTo: "5" });
      expect(JSON.stringify(logs)).to.not.include("forged");
      await checkpoints.checkpoint();
      await checkpoints.close();
      expect(await counts(), "the break is reported again on each run").to.deep.equal({ ok: 1, broken: 3 });
      expect(checkpointSeqs()).to.deep.equal(["5"]);
    });

    it("should refuse to vouch for a chain cut back and regrown below the last verified entry", async () => {
      await appendUpTo(8);
      const { checkpoints, counts, logs } = watched();
      await checkpoints.checkpoint();
      // Entries 7 and 8 removed, and new ones linked on from 6: the chain links, its head has moved.
      await tamper("DELETE FROM audit_events WHERE seq > 6");
      await appendUpTo(9);
      expect((await createPostgresAuditLog({ client, clock }).verify()).ok).to.equal(true);
      await checkpoints.close();
      expect(checkpointSeqs()).to.deep.equal(["8"]);
      expect(await counts()).to.deep.equal({ ok: 1, broken: 1 });
      expect(logs.find((l) => l.level === "error")).to.include({ firstBrokenSeq: "8" });
    });

    it("should read the chain in batches of the configured size and verify across their boundaries", async () => {
      await appendUpTo(8);
      const whole = watched({ batchSize: 3 });
      await whole.checkpoints.close();
      expect(whole.reads).to.deep.equal([
        [1, 2, 3],
        [4, 5, 6],
        [7, 8],
      ]);
      expect(await whole.counts()).to.deep.equal({ ok: 1, broken: 0 });
      expect(checkpointSeqs()).to.deep.equal(["8"]);
      // From genesis again, a row missing right after a batch boundary is found.
      rmSync(dir, { recursive: true, force: true });
      await tamper("DELETE FROM audit_events WHERE seq = 4");
      const gap = watched({ batchSize: 3 });
      await gap.checkpoints.close();
      expect(await gap.counts()).to.deep.equal({ ok: 0, broken: 1 });
      expect(gap.logs.find((l) => l.level === "error")).to.include({ firstBrokenSeq: "4" });
      expect(checkpointSeqs()).to.deep.equal([]);
    });

    it("should resume after a restart from the file's last checkpoint, not from genesis", async () => {
      await appendUpTo(20);
      await checkpointNow();
      await appendUpTo(23);
      const restarted = watched({ batchSize: 1_000 });
      await restarted.checkpoints.close();
      // The checkpointed entry 20 re-read to anchor the walk, then only what came after it.
      expect(restarted.reads).to.deep.equal([[20], [21, 22, 23]]);
      expect(checkpointSeqs()).to.deep.equal(["20", "23"]);
      expect((await verify(true)).code).to.equal(0);
    });

    it("should walk from genesis when the file's last checkpoint does not verify under the key", async () => {
      await appendUpTo(4);
      await checkpointNow();
      await appendUpTo(6);
      const { privateJwk } = await createTestKeys("another-audit-key");
      const config = {
        ...audit,
        checkpointPrivateJwk: privateJwk,
        checkpointPublicJwk: checkpointPublicJwk(privateJwk),
      };
      const rekeyed = watched({ config });
      await rekeyed.checkpoints.close();
      expect(rekeyed.reads[0]).to.deep.equal([1, 2, 3, 4, 5, 6]);
      expect(await rekeyed.counts()).to.deep.equal({ ok: 1, broken: 0 });
    });

    it("should keep the checkpoint file whole and verifiable when two instances checkpoint at once", async () => {
      for (let round = 1; round <= 5; round += 1) {
        await appendUpTo(round * 3);
        const instances = [0, 1].map(() =>
          startAuditCheckpoints({
            config: audit,
            sql: client,
            clock,
            logger: silentLogger(),
            metrics: createMetrics("core"),
          }),
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
      // main.ts hands the core's own metrics over: the run's verification shows on its /metrics.
      expect(await verifications(first.core.metrics))
        .to.have.property("ok")
        .above(0);
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

/** A SqlClient that records the seqs of the audit rows each query returns, in order. */
function recording(client: SqlClient, reads: number[][]): SqlClient {
  return {
    async query<T>(sql: string, params?: readonly unknown[]) {
      const result = await client.query<T>(sql, params);
      if (sql.includes("FROM audit_events")) {
        reads.push(result.rows.map((row) => Number((row as { seq_text?: string }).seq_text)));
      }
      return result;
    },
    transaction: (fn) => client.transaction(fn),
    close: () => client.close(),
  };
}

/** The core's audit chain verification counts, by result, read from its registry. */
async function verifications(metrics: CoreMetrics): Promise<Record<string, number>> {
  const metric = metrics.registry.getSingleMetric("teller_audit_chain_verifications_total");
  const { values } = (await metric?.get()) ?? { values: [] };
  return Object.fromEntries(values.map((v) => [String(v.labels.result), v.value]));
}

function silentLogger() {
  // pino's "silent" level: these tests assert on files, not logs.
  return createLogger({ level: "silent" });
}
