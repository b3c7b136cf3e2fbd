import { formatMoney, type Money } from "../../../lib/money.js";
import type { QuickReply } from "../conversation-ports.js";
import type { Account } from "../ledger.js";
import type { DeliveryMethod } from "../step-up-ports.js";
import { ACTIONS } from "./intent.js";
import { accountLabel } from "./replies.js";

/**
 * The texts of the money flows. Every confirmation repeats the amount and the payee exactly as
 * they will be bound to the code (PSD2 RTS art. 5(1)(a); security.md P-7), and no text ever holds
 * a code, a token or a full account number.
 */

/** Confirm or cancel, under a confirmation. */
export const CONFIRM_OR_CANCEL: readonly QuickReply[] = [
  { title: "Confirm", payload: ACTIONS.confirm },
  { title: "Cancel", payload: ACTIONS.cancel },
];

/** Only a way out, under a question that takes typed input. */
export const CANCEL_ONLY: readonly QuickReply[] = [{ title: "Cancel", payload: ACTIONS.cancel }];

/** An account id as customers see it: its last 4 characters. */
export function tail(id: string): string {
  return `••${id.slice(-4)}`;
}

export function codeSentText(method: DeliveryMethod, action: string): string {
  const where =
    method === "totp"
      ? "Open your authenticator app and reply with its 6-digit code"
      : "I sent a code by text message to your registered phone. Reply with the 6-digit code";
  return `${where} to ${action}. Never share this code with anyone, including bank staff.`;
}

export function codeAgainText(attemptsLeft?: number): string {
  if (attemptsLeft === undefined) return "Please reply with the 6-digit code, or tap Cancel.";
  const tries = attemptsLeft === 1 ? "1 try" : `${attemptsLeft} tries`;
  return `That code is wrong or expired. You have ${tries} left.`;
}

export const WRONG_CODE_FINAL =
  "That code is wrong or expired and cannot be tried again. I cancelled the request; nothing was changed.";

export const LOCKED_TEXT =
  "Too many wrong codes. For your security, approvals are paused for a while. Nothing was changed; please try again later.";

export const TIMED_OUT_TEXT =
  "Your last request timed out after 5 minutes without a reply, so I cancelled it. Nothing was changed.";

export function tooManyCodesText(retryAfterMs: number | undefined): string {
  const minutes = Math.max(1, Math.ceil((retryAfterMs ?? 60_000) / 60_000));
  const wait = minutes === 1 ? "a minute" : `${minutes} minutes`;
  return `You have asked for too many one-time codes, so for your security I cannot send another for about ${wait}. Nothing was changed.`;
}

export const SAME_CHAT_TEXT =
  "For your safety I cannot text a one-time code into this same conversation. Please set up an authenticator app with the bank, or ask me on WhatsApp, Telegram, Messenger or the web chat. Nothing was changed.";

export const CANCELLED_TEXT = "Cancelled. Nothing was changed.";

export const NOTHING_TO_CANCEL = "There is nothing to cancel.";

export const NOTHING_TO_CONFIRM = "There is nothing to confirm right now.";

export const PLEASE_CONFIRM = "Please tap Confirm to continue, or Cancel to stop.";

export const FAILED_TEXT =
  "Sorry, something went wrong on our side and I could not finish. Please check your balance before trying again.";

/** "send 25.00 EUR to Alice (account ••1234)". */
export function transferAction(amount: Money, payeeName: string, payeeAccountId: string): string {
  return `send ${formatMoney(amount)} to ${payeeName} (account ${tail(payeeAccountId)})`;
}

export function confirmTransferText(
  amount: Money,
  payeeName: string,
  payeeAccountId: string,
  from: Account,
): string {
  return (
    `Please confirm: ${transferAction(amount, payeeName, payeeAccountId)} from your ${accountLabel(from)}. ` +
    "I will then ask you for a one-time code."
  );
}

export function sentText(amount: Money, payeeName: string, balance?: Money): string {
  const after = balance ? ` Your balance is now ${formatMoney(balance)}.` : "";
  return `Done: you sent ${formatMoney(amount)} to ${payeeName}.${after}`;
}

export function heldText(amount: Money, payeeName: string, reason: string): string {
  return `Your payment of ${formatMoney(amount)} to ${payeeName} is on hold for a check, and no money has left your account yet. ${reason}`;
}

export function refusedText(reason: string): string {
  return `I could not make this payment: ${reason} Nothing was sent.`;
}

export function insufficientText(from: Account): string {
  return `There is not enough money in your ${accountLabel(from)} for this payment. Nothing was sent.`;
}

export const ASK_AMOUNT = "How much, and to whom? For example: “send 25 EUR to Alice”.";

export const BAD_AMOUNT =
  "I could not read that amount. Write it like “send 25.50 EUR to Alice”, with at most two decimals.";

export const NO_ACCOUNT = "You have no account to pay from.";

export function noAccountIn(currency: string): string {
  return `You have no ${currency} account to pay from.`;
}

export const NO_PAYEES =
  "You have no saved payees yet. Say “add payee” to save one; for your safety I only send money to saved payees.";

export function choosePayeeText(typed: string | undefined): string {
  return typed ? `I found no single saved payee called “${typed}”. Who should I pay?` : "Who should I pay?";
}

export const ASK_PAYEE_NAME = "What name should I save the payee under? (1 to 70 characters)";

export const ASK_PAYEE_ACCOUNT = "What is the payee's account number? It starts with acc_.";

export const UNKNOWN_ACCOUNT =
  "I could not find that account. Check the account number (it starts with acc_) and send it again.";

export function payeeAction(name: string, accountId: string): string {
  return `add ${name} (account ${tail(accountId)}) as a payee`;
}

export function confirmPayeeText(name: string, accountId: string): string {
  return `Please confirm: ${payeeAction(name, accountId)}. I will then ask you for a one-time code.`;
}

export function payeeSavedText(name: string): string {
  return `Saved ${name} as a payee. You can now say “send 10 EUR to ${name}”.`;
}

export const PAYEE_EXISTS = "You have already saved that account as a payee. Nothing was changed.";

export const ASK_CUSTOMER_NUMBER =
  "To link this chat to your bank profile, send me your customer number. It starts with cus_ and is shown in the bank's app.";

export const BAD_CUSTOMER_NUMBER =
  "That does not look like a customer number. It starts with cus_ and is shown in the bank's app.";

/** The same answer for every customer number, so the reply never says whether one exists. */
export const LINK_CODE_SENT =
  "If that customer number is right, you will receive a one-time code by text message on the phone registered with it (or use your authenticator app if you set one up). Reply with the 6-digit code. Never share it with anyone.";

export function linkedText(displayName: string): string {
  return `Done: this chat is now linked to your bank profile, ${displayName}. Try “what is my balance?”.`;
}

export const ALREADY_LINKED = "This chat is already linked to your bank profile.";
