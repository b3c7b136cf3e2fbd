import { randomBytes } from "node:crypto";
import { expect } from "chai";
import type { AuditEvent, NewAuditEvent } from "../../core/domain/audit.js";
import { DomainError } from "../../core/domain/errors.js";
import { CHALLENGE_TTL_MS, createStepUp, type StepUp } from "../../core/domain/step-up.js";
import { bindingHash, type StepUpGrant, type TransferBinding } from "../../core/domain/step-up-ports.js";
import type { TotpAuthenticators } from "../../core/domain/totp.js";
import { createMemoryChallengeStore } from "../../core/stores/memory/challenge-store.js";
import { createDevOutboxSender, type DevOutbox } from "../../core/stores/otp/dev-outbox-sender.js";
import { createRateGate } from "../../core/stores/rate-gate.js";
import { createStepUpLimiter } from "../../core/stores/step-up-limiter.js";
import { createManualClock, type ManualClock } from "../../lib/clock.js";
import { newId } from "../../lib/ids.js";
import { createLimiter } from "../../lib/rate-limit.js";

const PHONE = "+447700900123";
const TRANSFER: TransferBinding = {
  kind: "transfer",
  fromAccountId: "acc_from",
  payee: { toAccountId: "acc_to1234" },
  amount: { currency: "EUR", minorUnits: 2500n },
};

/** No customer here has an authenticator app: every challenge goes by SMS. */
const NO_AUTHENTICATORS: TotpAuthenticators = {
  find: async () => undefined,
  acceptStep: async () => false,
  enroll: async () => undefined,
};

/** An audit port that keeps what it is given, as the trail would (seq and time stamped). */
function recordingAudit(events: NewAuditEvent[]) {
  return {
    record: async (event: NewAuditEvent): Promise<AuditEvent> => {
      events.push(event);
      return {
        ...event,
        attributes: event.attributes ?? {},
        seq: BigInt(events.length),
        occurredAt: 0,
        hash: "",
      };
    },
  };
}

async function failure(promise: Promise<unknown>): Promise<DomainError> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(error instanceof DomainError)) throw new Error(`expected a DomainError, got ${String(error)}`);
  return error;
}

/** Texts per customer per hour in these tests (RATE_LIMIT_STEP_UP_SMS). */
const SMS_PER_HOUR = 4;

