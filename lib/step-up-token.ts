import {
  createLocalJWKSet,
  importJWK,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from "jose";
import type { Clock } from "./clock.js";
import { newId } from "./ids.js";

/**
 * Step-up tokens: the short-lived JWTs the core mints after a correct one-time code (DESIGN.md,
 * Identity; issue 5 item 1). The one thin wrapper around jose for this token kind (STYLE.md §7).
 * Its `typ` and audience differ from service tokens, so neither kind is ever accepted as the other
 * (RFC 8725 §3.12, security.md JWT-9). Single use is enforced by a store, not by the JWT.
 */

/** Algorithms accepted: RFC 8725 §3.1 — never `none`, never HMAC with a shared secret. */
export const STEP_UP_TOKEN_ALGORITHMS = ["EdDSA", "ES256"] as const;
/** Explicit type (RFC 8725 §3.11), distinct from `teller-service+jwt`. */
export const STEP_UP_TOKEN_TYP = "teller-stepup+jwt";
/** Issuer of every step-up token: the core itself. */
export const STEP_UP_TOKEN_ISSUER = "teller";
/** The audience of step-up tokens, distinct from the service tokens' `teller-core` (JWT-7, JWT-9). */
export const STEP_UP_TOKEN_AUDIENCE = "teller-step-up";
/** The one authentication context class Teller issues: a one-time code (RFC 9470 §3 `acr_values`). */
export const STEP_UP_ACR = "urn:teller:acr:otp";
/** Longest lifetime: 5 minutes, the PSD2 RTS art. 4(3)(d) inactivity ceiling (security.md P-5). */
export const STEP_UP_MAX_TTL_SECONDS = 300;
/** Clock skew tolerated on exp/iat (security.md: small and explicit, ≤ 30 s). */
const CLOCK_TOLERANCE_SECONDS = 5;

/** How the customer proved possession (RFC 8176 `amr` values). */
export type StepUpMethod = "otp" | "sms" | "totp";

/** Options of mintStepUpToken. */
export interface MintStepUpOptions {
  /** The core's step-up signing key, `alg` EdDSA or ES256. */
  readonly privateJwk: JWK;
  /** The customer (`sub`). */
  readonly customerId: string;
  /** What the token authorises (`purpose`), e.g. "transfer". */
  readonly purpose: string;
  /** Hex SHA-256 of the bound operation (PSD2 RTS art. 5 dynamic linking), when there is one. */
  readonly bindingHash?: string;
  readonly acr: typeof STEP_UP_ACR;
  readonly amr: readonly StepUpMethod[];
  /** When the customer entered the code, ms since the epoch (RFC 9470 §4 `auth_time`). */
  readonly authTime: number;
  /** Lifetime in seconds, 1..300. */
  readonly ttlSeconds: number;
  /** The challenge behind the token (`sid`), for the audit trail. */
  readonly sessionId?: string;
  readonly clock: Clock;
}

/** The verified claims of a step-up token. */
export interface StepUpClaims {
  readonly customerId: string;
  readonly purpose: string;
  readonly bindingHash?: string;
  readonly acr: string;
  readonly amr: readonly string[];
  /** Seconds since the epoch. */
  readonly authTime: number;
  /** `jti`: what a single-use store remembers. */
  readonly tokenId: string;
  /** `exp`, seconds since the epoch. */
  readonly expiresAt: number;
  readonly sessionId?: string;
}

/** Signs a step-up token; throws RangeError for a TTL past 5 minutes or a key of another algorithm. */
export async function mintStepUpToken(options: MintStepUpOptions): Promise<string> {
  const alg = options.privateJwk.alg;
  if (alg !== "EdDSA" && alg !== "ES256")
    throw new RangeError(`step-up key alg must be EdDSA or ES256, got ${alg}`);
  if (!(options.ttlSeconds > 0 && options.ttlSeconds <= STEP_UP_MAX_TTL_SECONDS)) {
    throw new RangeError(`step-up token TTL must be 1..${STEP_UP_MAX_TTL_SECONDS} s`);
  }
  const key = await importJWK(options.privateJwk, alg);
  const now = Math.floor(options.clock.now() / 1000);
  const claims: JWTPayload = {
    purpose: options.purpose,
    acr: options.acr,
    amr: [...options.amr],
    auth_time: Math.floor(options.authTime / 1000),
  };
  if (options.bindingHash !== undefined) claims.binding_hash = options.bindingHash;
  if (options.sessionId !== undefined) claims.sid = options.sessionId;
  return new SignJWT(claims)
    .setProtectedHeader({ alg, typ: STEP_UP_TOKEN_TYP, kid: options.privateJwk.kid })
    .setIssuer(STEP_UP_TOKEN_ISSUER)
    .setAudience(STEP_UP_TOKEN_AUDIENCE)
    .setSubject(options.customerId)
    .setJti(newId())
    .setIssuedAt(now)
    .setExpirationTime(now + options.ttlSeconds)
    .sign(key);
}

/** What the operation at hand needs the token to authorise. */
export interface StepUpExpectation {
  readonly customerId: string;
  readonly purpose: string;
  /** Must equal the token's binding hash; absent means the token must carry none. */
  readonly bindingHash?: string;
}

/**
 * Thrown when a valid token authorises something else (another customer, purpose or binding).
 * `code` mirrors jose's claim failures so callers classify both the same way (STYLE.md §6).
 */
export class StepUpMismatchError extends Error {
  readonly code = "ERR_STEP_UP_MISMATCH";
  readonly claim: "sub" | "purpose" | "binding_hash";
  constructor(claim: "sub" | "purpose" | "binding_hash") {
    super(`step-up token does not authorise this operation (${claim})`);
    this.name = "StepUpMismatchError";
    this.claim = claim;
  }
}

/** A verifier bound to its keys and clock; rejects with jose errors or StepUpMismatchError. */
export type StepUpVerifier = (token: string, expect: StepUpExpectation) => Promise<StepUpClaims>;

/**
 * Creates the verifier of step-up tokens. It always passes the algorithms, issuer, audience,
 * `typ`, required claims (security.md §2 recommended call) and the clock's current date.
 */
export function createStepUpVerifier(keys: { readonly jwks: JSONWebKeySet }, clock: Clock): StepUpVerifier {
  const getKey = createLocalJWKSet(keys.jwks);
  return async (token, expect) => {
    const { payload } = await jwtVerify(token, getKey, {
      algorithms: [...STEP_UP_TOKEN_ALGORITHMS],
      issuer: STEP_UP_TOKEN_ISSUER,
      audience: STEP_UP_TOKEN_AUDIENCE,
      typ: STEP_UP_TOKEN_TYP,
      requiredClaims: ["exp", "iat", "jti", "sub", "acr", "auth_time"],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      maxTokenAge: STEP_UP_MAX_TTL_SECONDS,
      currentDate: new Date(clock.now()),
    });
    const claims = toClaims(payload);
    if (claims.customerId !== expect.customerId) throw new StepUpMismatchError("sub");
    if (claims.purpose !== expect.purpose) throw new StepUpMismatchError("purpose");
    if (claims.bindingHash !== expect.bindingHash) throw new StepUpMismatchError("binding_hash");
    return claims;
  };
}

function toClaims(payload: JWTPayload): StepUpClaims {
  const text = (value: unknown) => (typeof value === "string" ? value : undefined);
  return {
    customerId: payload.sub as string,
    purpose: text(payload.purpose) ?? "",
    bindingHash: text(payload.binding_hash),
    acr: text(payload.acr) ?? "",
    amr: Array.isArray(payload.amr) ? payload.amr.filter((m): m is string => typeof m === "string") : [],
    authTime: Number(payload.auth_time),
    tokenId: payload.jti as string,
    expiresAt: payload.exp as number,
    sessionId: text(payload.sid),
  };
}
