import type { Clock } from "../../lib/clock.js";
import type { IdSource } from "../../lib/ids.js";
import { formatMoney } from "../../lib/money.js";
import { hashOtpCode, newOtpCode, verifyOtpCode } from "../../lib/otp-code.js";
import type { AuditLog } from "./audit.js";
import type { RateGate } from "./conversation-ports.js";
import { DomainError, invalidArgument } from "./errors.js";
import { bindingAttributes, stepUpEvent } from "./step-up-audit.js";
import {
  BINDING_OF,
  type Binding,
  bindingHash,
  type ChallengeStore,
  type CustomerDirectory,
  type DeliveryMethod,
  type OtpSender,
  type Payee,
  type PayeeDirectory,
  type PayeeName,
  type Purpose,
  type StepUpLimiter,
  type StepUpTokenMinter,
  type StoredChallenge,
} from "./step-up-ports.js";
import { checkTotpCode, type TotpAuthenticators, type TotpVerdict } from "./totp.js";

/** How long a challenge works: 5 minutes (DESIGN.md Identity; within NIST 63B §5.1.3.2's 10 minutes). */
export const CHALLENGE_TTL_MS = 5 * 60_000;
/** Wrong codes a challenge survives: 5, then it is dead (PSD2 RTS art. 4(3)(b), security.md P-4). */
export const MAX_CHALLENGE_ATTEMPTS = 5;
/** The only thing a failed code is ever told (PSD2 RTS art. 4(3)(a), security.md P-3). */
const WRONG_CODE = "wrong or expired code";
/** The code hash of a TOTP challenge: there is no server-side code; it is never compared. */
const NO_CODE = "";

/** Collaborators of createStepUp. */
export interface StepUpDeps {
  readonly challenges: ChallengeStore;
  readonly sender: OtpSender;
  readonly customers: CustomerDirectory;
  /** A customer's saved payee by id, so a transfer's SMS names the payee (PSD2 RTS art. 5(1)(a)). */
  readonly payees: PayeeDirectory;
  /** Enrolled authenticator apps: a customer with one gets TOTP challenges, never an SMS. */
  readonly totp: TotpAuthenticators;
  /** The audit trail every start, success, failure, reuse and lockout is appended to. */
  readonly audit: Pick<AuditLog, "record">;
  readonly limiter: StepUpLimiter;
  /**
   * Texts per customer: consumed before an SMS is sent, RATE_LIMITED when spent, so nobody can
   * pump SMS to a customer's phone (toll fraud, SMS bombing) by starting challenge after challenge.
   */
  readonly smsGate: RateGate;
  readonly mintToken: StepUpTokenMinter;
  /** Key of the codes' HMAC, at least 32 bytes (STEP_UP_OTP_KEY). */
  readonly otpKey: Uint8Array;
  readonly clock: Clock;
  readonly ids: IdSource;
}

/** A started challenge, as StartChallenge answers it. */
export interface StartedChallenge {
  readonly challengeId: string;
  readonly deliveryMethod: DeliveryMethod;
  readonly expiresAtMs: number;
}

/** How a challenge may be delivered. */
export interface ChallengeOptions {
  /**
   * The phone number of the SMS conversation asking for the step-up, if it is one: an SMS code
   * to that same number is refused with STEP_UP_UNAVAILABLE (a TOTP challenge is still fine).
   */
  readonly chatPhone?: string;
}

/** A step-up token, as VerifyChallenge answers it. */
export interface StepUpToken {
  readonly token: string;
  readonly expiresAtMs: number;
}

/** The step-up use cases. */
export interface StepUp {
  /**
   * Opens a challenge for one purpose (and binding): by the customer's authenticator app when one
   * is enrolled, else a fresh code sent to their registered phone.
   */
  startChallenge(
    customerId: string,
    purpose: Purpose,
    binding?: Binding,
    options?: ChallengeOptions,
  ): Promise<StartedChallenge>;
  /** Checks a code; mints a token, or throws OTP_INVALID (with attemptsLeft) or OTP_LOCKED. */
  verifyChallenge(challengeId: string, code: string): Promise<StepUpToken>;
}

