import type { Clock } from "../../../lib/clock.js";
import type { AuditFilter, AuditLog, StoredAuditEntry } from "../../domain/audit.js";
import { createChainVerifier } from "../../domain/audit.js";
import { DomainError, invalidArgument } from "../../domain/errors.js";
import { appendAuditEvent } from "./audit-append.js";
import { auditChainerFor } from "./audit-chainer.js";
import { epochMs } from "./ledger-rows.js";
import type { SqlClient } from "./sql-client.js";

/** Collaborators of the PostgreSQL audit log. */
export interface PostgresAuditLogDeps {
  /** PGlite or pg, migrated; shared with the stores that append, and closed by its owner. */
  readonly client: SqlClient;
  /** Stamps recorded events. */
  readonly clock: Clock;
  /** Rows read per query while verifying; 500 when unset. */
  readonly batchSize?: number;
}

/** The most events one page returns, whatever the caller asks. */
export const MAX_AUDIT_PAGE_SIZE = 100;

/**
 * An audit row with every column as text, so pg and PGlite hand back the same values. Text
 * columns get names of their own: ORDER BY an output name would sort seq as text ("10" < "9").
 */
interface AuditRow {
  seq_text: string;
  type: string;
  customer_id: string | null;
  subject_id: string | null;
  outcome: "success" | "failure";
  occurred_ms: string;
  attributes: string;
  prev_hash: string;
  hash: string;
}

const COLUMNS = `seq::text AS seq_text, type, customer_id, subject_id, outcome,
  ${epochMs("occurred_at")}::text AS occurred_ms, attributes::text AS attributes,
  encode(prev_hash, 'hex') AS prev_hash, encode(hash, 'hex') AS hash`;

function toEntry(row: AuditRow): StoredAuditEntry {
  return {
    seq: BigInt(row.seq_text),
    type: row.type,
    ...(row.customer_id ? { customerId: row.customer_id } : {}),
    ...(row.subject_id ? { subjectId: row.subject_id } : {}),
    outcome: row.outcome,
    occurredAt: Number(row.occurred_ms),
    attributes: JSON.parse(row.attributes) as Record<string, string>,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/**
 * Reads up to `limit` stored entries after `after`, in seq order: one batch of a walk along the
 * chain, here and in the checkpointer's incremental verification (audit-chain-reader.ts).
 */
export async function readAuditEntriesAfter(
  client: SqlClient,
  after: bigint,
  limit: number,
): Promise<StoredAuditEntry[]> {
  const { rows } = await client.query<AuditRow>(
    `SELECT ${COLUMNS} FROM audit_events WHERE seq > $1::int8 ORDER BY seq LIMIT $2`,
    [after.toString(), limit],
  );
  return rows.map(toEntry);
}

const CURSOR = /^a1:([1-9][0-9]{0,18})$/;
const MAX_INT8 = 9_223_372_036_854_775_807n;

function encodeCursor(seq: bigint): string {
  return Buffer.from(`a1:${seq}`).toString("base64url");
}

function decodeCursor(cursor: string): string {
  const seq = CURSOR.exec(Buffer.from(cursor, "base64url").toString("utf8"))?.[1];
  if (seq === undefined || BigInt(seq) > MAX_INT8 || encodeCursor(BigInt(seq)) !== cursor) {
    throw invalidArgument("page.page_token", "is not a valid page token");
  }
  return seq;
}

/** The WHERE clause and parameters of a filtered page, oldest first after the cursor. */
function pageQuery(filter: AuditFilter, limit: number): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const where: string[] = [];
  const add = (condition: (param: string) => string, value: unknown) => {
    params.push(value);
    where.push(condition(`$${params.length}`));
  };
  if (filter.cursor !== undefined) add((p) => `seq > ${p}::int8`, decodeCursor(filter.cursor));
  if (filter.customerId) add((p) => `customer_id = ${p}`, filter.customerId);
  if (filter.type) add((p) => `type = ${p}`, filter.type);
  if (filter.startMs !== undefined) add((p) => `occurred_at >= ${p}::timestamptz`, iso(filter.startMs));
  if (filter.endMs !== undefined) add((p) => `occurred_at < ${p}::timestamptz`, iso(filter.endMs));
  params.push(limit + 1);
  const clause = where.length === 0 ? "" : `WHERE ${where.join(" AND ")}`;
  return {
    sql: `SELECT ${COLUMNS} FROM audit_events ${clause} ORDER BY seq LIMIT $${params.length}`,
    params,
  };
}

function iso(ms: number): string {
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) throw invalidArgument("time", "is out of range");
  return date.toISOString();
}

async function guard<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof DomainError) throw error;
    throw new DomainError("UNAVAILABLE", "The audit trail is unavailable; try again later.", {
      cause: error,
    });
  }
}

/**
 * Creates the AuditLog on PostgreSQL (or PGlite, with the same SQL). Listing pages by seq with an
 * opaque cursor; verifying walks the whole table in seq order in batches and recomputes every
 * hash from the stored columns (createChainVerifier), so an edited, deleted or reordered row is
 * found even when the database's own protections were switched off. Both first chain what the
 * audit inbox holds, so they see every event committed before the call.
 */
export function createPostgresAuditLog(deps: PostgresAuditLogDeps): AuditLog {
  const { client } = deps;
  const batchSize = deps.batchSize ?? 500;
  const chainer = auditChainerFor(client);
  const chained = async (inboxId: bigint): Promise<StoredAuditEntry | undefined> => {
    const { rows } = await client.query<AuditRow>(
      `SELECT ${COLUMNS} FROM audit_events WHERE inbox_id = $1::int8`,
      [inboxId.toString()],
    );
    return rows[0] === undefined ? undefined : toEntry(rows[0]);
  };
  return {
    list: (filter) =>
      guard(async () => {
        if (!Number.isInteger(filter.limit) || filter.limit < 1)
          throw invalidArgument("page.page_size", "must be a positive integer");
        const limit = Math.min(filter.limit, MAX_AUDIT_PAGE_SIZE);
        const { sql, params } = pageQuery(filter, limit);
        await chainer.flush();
        const { rows } = await client.query<AuditRow>(sql, params);
        const items = rows.slice(0, limit).map(toEntry);
        const last = items.at(-1);
        const more = rows.length > limit && last !== undefined;
        return {
          items: items.map(({ prevHash: _prev, ...event }) => event),
          ...(more ? { nextCursor: encodeCursor(last.seq) } : {}),
        };
      }),

    record: (event) =>
      guard(async () => {
        const inboxId = await client.transaction((tx) => appendAuditEvent(tx, deps.clock, event));
        // The commit's flush chained it, unless that failed: then this flush retries, or throws.
        let entry = await chained(inboxId);
        if (entry === undefined) {
          await chainer.flush();
          entry = await chained(inboxId);
        }
        if (entry === undefined) throw new Error(`audit inbox row ${inboxId} was not chained`);
        const { prevHash: _prev, ...recorded } = entry;
        return recorded;
      }),

    verify: () =>
      guard(async () => {
        await chainer.flush();
        const verifier = createChainVerifier();
        let after = 0n;
        for (;;) {
          const entries = await readAuditEntriesAfter(client, after, batchSize);
          for (const entry of entries) if (!verifier.check(entry)) return verifier.result();
          const last = entries.at(-1);
          if (last === undefined || entries.length < batchSize) return verifier.result();
          after = last.seq;
        }
      }),
  };
}
