import { createHmac } from "node:crypto";
import { AeadError, type Keyring, parseKeyring } from "../lib/aead.js";
import { type Env, readVar } from "../lib/env.js";

/** Settings of data at rest (issue 5 item 6; DESIGN.md, Banking). */
export interface DataConfig {
  /** ENCRYPTION_KEYS(_FILE): the first key seals, every key opens (lib/aead.ts). */
  readonly encryption: Keyring;
}

/**
 * Reads ENCRYPTION_KEYS(_FILE). Production requires it; development derives one key (kid "dev")
 * from the user id salt, like the step-up secrets, so sealed data survives a restart and nothing
 * is added to dev-secrets.json.
 */
export function readDataConfig(
  env: Env,
  production: boolean,
  userIdSalt: string,
  problems: string[],
): DataConfig {
  const raw = readVar(env, "ENCRYPTION_KEYS", problems);
  if (raw === undefined) {
    if (production) {
      problems.push(
        "ENCRYPTION_KEYS is required in production (kid:base64 of 32 random bytes, comma-separated)",
      );
      return { encryption: devKeyring("unused") };
    }
    return { encryption: devKeyring(userIdSalt) };
  }
  try {
    return { encryption: parseKeyring(raw) };
  } catch (err) {
    // The AeadError message names the rule broken, never the key bytes.
    problems.push(err instanceof AeadError ? err.message : "ENCRYPTION_KEYS is invalid");
    return { encryption: devKeyring("unused") };
  }
}

function devKeyring(userIdSalt: string): Keyring {
  const key = createHmac("sha256", userIdSalt).update("dev-secret:ENCRYPTION_KEYS").digest("base64");
  return parseKeyring(`dev:${key}`);
}