/**
 * Creates the step-up use cases (issue 5 item 1). An SMS code is 6 CSPRNG digits kept only as a
 * keyed hash bound to its challenge id, so a code for challenge A never verifies challenge B
 * (ASVS 4 2.7.3); a TOTP code is checked against the customer's authenticator and each of its
 * time steps works once (core/domain/totp.ts). Either way a challenge works once, for 5 minutes
 * and 5 tries, and the customer's lockout is checked before the code is compared.
 *
 * Every step is audited (stepup.challenge_started, .verified, .failed, .totp_reused, .locked).
 * A failed audit write fails the call, fail closed (ASVS 5 16.5.3): no challenge is left open and
 * no token leaves that the trail does not know of; a refused code stays refused and counted, the
 * caller then sees UNAVAILABLE instead of the tries left. The events never hold the code or token.
 */
export function createStepUp(deps: StepUpDeps): StepUp {
  return {
    startChallenge: (customerId, purpose, binding, options) =>
      startChallenge(deps, customerId, purpose, binding, options),
    verifyChallenge: (challengeId, code) => verifyChallenge(deps, challengeId, code),
  };
}

async function startChallenge(
  deps: StepUpDeps,
  customerId: string,
  purpose: Purpose,
  binding: Binding | undefined,
  options: ChallengeOptions = {},
): Promise<StartedChallenge> {
  if (binding?.kind !== BINDING_OF[purpose]) {
    throw invalidArgument("binding", `does not fit purpose ${purpose}`);
  }
  const customer = await deps.customers(customerId);
  if (!customer) throw new DomainError("NOT_FOUND", "No such customer.");
  // An enrolled app wins over SMS, which NIST 63B §5.1.3.3 calls RESTRICTED (security.md N-5, N-6,
  // MFA-5): then no text is sent at all.
  const payee = await payeeOf(deps, customerId, binding);
  const totp = (await deps.totp.find(customerId)) !== undefined;
  if (!totp && options.chatPhone !== undefined && options.chatPhone === customer.phoneNumber) {
    // The code would land in the very chat it is meant to protect (issue 6 item 5; NIST 63B
    // §5.1.3.1: an out-of-band code goes over a separate channel).
    throw new DomainError(
      "STEP_UP_UNAVAILABLE",
      "A one-time code cannot be sent to the chat that asks for it; enrol an authenticator app or use another channel.",
    );
  }
  if (!totp) await deps.smsGate.consume(customerId);
  const id = deps.ids("chl_");
  const code = totp ? undefined : newOtpCode();
  const challenge: StoredChallenge = {
    id,
    customerId,
    purpose,
    bindingHash: binding && bindingHash(purpose, binding),
    codeHash: code === undefined ? NO_CODE : hashOtpCode(deps.otpKey, id, code),
    method: totp ? "totp" : "sms",
    expiresAtMs: deps.clock.now() + CHALLENGE_TTL_MS,
  };
  await deps.challenges.create(challenge, CHALLENGE_TTL_MS);
  try {
    const deliveryMethod =
      code === undefined
        ? challenge.method
        : await deps.sender.send(customer.phoneNumber, smsText(code, purpose, binding, payee));
    await deps.audit.record(stepUpEvent("stepup.challenge_started", challenge, bindingAttributes(binding)));
    return { challengeId: id, deliveryMethod, expiresAtMs: challenge.expiresAtMs };
  } catch (err) {
    // A code that never arrived, or a challenge the trail does not know of, must not stay usable.
    await deps.challenges.delete(id);
    throw err;
  }
}

