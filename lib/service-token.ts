import {
  createLocalJWKSet,
  createRemoteJWKSet,
  importJWK,
  type JSONWebKeySet,
  type JWK,
  type JWTVerifyGetKey,
  jwtVerify,
  SignJWT,
} from "jose";
import type { Clock } from "./clock.js";
import { newId } from "./ids.js";

/**
 * Service tokens: short-lived JWTs that gateways and internal services present to the core
 * (DESIGN.md, Identity). The one thin wrapper around jose for this token kind (STYLE.md §7): it
 * always passes the allow-listed algorithms, issuer, audience, `typ` and required claims.
 */

/** Algorithms accepted: RFC 8725 §3.1 — never `none`, never HMAC with a shared secret. */
export const SERVICE_TOKEN_ALGORITHMS = ["EdDSA", "ES256"] as const;
/** Explicit type (RFC 8725 §3.11) so a step-up or ID token is never accepted as a service token. */
export const SERVICE_TOKEN_TYP = "teller-service+jwt";
/** Issuer of every service token. */
export const SERVICE_TOKEN_ISSUER = "teller";
/** The audience naming the core (RFC 8725 §3.9). */
export const SERVICE_TOKEN_AUDIENCE = "teller-core";
/** Longest lifetime accepted, whatever `exp` says. */
export const SERVICE_TOKEN_MAX_AGE_SECONDS = 24 * 3600;
/** Clock skew tolerated on exp/iat (security.md: small and explicit, ≤ 30 s). */
const CLOCK_TOLERANCE_SECONDS = 5;

/** The verified claims the core uses. */
export interface ServiceIdentity {
  /** The calling service (`sub`). */
  readonly subject: string;
  readonly scopes: ReadonlySet<string>;
  readonly tokenId: string;
}

/** Options of mintServiceToken. */
export interface MintOptions {
  readonly privateJwk: JWK;
  readonly subject: string;
  readonly scopes: readonly string[];
  readonly ttlSeconds: number;
  readonly clock: Clock;
}

/** Signs a service token with a private JWK whose `alg` is EdDSA or ES256. */
export async function mintServiceToken(options: MintOptions): Promise<string> {
  const alg = options.privateJwk.alg;
  if (alg !== "EdDSA" && alg !== "ES256")
    throw new Error(`service key alg must be EdDSA or ES256, got ${alg}`);
  const key = await importJWK(options.privateJwk, alg);
  const now = Math.floor(options.clock.now() / 1000);
  return new SignJWT({ scope: options.scopes.join(" ") })
    .setProtectedHeader({ alg, typ: SERVICE_TOKEN_TYP, kid: options.privateJwk.kid })
    .setIssuer(SERVICE_TOKEN_ISSUER)
    .setAudience(SERVICE_TOKEN_AUDIENCE)
    .setSubject(options.subject)
    .setJti(newId())
    .setIssuedAt(now)
    .setExpirationTime(now + options.ttlSeconds)
    .sign(key);
}

/** Where verification keys come from: a JWKS document, or a JWKS URL fetched and cached by jose. */
export type VerificationKeys = { readonly jwks: JSONWebKeySet } | { readonly jwksUrl: string };

/** A verifier bound to its keys and clock; rejects with jose errors (classified by `err.code`). */
export type ServiceTokenVerifier = (token: string) => Promise<ServiceIdentity>;

/** Creates the verifier the core's auth step calls on every request. */
export function createServiceTokenVerifier(keys: VerificationKeys, clock: Clock): ServiceTokenVerifier {
  const getKey: JWTVerifyGetKey =
    "jwks" in keys ? createLocalJWKSet(keys.jwks) : createRemoteJWKSet(new URL(keys.jwksUrl));
  return async (token) => {
    const { payload } = await jwtVerify(token, getKey, {
      algorithms: [...SERVICE_TOKEN_ALGORITHMS],
      issuer: SERVICE_TOKEN_ISSUER,
      audience: SERVICE_TOKEN_AUDIENCE,
      typ: SERVICE_TOKEN_TYP,
      requiredClaims: ["exp", "iat", "jti", "sub"],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      maxTokenAge: SERVICE_TOKEN_MAX_AGE_SECONDS,
      currentDate: new Date(clock.now()),
    });
    const scope = typeof payload.scope === "string" ? payload.scope : "";
    return {
      subject: payload.sub as string,
      scopes: new Set(scope.split(" ").filter(Boolean)),
      tokenId: payload.jti as string,
    };
  };
}
