import { parseArgs } from "node:util";
import type { JWK } from "jose";
import { verifyCheckpoints } from "../core/domain/audit-checkpoint.js";
import { openSql } from "../core/main.js";
import { checkpointFileIn, createFileCheckpointLog } from "../core/stores/audit-checkpoint-file.js";
import { createPostgresAuditChainReader } from "../core/stores/postgres/audit-chain-reader.js";
import { createPostgresAuditLog } from "../core/stores/postgres/audit-log.js";
import type { SqlClient } from "../core/stores/postgres/sql-client.js";
import { createCheckpointOpener } from "../lib/audit-checkpoint.js";
import { systemClock } from "../lib/clock.js";
import type { Env } from "../lib/env.js";
import { loadCore, loadOrReport } from "./processes.js";

const USAGE = "usage: teller audit verify [--checkpoints FILE]";

/**
 * `teller audit verify [--checkpoints FILE]`: walks the audit trail of the configured database
 * (DATABASE_URL, else PGlite under DATA_DIR) and recomputes every hash, then checks the signed
 * checkpoints (security.md AUD-3) in FILE (default: the one under AUDIT_CHECKPOINT_DIR; point it at
 * the WORM copy to be sure the local one was not cut too) against it. Prints one line and returns
 * 0 when all is well, 1 otherwise, so scripts and cron can alarm. It only reads: it never
 * migrates. PGlite is single-process, so stop `teller core` first when the core runs on it.
 */
export async function runAudit(env: Env, args: readonly string[]): Promise<number> {
  const parsed = parseVerifyArgs(args);
  if (!parsed) {
    console.error(USAGE);
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
    const report = await verifyAuditTrail({
      sql,
      checkpointFile: parsed.checkpoints ?? checkpointFileIn(config.audit.checkpointDir),
      publicJwk: config.audit.checkpointPublicJwk,
      requireCheckpoints: config.production,
    });
    if (report.notice) console.error(`teller audit: ${report.notice}`);
    console.log(report.line);
    return report.code;
  } finally {
    await sql.close();
  }
}

function parseVerifyArgs(args: readonly string[]): { checkpoints?: string } | undefined {
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: { checkpoints: { type: "string" } },
      allowPositionals: true,
    });
    return positionals.length === 1 && positionals[0] === "verify" ? values : undefined;
  } catch {
    // An unknown or malformed option: the caller prints the usage.
    return undefined;
  }
}

/** What to verify, and against what. */
export interface VerifyAuditTrailOptions {
  readonly sql: SqlClient;
  /** The checkpoint file (the local one, or its WORM copy). */
  readonly checkpointFile: string;
  /** The public half of AUDIT_CHECKPOINT_JWK. */
  readonly publicJwk: JWK;
  /** Production: no checkpoints is a failure, not a notice. */
  readonly requireCheckpoints: boolean;
}

/** The verdict: the exit code, the one line for stdout, and an optional notice for stderr. */
export interface AuditReport {
  readonly code: 0 | 1;
  readonly line: string;
  readonly notice?: string;
}

/**
 * What `teller audit verify` does once configured: the hash chain first (an edited, deleted or
 * reordered entry), then the checkpoints (removed newest entries, or entries rewritten together
 * with every later hash), each signature and `prev` link, then each checkpoint's (seq, hash).
 */
export async function verifyAuditTrail(options: VerifyAuditTrailOptions): Promise<AuditReport> {
  const { sql, checkpointFile: file } = options;
  const chain = await createPostgresAuditLog({ client: sql, clock: systemClock }).verify();
  if (!chain.ok) return { code: 1, line: `audit chain broken at entry ${chain.firstBrokenSeq}` };
  const entries = `audit chain ok: ${chain.checked} entries`;
  const lines = await createFileCheckpointLog({ file }).readAll();
  if (lines === undefined || lines.length === 0) {
    if (options.requireCheckpoints) return { code: 1, line: `audit checkpoints missing: none in ${file}` };
    return { code: 0, line: entries, notice: `no checkpoints yet (${file})` };
  }
  const result = await verifyCheckpoints({
    lines,
    open: createCheckpointOpener(options.publicJwk),
    chain: createPostgresAuditChainReader(sql),
  });
  const { problem } = result;
  if (problem === undefined) {
    const line = `${entries}, ${result.checked} checkpoint${result.checked === 1 ? "" : "s"} verified`;
    if (result.forks === 0) return { code: 0, line };
    return {
      code: 0,
      line,
      notice: `${result.forks} checkpoint(s) forked: two core instances wrote at once`,
    };
  }
  switch (problem.kind) {
    case "truncated":
      return {
        code: 1,
        line: `audit chain truncated: a checkpoint vouches for entry ${problem.seq}, the chain ends at entry ${problem.lastSeq}`,
      };
    case "mismatch":
      return { code: 1, line: `audit chain rewritten: entry ${problem.seq} differs from its checkpoint` };
    case "malformed":
      return {
        code: 1,
        line: `audit checkpoints broken: line ${problem.line} of ${file} is not a checkpoint`,
      };
    case "bad-signature":
      return {
        code: 1,
        line: `audit checkpoints broken: line ${problem.line} of ${file} has an invalid signature`,
      };
    case "broken-link":
      return {
        code: 1,
        line: `audit checkpoints broken: line ${problem.line} of ${file} links to no earlier checkpoint`,
      };
  }
}
