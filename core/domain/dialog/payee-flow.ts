import { DomainError } from "../errors.js";
import type { CustomerProfile } from "../ledger.js";
import { askForCode, checkCode, done, type FlowDeps, type FlowResult, type FlowTurn, wait } from "./flow.js";
import {
  ASK_PAYEE_ACCOUNT,
  ASK_PAYEE_NAME,
  CANCEL_ONLY,
  CONFIRM_OR_CANCEL,
  confirmPayeeText,
  FAILED_TEXT,
  PAYEE_EXISTS,
  PLEASE_CONFIRM,
  payeeAction,
  payeeSavedText,
  UNKNOWN_ACCOUNT,
} from "./flow-text.js";
import { ACCOUNT_ID } from "./intent.js";
import type { PayeePending } from "./pending.js";
import { MENU, reply } from "./replies.js";

/**
 * "add payee": name, account, a confirmation that repeats both, then a code bound to exactly that
 * name and account (PSD2 RTS art. 13(1), security.md P-8). Details given up front
 * ("add payee Bob acc_…") skip their questions.
 */
export async function startAddPayee(
  deps: FlowDeps,
  details: { name?: string; accountId?: string },
): Promise<FlowResult> {
  return advance(deps, { kind: "add_payee", step: "name", ...details, expiresAtMs: 0 });
}

/** The next step of a pending add-payee. */
export async function continueAddPayee(
  deps: FlowDeps,
  turn: FlowTurn,
  pending: PayeePending,
): Promise<FlowResult> {
  const profile = turn.profile;
  if (!profile) return done(reply(FAILED_TEXT));
  const text = turn.text?.replace(/\s+/g, " ").trim() ?? "";
  switch (pending.step) {
    case "name":
      if (text === "" || [...text].length > 70) return wait(pending, reply(ASK_PAYEE_NAME, CANCEL_ONLY));
      return advance(deps, { ...pending, name: text });
    case "account": {
      const accountId = ACCOUNT_ID.exec(text)?.[0];
      if (!accountId) return wait(pending, reply(ASK_PAYEE_ACCOUNT, CANCEL_ONLY));
      return advance(deps, { ...pending, accountId });
    }
    case "confirm":
      return confirmed(deps, turn, profile, pending);
    case "code":
      return save(deps, turn, profile, pending);
  }
}

/** Asks for what is still missing, checks the account exists, then asks for confirmation. */
async function advance(deps: FlowDeps, pending: PayeePending): Promise<FlowResult> {
  if (!pending.name) return wait({ ...pending, step: "name" }, reply(ASK_PAYEE_NAME, CANCEL_ONLY));
  if (!pending.accountId) return wait({ ...pending, step: "account" }, reply(ASK_PAYEE_ACCOUNT, CANCEL_ONLY));
  const account = await deps.ledger.getAccount(pending.accountId);
  if (!account) {
    const { accountId: _unknown, ...rest } = pending;
    return wait({ ...rest, step: "account" }, reply(UNKNOWN_ACCOUNT, CANCEL_ONLY));
  }
  return wait(
    { ...pending, step: "confirm" },
    reply(confirmPayeeText(pending.name, pending.accountId), CONFIRM_OR_CANCEL),
  );
}

async function confirmed(
  deps: FlowDeps,
  turn: FlowTurn,
  profile: CustomerProfile,
  pending: PayeePending,
): Promise<FlowResult> {
  if (turn.intent.kind !== "confirm") return wait(pending, reply(PLEASE_CONFIRM, CONFIRM_OR_CANCEL));
  const name = pending.name ?? "";
  const accountId = pending.accountId ?? "";
  const challenge = await deps.stepUp.startChallenge(
    profile.customer.id,
    "add_beneficiary",
    {
      kind: "beneficiary",
      name,
      accountId,
    },
    { chatPhone: turn.chatPhone },
  );
  return wait(
    { ...pending, step: "code", challengeId: challenge.challengeId },
    askForCode(challenge.deliveryMethod, payeeAction(name, accountId)),
  );
}

async function save(
  deps: FlowDeps,
  turn: FlowTurn,
  profile: CustomerProfile,
  pending: PayeePending,
): Promise<FlowResult> {
  const check = await checkCode(deps, turn, pending, pending.challengeId ?? "");
  if ("result" in check) return check.result;
  const name = pending.name ?? "";
  try {
    await deps.payments.addBeneficiary({
      customerId: profile.customer.id,
      name,
      accountId: pending.accountId ?? "",
      stepUpToken: check.token,
    });
  } catch (err) {
    if (err instanceof DomainError && err.code === "ALREADY_EXISTS") return done(reply(PAYEE_EXISTS, MENU));
    if (err instanceof DomainError && err.code !== "UNAVAILABLE") return done(reply(FAILED_TEXT, MENU));
    throw err;
  }
  return done(reply(payeeSavedText(name), MENU));
}
