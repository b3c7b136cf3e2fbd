import { expect } from "chai";
import { createManualClock } from "../../lib/clock.js";
import { createServiceTokenVerifier, mintServiceToken } from "../../lib/service-token.js";
import { createTestKeys } from "../support/core.js";

describe("service token verifier", () => {
  it("should stop accepting a remembered token once it expires", async () => {
    const keys = await createTestKeys();
    const clock = createManualClock(Date.now());
    const verify = createServiceTokenVerifier({ jwks: { keys: [keys.publicJwk] } }, clock);
    const token = await mintServiceToken({
      privateJwk: keys.privateJwk,
      subject: "gateway",
      scopes: ["conversation"],
      ttlSeconds: 30,
      clock,
    });
    expect((await verify(token)).scopes.has("conversation")).to.equal(true);
    clock.advance(29_000);
    expect((await verify(token)).subject).to.equal("gateway");
    clock.advance(1_000);
    // Past exp the cache must not answer; jose's own 5 s tolerance still applies on a fresh check.
    clock.advance(5_000);
    const error = await verify(token).then(
      () => undefined,
      (err: { code?: string }) => err,
    );
    expect(error?.code).to.equal("ERR_JWT_EXPIRED");
  });
});
