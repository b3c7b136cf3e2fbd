import { createPublicKey, type JsonWebKey } from "node:crypto";
import { CompactSign, compactVerify, errors, importJWK, type JWK } from "jose";
import { canonicalJson } from "./canonical-json.js";

/**
 * Signed checkpoints of the audit hash chain (security.md AUD-2, AUD-3): the one thin wrapper
 * around jose for this kind of JWS (STYLE.md §7). A checkpoint vouches that the chain had entry
 * `seq` with `hash` at time `at`, and names the signature of the checkpoint before it, so the
 * checkpoints form a chain of their own, as CloudTrail's hourly digests do. The key lives outside
 * the database, so whoever can rewrite the database still cannot vouch for a shorter chain.
 */

/** Algorithms accepted: RFC 8725 §3.1, the same pair as every other token Teller signs. */
export const AUDIT_CHECKPOINT_ALGORITHMS = ["EdDSA", "ES256"] as const;
/** Explicit type (RFC 8725 §3.11), so no other JWS Teller signs is ever read as a checkpoint. */
export const AUDIT_CHECKPOINT_TYP = "teller-audit-checkpoint+jws";

/** What a checkpoint vouches for. */
export interface CheckpointClaims {
  /** The last entry of the chain when the checkpoint was taken. */
  readonly seq: bigint;
  /** That entry's hash, 64 lower-case hex digits. */
  readonly hash: string;
  /** When the checkpoint was taken, epoch ms. */
  readonly at: number;
  /** The signature part of the previous checkpoint's JWS, or "" for the first one. */
  readonly prev: string;
}

/** Signs claims into a compact JWS. */
export type CheckpointSigner = (claims: CheckpointClaims) => Promise<string>;
/** Verifies a compact JWS and returns its claims, or undefined when it is not a valid checkpoint. */
export type CheckpointOpener = (jws: string) => Promise<CheckpointClaims | undefined>;

const SEQ = /^[1-9][0-9]{0,18}$/;
const HASH = /^[0-9a-f]{64}$/;
const SIGNATURE = /^[A-Za-z0-9_-]*$/;

function algOf(jwk: JWK): (typeof AUDIT_CHECKPOINT_ALGORITHMS)[number] {
  const alg = AUDIT_CHECKPOINT_ALGORITHMS.find((a) => a === jwk.alg);
  if (!alg) throw new RangeError(`audit checkpoint key alg must be EdDSA or ES256, got ${jwk.alg}`);
  return alg;
}

/** Creates the signer over a private JWK (alg EdDSA or ES256); throws RangeError for another alg. */
export function createCheckpointSigner(privateJwk: JWK): CheckpointSigner {
  const alg = algOf(privateJwk);
  let key: ReturnType<typeof importJWK> | undefined;
  const header = { alg, typ: AUDIT_CHECKPOINT_TYP, ...(privateJwk.kid ? { kid: privateJwk.kid } : {}) };
  return async (claims) => {
    key ??= importJWK(privateJwk, alg);
    // seq travels as a decimal string: an int8 does not fit a JSON number exactly.
    const payload = canonicalJson({ seq: claims.seq, hash: claims.hash, at: claims.at, prev: claims.prev });
    return new CompactSign(new TextEncoder().encode(payload)).setProtectedHeader(header).sign(await key);
  };
}

/**
 * Creates the opener over the public JWK. Only the key's own algorithm is accepted (no algorithm
 * confusion), the `typ` must be the checkpoint's, and the payload must have exactly the shape a
 * signer writes. jose's errors and a malformed payload both mean "not a valid checkpoint";
 * anything else (a bug, a broken key) is thrown.
 */
export function createCheckpointOpener(publicJwk: JWK): CheckpointOpener {
  const alg = algOf(publicJwk);
  let key: ReturnType<typeof importJWK> | undefined;
  return async (jws) => {
    key ??= importJWK(publicJwk, alg);
    const verifyKey = await key;
    try {
      const { payload, protectedHeader } = await compactVerify(jws, verifyKey, { algorithms: [alg] });
      if (protectedHeader.typ !== AUDIT_CHECKPOINT_TYP) return undefined;
      return claimsOf(new TextDecoder().decode(payload));
    } catch (err) {
      if (err instanceof errors.JOSEError) return undefined;
      throw err;
    }
  };
}

function claimsOf(text: string): CheckpointClaims | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // A signed payload that is not JSON is not a checkpoint; the caller reports which line.
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const { seq, hash, at, prev } = parsed as Record<string, unknown>;
  if (typeof seq !== "string" || !SEQ.test(seq) || typeof hash !== "string" || !HASH.test(hash))
    return undefined;
  if (typeof at !== "number" || !Number.isSafeInteger(at) || at < 0) return undefined;
  if (typeof prev !== "string" || !SIGNATURE.test(prev)) return undefined;
  const claims = { seq: BigInt(seq), hash, at, prev };
  // Exactly what a signer writes: no extra members, one spelling.
  return canonicalJson(claims) === text ? claims : undefined;
}

/** The signature part of a compact JWS: what the next checkpoint's `prev` names. */
export function checkpointSignature(jws: string): string {
  return jws.split(".")[2] ?? "";
}

/** The public half of a checkpoint key, with its kid and alg; throws when the key is unusable. */
export function checkpointPublicJwk(privateJwk: JWK): JWK {
  const pub = createPublicKey({ key: privateJwk as JsonWebKey, format: "jwk" });
  const { kty, crv, x, y } = pub.export({ format: "jwk" });
  return { kty, crv, x, y, kid: privateJwk.kid, alg: privateJwk.alg, use: "sig" };
}
