import type { JWK } from "jose";
import { systemClock } from "../lib/clock.js";
import { ensureDevSecrets } from "../lib/dev-secrets.js";
import { parseDuration } from "../lib/duration.js";
import { type Env, readVar } from "../lib/env.js";
import { mintServiceToken, SERVICE_TOKEN_MAX_AGE_SECONDS } from "../lib/service-token.js";

const SCOPES = new Set(["conversation", "banking:read", "banking:write", "banking:admin", "audit"]);

/**
 * `teller token`: prints a service JWT for grpcurl and `buf curl`. Signed with JWT_PRIVATE_JWK
 * when set, else with the development key under DATA_DIR (refused in production).
 */
export async function runToken(
  env: Env,
  args: { scopes?: string; ttl?: string; subject?: string },
): Promise<number> {
  const scopes = (args.scopes ?? "").split(",").filter(Boolean);
  const unknown = scopes.filter((s) => !SCOPES.has(s));
  if (scopes.length === 0 || unknown.length > 0) {
    console.error(`teller token: --scopes needs a comma-separated list of: ${[...SCOPES].join(", ")}`);
    return 2;
  }
  const ttlMs = parseDuration(args.ttl ?? "1h");
  if (ttlMs === undefined || ttlMs > SERVICE_TOKEN_MAX_AGE_SECONDS * 1000) {
    console.error("teller token: --ttl must be a duration up to 24h, such as 15m or 1h");
    return 2;
  }
  const privateJwk = await signingKey(env);
  if (!privateJwk) return 1;
  const token = await mintServiceToken({
    privateJwk,
    subject: args.subject ?? "cli",
    scopes,
    ttlSeconds: Math.floor(ttlMs / 1000),
    clock: systemClock,
  });
  console.log(token);
  return 0;
}

async function signingKey(env: Env): Promise<JWK | undefined> {
  // Read like every other secret, so JWT_PRIVATE_JWK_FILE (a mounted secret) works here too.
  const problems: string[] = [];
  const raw = readVar(env, "JWT_PRIVATE_JWK", problems);
  if (problems.length > 0) {
    console.error(`teller token: ${problems.join("; ")}`);
    return undefined;
  }
  if (raw !== undefined) return JSON.parse(raw) as JWK;
  if (env.NODE_ENV === "production") {
    console.error(
      "teller token: set JWT_PRIVATE_JWK or JWT_PRIVATE_JWK_FILE; the development key is not used in production",
    );
    return undefined;
  }
  return (await ensureDevSecrets(env.DATA_DIR ?? "./data")).privateJwk;
}
