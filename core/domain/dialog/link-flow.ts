import { MAX_CHALLENGE_ATTEMPTS } from "../step-up.js";
import {
  checkCode,
  done,
  type FlowDeps,
  type FlowResult,
  type FlowTurn,
  readCode,
  wait,
  wrongCode,
} from "./flow.js";
import {
  ALREADY_LINKED,
  ASK_CUSTOMER_NUMBER,
  BAD_CUSTOMER_NUMBER,
  CANCEL_ONLY,
  codeAgainText,
  FAILED_TEXT,
  LINK_CODE_SENT,
  linkedText,
} from "./flow-text.js";
import type { LinkPending } from "./pending.js";
import { MENU, reply } from "./replies.js";

/** A customer number as the ledger issues them: "cus_" and 22 base64url characters. */
const CUSTOMER_NUMBER = /\bcus_[A-Za-z0-9_-]{22}\b/;

/**
 * "link my account" for a chat the bank does not recognise (Telegram, Messenger, Instagram, web,
 * or a phone number other than the registered one): the customer number, then a code sent to the
 * phone registered with it (DESIGN.md, Identity). The code never goes to the chat that asked.
 */
export function startLink(turn: FlowTurn): FlowResult {
  if (turn.profile) return done(reply(ALREADY_LINKED, MENU));
  return wait(
    { kind: "link", step: "customer_number", expiresAtMs: 0 },
    reply(ASK_CUSTOMER_NUMBER, CANCEL_ONLY),
  );
}

/** The next step of a pending link. */
export async function continueLink(
  deps: FlowDeps,
  turn: FlowTurn,
  pending: LinkPending,
): Promise<FlowResult> {
  if (pending.step === "customer_number") return sendCode(deps, turn, pending);
  if (!pending.challengeId || !pending.customerId) return decoy(turn, pending);
  const check = await checkCode(deps, turn, pending, pending.challengeId);
  if ("result" in check) return check.result;
  const customer = await deps.ledger.getCustomer(pending.customerId);
  if (!customer) return done(reply(FAILED_TEXT));
  await deps.links.link({ subjectId: turn.subjectId, channel: turn.channel, customerId: customer.id });
  return done(reply(linkedText(customer.displayName), MENU));
}

/**
 * Starts a challenge when the number names a customer; otherwise a decoy that answers exactly
 * as a real one would, so the chat learns nothing about which numbers exist.
 */
async function sendCode(deps: FlowDeps, turn: FlowTurn, pending: LinkPending): Promise<FlowResult> {
  const customerId = CUSTOMER_NUMBER.exec(turn.text ?? "")?.[0];
  if (!customerId) return wait(pending, reply(BAD_CUSTOMER_NUMBER, CANCEL_ONLY));
  const customer = await deps.ledger.getCustomer(customerId);
  if (!customer) {
    return wait(
      { ...pending, step: "code", decoyTriesLeft: MAX_CHALLENGE_ATTEMPTS },
      reply(LINK_CODE_SENT, CANCEL_ONLY),
    );
  }
  const challenge = await deps.stepUp.startChallenge(customer.id, "link_channel", undefined, {
    chatPhone: turn.chatPhone,
  });
  return wait(
    { ...pending, step: "code", challengeId: challenge.challengeId, customerId: customer.id },
    reply(LINK_CODE_SENT, CANCEL_ONLY),
  );
}

/** A wrong code on a decoy: the same words and the same count as a real challenge. */
function decoy(turn: FlowTurn, pending: LinkPending): FlowResult {
  if (!readCode(turn.text)) return wait(pending, reply(codeAgainText(), CANCEL_ONLY));
  const left = (pending.decoyTriesLeft ?? 1) - 1;
  return wrongCode({ ...pending, decoyTriesLeft: left }, left);
}
