import type { Reply } from "../conversation-ports.js";
import type { CustomerProfile, LedgerStore } from "../ledger.js";
import type { Intent } from "./intent.js";
import {
  balanceText,
  FALLBACK_TEXT,
  greetingText,
  HELP_TEXT,
  MENU,
  NOT_A_CUSTOMER,
  reply,
  transactionsText,
} from "./replies.js";

/** What the engine needs to answer: read-only ledger access. */
export interface DialogDeps {
  readonly ledger: Pick<LedgerStore, "listPostings">;
}

/**
 * Answers one intent for a customer (their profile, read once per message), or for an unknown
 * sender when `profile` is undefined.
 * Unknown senders get the same text whatever they ask about accounts, so nothing tells them
 * whether a number is known (issue 3: "learns nothing about any account").
 */
export async function answer(
  deps: DialogDeps,
  intent: Intent,
  profile: CustomerProfile | undefined,
): Promise<Reply[]> {
  const customer = profile?.customer;
  switch (intent.kind) {
    case "greeting":
      return [reply(greetingText(customer?.displayName), customer ? MENU : [])];
    case "help":
      return [reply(customer ? HELP_TEXT : NOT_A_CUSTOMER, customer ? MENU : [])];
    case "balance":
      if (!profile) return [reply(NOT_A_CUSTOMER)];
      return [reply(balanceText(profile.accounts), MENU)];
    case "transactions":
      if (!profile) return [reply(NOT_A_CUSTOMER)];
      return transactions(deps, profile, intent.count);
    case "fallback":
      return [reply(customer ? FALLBACK_TEXT : NOT_A_CUSTOMER, customer ? MENU : [])];
  }
}

async function transactions(deps: DialogDeps, profile: CustomerProfile, count: number): Promise<Reply[]> {
  const { accounts } = profile;
  if (accounts.length === 0) return [reply("You have no accounts yet.", MENU)];
  const sections: string[] = [];
  for (const account of accounts) {
    const page = await deps.ledger.listPostings(account.id, { limit: count });
    sections.push(transactionsText(account, page.items));
  }
  return [reply(sections.join("\n\n"), MENU)];
}
