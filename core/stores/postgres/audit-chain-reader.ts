import type { AuditChainReader } from "../../domain/audit-checkpoint.js";
import type { AuditEntryReader } from "../../domain/audit-verify-incremental.js";
import { readAuditEntriesAfter } from "./audit-log.js";
import type { SqlClient } from "./sql-client.js";

/** Rows asked for per query while comparing checkpoints with the chain. */
const BATCH = 500;

/**
 * Creates the reader of the audit chain's head and of the hashes at given seqs, on PostgreSQL or
 * PGlite. Those read only the primary key and the stored hash: checking that those hashes
 * recompute is createPostgresAuditLog's verify, which runs first. `entriesAfter` reads whole
 * entries for the checkpointer's incremental verification, by the primary key's order.
 */
export function createPostgresAuditChainReader(client: SqlClient): AuditChainReader & AuditEntryReader {
  return {
    entriesAfter: (after, limit) => readAuditEntriesAfter(client, after, limit),

    async head() {
      // The text alias differs from the column: ORDER BY an output name would sort as text.
      const { rows } = await client.query<{ seq_text: string; hash: string }>(
        "SELECT seq::text AS seq_text, encode(hash, 'hex') AS hash FROM audit_events ORDER BY seq DESC LIMIT 1",
        [],
      );
      const row = rows[0];
      return row === undefined ? undefined : { seq: BigInt(row.seq_text), hash: row.hash };
    },

    async hashesAt(seqs) {
      const found = new Map<bigint, string>();
      for (let i = 0; i < seqs.length; i += BATCH) {
        const { rows } = await client.query<{ seq_text: string; hash: string }>(
          `SELECT seq::text AS seq_text, encode(hash, 'hex') AS hash FROM audit_events
           WHERE seq = ANY($1::int8[])`,
          [seqs.slice(i, i + BATCH).map(String)],
        );
        for (const row of rows) found.set(BigInt(row.seq_text), row.hash);
      }
      return found;
    },
  };
}
