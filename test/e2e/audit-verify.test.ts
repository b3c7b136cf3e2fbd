import { join } from "node:path";
import { expect } from "chai";
import { appendAuditEvent } from "../../core/stores/postgres/audit-append.js";
import { migrate } from "../../core/stores/postgres/migrate.js";
import { createPgliteClient } from "../../core/stores/postgres/pglite-client.js";
import type { SqlClient } from "../../core/stores/postgres/sql-client.js";
import { createManualClock } from "../../lib/clock.js";
import { Children, childEnv, exitWithin } from "../support/teller-process.js";

describe("teller audit verify", () => {
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

  const verify = (dataDir: string) =>
    exitWithin(children.teller(["audit", "verify"], childEnv({ DATA_DIR: dataDir })), 60_000);

  it("should report the entries of an intact chain with exit 0 and the first broken entry with exit 1", async function () {
    this.timeout(120_000);
    const dataDir = children.tempDir();
    const clock = createManualClock();
    await withDatabase(dataDir, async (client) => {
      await migrate(client);
      for (let i = 0; i < 4; i += 1) {
        await client.transaction((tx) =>
          appendAuditEvent(tx, clock, { type: "test.event", outcome: "success" }),
        );
      }
    });
    const intact = await verify(dataDir);
    expect({ code: intact.code, stdout: intact.stdout }).to.deep.equal({
      code: 0,
      stdout: "audit chain ok: 4 entries\n",
    });
    // An attacker with DB admin rights: the append-only triggers are switched off for the delete.
    await withDatabase(dataDir, (client) =>
      client.transaction(async (tx) => {
        await tx.query("ALTER TABLE audit_events DISABLE TRIGGER ALL", []);
        await tx.query("DELETE FROM audit_events WHERE seq = 3", []);
        await tx.query("ALTER TABLE audit_events ENABLE TRIGGER ALL", []);
      }),
    );
    const broken = await verify(dataDir);
    expect({ code: broken.code, stdout: broken.stdout }).to.deep.equal({
      code: 1,
      stdout: "audit chain broken at entry 3\n",
    });
  });

  it("should refuse a database without an audit trail rather than migrate it", async function () {
    this.timeout(60_000);
    const finished = await verify(children.tempDir());
    expect(finished.code).to.equal(1);
    expect(finished.stderr).to.include("no audit trail");
  });
});
