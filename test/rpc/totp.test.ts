import { Code } from "@connectrpc/connect";
import { expect } from "chai";
import { decodeJwt } from "jose";
import type { AuditEvent } from "../../core/domain/audit.js";
import { CustomerService } from "../../gen/teller/v1/customer_service_pb.js";
import { DeliveryMethod } from "../../gen/teller/v1/step_up_service_pb.js";
import type { ManualClock } from "../../lib/clock.js";
import { startTestCore, type TestCore, type TestCoreOptions } from "../support/core.js";
import { call } from "../support/invoke.js";
import { seedCustomer } from "../support/seed.js";
import {
  appCode,
  createStepClock,
  type Enrolment,
  enrolTotp,
  startChallenge,
  verifyChallenge,
  wrongCode,
} from "../support/totp.js";

const PHONE = "+447700900777";

/** Everything written, as one text to search for secrets (bigint seq as a string). */
function written(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? v.toString() : v));
}

describe("TOTP step-up (CustomerService.EnrollTotp, StepUpService)", () => {
  let t: TestCore;
  let clock: ManualClock;
  let customerId: string;
  let enrolment: Enrolment;

  const start = async (options: TestCoreOptions = {}) => {
    clock = createStepClock();
    t = await startTestCore({ ...options, clock });
    ({ customerId } = await seedCustomer(t, PHONE, 0n));
    enrolment = await enrolTotp(t, customerId);
  };
  afterEach(() => t.close());

  /** The customer's step-up and TOTP events, oldest first, as "type outcome". */
  const trail = async (): Promise<AuditEvent[]> => {
    const page = await t.core.audit.list({ customerId, limit: 100 });
    return page.items.filter((e) => /^(stepup|totp)\./.test(e.type));
  };
  /** Starts a challenge and submits `code`; the outcome of VerifyChallenge. */
  const attempt = async (code: string) =>
    verifyChallenge(t, (await startChallenge(t, customerId)).challengeId, code);

  it("should enrol an authenticator: an otpauth URI labelled by customer id with a 20-byte secret", async () => {
    await start();
    const url = new URL(enrolment.uri);
    expect(url.protocol).to.equal("otpauth:");
    expect(url.host).to.equal("totp");
    expect(decodeURIComponent(url.pathname)).to.equal(`/Teller:${customerId}`);
    expect(Object.fromEntries(url.searchParams)).to.deep.include({
      issuer: "Teller",
      algorithm: "SHA1",
      digits: "6",
      period: "30",
    });
    expect(enrolment.secret).to.have.length(20);
    expect(enrolment.uri).to.not.include(PHONE.slice(1));
    const logs = t.logs.join("\n");
    expect(logs).to.include("/teller.v1.CustomerService/EnrollTotp");
    expect(logs).to.not.include(enrolment.base32);
    expect(logs).to.not.include("otpauth");
    const events = await trail();
    expect(events.map((e) => [e.type, e.outcome])).to.deep.equal([["totp.enrolled", "success"]]);
    expect(written(events)).to.not.include(enrolment.base32);
  });

  it("should answer NOT_FOUND for an unknown customer and require banking:admin", async () => {
    await start();
    const admin = { authorization: `Bearer ${await t.token(["banking:admin"])}` };
    const m = CustomerService.method.enrollTotp;
    const unknown = await call(t.core.invoker, m, { customerId: "cus_nobody" }, admin);
    expect(unknown.ok ? 0 : unknown.code).to.equal(Code.NotFound);
    const write = { authorization: `Bearer ${await t.token(["banking:write"])}` };
    const refused = await call(t.core.invoker, m, { customerId }, write);
    expect(refused.ok ? 0 : refused.code).to.equal(Code.PermissionDenied);
  });

  for (const options of [
    { state: "redis", database: "postgres" },
    { state: "memory", database: "pglite" },
  ] as const) {
    it(`should challenge by TOTP, send no SMS, and mint a token with amr totp (${options.state}, ${options.database})`, async () => {
      await start(options);
      const started = await startChallenge(t, customerId);
      expect(started.deliveryMethod).to.equal(DeliveryMethod.TOTP);
      expect(await t.core.devOutbox?.read(PHONE)).to.deep.equal([]);
      const code = appCode(enrolment.secret, clock);
      const verified = await verifyChallenge(t, started.challengeId, code);
      if (!verified.ok) throw new Error(`the app's code was refused: ${verified.reason}`);
      const claims = decodeJwt(verified.response.stepUpToken);
      expect(claims).to.include({ sub: customerId, purpose: "view_history" });
      expect(claims.amr).to.deep.equal(["otp", "totp"]);
      const events = await trail();
      expect(events.map((e) => e.type)).to.deep.equal([
        "totp.enrolled",
        "stepup.challenge_started",
        "stepup.verified",
      ]);
      expect(events[1]?.attributes).to.deep.include({ method: "totp", purpose: "view_history" });
      const everything = written([events, t.logs]);
      expect(everything).to.not.include(code);
      expect(everything).to.not.include(verified.response.stepUpToken);
      expect((await t.core.audit.verify()).ok).to.equal(true);
    });
  }

  it("should accept the codes of steps T-1, T and T+1 and refuse T-2 and T+2", async () => {
    await start();
    const { challengeId } = await startChallenge(t, customerId);
    const refused = [];
    for (const steps of [-2, 2])
      refused.push(await verifyChallenge(t, challengeId, appCode(enrolment.secret, clock, steps)));
    expect(refused.map((r) => (r.ok ? "ok" : r.metadata.attempts_left))).to.deep.equal(["4", "3"]);
    const accepted = [await verifyChallenge(t, challengeId, appCode(enrolment.secret, clock, -1))];
    for (const steps of [0, 1]) accepted.push(await attempt(appCode(enrolment.secret, clock, steps)));
    expect(accepted.map((r) => r.ok)).to.deep.equal([true, true, true]);
    // Out of the window is a plain failure, not a reuse.
    expect((await trail()).filter((e) => e.outcome === "failure").map((e) => e.type)).to.deep.equal([
      "stepup.failed",
      "stepup.failed",
    ]);
  });

  it("should refuse a code used once, count it as a failure, and audit the reuse", async () => {
    await start();
    const code = appCode(enrolment.secret, clock);
    expect((await attempt(code)).ok).to.equal(true);
    clock.advance(5_000);
    const again = await attempt(code);
    if (again.ok) throw new Error("a used code verified twice");
    expect(again).to.include({ code: Code.PermissionDenied, reason: "OTP_INVALID" });
    expect(again.error.rawMessage).to.equal("wrong or expired code");
    expect(again.metadata.attempts_left).to.equal("4");
    // An older step is refused once a newer one was accepted.
    const older = await attempt(appCode(enrolment.secret, clock, -1));
    expect(older.ok).to.equal(false);
    const reused = (await trail()).filter((e) => e.type === "stepup.totp_reused");
    expect(reused.map((e) => [e.outcome, e.attributes.attempts_left])).to.deep.equal([
      ["failure", "4"],
      ["failure", "4"],
    ]);
    expect(written(reused)).to.not.include(code);
  });

  it("should give one success to concurrent submissions of one code on several challenges", async () => {
    await start({ env: { RATE_LIMIT_STEP_UP: "20/15m" } });
    const challenges = [];
    for (let i = 0; i < 4; i++) challenges.push(await startChallenge(t, customerId));
    const code = appCode(enrolment.secret, clock);
    const outcomes = await Promise.all(challenges.map((c) => verifyChallenge(t, c.challengeId, code)));
    expect(outcomes.filter((o) => o.ok)).to.have.length(1);
    expect((await trail()).filter((e) => e.type === "stepup.totp_reused")).to.have.length(3);
  });

  it("should kill a challenge at the fifth wrong code, then refuse even the right one", async () => {
    await start({ env: { RATE_LIMIT_STEP_UP: "20/15m" } });
    const { challengeId } = await startChallenge(t, customerId);
    const wrong = wrongCode(enrolment.secret, clock);
    const left: string[] = [];
    for (let i = 0; i < 5; i++) {
      const outcome = await verifyChallenge(t, challengeId, wrong);
      left.push(outcome.ok ? "ok" : (outcome.metadata.attempts_left as string));
    }
    expect(left).to.deep.equal(["4", "3", "2", "1", "0"]);
    const dead = await verifyChallenge(t, challengeId, appCode(enrolment.secret, clock));
    expect(dead.ok ? undefined : dead.metadata).to.deep.equal({ attempts_left: "0" });
  });

  it("should lock the customer after 5 failures across challenges, and audit the lockout", async () => {
    await start();
    const wrong = wrongCode(enrolment.secret, clock);
    for (let i = 0; i < 5; i++) await attempt(wrong);
    const locked = await attempt(appCode(enrolment.secret, clock));
    if (locked.ok) throw new Error("a locked customer verified");
    expect(locked).to.include({ code: Code.ResourceExhausted, reason: "OTP_LOCKED" });
    const types = (await trail()).map((e) => e.type).filter((type) => type !== "stepup.challenge_started");
    expect(types).to.deep.equal(["totp.enrolled", ...Array(5).fill("stepup.failed"), "stepup.locked"]);
  });
});
