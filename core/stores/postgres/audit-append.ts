import type { Clock } from "../../../lib/clock.js";
import type { NewAuditEvent } from "../../domain/audit.js";
import { settleAuditChain } from "./audit-chainer.js";
import type { SqlClient } from "./sql-client.js";

/** The afterCommit key of the chain flush: one flush per transaction, however many events. */
const CHAIN_AFTER_COMMIT = "teller:audit:chain";

/**
 * Records one event INSIDE the caller's transaction `tx`, so the event commits or rolls back with
 * the change it records (issue 5 item 5), and returns its inbox id.
 *
 * The event goes to audit_inbox, with no lock and no read of the chain: concurrent changes no
 * longer queue on one lock held through their commits, and so share group commits. Its time is
 * stamped here, at the change, and kept. Once `tx` commits, the driver runs the chainer
 * (audit-chainer.ts), which gives the event its seq and hash before `transaction` resolves, so a
 * caller that reads the trail next finds it; if that fails, the event waits in the inbox for the
 * next flush and the committed change is not reported as failed.
 */
export async function appendAuditEvent(tx: SqlClient, clock: Clock, event: NewAuditEvent): Promise<bigint> {
  const { rows } = await tx.query<{ id_text: string }>(
    `INSERT INTO audit_inbox (type, customer_id, subject_id, outcome, occurred_at, attributes)
     VALUES ($1, $2, $3, $4, $5::timestamptz, $6::jsonb) RETURNING id::text AS id_text`,
    [
      event.type,
      // Empty ids are stored as NULL, as the chain hashes them: "absent" has one spelling.
      event.customerId || null,
      event.subjectId || null,
      event.outcome,
      new Date(Math.trunc(clock.now())).toISOString(),
      JSON.stringify({ ...event.attributes }),
    ],
  );
  tx.afterCommit?.(CHAIN_AFTER_COMMIT, settleAuditChain);
  return BigInt((rows[0] as { id_text: string }).id_text);
}
