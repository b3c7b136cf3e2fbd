import { openSql } from "../core/main.js";
import { createPostgresAuditLog } from "../core/stores/postgres/audit-log.js";
import { systemClock } from "../lib/clock.js";
import type { Env } from "../lib/env.js";
import { loadCore, loadOrReport } from "./processes.js";

/**
 * `teller audit verify`: walks the audit trail of the configured database (DATABASE_URL, else
 * PGlite under DATA_DIR) and recomputes every hash. Prints "audit chain ok: N entries" and
 * returns 0, or "audit chain broken at entry N" and returns 1, so scripts and cron can alarm.
 * It only reads: it never migrates. PGlite is single-process, so stop `teller core` first when
 * the core runs on the embedded database.
 */
export async function runAudit(env: Env, args: readonly string[]): Promise<number> {
  if (args.length !== 1 || args[0] !== "verify") {
    console.error("usage: teller audit verify");
    return 2;
  }
  const config = await loadOrReport(env, loadCore);
  if (!config) return 1;
  const sql = openSql(config);
  try {
    const { rows } = await sql.query<{ present: boolean }>(
      "SELECT to_regclass('audit_events') IS NOT NULL AS present",
      [],
    );
    if (!rows[0]?.present) {
      console.error("teller audit: this database has no audit trail yet (start `teller core` once)");
      return 1;
    }
    const result = await createPostgresAuditLog({ client: sql, clock: systemClock }).verify();
    if (result.ok) {
      console.log(`audit chain ok: ${result.checked} entries`);
      return 0;
    }
    console.log(`audit chain broken at entry ${result.firstBrokenSeq}`);
    return 1;
  } finally {
    await sql.close();
  }
}
