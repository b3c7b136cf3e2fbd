import type { Clock } from "../../../lib/clock.js";
import { DomainError } from "../../domain/errors.js";
import type { ChannelLinks } from "../../domain/links.js";
import { appendAuditEvent } from "./audit-append.js";
import type { SqlClient } from "./sql-client.js";

/** Collaborators of the PostgreSQL channel links. */
export interface PostgresChannelLinksDeps {
  /** PGlite or pg, migrated (006); owned by the caller. */
  readonly client: SqlClient;
  readonly clock: Clock;
}

/** PostgreSQL's foreign-key violation: the customer does not exist. */
const FOREIGN_KEY_VIOLATION = "23503";

/**
 * ChannelLinks on PostgreSQL: one row per subject, replaced on re-link, each change audited in
 * its own transaction with the pseudonymous subject id only (AUD: no channel user id, no phone).
 */
export function createPostgresChannelLinks(deps: PostgresChannelLinksDeps): ChannelLinks {
  const { client, clock } = deps;
  return {
    async find(subjectId) {
      const { rows } = await client.query<{ customer_id: string }>(
        "SELECT customer_id FROM channel_links WHERE subject_id = $1",
        [subjectId],
      );
      return rows[0]?.customer_id;
    },
    async link({ subjectId, channel, customerId }) {
      try {
        await client.transaction(async (tx) => {
          await tx.query(
            `INSERT INTO channel_links (subject_id, channel, customer_id, linked_at)
             VALUES ($1, $2, $3, $4::timestamptz)
             ON CONFLICT (subject_id) DO UPDATE
               SET channel = EXCLUDED.channel, customer_id = EXCLUDED.customer_id, linked_at = EXCLUDED.linked_at`,
            [subjectId, channel, customerId, new Date(clock.now()).toISOString()],
          );
          await appendAuditEvent(tx, clock, {
            type: "channel.linked",
            customerId,
            subjectId,
            outcome: "success",
            attributes: { channel },
          });
        });
      } catch (err) {
        if ((err as { code?: string }).code === FOREIGN_KEY_VIOLATION)
          throw new DomainError("NOT_FOUND", "The customer does not exist.");
        throw err;
      }
    },
    async unlink(subjectId) {
      return client.transaction(async (tx) => {
        const { rows } = await tx.query<{ customer_id: string; channel: string }>(
          "DELETE FROM channel_links WHERE subject_id = $1 RETURNING customer_id, channel",
          [subjectId],
        );
        const row = rows[0];
        if (!row) return false;
        await appendAuditEvent(tx, clock, {
          type: "channel.unlinked",
          customerId: row.customer_id,
          subjectId,
          outcome: "success",
          attributes: { channel: row.channel },
        });
        return true;
      });
    },
  };
}
