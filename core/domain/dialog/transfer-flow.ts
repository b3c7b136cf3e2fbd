import type { Money } from "../../../lib/money.js";
import type { QuickReply } from "../conversation-ports.js";
import { DomainError } from "../errors.js";
import type { Account, Beneficiary, CustomerProfile, Transfer } from "../ledger.js";
import {
  askForCode,
  type CodeCheck,
  checkCode,
  done,
  type FlowDeps,
  type FlowResult,
  type FlowTurn,
  wait,
} from "./flow.js";
import {
  ASK_AMOUNT,
  BAD_AMOUNT,
  CANCEL_ONLY,
  CONFIRM_OR_CANCEL,
  choosePayeeText,
  confirmTransferText,
  FAILED_TEXT,
  heldText,
  insufficientText,
  NO_ACCOUNT,
  NO_PAYEES,
  noAccountIn,
  PLEASE_CONFIRM,
  refusedText,
  sentText,
  transferAction,
} from "./flow-text.js";
import { ACTIONS } from "./intent.js";
import { type TransferText, toMinorUnits } from "./parse-transfer.js";
import type { TransferPending } from "./pending.js";
import { MENU, reply } from "./replies.js";

/** Most payees offered at once: WhatsApp lists hold 10 rows, and one is Cancel. */
const MAX_PAYEE_CHOICES = 9;

/**
 * "send 25 EUR to Alice": picks the account (the one in the named currency, else the oldest),
 * reads the amount in that currency's minor units, and matches the payee against the saved
 * beneficiaries only, so a chat can never send money to an account the customer has not added
 * with a code of its own (PSD2 RTS art. 13).
 */
export async function startTransfer(
  deps: FlowDeps,
  profile: CustomerProfile,
  request: TransferText,
): Promise<FlowResult> {
  const currency = request.amount?.currency;
  const from = currency ? profile.accounts.find((a) => a.currency === currency) : profile.accounts[0];
  if (!from) return done(reply(currency ? noAccountIn(currency) : NO_ACCOUNT, MENU));
  if (!request.amount) return done(reply(ASK_AMOUNT, MENU));
  const minorUnits = toMinorUnits(request.amount.text, from.currency);
  if (minorUnits === undefined) return done(reply(BAD_AMOUNT, MENU));
  const payees = await deps.ledger.listBeneficiaries(profile.customer.id);
  if (payees.length === 0) return done(reply(NO_PAYEES, MENU));
  const base: TransferPending = {
    kind: "transfer",
    step: "payee",
    fromAccountId: from.id,
    currency: from.currency,
    minorUnits: minorUnits.toString(),
    expiresAtMs: 0,
  };
  const matches = matchPayees(payees, request.payeeName);
  const only = matches.length === 1 ? matches[0] : undefined;
  if (only) return confirm(base, from, only);
  const offered = matches.length > 1 ? matches : payees;
  return wait(base, reply(choosePayeeText(request.payeeName), payeeChoices(offered)));
}

/** The next step of a pending transfer. */
export async function continueTransfer(
  deps: FlowDeps,
  turn: FlowTurn,
  pending: TransferPending,
): Promise<FlowResult> {
  const profile = turn.profile;
  const from = profile?.accounts.find((a) => a.id === pending.fromAccountId);
  if (!profile || !from) return done(reply(NO_ACCOUNT, MENU));
  if (pending.step === "payee") {
    if (turn.intent.kind !== "choose_payee") {
      const payees = await deps.ledger.listBeneficiaries(profile.customer.id);
      return wait(pending, reply(choosePayeeText(undefined), payeeChoices(payees)));
    }
    const payee = await ownPayee(deps, profile, turn.intent.beneficiaryId);
    if (!payee) return done(reply(NO_PAYEES, MENU));
    return confirm(pending, from, payee);
  }
  const payee = pending.beneficiaryId ? await ownPayee(deps, profile, pending.beneficiaryId) : undefined;
  if (!payee) return done(reply(NO_PAYEES, MENU));
  const amount = amountOf(pending);
  if (pending.step === "confirm") {
    if (turn.intent.kind !== "confirm") return wait(pending, reply(PLEASE_CONFIRM, CONFIRM_OR_CANCEL));
    const challenge = await deps.stepUp.startChallenge(
      profile.customer.id,
      "transfer",
      {
        kind: "transfer",
        fromAccountId: from.id,
        payee: { beneficiaryId: payee.id },
        amount,
      },
      { chatPhone: turn.chatPhone },
    );
    const next: TransferPending = {
      ...pending,
      step: "code",
      challengeId: challenge.challengeId,
      operationId: deps.ids("chat_"),
    };
    return wait(
      next,
      askForCode(challenge.deliveryMethod, transferAction(amount, payee.name, payee.accountId)),
    );
  }
  const check: CodeCheck = await checkCode(deps, turn, pending, pending.challengeId ?? "");
  if ("result" in check) return check.result;
  return execute(deps, turn, pending, { from, payee, amount, token: check.token });
}

