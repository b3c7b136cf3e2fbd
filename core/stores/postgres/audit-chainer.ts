import type { Logger } from "../../../lib/logger.js";
import { type AuditEntryBody, auditHash, GENESIS_HASH } from "../../domain/audit.js";
import { epochMs } from "./ledger-rows.js";
import type { SqlClient } from "./sql-client.js";

/**
 * The advisory lock every chaining transaction takes, keyed on the current schema: one chain per
 * schema, so two deployments (or two tests) sharing a server never wait on each other, while
 * every chainer of one chain, in any process, queues on the same 64-bit key.
 */
const CHAIN_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('teller:audit:' || current_schema(), 0))";

/** Inbox rows moved per chain transaction unless told otherwise. */
const DEFAULT_BATCH = 500;

/** Moves committed events from audit_inbox into the hash chain. */
export interface AuditChainer {
  /**
   * Chains every inbox row committed before the call, then resolves; rejects when the database
   * fails (the rows stay in the inbox). Calls made while one runs share the next run: at most one
   * runs per chainer and one waits, so N concurrent callers cost one or two chain transactions.
   */
  flush(): Promise<void>;
}

/** An inbox row as the DELETE hands it back, every column as text. */
interface InboxRow {
  id_text: string;
  type: string;
  customer_id: string | null;
  subject_id: string | null;
  outcome: "success" | "failure";
  occurred_ms: string;
  attributes: string;
}

/** One entry ready to insert: its hashed body, its links and the inbox row it came from. */
interface ChainedRow {
  readonly body: AuditEntryBody;
  readonly prevHash: string;
  readonly hash: string;
  readonly inboxId: string;
}

/** The parameters one entry binds in the INSERT. */
const PARAMS_PER_ENTRY = 10;

/**
 * Chains one batch in one transaction and returns how many rows it moved. Under the advisory
 * lock the last (seq, hash) is the committed head, as every chainer holds the lock until its
 * commit; the oldest inbox rows are deleted and come back to be chained in id order, so seq stays
 * gapless and the hashes are the ones the old in-transaction appender computed (AUD-3). The
 * deferred trigger of migration 7 checks, at commit, that every deleted row was chained.
 */
async function chainBatch(client: SqlClient, batchSize: number): Promise<number> {
  return client.transaction(async (tx) => {
    await tx.query(CHAIN_LOCK, []);
    // A statement of its own after the lock's, so its snapshot holds every chain commit before
    // ours (READ COMMITTED): the oldest inbox rows, each with the head they extend.
    const taken = await tx.query<InboxRow & { head_seq: string | null; head_hash: string | null }>(
      `WITH head AS (SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1),
       taken AS (
         DELETE FROM audit_inbox WHERE id IN (
           SELECT id FROM audit_inbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING id, type, customer_id, subject_id, outcome, occurred_at, attributes)
       SELECT t.id::text AS id_text, t.type, t.customer_id, t.subject_id, t.outcome,
         ${epochMs("t.occurred_at")}::text AS occurred_ms, t.attributes::text AS attributes,
         h.seq::text AS head_seq, encode(h.hash, 'hex') AS head_hash
       FROM taken t LEFT JOIN head h ON true`,
      [batchSize],
    );
    if (taken.rows.length === 0) return 0;
    // RETURNING promises no order: sort by id, numerically.
    const inbox = taken.rows.sort((a, b) => compareIds(a.id_text, b.id_text));
    const head = inbox[0];
    let seq = BigInt(head?.head_seq ?? "0");
    let prevHash = head?.head_hash ?? GENESIS_HASH;
    const chained: ChainedRow[] = inbox.map((row) => {
      seq += 1n;
      const body: AuditEntryBody = {
        seq,
        type: row.type,
        ...(row.customer_id ? { customerId: row.customer_id } : {}),
        ...(row.subject_id ? { subjectId: row.subject_id } : {}),
        outcome: row.outcome,
        occurredAt: Number(row.occurred_ms),
        attributes: JSON.parse(row.attributes) as Record<string, string>,
      };
      const entry = { body, prevHash, hash: auditHash(prevHash, body), inboxId: row.id_text };
      prevHash = entry.hash;
      return entry;
    });
    await insertEntries(tx, chained);
    return chained.length;
  });
}

