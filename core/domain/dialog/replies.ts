import { formatMoney } from "../../../lib/money.js";
import type { QuickReply, Reply } from "../conversation-ports.js";
import type { Account, Beneficiary, Posting } from "../ledger.js";
import { ACTIONS } from "./intent.js";

/** The limit every channel shares: WhatsApp and Telegram cap a text at 4096 characters. */
export const MAX_REPLY_CHARS = 4096;

/** The standard choices under most replies. */
export const MENU: readonly QuickReply[] = [
  { title: "Balance", payload: ACTIONS.balance },
  { title: "Recent payments", payload: ACTIONS.transactions },
  { title: "Payees", payload: ACTIONS.payees },
];

/** Builds a reply, cutting the text to the channel limit on a line boundary where it can. */
export function reply(text: string, quickReplies: readonly QuickReply[] = []): Reply {
  if (text.length <= MAX_REPLY_CHARS) return { text, quickReplies };
  const cut = text.lastIndexOf("\n", MAX_REPLY_CHARS - 2);
  const head = text.slice(0, cut > 0 ? cut : MAX_REPLY_CHARS - 2);
  return { text: `${head}\n…`, quickReplies };
}

/** Same text for every sender the bank does not know: it reveals nothing about any account. */
export const NOT_A_CUSTOMER =
  "I can only help customers of the bank with their accounts. If you are a customer, say “link my account” " +
  "to link this chat with your customer number and a one-time code, or message me from the phone number " +
  "you registered. To become a customer, open an account in the bank's app or at a branch.";

export const HELP_TEXT =
  "I can tell you your balance and recent payments, list and add payees, and send money to a saved payee. " +
  "Try “what is my balance?”, “last 5 payments”, “add payee”, or “send 25 EUR to Alice”. Say “cancel” " +
  "at any time. Never send me card numbers, PINs, passwords or one-time codes meant for anyone else.";

export const FALLBACK_TEXT =
  "Sorry, I did not understand that. I can show your balance, recent payments and payees, or send money: " +
  "try “send 25 EUR to Alice”.";

/** The saved payees, one per line, account ids shortened as on a statement. */
export function payeesText(payees: readonly Beneficiary[]): string {
  if (payees.length === 0) return "You have no saved payees yet. Say “add payee” to save one.";
  const lines = payees.map((p) => `${p.name}: account ••${p.accountId.slice(-4)}`);
  return `Your payees:\n${lines.join("\n")}`;
}

export const CARD_WARNING =
  "For your safety, never send card numbers in chat. I have hidden the number you sent and did not store it.";

/** "Hello Alice!" for customers, a neutral greeting for anyone else. */
export function greetingText(displayName: string | undefined): string {
  return displayName ? `Hello ${displayName}! How can I help you today?` : "Hello! How can I help you today?";
}

/** Masks an account id to its last 4 characters, as a statement would. */
export function accountLabel(account: Account): string {
  return `${account.currency} account ••${account.id.slice(-4)}`;
}

/** One line per account: "EUR account ••ab12: 1,250.00 EUR". */
export function balanceText(accounts: readonly Account[]): string {
  if (accounts.length === 0) return "You have no accounts yet.";
  const lines = accounts.map(
    (a) => `${accountLabel(a)}: ${formatMoney({ currency: a.currency, minorUnits: a.balance })}`,
  );
  return accounts.length === 1
    ? `Your balance is ${lines[0]?.split(": ")[1]}.`
    : `Your balances:\n${lines.join("\n")}`;
}

/** The recent postings of one account, newest first, one per line. */
export function transactionsText(account: Account, postings: readonly Posting[]): string {
  if (postings.length === 0) return `${accountLabel(account)}: no transactions yet.`;
  const lines = postings.map((p) => {
    const date = new Date(p.bookedAt).toISOString().slice(0, 10);
    const sign = p.amount > 0n ? "+" : "";
    const amount = `${sign}${formatMoney({ currency: p.currency, minorUnits: p.amount })}`;
    return `${date}  ${amount}${p.reference ? `  ${p.reference}` : ""}`;
  });
  return `${accountLabel(account)}, last ${postings.length}:\n${lines.join("\n")}`;
}
