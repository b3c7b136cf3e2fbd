import { canonicalJson } from "../../lib/canonical-json.js";
import { hexToBytes, sha256Hex } from "../../lib/sha256.js";

/** Whether the audited action happened or was refused. */
export type AuditOutcome = "success" | "failure";

/**
 * One entry of the append-only, hash-chained audit trail (DESIGN.md, Banking; issue 5 item 5):
 * who and what, when, and the outcome. Attributes hold ids, amounts and masked values, never
 * secrets, one-time codes or message text (security.md LOG-1), because the trail is kept forever.
 */
export interface AuditEvent {
  /** Gapless position in the chain, from 1: a missing number means a deleted entry. */
  readonly seq: bigint;
  /** Dotted event type, for example "customer.created", "account.opened", "deposit.posted". */
  readonly type: string;
  readonly customerId?: string;
  /** The pseudonymous subject (deriveSubjectId), never a raw phone number or channel user id. */
  readonly subjectId?: string;
  readonly outcome: AuditOutcome;
  /** When it happened, epoch milliseconds. */
  readonly occurredAt: number;
  readonly attributes: Readonly<Record<string, string>>;
  /** Hex SHA-256 chaining this entry to the previous one (auditHash). */
  readonly hash: string;
}

/**
 * An event to append. The appender assigns seq and hash, and stamps occurredAt from its clock,
 * so no caller can backdate an entry.
 */
export type NewAuditEvent = Omit<AuditEvent, "seq" | "hash" | "occurredAt" | "attributes"> & {
  readonly attributes?: Readonly<Record<string, string>>;
};

/** A query of the trail; every filter is optional, results are oldest first. */
export interface AuditFilter {
  readonly customerId?: string;
  readonly type?: string;
  /** Inclusive lower bound on occurredAt, epoch ms. */
  readonly startMs?: number;
  /** Exclusive upper bound on occurredAt, epoch ms. */
  readonly endMs?: number;
  readonly limit: number;
  /** An opaque token from a previous page's nextCursor. */
  readonly cursor?: string;
}

/** One page of audit events; nextCursor is absent on the last page. */
export interface AuditPage {
  readonly items: readonly AuditEvent[];
  readonly nextCursor?: string;
}

/** The result of walking the chain. */
export interface AuditVerification {
  readonly ok: boolean;
  /** The first entry that is missing or does not link, when not ok. */
  readonly firstBrokenSeq?: bigint;
  /** Entries that verified before the walk ended. */
  readonly checked: bigint;
}

/**
 * AuditLog is the port for reading and verifying the trail. An event that records a change is
 * written by the store that makes the change, inside that change's transaction, so a change and
 * its record commit or roll back together; `record` is for events with no change to ride on.
 * Errors are DomainError: INVALID_ARGUMENT (bad cursor), UNAVAILABLE (database down).
 */
export interface AuditLog {
  list(filter: AuditFilter): Promise<AuditPage>;
  /**
   * Appends an event that records no database change of its own (a step-up attempt, a refused
   * transfer, a linked channel, an erasure), in a transaction of its own.
   */
  record(event: NewAuditEvent): Promise<AuditEvent>;
  /** Recomputes every hash in seq order and names the first broken entry. */
  verify(): Promise<AuditVerification>;
}

/** The prev_hash of the first entry: 32 zero bytes (security.md AUD-3), as hex. */
export const GENESIS_HASH = "0".repeat(64);

const HASH_HEX = /^[0-9a-f]{64}$/;

/** An entry as the hash sees it: everything but the hash itself. */
export type AuditEntryBody = Omit<AuditEvent, "hash">;

/**
 * The canonical JSON of an entry: seq is included so a reordered row no longer matches its
 * hash, and absent ids are empty strings so "absent" has exactly one spelling.
 */
export function auditCanonical(entry: AuditEntryBody): string {
  return canonicalJson({
    seq: entry.seq,
    type: entry.type,
    customerId: entry.customerId ?? "",
    subjectId: entry.subjectId ?? "",
    outcome: entry.outcome,
    occurredAt: entry.occurredAt,
    attributes: { ...entry.attributes },
  });
}

/**
 * The hash rule of the chain: SHA-256(0x00 || prev_hash bytes || canonical_json(entry)) as hex
 * (security.md AUD-3; the 0x00 prefix is RFC 6962 §2.1's leaf domain separation, AUD-1).
 */
export function auditHash(prevHash: string, entry: AuditEntryBody): string {
  if (!HASH_HEX.test(prevHash)) throw new TypeError("auditHash: prev_hash must be 64 lower-case hex digits");
  return sha256Hex(new Uint8Array([0]), hexToBytes(prevHash), auditCanonical(entry));
}

/** An entry as stored: the body, the stored prev_hash and hash, both hex. */
export interface StoredAuditEntry extends AuditEntryBody {
  readonly prevHash: string;
  readonly hash: string;
}

/** The state of one walk along the chain (createChainVerifier). */
export interface ChainVerifier {
  /** Checks the next entry in seq order; false once the chain is broken. */
  check(entry: StoredAuditEntry): boolean;
  result(): AuditVerification;
}

/** Where a walk starts: before the first entry, whose prev_hash is GENESIS_HASH. */
const GENESIS_POSITION = { seq: 0n, hash: GENESIS_HASH };

/**
 * Walks stored entries in seq order, one at a time, so a store can feed the chain in batches.
 * `check` returns false at the first entry that is missing (a seq gap: the missing seq is
 * reported), whose prev_hash is not the previous hash, or whose hash does not recompute.
 * A removed tail is invisible to the chain alone; signed checkpoints (AUD-3) cover that.
 * `from` resumes after an entry already verified (its seq and hash), so a periodic check reads
 * only what was appended since; `checked` then counts the entries of this walk.
 */
export function createChainVerifier(
  from: Pick<StoredAuditEntry, "seq" | "hash"> = GENESIS_POSITION,
): ChainVerifier {
  let expectedSeq = from.seq + 1n;
  let prev = from.hash;
  let broken: bigint | undefined;
  return {
    check(entry: StoredAuditEntry): boolean {
      if (broken !== undefined) return false;
      if (entry.seq !== expectedSeq) broken = expectedSeq < entry.seq ? expectedSeq : entry.seq;
      else if (entry.prevHash !== prev) broken = entry.seq;
      else if (auditHash(prev, entry) !== entry.hash) broken = entry.seq;
      if (broken !== undefined) return false;
      prev = entry.hash;
      expectedSeq += 1n;
      return true;
    },
    result(): AuditVerification {
      const checked = expectedSeq - 1n - from.seq;
      return broken === undefined ? { ok: true, checked } : { ok: false, firstBrokenSeq: broken, checked };
    },
  };
}
