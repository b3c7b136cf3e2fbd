import { Code } from "@connectrpc/connect";
import { expect } from "chai";
import { bindingHash, type TransferBinding } from "../../core/domain/step-up-ports.js";
import { readDevSms } from "../../core/stores/otp/dev-outbox-sender.js";
import { RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { ChallengeFailureSchema } from "../../gen/teller/v1/errors_pb.js";
import { DeliveryMethod, Purpose, StepUpService } from "../../gen/teller/v1/step_up_service_pb.js";
import { systemClock } from "../../lib/clock.js";
import { createStepUpVerifier } from "../../lib/step-up-token.js";
import { startTestCore, type TestCore } from "../support/core.js";
import { call, ok } from "../support/invoke.js";
import { seedCustomer } from "../support/seed.js";

const m = StepUpService.method;
const PHONE = "+447700900555";

describe("StepUpService", () => {
  let t: TestCore;
  let customerId: string;
  let accountId: string;
  let auth: Record<string, string>;

  const start = async (env: Record<string, string> = {}) => {
    t = await startTestCore({ env });
    ({ customerId, accountId } = await seedCustomer(t, PHONE, 10_000n));
    auth = { authorization: `Bearer ${await t.token(["banking:write"])}` };
  };
  afterEach(() => t.close());

  const transfer = (minorUnits: bigint) => ({
    case: "transfer" as const,
    value: {
      fromAccountId: accountId,
      payee: { case: "toAccountId" as const, value: "acc_payee9876" },
      amount: { currency: "EUR", minorUnits },
    },
  });
  const startTransfer = () =>
    ok(
      t.core.invoker,
      m.startChallenge,
      { customerId, purpose: Purpose.TRANSFER, binding: transfer(2500n) },
      auth,
    );
  const lastCode = async () => {
    const [sms] = await readDevSms({ redis: t.redisHandle?.redis, prefix: t.prefix }, PHONE);
    return /code (\d{6})/.exec(sms?.text ?? "")?.[1] as string;
  };

  it("should text a code to the registered phone and mint a token bound to the transfer", async () => {
    await start();
    const started = await startTransfer();
    expect(started.deliveryMethod).to.equal(DeliveryMethod.SMS);
    const [sms] = await readDevSms({ redis: t.redisHandle?.redis, prefix: t.prefix }, PHONE);
    expect(sms?.text).to.match(/to send 25\.00 EUR to account ••9876\./);
    const code = await lastCode();
    const verified = await ok(
      t.core.invoker,
      m.verifyChallenge,
      { challengeId: started.challengeId, code },
      auth,
    );
    const verify = createStepUpVerifier({ jwks: { keys: [t.config.stepUp.publicJwk] } }, systemClock);
    const binding = (minorUnits: bigint): TransferBinding => ({
      kind: "transfer",
      fromAccountId: accountId,
      payee: { toAccountId: "acc_payee9876" },
      amount: { currency: "EUR", minorUnits },
    });
    const expected = {
      customerId,
      purpose: "transfer",
      bindingHash: bindingHash("transfer", binding(2500n)),
    };
    const claims = await verify(verified.stepUpToken, expected);
    expect(claims.acr).to.equal("urn:teller:acr:otp");
    const other = { ...expected, bindingHash: bindingHash("transfer", binding(2501n)) };
    const refused = await verify(verified.stepUpToken, other).then(
      () => undefined,
      (err: { code?: string }) => err.code,
    );
    expect(refused).to.equal("ERR_STEP_UP_MISMATCH");
    const logs = t.logs.join("\n");
    expect(logs).to.not.include(code);
    expect(logs).to.not.include(verified.stepUpToken);
  });

  it("should count down attempts_left 4, 3, 2, 1 and then refuse even the right code", async () => {
    await start({ RATE_LIMIT_STEP_UP: "20/15m" });
    const { challengeId } = await startTransfer();
    const code = await lastCode();
    const wrong = code === "000000" ? "111111" : "000000";
    const left: string[] = [];
    for (let i = 0; i < 5; i++) {
      const outcome = await call(t.core.invoker, m.verifyChallenge, { challengeId, code: wrong }, auth);
      if (outcome.ok) throw new Error("a wrong code was accepted");
      expect(outcome).to.include({ code: Code.PermissionDenied, reason: "OTP_INVALID" });
      expect(outcome.error.rawMessage).to.equal("wrong or expired code");
      expect(outcome.error.findDetails(ChallengeFailureSchema)[0]?.attemptsLeft).to.equal(
        Number(outcome.metadata.attempts_left),
      );
      left.push(outcome.metadata.attempts_left as string);
    }
    expect(left).to.deep.equal(["4", "3", "2", "1", "0"]);
    const dead = await call(t.core.invoker, m.verifyChallenge, { challengeId, code }, auth);
    expect(dead.ok ? undefined : dead.metadata).to.deep.equal({ attempts_left: "0" });
  });

  it("should lock the customer's step-up after 5 failed attempts, with RetryInfo", async () => {
    await start();
    const { challengeId } = await startTransfer();
    const code = await lastCode();
    for (let i = 0; i < 5; i++) {
      await call(
        t.core.invoker,
        m.verifyChallenge,
        { challengeId, code: code === "000000" ? "111111" : "000000" },
        auth,
      );
    }
    const next = await startTransfer();
    const locked = await call(
      t.core.invoker,
      m.verifyChallenge,
      { challengeId: next.challengeId, code: await lastCode() },
      auth,
    );
    if (locked.ok) throw new Error("a locked customer verified");
    expect(locked).to.include({ code: Code.ResourceExhausted, reason: "OTP_LOCKED" });
    expect(locked.error.findDetails(RetryInfoSchema)).to.have.length(1);
  });

  it("should require the banking:write scope", async () => {
    await start();
    const read = { authorization: `Bearer ${await t.token(["banking:read"])}` };
    const outcome = await call(
      t.core.invoker,
      m.startChallenge,
      { customerId, purpose: Purpose.LINK_CHANNEL },
      read,
    );
    expect(outcome.ok ? 0 : outcome.code).to.equal(Code.PermissionDenied);
  });

  it("should name the field at fault", async () => {
    await start();
    const cases: [object, string][] = [
      [{ customerId: "", purpose: Purpose.LINK_CHANNEL }, "customer_id"],
      [{ customerId, purpose: Purpose.UNSPECIFIED }, "purpose"],
      [{ customerId, purpose: Purpose.TRANSFER }, "transfer"],
      [{ customerId, purpose: Purpose.ADD_BENEFICIARY, binding: transfer(1n) }, "beneficiary"],
      [{ customerId, purpose: Purpose.LINK_CHANNEL, binding: transfer(1n) }, "transfer"],
      [{ customerId, purpose: Purpose.TRANSFER, binding: transfer(0n) }, "transfer.amount.minor_units"],
    ];
    for (const [request, field] of cases) {
      const outcome = await call(t.core.invoker, m.startChallenge, request, auth);
      expect({
        field,
        code: outcome.ok ? 0 : outcome.code,
        message: outcome.ok ? "" : outcome.error.rawMessage.split(":")[0],
      }).to.deep.equal({ field, code: Code.InvalidArgument, message: field });
    }
    for (const code of ["12345", "1234567", "12a456", ""]) {
      const outcome = await call(t.core.invoker, m.verifyChallenge, { challengeId: "chl_x", code }, auth);
      expect(outcome.ok ? "" : outcome.error.rawMessage).to.match(/^code: /);
    }
  });
});
