import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { startAuditCheckpoints } from "../../core/audit-checkpoints.js";
import { loadCoreConfig } from "../../core/config.js";
import { checkpointFileIn } from "../../core/stores/audit-checkpoint-file.js";
import { appendAuditEvent } from "../../core/stores/postgres/audit-append.js";
import { migrate } from "../../core/stores/postgres/migrate.js";
import { createPgliteClient } from "../../core/stores/postgres/pglite-client.js";
import type { SqlClient } from "../../core/stores/postgres/sql-client.js";
import { createManualClock } from "../../lib/clock.js";
import { ensureDevSecrets } from "../../lib/dev-secrets.js";
import { createLogger } from "../../lib/logger.js";
import { createMetrics } from "../../lib/metrics.js";
import { Children, childEnv, exitWithin } from "../support/teller-process.js";

describe("teller audit verify with checkpoints", () => {
  const children = new Children();
  after(() => children.cleanup());

  /** Opens the PGlite database `teller core` would use under this DATA_DIR, runs `work`, closes it. */
  async function withDatabase(dataDir: string, work: (client: SqlClient) => Promise<void>): Promise<void> {
    const client = createPgliteClient({ dataDir: join(dataDir, "pglite") });
    try {
      await work(client);
    } finally {
      await client.close();
    }
  }

  const verify = (dataDir: string, ...args: string[]) =>
    exitWithin(children.teller(["audit", "verify", ...args], childEnv({ DATA_DIR: dataDir })), 60_000);

  it("should find the newest entries removed after a checkpoint, also through the WORM copy", async function () {
    this.timeout(180_000);
    const dataDir = children.tempDir();
    // The core's own config under this DATA_DIR: its development checkpoint key and directory.
    const config = loadCoreConfig({ DATA_DIR: dataDir }, await ensureDevSecrets(dataDir));
    const clock = createManualClock();
    await withDatabase(dataDir, async (client) => {
      await migrate(client);
      for (let i = 0; i < 4; i += 1) {
        await client.transaction((tx) =>
          appendAuditEvent(tx, clock, { type: "test.event", outcome: "success" }),
        );
      }
      const logger = createLogger({ level: "silent" });
      const metrics = createMetrics("core");
      await startAuditCheckpoints({ config: config.audit, sql: client, clock, logger, metrics }).close();
    });
    const intact = await verify(dataDir);
    expect({ code: intact.code, stdout: intact.stdout }).to.deep.equal({
      code: 0,
      stdout: "audit chain ok: 4 entries, 1 checkpoint verified\n",
    });
    // The operator's WORM copy of the checkpoints.
    const worm = join(children.tempDir(), "audit-checkpoints.jsonl");
    copyFileSync(checkpointFileIn(config.audit.checkpointDir), worm);
    // An attacker with DB admin rights removes the newest entries, and the local checkpoints too.
    await withDatabase(dataDir, (client) =>
      client.transaction(async (tx) => {
        await tx.query("ALTER TABLE audit_events DISABLE TRIGGER ALL", []);
        await tx.query("DELETE FROM audit_events WHERE seq > 2", []);
        await tx.query("ALTER TABLE audit_events ENABLE TRIGGER ALL", []);
      }),
    );
    const truncated = "audit chain truncated: a checkpoint vouches for entry 4, the chain ends at entry 2\n";
    const cut = await verify(dataDir);
    expect({ code: cut.code, stdout: cut.stdout }).to.deep.equal({ code: 1, stdout: truncated });
    rmSync(config.audit.checkpointDir, { recursive: true });
    mkdirSync(config.audit.checkpointDir);
    const local = await verify(dataDir);
    expect({ code: local.code, stdout: local.stdout }).to.deep.equal({
      code: 0,
      stdout: "audit chain ok: 2 entries\n",
    });
    expect(local.stderr).to.include("no checkpoints yet");
    const fromWorm = await verify(dataDir, "--checkpoints", worm);
    expect({ code: fromWorm.code, stdout: fromWorm.stdout }).to.deep.equal({ code: 1, stdout: truncated });
  });
});
