import type { Reply } from "../conversation-ports.js";
import type { Customer, LedgerStore } from "../ledger.js";
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
  readonly ledger: Pick<LedgerStore, "listAccounts" | "listPostings">;
}

/**
 * Answers one intent for a customer, or for an unknown sender when `customer` is undefined.
 * Unknown senders get the same text whatever they ask about accounts, so nothing tells them
 * whether a number is known (issue 3: "learns nothing about any account").
 */
export async function answer(
  deps: DialogDeps,
  intent: Intent,
  customer: Customer | undefined,
): Promise<Reply[]> {
  switch (intent.kind) {
    case "greeting":
      return [reply(greetingText(customer?.displayName), customer ? MENU : [])];
    case "help":
      return [reply(customer ? HELP_TEXT : NOT_A_CUSTOMER, customer ? MENU : [])];
    case "balance":
      if (!customer) return [reply(NOT_A_CUSTOMER)];
      return [reply(balanceText(await deps.ledger.listAccounts(customer.id)), MENU)];
    case "transactions":
      if (!customer) return [reply(NOT_A_CUSTOMER)];
      return transactions(deps, customer, intent.count);
    case "fallback":
      return [reply(customer ? FALLBACK_TEXT : NOT_A_CUSTOMER, customer ? MENU : [])];
  }
}

async function transactions(deps: DialogDeps, customer: Customer, count: number): Promise<Reply[]> {
  const accounts = await deps.ledger.listAccounts(customer.id);
  if (accounts.length === 0) return [reply("You have no accounts yet.", MENU)];
  const sections: string[] = [];
  for (const account of accounts) {
    const page = await deps.ledger.listPostings(account.id, { limit: count });
    sections.push(transactionsText(account, page.items));
  }
  return [reply(sections.join("\n\n"), MENU)];
}