async function execute(
  deps: FlowDeps,
  turn: FlowTurn,
  pending: TransferPending,
  parts: { from: Account; payee: Beneficiary; amount: Money; token: string },
): Promise<FlowResult> {
  let transfer: Transfer;
  try {
    transfer = await deps.payments.createTransfer({
      // Scoped to this chat: its idempotency keys can never meet another caller's (security.md ID-9).
      callerId: `chat:${turn.subjectId}`,
      idempotencyKey: pending.operationId ?? "",
      fromAccountId: parts.from.id,
      payee: { beneficiaryId: parts.payee.id },
      amount: parts.amount,
      reference: `Chat payment to ${parts.payee.name}`.slice(0, 140),
      stepUpToken: parts.token,
    });
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    if (err.code === "INSUFFICIENT_FUNDS") return done(reply(insufficientText(parts.from), MENU));
    if (err.code === "TRANSFER_REFUSED") return done(reply(refusedText(err.message), MENU));
    return done(reply(FAILED_TEXT, MENU));
  }
  if (transfer.status === "held") {
    return done(reply(heldText(parts.amount, parts.payee.name, transfer.statusReason ?? ""), MENU));
  }
  // Only a posted transfer moved money: a replay of one the bank has since cancelled must not say "sent".
  if (transfer.status !== "posted") return done(reply(FAILED_TEXT, MENU));
  const after = await deps.ledger.getAccount(parts.from.id);
  const balance = after ? { currency: after.currency, minorUnits: after.balance } : undefined;
  return done(reply(sentText(parts.amount, parts.payee.name, balance), MENU));
}

function confirm(pending: TransferPending, from: Account, payee: Beneficiary): FlowResult {
  const next: TransferPending = { ...pending, step: "confirm", beneficiaryId: payee.id };
  const text = confirmTransferText(amountOf(pending), payee.name, payee.accountId, from);
  return wait(next, reply(text, CONFIRM_OR_CANCEL));
}

function amountOf(pending: TransferPending): Money {
  return { currency: pending.currency, minorUnits: BigInt(pending.minorUnits) };
}

/** A saved payee of this customer; another customer's id reads as no payee at all. */
async function ownPayee(
  deps: FlowDeps,
  profile: CustomerProfile,
  beneficiaryId: string,
): Promise<Beneficiary | undefined> {
  const payee = await deps.ledger.getBeneficiary(beneficiaryId);
  return payee?.customerId === profile.customer.id ? payee : undefined;
}

/**
 * Payees whose name matches what was typed: exact (ignoring case) first, then names that start
 * with it, then names that contain it. Several matches are offered as a choice, never guessed.
 */
export function matchPayees(payees: readonly Beneficiary[], typed: string | undefined): Beneficiary[] {
  if (!typed) return [];
  const want = typed.toLocaleLowerCase("en");
  const name = (p: Beneficiary) => p.name.toLocaleLowerCase("en");
  for (const test of [
    (n: string) => n === want,
    (n: string) => n.startsWith(want),
    (n: string) => n.includes(want),
  ]) {
    const found = payees.filter((p) => test(name(p)));
    if (found.length > 0) return found;
  }
  return [];
}

function payeeChoices(payees: readonly Beneficiary[]): QuickReply[] {
  const choices = payees.slice(0, MAX_PAYEE_CHOICES).map((p) => ({
    title: p.name.slice(0, 20),
    payload: `${ACTIONS.payeePrefix}${p.id}`,
  }));
  return [...choices, ...CANCEL_ONLY];
}