describe("step-up (domain, memory stores)", () => {
  let clock: ManualClock;
  let outbox: DevOutbox;
  let stepUp: StepUp;
  let grants: StepUpGrant[];
  let events: NewAuditEvent[];

  beforeEach(() => {
    clock = createManualClock(Date.now());
    outbox = createDevOutboxSender({ clock });
    grants = [];
    events = [];
    // Unique prefix per test: memory limiters of one prefix share no state, but keep it explicit.
    const limiter = createLimiter({
      keyPrefix: `test:rl:stepup:${newId()}`,
      points: 8,
      durationSeconds: 900,
      blockDurationSeconds: 900,
    });
    stepUp = createStepUp({
      challenges: createMemoryChallengeStore({ clock }),
      sender: outbox,
      customers: async (id) => (id === "cus_1" ? { phoneNumber: PHONE } : undefined),
      payees: async (customerId, id) =>
        customerId === "cus_1" && id === "ben_sam" ? { name: "Sam", accountId: "acc_sam9876" } : undefined,
      totp: NO_AUTHENTICATORS,
      audit: recordingAudit(events),
      limiter: createStepUpLimiter(limiter),
      smsGate: createRateGate(
        createLimiter({ keyPrefix: `test:rl:sms:${newId()}`, points: SMS_PER_HOUR, durationSeconds: 3600 }),
        "codes requested",
      ),
      mintToken: async (grant) => {
        grants.push(grant);
        return { token: `token-${grants.length}`, expiresAtMs: clock.now() + 300_000 };
      },
      otpKey: randomBytes(32),
      clock,
      ids: newId,
    });
  });

  const lastCode = async () => {
    const [sms] = await outbox.read(PHONE);
    return /code (\d{6})/.exec(sms?.text ?? "")?.[1] as string;
  };
  const wrong = (code: string) => (code === "000000" ? "111111" : "000000");

  it("should text a code naming amount and payee, and mint a token bound to the transfer", async () => {
    const started = await stepUp.startChallenge("cus_1", "transfer", TRANSFER);
    expect(started.challengeId).to.match(/^chl_/);
    expect(started).to.include({ deliveryMethod: "sms", expiresAtMs: clock.now() + CHALLENGE_TTL_MS });
    const [sms] = await outbox.read(PHONE);
    expect(sms?.text).to.match(/^Teller code \d{6} to send 25\.00 EUR to account ••1234\. Never share it\.$/);
    const granted = await stepUp.verifyChallenge(started.challengeId, await lastCode());
    expect(granted.token).to.equal("token-1");
    expect(grants[0]).to.include({ customerId: "cus_1", purpose: "transfer", method: "sms" });
    expect(grants[0]?.bindingHash).to.equal(bindingHash("transfer", TRANSFER));
    expect(events.map((e) => [e.type, e.outcome, e.customerId])).to.deep.equal([
      ["stepup.challenge_started", "success", "cus_1"],
      ["stepup.verified", "success", "cus_1"],
    ]);
    expect(events[0]?.attributes).to.deep.include({
      method: "sms",
      purpose: "transfer",
      minor_units: "2500",
    });
  });

  it("should give another binding hash for any change of amount, payee or account", () => {
    const base = bindingHash("transfer", TRANSFER);
    const changed: TransferBinding[] = [
      { ...TRANSFER, amount: { currency: "EUR", minorUnits: 2501n } },
      { ...TRANSFER, amount: { currency: "GBP", minorUnits: 2500n } },
      { ...TRANSFER, payee: { toAccountId: "acc_other" } },
      { ...TRANSFER, payee: { beneficiaryId: "acc_to1234" } },
      { ...TRANSFER, fromAccountId: "acc_else" },
    ];
    for (const binding of changed) expect(bindingHash("transfer", binding)).to.not.equal(base);
  });

  it("should accept a code for 5 minutes only", async () => {
    const started = await stepUp.startChallenge("cus_1", "link_channel");
    const code = await lastCode();
    clock.advance(CHALLENGE_TTL_MS);
    const error = await failure(stepUp.verifyChallenge(started.challengeId, code));
    expect(error).to.include({ code: "OTP_INVALID", message: "wrong or expired code", attemptsLeft: 0 });
  });

  it("should accept a code once", async () => {
    const started = await stepUp.startChallenge("cus_1", "view_history");
    const code = await lastCode();
    await stepUp.verifyChallenge(started.challengeId, code);
    const again = await failure(stepUp.verifyChallenge(started.challengeId, code));
    expect(again).to.include({ code: "OTP_INVALID", attemptsLeft: 0 });
  });

  it("should count down tries and kill the challenge at the fifth wrong code", async () => {
    const started = await stepUp.startChallenge("cus_1", "link_channel");
    const code = await lastCode();
    const left: (number | undefined)[] = [];
    for (let i = 0; i < 5; i++)
      left.push((await failure(stepUp.verifyChallenge(started.challengeId, wrong(code)))).attemptsLeft);
    expect(left).to.deep.equal([4, 3, 2, 1, 0]);
    const dead = await failure(stepUp.verifyChallenge(started.challengeId, code));
    expect(dead).to.include({ code: "OTP_INVALID", attemptsLeft: 0, message: "wrong or expired code" });
  });

  it("should never verify challenge B with the code of challenge A", async () => {
    const a = await stepUp.startChallenge("cus_1", "link_channel");
    const codeA = await lastCode();
    const b = await stepUp.startChallenge("cus_1", "link_channel");
    const codeB = await lastCode();
    if (codeA !== codeB) {
      expect((await failure(stepUp.verifyChallenge(b.challengeId, codeA))).attemptsLeft).to.equal(4);
    }
    expect((await stepUp.verifyChallenge(a.challengeId, codeA)).token).to.equal("token-1");
  });

  it("should lock the customer after repeated failures, before comparing the code", async () => {
    const codes: [string, string][] = [];
    for (let i = 0; i < 2; i++) {
      const { challengeId } = await stepUp.startChallenge("cus_1", "link_channel");
      codes.push([challengeId, await lastCode()]);
    }
    const [[first, firstCode], [second, secondCode]] = codes as [[string, string], [string, string]];
    for (let i = 0; i < 5; i++) await failure(stepUp.verifyChallenge(first, wrong(firstCode)));
    for (let i = 0; i < 3; i++) await failure(stepUp.verifyChallenge(second, wrong(secondCode)));
    // 8 attempts spent: even the right code is refused now, with the time to wait.
    const locked = await failure(stepUp.verifyChallenge(second, secondCode));
    expect(locked.code).to.equal("OTP_LOCKED");
    expect(locked.retryAfterMs).to.be.greaterThan(0).and.at.most(900_000);
  });

  it("should forget the customer's failures after a success", async () => {
    for (let round = 0; round < 3; round++) {
      const { challengeId } = await stepUp.startChallenge("cus_1", "link_channel");
      const code = await lastCode();
      for (let i = 0; i < 4; i++) await failure(stepUp.verifyChallenge(challengeId, wrong(code)));
      await stepUp.verifyChallenge(challengeId, code);
    }
    expect(grants).to.have.length(3);
  });

  it("should refuse a binding that does not fit the purpose, and an unknown customer", async () => {
    expect((await failure(stepUp.startChallenge("cus_1", "transfer"))).field).to.equal("binding");
    expect((await failure(stepUp.startChallenge("cus_1", "link_channel", TRANSFER))).field).to.equal(
      "binding",
    );
    expect((await failure(stepUp.startChallenge("cus_9", "link_channel"))).code).to.equal("NOT_FOUND");
  });

  it("should name a saved payee by its name and account in the SMS, and text nothing for another's payee", async () => {
    const toSam = { ...TRANSFER, payee: { beneficiaryId: "ben_sam" } };
    await stepUp.startChallenge("cus_1", "transfer", toSam);
    const [sms] = await outbox.read(PHONE);
    expect(sms?.text).to.match(/ to send 25\.00 EUR to Sam \(account ••9876\)\. Never share it\.$/);
    const refused = await failure(
      stepUp.startChallenge("cus_1", "transfer", { ...TRANSFER, payee: { beneficiaryId: "ben_other" } }),
    );
    expect(refused.code).to.equal("NOT_FOUND");
    expect(await outbox.read(PHONE)).to.have.length(1);
  });

  it("should refuse to text a customer more codes than the hourly limit, sending nothing", async () => {
    for (let i = 0; i < SMS_PER_HOUR; i++) await stepUp.startChallenge("cus_1", "link_channel");
    const refused = await failure(stepUp.startChallenge("cus_1", "link_channel"));
    expect(refused.code).to.equal("RATE_LIMITED");
    expect(refused.message).to.match(/^Too many codes requested; try again in \d+ s\.$/);
    expect(refused.retryAfterMs).to.be.greaterThan(0);
    expect(await outbox.read(PHONE)).to.have.length(SMS_PER_HOUR);
  });

  it("should drop the challenge when the text cannot be sent", async () => {
    const ids: string[] = [];
    const store = createMemoryChallengeStore({ clock });
    const failing = createStepUp({
      challenges: store,
      sender: { send: async () => Promise.reject(new DomainError("UNAVAILABLE", "down")) },
      customers: async () => ({ phoneNumber: PHONE }),
      payees: async () => undefined,
      totp: NO_AUTHENTICATORS,
      audit: recordingAudit([]),
      limiter: { attempt: async () => undefined, reset: async () => undefined },
      smsGate: { consume: async () => undefined },
      mintToken: async () => ({ token: "t", expiresAtMs: 0 }),
      otpKey: randomBytes(32),
      clock,
      ids: (prefix) => {
        ids.push(newId(prefix));
        return ids.at(-1) as string;
      },
    });
    expect((await failure(failing.startChallenge("cus_1", "link_channel"))).code).to.equal("UNAVAILABLE");
    expect(await store.get(ids[0] as string)).to.equal(undefined);
  });
});
