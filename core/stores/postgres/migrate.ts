import { ledgerMigration } from "./migrations/001-ledger.js";
import { auditMigration } from "./migrations/002-audit.js";
import { transfersMigration } from "./migrations/003-transfers.js";
import { transferRulesMigration } from "./migrations/004-transfer-rules.js";
import { totpMigration } from "./migrations/005-totp.js";
import { channelLinksMigration } from "./migrations/006-channel-links.js";
import { auditInboxMigration } from "./migrations/007-audit-inbox.js";
import { heldTransferReviewMigration } from "./migrations/008-held-transfer-review.js";
import type { SqlClient } from "./sql-client.js";

/** One schema change: applied once, in version order, recorded in schema_migrations. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/**
 * The database's migrations in order: the ledger, the audit trail, then transfers and payees, the
 * audit inbox, and the review of held transfers. They live in modules, not .sql files, because the build copies no assets: the
 * same text then runs from source (tsx) and from dist/.
 */
export const migrations: readonly Migration[] = [
  ledgerMigration,
  auditMigration,
  transfersMigration,
  transferRulesMigration,
  totpMigration,
  channelLinksMigration,
  auditInboxMigration,
  heldTransferReviewMigration,
];

/**
 * Applies the migrations not yet recorded, in one transaction, and returns the versions applied.
 * A transaction-scoped advisory lock keyed on the current schema makes two processes starting
 * together take turns: the second finds everything applied and does nothing.
 */
export async function migrate(client: SqlClient, list: readonly Migration[] = migrations): Promise<number[]> {
  const ordered = [...list].sort((a, b) => a.version - b.version);
  return client.transaction(async (tx) => {
    await tx.query(
      "SELECT pg_advisory_xact_lock(hashtextextended('teller:migrate:' || current_schema(), 0))",
    );
    await tx.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`,
    );
    const { rows } = await tx.query<{ version: number }>("SELECT version FROM schema_migrations");
    const done = new Set(rows.map((row) => Number(row.version)));
    const applied: number[] = [];
    for (const migration of ordered) {
      if (done.has(migration.version)) continue;
      await tx.query(migration.sql);
      await tx.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [
        migration.version,
        migration.name,
      ]);
      applied.push(migration.version);
    }
    return applied;
  });
}
