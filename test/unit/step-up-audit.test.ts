import { randomBytes } from "node:crypto";
import { expect } from "chai";
import type { AuditEvent, NewAuditEvent } from "../../core/domain/audit.js";
import { DomainError } from "../../core/domain/errors.js";
import { createStepUp, type StepUp } from "../../core/domain/step-up.js";
import type { BeneficiaryBinding, ChallengeStore } from "../../core/domain/step-up-ports.js";
import type { TotpAuthenticators } from "../../core/domain/totp.js";
import { createMemoryChallengeStore } from "../../core/stores/memory/challenge-store.js";
import { createDevOutboxSender, type DevOutbox } from "../../core/stores/otp/dev-outbox-sender.js";
import { createManualClock, type ManualClock } from "../../lib/clock.js";
import { newId } from "../../lib/ids.js";
import { newTotpSecret, totp } from "../../lib/totp.js";

const PHONE = "+447700900321";
const PAYEE: BeneficiaryBinding = {
  kind: "beneficiary",
  name: "Zebedee Quartermain",
  accountId: "acc_payee42",
};

/** One customer, "cus_1"; `enrolled` gives them an authenticator app, kept in memory. */
function memoryAuthenticators(secret?: Uint8Array): TotpAuthenticators {
  let lastStep: bigint | undefined;
  return {
    find: async () => (secret ? { secret, lastStep } : undefined),
    acceptStep: async (_customerId, step) => {
      if (lastStep !== undefined && step <= lastStep) return false;
      lastStep = step;
      return true;
    },
    enroll: async () => undefined,
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

describe("step-up audit events (domain, memory stores)", () => {
  let clock: ManualClock;
  let outbox: DevOutbox;
  let events: NewAuditEvent[];
  /** Event types whose write fails, as a database outage would. */
  let failing: Set<string>;
  let tokens: string[];
  let challenges: ChallengeStore;
  let issued: string[];

  const create = (authenticators = memoryAuthenticators()): StepUp =>
    createStepUp({
      challenges,
      sender: outbox,
      customers: async (id) => (id === "cus_1" ? { phoneNumber: PHONE } : undefined),
      payees: async () => undefined,
      totp: authenticators,
      audit: {
        record: async (event): Promise<AuditEvent> => {
          if (failing.has(event.type))
            throw new DomainError("UNAVAILABLE", "The audit trail is unavailable.");
          events.push(event);
          return { ...event, attributes: event.attributes ?? {}, seq: 1n, occurredAt: clock.now(), hash: "" };
        },
      },
      limiter: { attempt: async () => undefined, reset: async () => undefined },
      smsGate: { consume: async () => undefined },
      mintToken: async () => {
        tokens.push(`token-${newId()}`);
        return { token: tokens.at(-1) as string, expiresAtMs: clock.now() + 300_000 };
      },
      otpKey: randomBytes(32),
      clock,
      ids: (prefix) => {
        issued.push(newId(prefix));
        return issued.at(-1) as string;
      },
    });
  const smsCode = async () => /code (\d{6})/.exec((await outbox.read(PHONE))[0]?.text ?? "")?.[1] as string;
  const wrong = (code: string) => (code === "000000" ? "111111" : "000000");

  beforeEach(() => {
    clock = createManualClock(Date.UTC(2026, 5, 1, 12, 0, 10));
    outbox = createDevOutboxSender({ clock });
    events = [];
    failing = new Set();
    tokens = [];
    challenges = createMemoryChallengeStore({ clock });
    issued = [];
  });

  it("should record start, failure and success with ids, never the code, the token or the payee's name", async () => {
    const stepUp = create();
    const { challengeId } = await stepUp.startChallenge("cus_1", "add_beneficiary", PAYEE);
    const code = await smsCode();
    await failure(stepUp.verifyChallenge(challengeId, wrong(code)));
    const { token } = await stepUp.verifyChallenge(challengeId, code);
    expect(events.map((e) => [e.type, e.outcome, e.customerId])).to.deep.equal([
      ["stepup.challenge_started", "success", "cus_1"],
      ["stepup.failed", "failure", "cus_1"],
      ["stepup.verified", "success", "cus_1"],
    ]);
    expect(events[0]?.attributes).to.deep.equal({
      challenge_id: challengeId,
      purpose: "add_beneficiary",
      method: "sms",
      payee_account_id: "acc_payee42",
    });
    expect(events[1]?.attributes?.attempts_left).to.equal("4");
    const text = JSON.stringify(events);
    for (const secret of [code, wrong(code), token, PAYEE.name]) expect(text).to.not.include(secret);
  });

  it("should hand out no token when the success cannot be audited", async () => {
    const stepUp = create();
    const { challengeId } = await stepUp.startChallenge("cus_1", "view_history");
    failing.add("stepup.verified");
    const error = await failure(stepUp.verifyChallenge(challengeId, await smsCode()));
    expect(error.code).to.equal("UNAVAILABLE");
    expect(error.message).to.not.match(/\d{6}/);
    // The challenge is spent: the token that was signed is never returned or usable again.
    failing.clear();
    expect((await failure(stepUp.verifyChallenge(challengeId, await smsCode()))).code).to.equal(
      "OTP_INVALID",
    );
  });

  it("should drop a challenge whose start cannot be audited", async () => {
    const stepUp = create();
    failing.add("stepup.challenge_started");
    const started = stepUp.startChallenge("cus_1", "view_history");
    expect((await failure(started)).code).to.equal("UNAVAILABLE");
    expect(events).to.deep.equal([]);
    expect(issued).to.have.length(1);
    expect(await challenges.get(issued[0] as string)).to.equal(undefined);
  });

  it("should still count a wrong code when its failure cannot be audited", async () => {
    const stepUp = create();
    const { challengeId } = await stepUp.startChallenge("cus_1", "view_history");
    const code = await smsCode();
    failing.add("stepup.failed");
    expect((await failure(stepUp.verifyChallenge(challengeId, wrong(code)))).code).to.equal("UNAVAILABLE");
    failing.clear();
    expect((await failure(stepUp.verifyChallenge(challengeId, wrong(code)))).attemptsLeft).to.equal(3);
  });

  it("should audit a reused TOTP code as stepup.totp_reused and answer it like a wrong code", async () => {
    const secret = newTotpSecret();
    const stepUp = create(memoryAuthenticators(secret));
    const code = totp(secret, clock.now());
    const first = await stepUp.startChallenge("cus_1", "view_history");
    expect(first.deliveryMethod).to.equal("totp");
    expect(await outbox.read(PHONE)).to.deep.equal([]);
    await stepUp.verifyChallenge(first.challengeId, code);
    const second = await stepUp.startChallenge("cus_1", "view_history");
    const reused = await failure(stepUp.verifyChallenge(second.challengeId, code));
    expect(reused).to.include({ code: "OTP_INVALID", message: "wrong or expired code", attemptsLeft: 4 });
    expect(events.map((e) => e.type)).to.deep.equal([
      "stepup.challenge_started",
      "stepup.verified",
      "stepup.challenge_started",
      "stepup.totp_reused",
    ]);
    expect(events[3]?.attributes).to.include({ method: "totp", attempts_left: "4" });
    expect(JSON.stringify(events)).to.not.include(code);
  });
});
