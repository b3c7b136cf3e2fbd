import type { Clock } from "../../../lib/clock.js";
import type { AuditEvent, NewAuditEvent } from "../../domain/audit.js";
import { auditHash, GENESIS_HASH } from "../../domain/audit.js";
import type { SqlClient } from "./sql-client.js";

/**
 * The advisory lock every append takes, keyed on the current schema: one chain per schema, so
 * two deployments (or two tests) sharing a server never wait on each other, while every writer
 * of one chain queues on the same 64-bit key.
 */
const CHAIN_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('teller:audit:' || current_schema(), 0))";

/**
 * Appends one event to the audit chain INSIDE the caller's transaction `tx`, so the event
 * commits or rolls back with the change it records (issue 5 item 5).
 *
 * The transaction-scoped advisory lock serialises appends until commit: the next writer reads
 * the last (seq, hash) only after this one committed or rolled back, so seq stays gapless and
 * every entry links to its committed predecessor. Under READ COMMITTED each statement takes a
 * fresh snapshot after the lock is granted; under REPEATABLE READ a stale read would collide on
 * the seq primary key (23505) rather than fork the chain. Call it last in the transaction, after
 * the row locks the change needs, so the lock order is always rows first, chain second.
 */
export async function appendAuditEvent(
  tx: SqlClient,
  clock: Clock,
  event: NewAuditEvent,
): Promise<AuditEvent> {
  await tx.query(CHAIN_LOCK, []);
  // The text alias differs from the column: ORDER BY an output name would sort as text.
  const { rows } = await tx.query<{ last_seq: string; hash: string }>(
    "SELECT seq::text AS last_seq, encode(hash, 'hex') AS hash FROM audit_events ORDER BY seq DESC LIMIT 1",
    [],
  );
  const last = rows[0];
  const prevHash = last?.hash ?? GENESIS_HASH;
  const body = {
    seq: last === undefined ? 1n : BigInt(last.last_seq) + 1n,
    type: event.type,
    ...(event.customerId ? { customerId: event.customerId } : {}),
    ...(event.subjectId ? { subjectId: event.subjectId } : {}),
    outcome: event.outcome,
    occurredAt: Math.trunc(clock.now()),
    attributes: { ...event.attributes },
  };
  const hash = auditHash(prevHash, body);
  await tx.query(
    `INSERT INTO audit_events (seq, type, customer_id, subject_id, outcome, occurred_at, attributes,
       prev_hash, hash)
     VALUES ($1::int8, $2, $3, $4, $5, $6::timestamptz, $7::jsonb, decode($8, 'hex'),
       decode($9, 'hex'))`,
    [
      body.seq.toString(),
      body.type,
      body.customerId ?? null,
      body.subjectId ?? null,
      body.outcome,
      new Date(body.occurredAt).toISOString(),
      JSON.stringify(body.attributes),
      prevHash,
      hash,
    ],
  );
  return { ...body, hash };
}
