import type { Clock } from "../../lib/clock.js";
import { GENESIS_HASH } from "./audit.js";
import {
  type AuditEntryReader,
  type ChainPosition,
  createIncrementalVerifier,
  type IncrementalVerification,
} from "./audit-verify-incremental.js";

/**
 * Signed checkpoints of the audit chain (security.md AUD-3). The chain alone cannot show that its
 * newest entries were removed: what is left still links. A checkpoint, signed with a key the
 * database never holds and kept in storage the database cannot touch, vouches for (seq, hash) at
 * a moment, so a chain that ends before a checkpoint's seq, or differs at it, was cut or rewritten.
 */

/** The last entry of the chain: what a checkpoint vouches for. */
export interface AuditHead {
  readonly seq: bigint;
  /** Hex SHA-256 of that entry. */
  readonly hash: string;
}

/** A checkpoint's signed content. */
export interface AuditCheckpoint extends AuditHead {
  /** When it was taken, epoch ms. */
  readonly at: number;
  /** The signature part of the previous checkpoint's compact JWS; "" for the first. */
  readonly prev: string;
}

/** A checkpoint as kept: its readable fields and the compact JWS, which alone is trusted. */
export interface CheckpointRecord extends AuditHead {
  readonly at: number;
  readonly jws: string;
}

/** One line of the checkpoint file as read back; `record` is absent when the line is not one. */
export interface CheckpointLine {
  /** 1-based line number, for reports. */
  readonly line: number;
  readonly record?: CheckpointRecord;
}

/**
 * CheckpointLog is the port of the separate storage checkpoints are appended to (never the
 * audit database). Appends must not interleave, even from several processes.
 */
export interface CheckpointLog {
  /** The last well-formed record, read just before an append; undefined when there is none. */
  last(): Promise<CheckpointRecord | undefined>;
  append(record: CheckpointRecord): Promise<void>;
  /** Every line in order; undefined when the storage does not exist yet. */
  readAll(): Promise<readonly CheckpointLine[] | undefined>;
}

/** Reads the chain a checkpoint vouches for. */
export interface AuditChainReader {
  /** The entry with the highest seq; undefined for an empty chain. */
  head(): Promise<AuditHead | undefined>;
  /** The stored hash of each entry asked for that exists. */
  hashesAt(seqs: readonly bigint[]): Promise<ReadonlyMap<bigint, string>>;
}

/** Signs a checkpoint into a compact JWS (lib/audit-checkpoint.ts). */
export type SignCheckpoint = (checkpoint: AuditCheckpoint) => Promise<string>;
/** Verifies a compact JWS; undefined when it is not a valid checkpoint under the public key. */
export type OpenCheckpoint = (jws: string) => Promise<AuditCheckpoint | undefined>;

/** The signature part of a compact JWS. */
export function signatureOf(jws: string): string {
  return jws.split(".")[2] ?? "";
}

/** Collaborators of createCheckpointer. */
export interface CheckpointerDeps {
  /** The chain, read in batches after the last verified entry. */
  readonly chain: AuditEntryReader;
  readonly log: CheckpointLog;
  readonly sign: SignCheckpoint;
  /** Opens the log's last checkpoint: where verification resumes when the process starts. */
  readonly open: OpenCheckpoint;
  readonly clock: Clock;
  /** Entries read per query while verifying; 1,000 when unset. */
  readonly batchSize?: number;
}

/** What one checkpoint run did. */
export interface CheckpointRun {
  /** What verifying the entries appended since the last good run found. */
  readonly verification: IncrementalVerification;
  /** The checkpoint appended; absent when the chain is broken, empty or has not grown. */
  readonly written?: AuditCheckpoint;
}

/** Takes checkpoints; see createCheckpointer. */
export interface Checkpointer {
  /**
   * Verifies the entries appended since the last good run, then appends a checkpoint of the
   * verified head, unless the chain is broken, empty or has not grown.
   */
  checkpoint(): Promise<CheckpointRun>;
}

const DEFAULT_BATCH_SIZE = 1_000;

/**
 * Creates the use case that appends a signed checkpoint of the chain's head, only once every
 * entry up to that head recomputes: a signature over a chain whose newest rows were rewritten
 * would launder the rewrite. Verification is incremental (createIncrementalVerifier): it resumes
 * from the log's last checkpoint when that verifies under the key (what the key's holder
 * vouched for need not be walked again; `teller audit verify` walks it all), else from genesis.
 *
 * It chains `prev` from the last record it reads just before appending, so two instances sharing
 * the log may both chain from the same record: the log then forks, which verifyCheckpoints
 * accepts (every `prev` must name an EARLIER checkpoint). A fork loses nothing, since each
 * checkpoint is signed and checked against the chain on its own; a lock file would add a lock
 * that a crashed process leaves behind, and a lock that spans hosts, for no stronger guarantee.
 */
