import type { Clock } from "../../lib/clock.js";
import type { IdSource } from "../../lib/ids.js";
import { formatMoney } from "../../lib/money.js";
import { hashOtpCode, newOtpCode, verifyOtpCode } from "../../lib/otp-code.js";
import { DomainError, invalidArgument } from "./errors.js";
import {
  BINDING_OF,
  type Binding,
  bindingHash,
  type ChallengeStore,
  type CustomerDirectory,
  type DeliveryMethod,
  type OtpSender,
  type Payee,
  type Purpose,
  type StepUpLimiter,
  type StepUpTokenMinter,
} from "./step-up-ports.js";

/** How long a code works: 5 minutes (DESIGN.md Identity; within NIST 63B §5.1.3.2's 10 minutes). */
export const CHALLENGE_TTL_MS = 5 * 60_000;
/** Wrong codes a challenge survives: 5, then it is dead (PSD2 RTS art. 4(3)(b), security.md P-4). */
export const MAX_CHALLENGE_ATTEMPTS = 5;
/** The only thing a failed code is ever told (PSD2 RTS art. 4(3)(a), security.md P-3). */
const WRONG_CODE = "wrong or expired code";

/** Collaborators of createStepUp. */
export interface StepUpDeps {
  readonly challenges: ChallengeStore;
  readonly sender: OtpSender;
  readonly customers: CustomerDirectory;
  readonly limiter: StepUpLimiter;
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

/** A step-up token, as VerifyChallenge answers it. */
export interface StepUpToken {
  readonly token: string;
  readonly expiresAtMs: number;
}

/** The step-up use cases. */
export interface StepUp {
  /** Sends a fresh code for one purpose (and binding) to the customer's registered phone. */
  startChallenge(customerId: string, purpose: Purpose, binding?: Binding): Promise<StartedChallenge>;
  /** Checks a code; mints a token, or throws OTP_INVALID (with attemptsLeft) or OTP_LOCKED. */
  verifyChallenge(challengeId: string, code: string): Promise<StepUpToken>;
}

/**
 * Creates the step-up use cases (issue 5 item 1). A code is 6 CSPRNG digits kept only as a keyed
 * hash bound to its challenge id, so a code for challenge A never verifies challenge B (ASVS 4
 * 2.7.3); it works once, for 5 minutes and 5 tries; the customer's lockout is checked before the
 * code is compared.
 */
export function createStepUp(deps: StepUpDeps): StepUp {
  return {
    startChallenge: (customerId, purpose, binding) => startChallenge(deps, customerId, purpose, binding),
    verifyChallenge: (challengeId, code) => verifyChallenge(deps, challengeId, code),
  };
}

async function startChallenge(
  deps: StepUpDeps,
  customerId: string,
  purpose: Purpose,
  binding: Binding | undefined,
): Promise<StartedChallenge> {
  if (binding?.kind !== BINDING_OF[purpose]) {
    throw invalidArgument("binding", `does not fit purpose ${purpose}`);
  }
  const customer = await deps.customers(customerId);
  if (!customer) throw new DomainError("NOT_FOUND", "No such customer.");
  const id = deps.ids("chl_");
  const code = newOtpCode();
  const expiresAtMs = deps.clock.now() + CHALLENGE_TTL_MS;
  await deps.challenges.create(
    {
      id,
      customerId,
      purpose,
      bindingHash: binding && bindingHash(purpose, binding),
      codeHash: hashOtpCode(deps.otpKey, id, code),
      method: "sms",
      expiresAtMs,
    },
    CHALLENGE_TTL_MS,
  );
  try {
    const deliveryMethod = await deps.sender.send(customer.phoneNumber, smsText(code, purpose, binding));
    return { challengeId: id, deliveryMethod, expiresAtMs };
  } catch (err) {
    // A code that never arrived must not stay guessable.
    await deps.challenges.delete(id);
    throw err;
  }
}

async function verifyChallenge(deps: StepUpDeps, challengeId: string, code: string): Promise<StepUpToken> {
  const challenge = await deps.challenges.get(challengeId);
  const now = deps.clock.now();
  if (!challenge || challenge.expiresAtMs <= now) throw wrongCode(0);
  // Before the comparison, and counting every attempt: concurrent guesses are bounded atomically
  // by the limiter's store, across challenges and sessions (RFC 4226 §7.3, security.md OTP-3, RL-8).
  await deps.limiter.attempt(challenge.customerId);
  if (!verifyOtpCode(deps.otpKey, challengeId, code, challenge.codeHash)) {
    throw wrongCode(await deps.challenges.recordFailure(challengeId, MAX_CHALLENGE_ATTEMPTS));
  }
  // Accepted once (PSD2 RTS art. 4(1), RFC 6238 §5.2): a concurrent second correct submission loses.
  if (!(await deps.challenges.consume(challengeId))) throw wrongCode(0);
  await deps.limiter.reset(challenge.customerId);
  return deps.mintToken({
    customerId: challenge.customerId,
    purpose: challenge.purpose,
    bindingHash: challenge.bindingHash,
    method: challenge.method,
    challengeId,
    authTime: now,
  });
}

function wrongCode(attemptsLeft: number): DomainError {
  return new DomainError("OTP_INVALID", WRONG_CODE, { attemptsLeft });
}

/**
 * The SMS text. For a transfer it names the amount and the payee, so the customer sees what the
 * code authorises (PSD2 RTS art. 5(1)(a), OWASP TA-1); account ids show their last 4 characters.
 */
export function smsText(code: string, purpose: Purpose, binding?: Binding): string {
  return `Teller code ${code} to ${action(purpose, binding)}. Never share it.`;
}

function action(purpose: Purpose, binding: Binding | undefined): string {
  if (binding?.kind === "transfer") {
    return `send ${formatMoney(binding.amount)} to ${payeeText(binding.payee)}`;
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
