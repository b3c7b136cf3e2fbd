import { parseTransferText, type TransferText } from "./parse-transfer.js";

/** The intents of the deterministic dialog engine (DESIGN.md, Conversation). */
export type Intent =
  | { readonly kind: "greeting" }
  | { readonly kind: "help" }
  | { readonly kind: "balance" }
  | { readonly kind: "transactions"; readonly count: number }
  | { readonly kind: "payees" }
  | { readonly kind: "add_payee"; readonly name?: string; readonly accountId?: string }
  | ({ readonly kind: "transfer" } & TransferText)
  | { readonly kind: "link" }
  | { readonly kind: "cancel" }
  | { readonly kind: "confirm" }
  | { readonly kind: "choose_payee"; readonly beneficiaryId: string }
  | { readonly kind: "fallback" };

/** Quick-reply payloads Teller sends and recognises when they come back. */
export const ACTIONS = {
  balance: "BALANCE",
  transactions: "TRANSACTIONS",
  help: "HELP",
  payees: "PAYEES",
  confirm: "CONFIRM",
  cancel: "CANCEL",
  link: "LINK",
  /** Followed by a beneficiary id: "PAYEE:ben_…". */
  payeePrefix: "PAYEE:",
} as const;

/** Default and largest number of transactions listed in one reply. */
export const DEFAULT_TRANSACTION_COUNT = 5;
export const MAX_TRANSACTION_COUNT = 20;

const GREETING = /^(hi|hello|hey|hiya|good (morning|afternoon|evening)|hallo|hola|bonjour|salut)\b/;
const HELP = /\b(help|menu|options|what can you do|commands?)\b/;
const BALANCE = /\b(balance|how much (money )?(do i have|have i got|is (in|on) my)|funds|saldo)\b/;
const TRANSACTIONS = /\b(transactions?|payments?|history|statement|spending|recent|movements)\b/;
const CANCEL = /^(cancel|stop|abort|no|nope|never ?mind|quit)\b/;
const CONFIRM = /^(yes|y|confirm|ok|okay|sure|go ahead)\b/;
const LINK = /\b(link|connect|register)\b.*\b(account|profile|bank|chat)\b|^link\b/;
const PAYEES = /\b(my )?(payees|beneficiaries|recipients)\b/;
const ADD_PAYEE = /^(add|new|save)\s+(a\s+)?(payee|beneficiary|recipient)\b\s*(.*)$/i;
const TRANSFER = /^(send|pay|transfer|give)\b/;
const POLITE = /^((please|pls|kindly|can you|could you|would you)[,\s]+)+/i;

/**
 * Classifies one message. Deterministic by design: a bank must be able to say why the assistant
 * did what it did, so there is no model here, only ordered rules; anything unclear is a fallback.
 * Money words come before reading words: "send 25 EUR" must never be read as "payments".
 */
export function classify(input: { text?: string; actionPayload?: string }): Intent {
  if (input.actionPayload !== undefined) return classifyAction(input.actionPayload);
  // Politeness first: "please send 5 EUR to Bob" is a transfer like "send 5 EUR to Bob".
  const original = (input.text ?? "").replace(/\s+/g, " ").trim().replace(POLITE, "");
  const text = original.toLowerCase();
  if (CANCEL.test(text)) return { kind: "cancel" };
  if (CONFIRM.test(text)) return { kind: "confirm" };
  const addPayee = ADD_PAYEE.exec(original);
  if (addPayee) return { kind: "add_payee", ...parsePayeeDetails(addPayee[4] ?? "") };
  if (TRANSFER.test(text)) return { kind: "transfer", ...parseTransferText(original) };
  if (LINK.test(text)) return { kind: "link" };
  if (BALANCE.test(text)) return { kind: "balance" };
  if (PAYEES.test(text)) return { kind: "payees" };
  if (TRANSACTIONS.test(text)) return { kind: "transactions", count: parseCount(text) };
  if (HELP.test(text)) return { kind: "help" };
  if (GREETING.test(text)) return { kind: "greeting" };
  return { kind: "fallback" };
}

function classifyAction(payload: string): Intent {
  if (payload.startsWith(ACTIONS.payeePrefix)) {
    const beneficiaryId = payload.slice(ACTIONS.payeePrefix.length);
    return beneficiaryId ? { kind: "choose_payee", beneficiaryId } : { kind: "fallback" };
  }
  switch (payload) {
    case ACTIONS.balance:
      return { kind: "balance" };
    case ACTIONS.transactions:
      return { kind: "transactions", count: DEFAULT_TRANSACTION_COUNT };
    case ACTIONS.help:
      return { kind: "help" };
    case ACTIONS.payees:
      return { kind: "payees" };
    case ACTIONS.confirm:
      return { kind: "confirm" };
    case ACTIONS.cancel:
      return { kind: "cancel" };
    case ACTIONS.link:
      return { kind: "link" };
    default:
      return { kind: "fallback" };
  }
}

/** An account id as the ledger issues them: "acc_" and 22 base64url characters. */
export const ACCOUNT_ID = /\bacc_[A-Za-z0-9_-]{22}\b/;

/** "add payee Bob Smith acc_…" → name "Bob Smith" and the account id; either may be missing. */
function parsePayeeDetails(rest: string): { name?: string; accountId?: string } {
  const accountId = ACCOUNT_ID.exec(rest)?.[0];
  const name = (accountId ? rest.replace(accountId, "") : rest).replace(/\s+/g, " ").trim();
  return { ...(name ? { name: name.slice(0, 70) } : {}), ...(accountId ? { accountId } : {}) };
}

/** "last 3 payments" → 3, clamped to 1..MAX_TRANSACTION_COUNT; the default otherwise. */
function parseCount(text: string): number {
  const match = /\b(?:last|recent|latest)\s+(\d{1,3})\b/.exec(text);
  if (!match) return DEFAULT_TRANSACTION_COUNT;
  return Math.min(MAX_TRANSACTION_COUNT, Math.max(1, Number(match[1])));
}
