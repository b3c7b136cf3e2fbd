import { expect } from "chai";
import { importJWK, SignJWT } from "jose";
import { createManualClock } from "../../lib/clock.js";
import { createServiceTokenVerifier, mintServiceToken } from "../../lib/service-token.js";
import {
  createStepUpVerifier,
  mintStepUpToken,
  STEP_UP_ACR,
  STEP_UP_TOKEN_TYP,
  type StepUpExpectation,
} from "../../lib/step-up-token.js";
import { createTestKeys, type TestKeys } from "../support/core.js";

async function rejection(promise: Promise<unknown>): Promise<{ code?: string; claim?: string } | undefined> {
  return promise.then(
    () => undefined,
    (err: { code?: string; claim?: string }) => err,
  );
}

describe("step-up token", () => {
  const clock = createManualClock(Date.now());
  const expectation: StepUpExpectation = {
    customerId: "cus_1",
    purpose: "transfer",
    bindingHash: "a".repeat(64),
  };
  let keys: TestKeys;
  const jwks = () => ({ jwks: { keys: [keys.publicJwk] } });
  const mint = (ttlSeconds = 300) =>
    mintStepUpToken({
      privateJwk: keys.privateJwk,
      customerId: "cus_1",
      purpose: "transfer",
      bindingHash: "a".repeat(64),
      acr: STEP_UP_ACR,
      amr: ["otp", "sms"],
      authTime: clock.now(),
      ttlSeconds,
      clock,
    });
  before(async () => {
    keys = await createTestKeys();
  });

  it("should verify a fresh token for the operation it is bound to", async () => {
    const claims = await createStepUpVerifier(jwks(), clock)(await mint(), expectation);
    expect(claims).to.include({ customerId: "cus_1", purpose: "transfer", acr: STEP_UP_ACR });
    expect(claims.amr).to.deep.equal(["otp", "sms"]);
    expect(claims.tokenId).to.be.a("string").and.not.equal("");
  });

  it("should refuse a token bound to another operation, purpose or customer", async () => {
    const verify = createStepUpVerifier(jwks(), clock);
    const token = await mint();
    const other = [
      { ...expectation, bindingHash: "b".repeat(64) },
      { ...expectation, bindingHash: undefined },
      { ...expectation, purpose: "add_beneficiary" },
      { ...expectation, customerId: "cus_2" },
    ];
    for (const expect_ of other) {
      expect((await rejection(verify(token, expect_)))?.code).to.equal("ERR_STEP_UP_MISMATCH");
    }
  });

  it("should refuse an expired token", async () => {
    const local = createManualClock(clock.now());
    const token = await mintStepUpToken({
      privateJwk: keys.privateJwk,
      customerId: "cus_1",
      purpose: "transfer",
      bindingHash: "a".repeat(64),
      acr: STEP_UP_ACR,
      amr: ["otp"],
      authTime: local.now(),
      ttlSeconds: 60,
      clock: local,
    });
    local.advance(66_000);
    const error = await rejection(createStepUpVerifier(jwks(), local)(token, expectation));
    expect(error?.code).to.equal("ERR_JWT_EXPIRED");
  });

  it("should refuse a lifetime past 5 minutes when minting", async () => {
    expect((await rejection(mint(301))) instanceof RangeError).to.equal(true);
  });

  it("should refuse a service token as a step-up token, and a step-up token as a service token", async () => {
    const service = await mintServiceToken({
      privateJwk: keys.privateJwk,
      subject: "cus_1",
      scopes: ["banking:write"],
      ttlSeconds: 300,
      clock,
    });
    const asStepUp = await rejection(createStepUpVerifier(jwks(), clock)(service, expectation));
    expect(asStepUp?.code).to.equal("ERR_JWT_CLAIM_VALIDATION_FAILED");
    expect(asStepUp?.claim).to.equal("typ");
    const asService = await rejection(createServiceTokenVerifier(jwks(), clock)(await mint()));
    expect(asService?.code).to.equal("ERR_JWT_CLAIM_VALIDATION_FAILED");
    expect(asService?.claim).to.equal("typ");
  });

  it("should refuse a step-up typ whose audience is the service tokens'", async () => {
    const now = Math.floor(clock.now() / 1000);
    const forged = await new SignJWT({
      purpose: "transfer",
      acr: STEP_UP_ACR,
      auth_time: now,
      binding_hash: "a".repeat(64),
    })
      .setProtectedHeader({ alg: "EdDSA", typ: STEP_UP_TOKEN_TYP, kid: keys.privateJwk.kid })
      .setIssuer("teller")
      .setAudience("teller-core")
      .setSubject("cus_1")
      .setJti("j1")
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .sign(await importJWK(keys.privateJwk, "EdDSA"));
    const error = await rejection(createStepUpVerifier(jwks(), clock)(forged, expectation));
    expect(error?.code).to.equal("ERR_JWT_CLAIM_VALIDATION_FAILED");
    expect(error?.claim).to.equal("aud");
  });
});