function compareIds(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Inserts a batch of entries in one statement. */
async function insertEntries(tx: SqlClient, entries: readonly ChainedRow[]): Promise<void> {
  const params: unknown[] = [];
  const tuples = entries.map(({ body, prevHash, hash, inboxId }, i) => {
    params.push(
      body.seq.toString(),
      body.type,
      body.customerId ?? null,
      body.subjectId ?? null,
      body.outcome,
      new Date(body.occurredAt).toISOString(),
      JSON.stringify(body.attributes),
      prevHash,
      hash,
      inboxId,
    );
    const p = (n: number) => `$${i * PARAMS_PER_ENTRY + n}`;
    return `(${p(1)}::int8, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}::timestamptz, ${p(7)}::jsonb,
      decode(${p(8)}, 'hex'), decode(${p(9)}, 'hex'), ${p(10)}::int8)`;
  });
  await tx.query(
    `INSERT INTO audit_events (seq, type, customer_id, subject_id, outcome, occurred_at, attributes,
       prev_hash, hash, inbox_id)
     VALUES ${tuples.join(", ")}`,
    params,
  );
}

/** Settings of a chainer. */
export interface AuditChainerOptions {
  /** Inbox rows per chain transaction; 500 when unset. */
  readonly batchSize?: number;
}

/**
 * Creates the chainer of the audit inbox on `client` (the root client, not a transaction's):
 * each run chains batches until the inbox is empty. Several chainers, in one process or many,
 * may run on one database: the advisory lock makes their transactions take turns.
 */
export function createAuditChainer(client: SqlClient, options: AuditChainerOptions = {}): AuditChainer {
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  const drain = async (): Promise<void> => {
    while ((await chainBatch(client, batchSize)) === batchSize) {
      // A full batch: more may wait.
    }
  };
  let running: Promise<void> | undefined;
  let queued: Promise<void> | undefined;
  const start = (): Promise<void> => {
    const run: Promise<void> = drain().finally(() => {
      if (running === run) running = undefined;
    });
    running = run;
    return run;
  };
  return {
    flush: () => {
      // A waiting run starts after this call, so it sees every row committed before it.
      if (queued) return queued;
      if (!running) return start();
      // The running one may have read the inbox before the caller's commit: queue one more.
      const next = running
        .catch(() => {})
        .then(() => {
          queued = undefined;
          return start();
        });
      queued = next;
      return next;
    },
  };
}

/** The chainer of each root client and where its failures are logged. */
interface Registration {
  readonly chainer: AuditChainer;
  logger?: Logger;
}

const registrations = new WeakMap<SqlClient, Registration>();

function registration(client: SqlClient): Registration {
  let found = registrations.get(client);
  if (found === undefined) {
    found = { chainer: createAuditChainer(client) };
    registrations.set(client, found);
  }
  return found;
}

/**
 * The one chainer of `client` in this process, shared by the after-commit flushes, the audit
 * log's reads and the core's timer, so their runs coalesce.
 */
export function auditChainerFor(client: SqlClient): AuditChainer {
  return registration(client).chainer;
}

/** Has failed flushes of `client`'s chainer logged to `logger` (the core sets it at start). */
export function logAuditChainFailures(client: SqlClient, logger: Logger): void {
  registration(client).logger = logger;
}

/**
 * Flushes `client`'s chainer and never rejects: the afterCommit task of every auditing
 * transaction, and the core's timer. A failure is logged; the events stay in the inbox, and the
 * next flush (the next auditing commit, a read of the trail, the timer) retries.
 */
export async function settleAuditChain(client: SqlClient): Promise<void> {
  const found = registration(client);
  try {
    await found.chainer.flush();
  } catch (err) {
    found.logger?.error({ err }, "audit chaining failed: the events wait in the inbox");
  }
}