async function verifyChallenge(deps: StepUpDeps, challengeId: string, code: string): Promise<StepUpToken> {
  const challenge = await deps.challenges.get(challengeId);
  const now = deps.clock.now();
  // No customer to attribute an unknown or expired id to: the rpc log line records the attempt.
  if (!challenge || challenge.expiresAtMs <= now) throw wrongCode(0);
  await attempt(deps, challenge);
  const verdict = await checkCode(deps, challenge, code, now);
  if (verdict !== "accepted") {
    const attemptsLeft = await deps.challenges.recordFailure(challengeId, MAX_CHALLENGE_ATTEMPTS);
    // A reused TOTP counts as a failure like any wrong code, and reads the same to the caller;
    // only the trail tells it apart (ASVS 4 2.8.5).
    const type = verdict === "reused" ? "stepup.totp_reused" : "stepup.failed";
    await deps.audit.record(stepUpEvent(type, challenge, { attempts_left: String(attemptsLeft) }));
    throw wrongCode(attemptsLeft);
  }
  // Accepted once (PSD2 RTS art. 4(1), RFC 6238 §5.2): a concurrent second correct submission loses.
  if (!(await deps.challenges.consume(challengeId))) {
    await deps.audit.record(stepUpEvent("stepup.failed", challenge, { attempts_left: "0" }));
    throw wrongCode(0);
  }
  const granted = await deps.mintToken({
    customerId: challenge.customerId,
    purpose: challenge.purpose,
    bindingHash: challenge.bindingHash,
    method: challenge.method,
    challengeId,
    authTime: now,
  });
  // Before the token leaves: when the write fails the token is dropped, never handed out untraced.
  await deps.audit.record(stepUpEvent("stepup.verified", challenge));
  await deps.limiter.reset(challenge.customerId);
  return granted;
}

/**
 * Counts the attempt before any comparison, across challenges and sessions, so concurrent guesses
 * are bounded atomically by the limiter's store (RFC 4226 §7.3, security.md OTP-3, RL-8); a
 * refusal is audited as "stepup.locked".
 */
async function attempt(deps: StepUpDeps, challenge: StoredChallenge): Promise<void> {
  try {
    await deps.limiter.attempt(challenge.customerId);
  } catch (err) {
    if (err instanceof DomainError && err.code === "OTP_LOCKED") {
      const retry = { retry_after_ms: String(Math.ceil(err.retryAfterMs ?? 0)) };
      await deps.audit.record(stepUpEvent("stepup.locked", challenge, retry));
    }
    throw err;
  }
}

async function checkCode(
  deps: StepUpDeps,
  challenge: StoredChallenge,
  code: string,
  now: number,
): Promise<TotpVerdict> {
  if (challenge.method === "totp") return checkTotpCode(deps.totp, challenge.customerId, code, now);
  return verifyOtpCode(deps.otpKey, challenge.id, code, challenge.codeHash) ? "accepted" : "wrong";
}

/**
 * The saved payee a transfer binding names, checked to be the customer's own before any code is
 * sent: a code for someone else's payee could never be used, so none is texted.
 */
async function payeeOf(
  deps: StepUpDeps,
  customerId: string,
  binding: Binding | undefined,
): Promise<PayeeName | undefined> {
  if (binding?.kind !== "transfer" || !("beneficiaryId" in binding.payee)) return undefined;
  const payee = await deps.payees(customerId, binding.payee.beneficiaryId);
  if (!payee) throw new DomainError("NOT_FOUND", "The payee does not exist.");
  return payee;
}

function wrongCode(attemptsLeft: number): DomainError {
  return new DomainError("OTP_INVALID", WRONG_CODE, { attemptsLeft });
}

/**
 * The SMS text. For a transfer it names the amount and the payee, so the customer sees what the
 * code authorises (PSD2 RTS art. 5(1)(a), OWASP TA-1); account ids show their last 4 characters.
 */
export function smsText(code: string, purpose: Purpose, binding?: Binding, payee?: PayeeName): string {
  return `Teller code ${code} to ${action(purpose, binding, payee)}. Never share it.`;
}

function action(purpose: Purpose, binding: Binding | undefined, payee: PayeeName | undefined): string {
  if (binding?.kind === "transfer") {
    const to = payee ? `${payee.name} (account ${tail(payee.accountId)})` : payeeText(binding.payee);
    return `send ${formatMoney(binding.amount)} to ${to}`;
  }
  if (binding?.kind === "beneficiary")
    return `add payee ${binding.name} (account ${tail(binding.accountId)})`;
  return purpose === "link_channel" ? "link a chat to your bank profile" : "view your transaction history";
}

function payeeText(payee: Payee): string {
  return "toAccountId" in payee
    ? `account ${tail(payee.toAccountId)}`
    : `saved payee ${tail(payee.beneficiaryId)}`;
}

function tail(id: string): string {
  return `••${id.slice(-4)}`;
}
