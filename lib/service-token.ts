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

/** Verified tokens remembered at most this long, so a key removed from the JWKS stops working soon. */
const CACHE_TTL_MS = 60_000;
const CACHE_ENTRIES = 1024;

/**
 * Creates the verifier the core's auth step calls on every request. A gateway sends the same
 * token for minutes, so verified tokens are remembered (bounded in count and to 60 s, never past
 * their own expiry): the signature check is the largest CPU cost of a call otherwise.
 */
export function createServiceTokenVerifier(keys: VerificationKeys, clock: Clock): ServiceTokenVerifier {
  const verify = createUncachedVerifier(keys, clock);
  const cache = new Map<string, { identity: ServiceIdentity; validUntilMs: number }>();
  return async (token) => {
    const hit = cache.get(token);
    if (hit && clock.now() < hit.validUntilMs) return hit.identity;
    if (hit) cache.delete(token);
    const { identity, expiresAtMs } = await verify(token);
    if (cache.size >= CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
    cache.set(token, { identity, validUntilMs: Math.min(expiresAtMs, clock.now() + CACHE_TTL_MS) });
    return identity;
  };
}

function createUncachedVerifier(keys: VerificationKeys, clock: Clock) {
  const getKey: JWTVerifyGetKey =
    "jwks" in keys ? createLocalJWKSet(keys.jwks) : createRemoteJWKSet(new URL(keys.jwksUrl));
  return async (token: string): Promise<{ identity: ServiceIdentity; expiresAtMs: number }> => {
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
    const identity = {
      subject: payload.sub as string,
      scopes: new Set(scope.split(" ").filter(Boolean)),
      tokenId: payload.jti as string,
    };
    // The earlier of exp and iat + max age: a cached token is never accepted past either.
    const expiresAtMs =
      Math.min(payload.exp as number, (payload.iat as number) + SERVICE_TOKEN_MAX_AGE_SECONDS) * 1000;
    return { identity, expiresAtMs };
  };
}
