import { createChainVerifier, type StoredAuditEntry } from "./audit.js";

/**
 * Incremental verification of the audit chain (security.md AUD-3): before the checkpointer signs a
 * new head, it recomputes every entry appended since the last position it verified, so a row
 * rewritten since then breaks the run instead of being vouched for by a signed checkpoint. Only
 * the new entries are read each time; the full walk is `teller audit verify` (AuditLog.verify).
 */

/** An entry the chain was verified up to: its seq and hash; seq 0 with GENESIS_HASH is "none yet". */
export type ChainPosition = Pick<StoredAuditEntry, "seq" | "hash">;

/** Reads stored entries in seq order, a bounded batch at a time. */
export interface AuditEntryReader {
  /** Up to `limit` entries whose seq is greater than `after`, in seq order. */
  entriesAfter(after: bigint, limit: number): Promise<readonly StoredAuditEntry[]>;
}

/** What one incremental run found. */
export type IncrementalVerification =
  /** Every entry after `from` links and recomputes; `head` is the last one (`from` when none). */
  | {
      readonly ok: true;
      readonly from: ChainPosition;
      readonly head: ChainPosition;
      readonly checked: bigint;
    }
  /**
   * The first entry that is missing, does not link or does not recompute; `from.seq` itself when
   * the entry verified last time is gone (the chain was cut) or now has another hash.
   */
  | { readonly ok: false; readonly from: ChainPosition; readonly firstBrokenSeq: bigint };

/** Verifies what was appended since its last good run; see createIncrementalVerifier. */
export interface IncrementalVerifier {
  verify(): Promise<IncrementalVerification>;
}

/** Collaborators and settings of createIncrementalVerifier. */
export interface IncrementalVerifierDeps {
  readonly chain: AuditEntryReader;
  /** Where the first run starts (a trusted checkpoint, or genesis); read once, on that run. */
  readonly start: () => Promise<ChainPosition>;
  /** Entries read per query: bounds the memory and the length of each query. */
  readonly batchSize: number;
}

/**
 * Creates the verifier that keeps the last verified position in memory. Each run first re-reads
 * the entry at that position (a cut or rewritten chain below it shows there), then feeds the
 * entries after it, batch by batch, to the domain's own chain verifier. A good run advances the
 * position to the head it reached; a broken one leaves it, so every later run re-checks the
 * same entries and reports the break again until someone looks.
 */
export function createIncrementalVerifier(deps: IncrementalVerifierDeps): IncrementalVerifier {
  if (!Number.isSafeInteger(deps.batchSize) || deps.batchSize < 1)
    throw new RangeError("createIncrementalVerifier: batchSize must be a positive integer");
  let position: ChainPosition | undefined;
  return {
    async verify() {
      position ??= await deps.start();
      const result = await walkFrom(position, deps);
      if (result.ok) position = result.head;
      return result;
    },
  };
}

async function walkFrom(
  from: ChainPosition,
  deps: IncrementalVerifierDeps,
): Promise<IncrementalVerification> {
  const { chain, batchSize } = deps;
  if (from.seq > 0n) {
    const [anchor] = await chain.entriesAfter(from.seq - 1n, 1);
    if (anchor?.seq !== from.seq || anchor.hash !== from.hash) {
      return { ok: false, from, firstBrokenSeq: from.seq };
    }
  }
  const verifier = createChainVerifier(from);
  let head = from;
  for (;;) {
    const entries = await chain.entriesAfter(head.seq, batchSize);
    for (const entry of entries) {
      if (!verifier.check(entry)) {
        const { firstBrokenSeq = entry.seq } = verifier.result();
        return { ok: false, from, firstBrokenSeq };
      }
      head = { seq: entry.seq, hash: entry.hash };
    }
    if (entries.length < batchSize) return { ok: true, from, head, checked: verifier.result().checked };
  }
}