export function createCheckpointer(deps: CheckpointerDeps): Checkpointer {
  const verifier = createIncrementalVerifier({
    chain: deps.chain,
    start: () => resumePosition(deps),
    batchSize: deps.batchSize ?? DEFAULT_BATCH_SIZE,
  });
  return {
    async checkpoint() {
      const verification = await verifier.verify();
      if (!verification.ok || verification.head.seq === 0n) return { verification };
      const { head } = verification;
      const last = await deps.log.last();
      if (last !== undefined && last.seq === head.seq && last.hash === head.hash) return { verification };
      const checkpoint: AuditCheckpoint = {
        seq: head.seq,
        hash: head.hash,
        at: Math.trunc(deps.clock.now()),
        prev: last === undefined ? "" : signatureOf(last.jws),
      };
      const jws = await deps.sign(checkpoint);
      await deps.log.append({ seq: checkpoint.seq, hash: checkpoint.hash, at: checkpoint.at, jws });
      return { verification, written: checkpoint };
    },
  };
}

/**
 * The log's last checkpoint when its JWS opens under the key and its readable fields are the
 * signed ones; otherwise genesis (no log yet, a line anyone could have written, or another key).
 */
async function resumePosition(deps: Pick<CheckpointerDeps, "log" | "open">): Promise<ChainPosition> {
  const last = await deps.log.last();
  const claims = last === undefined ? undefined : await deps.open(last.jws);
  if (claims === undefined || claims.seq !== last?.seq || claims.hash !== last.hash) {
    return { seq: 0n, hash: GENESIS_HASH };
  }
  return { seq: claims.seq, hash: claims.hash };
}

/** Why the checkpoints and the chain disagree, or why a checkpoint cannot be trusted. */
export type CheckpointProblem =
  /** The line is not a checkpoint record. */
  | { readonly kind: "malformed"; readonly line: number }
  /** The JWS does not verify under the public key, or its readable fields differ from it. */
  | { readonly kind: "bad-signature"; readonly line: number }
  /** `prev` names no earlier checkpoint (a checkpoint was removed or the file was spliced). */
  | { readonly kind: "broken-link"; readonly line: number }
  /** A checkpoint vouches for `seq`, but the chain ends at `lastSeq`: its newest entries were removed. */
  | { readonly kind: "truncated"; readonly seq: bigint; readonly lastSeq: bigint }
  /** The chain's entry at a checkpoint's seq has another hash: it was rewritten. */
  | { readonly kind: "mismatch"; readonly seq: bigint };

/** The outcome of verifyCheckpoints. */
export interface CheckpointVerification {
  /** Checkpoints whose signature and link verified. */
  readonly checked: number;
  /** Checkpoints that chain from an earlier one other than the line before (instances racing). */
  readonly forks: number;
  readonly problem?: CheckpointProblem;
}

/** Inputs of verifyCheckpoints. */
export interface VerifyCheckpointsDeps {
  readonly lines: readonly CheckpointLine[];
  readonly open: OpenCheckpoint;
  readonly chain: AuditChainReader;
}

/**
 * Verifies every checkpoint line: its signature, its readable fields against the signed ones,
 * and its `prev` link to an earlier checkpoint (only lines before the first link may start from
 * "", the first checkpoint of each instance that found the file empty). Then checks
 * the chain against each (seq, hash): the lowest rewritten seq is reported first, as it is where
 * the chain diverges; otherwise the highest seq past the chain's end, the last one vouched for.
 */
export async function verifyCheckpoints(deps: VerifyCheckpointsDeps): Promise<CheckpointVerification> {
  const seen = new Set<string>();
  const vouched: AuditHead[] = [];
  let forks = 0;
  let previous = "";
  let linkedYet = false;
  for (const { line, record } of deps.lines) {
    const fail = (kind: "malformed" | "bad-signature" | "broken-link") => ({
      checked: vouched.length,
      forks,
      problem: { kind, line },
    });
    if (record === undefined) return fail("malformed");
    const claims = await deps.open(record.jws);
    if (claims === undefined || claims.seq !== record.seq || claims.hash !== record.hash) {
      return fail("bad-signature");
    }
    // A root ("") only before any link: instances racing on an empty file each start it.
    const linked = claims.prev === "" ? !linkedYet : seen.has(claims.prev);
    if (!linked) return fail("broken-link");
    if (vouched.length > 0 && claims.prev !== previous) forks += 1;
    if (claims.prev !== "") linkedYet = true;
    previous = signatureOf(record.jws);
    seen.add(previous);
    vouched.push(claims);
  }
  const problem = await compareWithChain(vouched, deps.chain);
  return problem === undefined
    ? { checked: vouched.length, forks }
    : { checked: vouched.length, forks, problem };
}

async function compareWithChain(
  vouched: readonly AuditHead[],
  chain: AuditChainReader,
): Promise<CheckpointProblem | undefined> {
  if (vouched.length === 0) return undefined;
  const lastSeq = (await chain.head())?.seq ?? 0n;
  const within = vouched.filter((c) => c.seq <= lastSeq);
  const stored = await chain.hashesAt([...new Set(within.map((c) => c.seq))]);
  const rewritten = within.filter((c) => stored.get(c.seq) !== c.hash).map((c) => c.seq);
  if (rewritten.length > 0) return { kind: "mismatch", seq: rewritten.reduce(min) };
  const beyond = vouched.filter((c) => c.seq > lastSeq).map((c) => c.seq);
  if (beyond.length > 0) return { kind: "truncated", seq: beyond.reduce(max), lastSeq };
  return undefined;
}

const min = (a: bigint, b: bigint) => (a < b ? a : b);
const max = (a: bigint, b: bigint) => (a > b ? a : b);
