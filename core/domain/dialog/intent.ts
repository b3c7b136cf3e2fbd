/** The intents of the deterministic dialog engine that this slice answers. */
export type Intent =
  | { readonly kind: "greeting" }
  | { readonly kind: "help" }
  | { readonly kind: "balance" }
  | { readonly kind: "transactions"; readonly count: number }
  | { readonly kind: "fallback" };

/** Quick-reply payloads Teller sends and recognises when they come back. */
export const ACTIONS = {
  balance: "BALANCE",
  transactions: "TRANSACTIONS",
  help: "HELP",
} as const;

/** Default and largest number of transactions listed in one reply. */
export const DEFAULT_TRANSACTION_COUNT = 5;
export const MAX_TRANSACTION_COUNT = 20;

const GREETING = /^(hi|hello|hey|hiya|good (morning|afternoon|evening)|hallo|hola|bonjour|salut)\b/;
const HELP = /\b(help|menu|options|what can you do|commands?)\b/;
const BALANCE = /\b(balance|how much (money )?(do i have|have i got|is (in|on) my)|funds|saldo)\b/;
const TRANSACTIONS = /\b(transactions?|payments?|history|statement|spending|recent|movements)\b/;

/**
 * Classifies one message. Deterministic by design: a bank must be able to say why the assistant
 * did what it did, so there is no model here, only ordered rules; anything unclear is a fallback.
 */
export function classify(input: { text?: string; actionPayload?: string }): Intent {
  if (input.actionPayload !== undefined) return classifyAction(input.actionPayload);
  const text = (input.text ?? "").toLowerCase().replace(/\s+/g, " ").trim();
  if (BALANCE.test(text)) return { kind: "balance" };
  if (TRANSACTIONS.test(text)) return { kind: "transactions", count: parseCount(text) };
  if (HELP.test(text)) return { kind: "help" };
  if (GREETING.test(text)) return { kind: "greeting" };
  return { kind: "fallback" };
}

function classifyAction(payload: string): Intent {
  switch (payload) {
    case ACTIONS.balance:
      return { kind: "balance" };
    case ACTIONS.transactions:
      return { kind: "transactions", count: DEFAULT_TRANSACTION_COUNT };
    case ACTIONS.help:
      return { kind: "help" };
    default:
      return { kind: "fallback" };
  }
}

/** "last 3 payments" → 3, clamped to 1..MAX_TRANSACTION_COUNT; the default otherwise. */
function parseCount(text: string): number {
  const match = /\b(?:last|recent|latest)\s+(\d{1,3})\b/.exec(text);
  if (!match) return DEFAULT_TRANSACTION_COUNT;
  return Math.min(MAX_TRANSACTION_COUNT, Math.max(1, Number(match[1])));
}
