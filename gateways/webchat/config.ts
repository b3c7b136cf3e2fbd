import { randomBytes } from "node:crypto";
import { type DevSecrets, deriveDevSecret } from "../../lib/dev-secrets.js";
import { type Env, readVar } from "../../lib/env.js";

/** The web chat's settings (gateways/webchat; DESIGN.md, Gateways: "the web chat by a signed session token"). */
export interface WebchatConfig {
  /**
   * HMAC key of the visitors' session tokens (WEBCHAT_SESSION_SECRET, HS256). The gateway is the
   * only party that mints and checks them, so a shared secret is the right tool (RFC 8725 §3.5:
   * at least 256 bits); it is never the service-token key, which the core trusts.
   */
  readonly sessionSecret: string;
}

/** The shortest WEBCHAT_SESSION_SECRET accepted in production: 32 characters (RFC 7518 §3.2, HS256). */
export const MIN_SESSION_SECRET_CHARS = 32;

/** How readWebchatConfig is called by loadGatewayConfig. */
export interface WebchatConfigContext {
  readonly production: boolean;
  /** GATEWAYS includes "web": only then is the secret required in production. */
  readonly enabled: boolean;
  readonly dev?: DevSecrets;
}

/**
 * Reads WEBCHAT_SESSION_SECRET. Production requires it (≥ 32 characters) when the web chat is on.
 * Development derives it from the stored salt (deriveDevSecret), so tokens survive a restart; with
 * no development secrets either (tests, benchmarks), a random per-process key is used: a token then
 * lives only as long as the process that minted it, which is all a single test process needs.
 */
export function readWebchatConfig(
  env: Env,
  context: WebchatConfigContext,
  problems: string[],
): WebchatConfig {
  const name = "WEBCHAT_SESSION_SECRET";
  const value = readVar(env, name, problems);
  if (value !== undefined) {
    if (context.production && value.length < MIN_SESSION_SECRET_CHARS)
      problems.push(`${name} is too short (at least ${MIN_SESSION_SECRET_CHARS} characters)`);
    return { sessionSecret: value };
  }
  if (context.production) {
    if (context.enabled) problems.push(`${name} is required in production`);
    return { sessionSecret: "" };
  }
  if (context.dev) return { sessionSecret: deriveDevSecret(context.dev, name) };
  return { sessionSecret: randomBytes(32).toString("hex") };
}
