import { jwtVerify, SignJWT } from "jose";
import type { Clock } from "../../lib/clock.js";
import { newId } from "../../lib/ids.js";

/**
 * Web chat session tokens: the gateway's own short-lived JWTs naming a browser visitor. The one
 * thin wrapper around jose for this token kind (STYLE.md §7): HS256 only, with its own issuer,
 * audience and `typ`, so no other token of the project is ever accepted here, nor this one there.
 */

/** Explicit type (RFC 8725 §3.11): a service or step-up token is never a chat session. */
export const WEBCHAT_TOKEN_TYP = "teller-webchat+jwt";
export const WEBCHAT_TOKEN_ISSUER = "teller-gateway";
export const WEBCHAT_TOKEN_AUDIENCE = "teller-webchat";
/** Inactivity timeout: a token lives 30 minutes unless renewed (ASVS 5 7.3.1). */
export const SESSION_IDLE_SECONDS = 30 * 60;
/** Absolute timeout: renewals never carry a session past 12 hours from its start (ASVS 5 7.3.2). */
export const SESSION_ABSOLUTE_SECONDS = 12 * 3600;
/** A visitor id: "web_" and 128 random bits (ASVS 5 7.2.3), the core's channel_user_id on "web". */
export const VISITOR_ID = /^web_[A-Za-z0-9_-]{22}$/;
/** Clock skew tolerated on exp/iat (security.md: small and explicit, ≤ 30 s). */
const CLOCK_TOLERANCE_SECONDS = 5;

/** A verified session. */
export interface WebchatSession {
  /** The visitor (`sub`): who the core talks to, and whose mailbox the replies wait in. */
  readonly visitorId: string;
  /** When the session began (`auth_time`), in ms since the epoch; renewals keep it. */
  readonly startedAt: number;
  /** When this token stops being accepted (`exp`), in ms since the epoch. */
  readonly expiresAt: number;
}

/** A freshly minted token and the session it names. */
export interface MintedSession {
  readonly token: string;
  readonly session: WebchatSession;
}

/** Mints and verifies web chat session tokens with one key and one clock. */
export interface WebchatTokens {
  /** A new visitor's session, or, given a verified one, its renewal (same visitor, same start). */
  mint(renewing?: WebchatSession): Promise<MintedSession>;
  /** The session a token names; rejects with a jose error (classified by `err.code`) otherwise. */
  verify(token: string): Promise<WebchatSession>;
}

/** Settings of createWebchatTokens. */
export interface WebchatTokenOptions {
  /** WEBCHAT_SESSION_SECRET. */
  readonly secret: string;
  readonly clock: Clock;
  readonly idleSeconds?: number;
  readonly absoluteSeconds?: number;
}

/** Creates the mint/verify pair of the web chat's session tokens. */
export function createWebchatTokens(options: WebchatTokenOptions): WebchatTokens {
  const { clock } = options;
  if (options.secret.length === 0) throw new Error("web chat: the session secret is empty");
  const key = new TextEncoder().encode(options.secret);
  const idle = options.idleSeconds ?? SESSION_IDLE_SECONDS;
  const absolute = options.absoluteSeconds ?? SESSION_ABSOLUTE_SECONDS;
  return {
    async mint(renewing) {
      const now = Math.floor(clock.now() / 1000);
      const visitorId = renewing?.visitorId ?? newId("web_");
      const start = renewing ? Math.floor(renewing.startedAt / 1000) : now;
      const exp = Math.min(now + idle, start + absolute);
      const token = await new SignJWT({ auth_time: start })
        .setProtectedHeader({ alg: "HS256", typ: WEBCHAT_TOKEN_TYP })
        .setIssuer(WEBCHAT_TOKEN_ISSUER)
        .setAudience(WEBCHAT_TOKEN_AUDIENCE)
        .setSubject(visitorId)
        .setJti(newId())
        .setIssuedAt(now)
        .setExpirationTime(exp)
        .sign(key);
      return { token, session: { visitorId, startedAt: start * 1000, expiresAt: exp * 1000 } };
    },
    async verify(token) {
      const { payload } = await jwtVerify(token, key, {
        algorithms: ["HS256"],
        issuer: WEBCHAT_TOKEN_ISSUER,
        audience: WEBCHAT_TOKEN_AUDIENCE,
        typ: WEBCHAT_TOKEN_TYP,
        requiredClaims: ["exp", "iat", "jti", "sub", "auth_time"],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        currentDate: new Date(clock.now()),
      });
      const start = payload.auth_time;
      const sub = payload.sub as string;
      const exp = payload.exp as number;
      if (typeof start !== "number" || !VISITOR_ID.test(sub) || exp > start + absolute) {
        throw new SessionClaimError();
      }
      return { visitorId: sub, startedAt: start * 1000, expiresAt: exp * 1000 };
    },
  };
}

/** A correctly signed token whose claims this gateway never mints (a key leak or a bug). */
export class SessionClaimError extends Error {
  readonly code = "ERR_WEBCHAT_SESSION_CLAIMS";
  constructor() {
    super("web chat session claims are not valid");
    this.name = "SessionClaimError";
  }
}
