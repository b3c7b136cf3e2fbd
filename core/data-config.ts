import { createHmac } from "node:crypto";
import { AeadError, type Keyring, parseKeyring } from "../lib/aead.js";
import { parseDuration } from "../lib/duration.js";
import { type Env, readVar } from "../lib/env.js";

/** Settings of data at rest (issue 5 item 6; DESIGN.md, Banking). */
export interface DataConfig {
  /** ENCRYPTION_KEYS(_FILE): the first key seals, every key opens (lib/aead.ts). */
  readonly encryption: Keyring;
  /** TRANSCRIPT_RETENTION (default 30d): how long a transcript entry is kept, in ms. */
  readonly transcriptRetentionMs: number;
}

const DEFAULT_RETENTION = "30d";
/** Ten years: beyond any record-keeping duty, and far inside what a Redis expiry can hold. */
const MAX_RETENTION_MS = 3650 * 86_400_000;

/** Reads the settings of data at rest, adding one line to `problems` per invalid variable. */
export function readDataConfig(
  env: Env,
  production: boolean,
  userIdSalt: string,
  problems: string[],
): DataConfig {
  return {
    encryption: readKeyring(env, production, userIdSalt, problems),
    transcriptRetentionMs: readRetention(env, problems),
  };
}

/**
 * Reads TRANSCRIPT_RETENTION: a duration such as 30d or 72h, at most 3650d. Retention is a
 * promise to customers (DESIGN.md, Banking: transcripts expire), so a typo is refused rather
 * than read as the default.
 */
function readRetention(env: Env, problems: string[]): number {
  const raw = readVar(env, "TRANSCRIPT_RETENTION", problems) ?? DEFAULT_RETENTION;
  const ms = parseDuration(raw);
  if (ms === undefined || ms > MAX_RETENTION_MS) {
    problems.push(`TRANSCRIPT_RETENTION must be a duration such as 30d or 72h, at most 3650d, got "${raw}"`);
    return parseDuration(DEFAULT_RETENTION) as number;
  }
  return ms;
}

/**
 * Reads ENCRYPTION_KEYS(_FILE). Production requires it; development derives one key (kid "dev")
 * from the user id salt, like the step-up secrets, so sealed data survives a restart and nothing
 * is added to dev-secrets.json.
 */
function readKeyring(env: Env, production: boolean, userIdSalt: string, problems: string[]): Keyring {
  const raw = readVar(env, "ENCRYPTION_KEYS", problems);
  if (raw === undefined) {
    if (production) {
      problems.push(
        "ENCRYPTION_KEYS is required in production (kid:base64 of 32 random bytes, comma-separated)",
      );
      return devKeyring("unused");
    }
    return devKeyring(userIdSalt);
  }
  try {
    return parseKeyring(raw);
  } catch (err) {
    // The AeadError message names the rule broken, never the key bytes.
    problems.push(err instanceof AeadError ? err.message : "ENCRYPTION_KEYS is invalid");
    return devKeyring("unused");
  }
}

function devKeyring(userIdSalt: string): Keyring {
  const key = createHmac("sha256", userIdSalt).update("dev-secret:ENCRYPTION_KEYS").digest("base64");
  return parseKeyring(`dev:${key}`);
}
