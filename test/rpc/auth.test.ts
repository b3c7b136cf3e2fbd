import { Code } from "@connectrpc/connect";
import { expect } from "chai";
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from "jose";
import { CustomerService } from "../../gen/teller/v1/customer_service_pb.js";
import { SessionService } from "../../gen/teller/v1/session_service_pb.js";
import { SERVICE_TOKEN_AUDIENCE, SERVICE_TOKEN_ISSUER, SERVICE_TOKEN_TYP } from "../../lib/service-token.js";
import { createTestKeys, startTestCore, type TestCore, type TestKeys } from "../support/core.js";
import { call } from "../support/invoke.js";

const stats = SessionService.method.getSessionStats;

/** Signs arbitrary claims and header with a JWK, for tokens the CLI would never mint. */
async function sign(
  jwk: JWK,
  alg: string,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
) {
  const key = await importJWK(jwk, alg);
  return new SignJWT(claims)
    .setProtectedHeader({ alg, typ: SERVICE_TOKEN_TYP, kid: jwk.kid, ...header })
    .sign(key);
}

function validClaims(overrides: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: SERVICE_TOKEN_ISSUER,
    aud: SERVICE_TOKEN_AUDIENCE,
    sub: "test",
    jti: "j1",
    iat: now,
    exp: now + 300,
    scope: "conversation banking:admin banking:write",
    ...overrides,
  };
}

function b64(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

describe("service-token authentication (rpc pipeline)", () => {
  let t: TestCore;
  let keys: TestKeys;
  before(async () => {
    keys = await createTestKeys();
    t = await startTestCore({ state: "memory", database: "pglite", keys });
  });
  after(() => t.close());

  const expectRefused = async (authorization: string | undefined) => {
    const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
    const outcome = await call(t.core.invoker, stats, {}, headers);
    expect(outcome.ok).to.equal(false);
    if (!outcome.ok) {
      expect(outcome.code).to.equal(Code.Unauthenticated);
      expect(outcome.reason).to.equal("UNAUTHENTICATED");
    }
  };

  it("should accept a valid EdDSA token with the right scope", async () => {
    const outcome = await call(
      t.core.invoker,
      stats,
      {},
      { authorization: `Bearer ${await t.token(["conversation"])}` },
    );
    expect(outcome.ok).to.equal(true);
  });

  it("should refuse a call without a token", () => expectRefused(undefined));
  it("should refuse a header that is not a bearer token", () => expectRefused("Basic dXNlcjpwYXNz"));

  it("should refuse a token signed by another key with the same kid (forged)", async () => {
    const other = await createTestKeys(keys.privateJwk.kid);
    await expectRefused(`Bearer ${await sign(other.privateJwk, "EdDSA", validClaims())}`);
  });

  it("should refuse an expired token", async () => {
    const past = Math.floor(Date.now() / 1000) - 3600;
    await expectRefused(
      `Bearer ${await sign(keys.privateJwk, "EdDSA", validClaims({ iat: past - 60, exp: past }))}`,
    );
  });

  it("should refuse a token without exp", async () => {
    const claims: Record<string, unknown> = validClaims();
    delete claims.exp;
    await expectRefused(`Bearer ${await sign(keys.privateJwk, "EdDSA", claims)}`);
  });

  it("should refuse a token for another audience", async () => {
    await expectRefused(
      `Bearer ${await sign(keys.privateJwk, "EdDSA", validClaims({ aud: "someone-else" }))}`,
    );
  });

  it("should refuse a token from another issuer", async () => {
    await expectRefused(`Bearer ${await sign(keys.privateJwk, "EdDSA", validClaims({ iss: "evil" }))}`);
  });

  it("should refuse a token of another type (typ JWT)", async () => {
    await expectRefused(`Bearer ${await sign(keys.privateJwk, "EdDSA", validClaims(), { typ: "JWT" })}`);
  });

  it("should refuse alg none", async () => {
    const header = b64({ alg: "none", typ: SERVICE_TOKEN_TYP, kid: keys.privateJwk.kid });
    await expectRefused(`Bearer ${header}.${b64(validClaims())}.`);
  });

  it("should refuse HS256 signed with the public key as the secret (key confusion)", async () => {
    const { createHmac } = await import("node:crypto");
    const header = b64({ alg: "HS256", typ: SERVICE_TOKEN_TYP, kid: keys.privateJwk.kid });
    const body = `${header}.${b64(validClaims())}`;
    const secret = Buffer.from(JSON.stringify(keys.publicJwk));
    const mac = createHmac("sha256", secret).update(body).digest("base64url");
    await expectRefused(`Bearer ${body}.${mac}`);
    const rawKey = Buffer.from(keys.publicJwk.x as string, "base64url");
    await expectRefused(`Bearer ${body}.${createHmac("sha256", rawKey).update(body).digest("base64url")}`);
  });

  it("should refuse an RS256 token even when well formed", async () => {
    const { privateKey } = await generateKeyPair("RS256", { extractable: true });
    const jwk = { ...(await exportJWK(privateKey)), kid: keys.privateJwk.kid };
    await expectRefused(`Bearer ${await sign(jwk, "RS256", validClaims())}`);
  });

  it("should answer PERMISSION_DENIED when the token lacks the scope", async () => {
    const token = await t.token(["banking:read"]);
    const outcome = await call(t.core.invoker, stats, {}, { authorization: `Bearer ${token}` });
    expect(outcome.ok).to.equal(false);
    if (!outcome.ok) {
      expect(outcome.code).to.equal(Code.PermissionDenied);
      expect(outcome.metadata.required_scope).to.equal("conversation");
    }
  });

  it("should validate an admin RPC's fields only after authentication", async () => {
    const method = CustomerService.method.eraseSubject;
    const anonymous = await call(t.core.invoker, method, {});
    expect(anonymous.ok ? 0 : anonymous.code).to.equal(Code.Unauthenticated);
    const token = await t.token(["banking:admin"]);
    const authed = await call(t.core.invoker, method, {}, { authorization: `Bearer ${token}` });
    expect(authed.ok ? 0 : authed.code).to.equal(Code.InvalidArgument);
  });

  it("should echo a caller's x-request-id and make one when absent or malformed", async () => {
    const authorization = `Bearer ${await t.token(["conversation"])}`;
    const echoed = await call(t.core.invoker, stats, {}, { authorization, "x-request-id": "abc-123" });
    expect(echoed.headers.get("x-request-id")).to.equal("abc-123");
    const made = await call(t.core.invoker, stats, {}, { authorization, "x-request-id": "bad id\n" });
    expect(made.headers.get("x-request-id")).to.match(/^req_[A-Za-z0-9_-]{22}$/);
  });

  it("should log the refusal reason without the token", async () => {
    const token = await sign(keys.privateJwk, "EdDSA", validClaims({ aud: "x" }));
    await expectRefused(`Bearer ${token}`);
    const joined = t.logs.join("\n");
    expect(joined).to.include("ERR_JWT_CLAIM_VALIDATION_FAILED");
    expect(joined).not.to.include(token);
  });
});
