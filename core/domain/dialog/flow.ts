import type { IdSource } from "../../../lib/ids.js";
import type { Channel } from "../channel.js";
import type { Reply } from "../conversation-ports.js";
import { DomainError } from "../errors.js";
import type { CustomerProfile, LedgerStore } from "../ledger.js";
import type { ChannelLinks } from "../links.js";
import type { Payments } from "../payments.js";
import type { StepUp } from "../step-up.js";
import type { DeliveryMethod } from "../step-up-ports.js";
import { CANCEL_ONLY, codeAgainText, codeSentText, LOCKED_TEXT, WRONG_CODE_FINAL } from "./flow-text.js";
import type { Intent } from "./intent.js";
import type { Pending, PendingStore } from "./pending.js";
import { reply } from "./replies.js";

/** What the dialog's flows need: reads, step-up, payments and links, all through domain ports. */
export interface FlowDeps {
  readonly ledger: Pick<
    LedgerStore,
    "listPostings" | "getCustomer" | "getAccount" | "listBeneficiaries" | "getBeneficiary"
  >;
  readonly stepUp: StepUp;
  readonly payments: Payments;
  readonly links: ChannelLinks;
  readonly pending: PendingStore;
  readonly ids: IdSource;
  readonly now: () => number;
}

/** One message as the flows see it. */
export interface FlowTurn {
  readonly subjectId: string;
  readonly channel: Channel;
  readonly intent: Intent;
  /** The message text, card numbers masked; absent for a quick-reply tap. */
  readonly text?: string;
  /** The sender's number when this chat is an SMS conversation: codes must not go back into it. */
  readonly chatPhone?: string;
  /** The customer, when this chat is known; flows other than linking require one. */
  readonly profile?: CustomerProfile;
}

/** What a flow step answers, and the pending operation that follows (none: the flow ended). */
export interface FlowResult {
  readonly replies: readonly Reply[];
  readonly next?: Pending;
}

/** Ends the flow with these replies. */
export function done(...replies: Reply[]): FlowResult {
  return { replies };
}

/** Stays in (or moves to) `next`, answering with these replies. */
export function wait(next: Pending, ...replies: Reply[]): FlowResult {
  return { replies, next };
}

/** A 6-digit code as typed: "123456", "123 456" or "123-456"; undefined for anything else. */
export function readCode(text: string | undefined): string | undefined {
  const match = /^\s*(\d{3})[\s-]?(\d{3})\s*$/.exec(text ?? "");
  return match ? `${match[1]}${match[2]}` : undefined;
}

/** The reply that asks for the code, naming how it was delivered. */
export function askForCode(method: DeliveryMethod, action: string): Reply {
  return reply(codeSentText(method, action), CANCEL_ONLY);
}

/** The outcome of checking a code: a step-up token, or the flow's answer when there is none. */
export type CodeCheck = { readonly token: string } | { readonly result: FlowResult };

/**
 * Checks the code in `turn` against a challenge. A message that is not a code asks again and
 * keeps the operation; a wrong code says only "wrong or expired" and the tries left (PSD2 RTS
 * art. 4(3)(a)); a dead challenge or a locked customer ends the operation.
 */
export async function checkCode(
  deps: FlowDeps,
  turn: FlowTurn,
  pending: Pending,
  challengeId: string,
): Promise<CodeCheck> {
  const code = readCode(turn.text);
  if (!code) return { result: wait(pending, reply(codeAgainText(), CANCEL_ONLY)) };
  try {
    return { token: (await deps.stepUp.verifyChallenge(challengeId, code)).token };
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    if (err.code === "OTP_INVALID") return { result: wrongCode(pending, err.attemptsLeft ?? 0) };
    if (err.code === "OTP_LOCKED") return { result: done(reply(LOCKED_TEXT)) };
    throw err;
  }
}

/** The answer to a wrong code: tries left, or the end of the operation when none are. */
export function wrongCode(pending: Pending, attemptsLeft: number): FlowResult {
  if (attemptsLeft <= 0) return done(reply(WRONG_CODE_FINAL));
  return wait(pending, reply(codeAgainText(attemptsLeft), CANCEL_ONLY));
}
