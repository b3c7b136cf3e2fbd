import { join } from "node:path";
import type { JWK } from "jose";
import { checkpointPublicJwk } from "../lib/audit-checkpoint.js";
import { deriveDevAuditCheckpointKey } from "../lib/dev-secrets.js";
import { parseDuration } from "../lib/duration.js";
import { type Env, readVar } from "../lib/env.js";

/** Settings of the audit trail's signed checkpoints (security.md AUD-3). */
export interface AuditConfig {
  /** AUDIT_CHECKPOINT_JWK(_FILE): the private JWK (EdDSA or ES256) that signs checkpoints. */
  readonly checkpointPrivateJwk: JWK;
  /** Its public half: what `teller audit verify` checks checkpoints with. */
  readonly checkpointPublicJwk: JWK;
  /** AUDIT_CHECKPOINT_DIR (default <DATA_DIR>/audit-checkpoints): never the audit database. */
  readonly checkpointDir: string;
  /** AUDIT_CHECKPOINT_INTERVAL (default 1h, CloudTrail's digest cadence, AUD-2), in ms. */
  readonly checkpointIntervalMs: number;
}

const DEFAULT_INTERVAL = "1h";
/** At most a day: the longer the interval, the more newest entries can vanish unnoticed. */
const MAX_INTERVAL_MS = 86_400_000;
const MIN_INTERVAL_MS = 1_000;

/**
 * Reads AUDIT_CHECKPOINT_JWK(_FILE), AUDIT_CHECKPOINT_DIR and AUDIT_CHECKPOINT_INTERVAL. The key
 * is required in production; development derives one from the user id salt
 * (lib/dev-secrets.ts), so checkpoints verify across restarts with nothing more to keep.
 */
export function readAuditConfig(
  env: Env,
  production: boolean,
  userIdSalt: string,
  dataDir: string,
  problems: string[],
): AuditConfig {
  const raw = readVar(env, "AUDIT_CHECKPOINT_JWK", problems);
  let privateJwk: JWK | undefined;
  if (raw !== undefined) privateJwk = parseCheckpointJwk(raw, problems);
  else if (!production) privateJwk = deriveDevAuditCheckpointKey({ userIdSalt });
  else problems.push("AUDIT_CHECKPOINT_JWK is required in production (a private JWK, alg EdDSA or ES256)");
  return {
    checkpointPrivateJwk: privateJwk ?? {},
    checkpointPublicJwk: privateJwk ? publicOf(privateJwk, problems) : {},
    checkpointDir: readVar(env, "AUDIT_CHECKPOINT_DIR", problems) ?? join(dataDir, "audit-checkpoints"),
    checkpointIntervalMs: readInterval(env, problems),
  };
}

function parseCheckpointJwk(raw: string, problems: string[]): JWK | undefined {
  try {
    const jwk = JSON.parse(raw) as JWK;
    if ((jwk.alg === "EdDSA" || jwk.alg === "ES256") && typeof jwk.d === "string") return jwk;
  } catch {
    // Reported below; the value itself is a secret and is never echoed.
  }
  problems.push("AUDIT_CHECKPOINT_JWK must be a private JWK (with d) whose alg is EdDSA or ES256");
  return undefined;
}

function publicOf(privateJwk: JWK, problems: string[]): JWK {
  try {
    return checkpointPublicJwk(privateJwk);
  } catch {
    // Node names no secret in this failure, but the key is one: report the variable only.
    problems.push("AUDIT_CHECKPOINT_JWK is not a usable key");
    return {};
  }
}

function readInterval(env: Env, problems: string[]): number {
  const raw = readVar(env, "AUDIT_CHECKPOINT_INTERVAL", problems) ?? DEFAULT_INTERVAL;
  const ms = parseDuration(raw);
  if (ms === undefined || ms < MIN_INTERVAL_MS || ms > MAX_INTERVAL_MS) {
    problems.push(
      `AUDIT_CHECKPOINT_INTERVAL must be a duration from 1s to 24h such as 1h or 15m, got "${raw}"`,
    );
    return parseDuration(DEFAULT_INTERVAL) as number;
  }
  return ms;
}
