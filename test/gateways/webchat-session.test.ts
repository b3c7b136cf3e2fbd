import { expect } from "chai";
import { decodeJwt, SignJWT } from "jose";
import { loadGatewayConfig } from "../../gateways/config.js";
import { createWebchatTokens } from "../../gateways/webchat/session-token.js";
import { createManualClock } from "../../lib/clock.js";
import { ConfigError } from "../../lib/env.js";

const SECRET = "session-test-secret-0123456789abcdef";

async function rejection(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return String((err as { code?: unknown }).code);
  }
  throw new Error("expected a rejection");
}

describe("web chat session tokens", () => {
  it("should stop accepting a token 30 minutes after it was issued", async () => {
    const clock = createManualClock();
    const tokens = createWebchatTokens({ secret: SECRET, clock });
    const { token, session } = await tokens.mint();
    clock.advance(29 * 60_000);
    expect(await tokens.verify(token)).to.deep.equal(session);
    clock.advance(60_000 + 6_000);
    expect(await rejection(tokens.verify(token))).to.equal("ERR_JWT_EXPIRED");
  });

  it("should renew for the same visitor, but never past 12 hours from the session's start", async () => {
    const clock = createManualClock();
    const tokens = createWebchatTokens({ secret: SECRET, clock });
    const first = await tokens.mint();
    let current = first;
    for (let i = 0; i < 12 * 3 - 1; i++) {
      clock.advance(20 * 60_000);
      current = await tokens.mint(await tokens.verify(current.token));
    }
    expect(current.session.visitorId).to.equal(first.session.visitorId);
    expect(current.session.startedAt).to.equal(first.session.startedAt);
    // 11 h 40 min in: the renewal ends at 12 h, not 30 minutes later.
    expect(current.session.expiresAt).to.equal(first.session.startedAt + 12 * 3600_000);
    clock.advance(20 * 60_000 + 6_000);
    expect(await rejection(tokens.verify(current.token))).to.equal("ERR_JWT_EXPIRED");
  });

  it("should refuse a well-signed token whose claims it never mints", async () => {
    const clock = createManualClock();
    const tokens = createWebchatTokens({ secret: SECRET, clock });
    const now = Math.floor(clock.now() / 1000);
    const sign = (sub: string, exp: number, authTime: number) =>
      new SignJWT({ auth_time: authTime })
        .setProtectedHeader({ alg: "HS256", typ: "teller-webchat+jwt" })
        .setIssuer("teller-gateway")
        .setAudience("teller-webchat")
        .setSubject(sub)
        .setJti("j")
        .setIssuedAt(now)
        .setExpirationTime(exp)
        .sign(new TextEncoder().encode(SECRET));
    const visitor = decodeJwt((await tokens.mint()).token).sub as string;
    expect(await tokens.verify(await sign(visitor, now + 60, now))).to.include({ visitorId: visitor });
    expect(await rejection(tokens.verify(await sign("+447700900123", now + 60, now)))).to.equal(
      "ERR_WEBCHAT_SESSION_CLAIMS",
    );
    const longAgo = now - 12 * 3600 - 60;
    expect(await rejection(tokens.verify(await sign(visitor, now + 60, longAgo)))).to.equal(
      "ERR_WEBCHAT_SESSION_CLAIMS",
    );
  });

  it("should require a long WEBCHAT_SESSION_SECRET in production when the web chat is on", () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadGatewayConfig({ NODE_ENV: "production", GATEWAYS: "web", ...env });
        return [];
      } catch (err) {
        return (err as ConfigError).problems;
      }
    };
    expect(problems({})).to.include("WEBCHAT_SESSION_SECRET is required in production");
    expect(problems({ WEBCHAT_SESSION_SECRET: "short" })).to.include(
      "WEBCHAT_SESSION_SECRET is too short (at least 32 characters)",
    );
    expect(
      problems({ WEBCHAT_SESSION_SECRET: "s".repeat(32) }).some((p) => p.startsWith("WEBCHAT")),
    ).to.equal(false);
    expect(() => loadGatewayConfig({ NODE_ENV: "production", GATEWAYS: "web" })).to.throw(ConfigError);
  });
});
