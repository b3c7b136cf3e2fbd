import type { Reply } from "../conversation-ports.js";
import { DomainError } from "../errors.js";
import type { CustomerProfile } from "../ledger.js";
import { done, type FlowDeps, type FlowResult, type FlowTurn } from "./flow.js";
import {
  CANCELLED_TEXT,
  NOTHING_TO_CANCEL,
  NOTHING_TO_CONFIRM,
  SAME_CHAT_TEXT,
  TIMED_OUT_TEXT,
  tooManyCodesText,
} from "./flow-text.js";
import { continueLink, startLink } from "./link-flow.js";
import { continueAddPayee, startAddPayee } from "./payee-flow.js";
import { PENDING_MEMORY_MS, PENDING_TIMEOUT_MS, type Pending } from "./pending.js";
import {
  balanceText,
  FALLBACK_TEXT,
  greetingText,
  HELP_TEXT,
  MENU,
  NOT_A_CUSTOMER,
  payeesText,
  reply,
  transactionsText,
} from "./replies.js";
import { continueTransfer, startTransfer } from "./transfer-flow.js";

/**
 * Answers one message. A pending operation takes the message first (its 5-minute inactivity
 * timeout checked before anything else), "cancel" ends it at any step, and otherwise the intent
 * picks what to do. The pending operation that results is stored with a fresh timeout.
 */
export async function respond(deps: FlowDeps, turn: FlowTurn): Promise<Reply[]> {
  const pending = await deps.pending.get(turn.subjectId);
  const now = deps.now();
  if (pending && pending.expiresAtMs <= now) {
    await deps.pending.delete(turn.subjectId);
    return [reply(TIMED_OUT_TEXT, MENU)];
  }
  const result = await route(deps, turn, pending).catch((err: unknown) => {
    // The only limit a flow meets is the customer's SMS allowance (StartChallenge): say so in words.
    if (err instanceof DomainError && err.code === "STEP_UP_UNAVAILABLE")
      return done(reply(SAME_CHAT_TEXT, MENU));
    if (err instanceof DomainError && err.code === "RATE_LIMITED")
      return done(reply(tooManyCodesText(err.retryAfterMs), MENU));
    throw err;
  });
  if (result.next) {
    const next: Pending = { ...result.next, expiresAtMs: now + PENDING_TIMEOUT_MS };
    await deps.pending.put(turn.subjectId, next, PENDING_MEMORY_MS);
  } else if (pending) {
    await deps.pending.delete(turn.subjectId);
  }
  return [...result.replies];
}

async function route(deps: FlowDeps, turn: FlowTurn, pending: Pending | undefined): Promise<FlowResult> {
  if (turn.intent.kind === "cancel") return done(reply(pending ? CANCELLED_TEXT : NOTHING_TO_CANCEL, MENU));
  if (pending?.kind === "link") return continueLink(deps, turn, pending);
  if (pending?.kind === "add_payee") return continueAddPayee(deps, turn, pending);
  if (pending?.kind === "transfer") return continueTransfer(deps, turn, pending);
  return start(deps, turn);
}

/** A message outside any pending operation. Unknown senders get one fixed text for anything private. */
async function start(deps: FlowDeps, turn: FlowTurn): Promise<FlowResult> {
  const { intent, profile } = turn;
  switch (intent.kind) {
    case "greeting":
      return done(reply(greetingText(profile?.customer.displayName), profile ? MENU : []));
    case "help":
      return done(reply(profile ? HELP_TEXT : NOT_A_CUSTOMER, profile ? MENU : []));
    case "link":
      return startLink(turn);
    case "confirm":
    case "choose_payee":
      return done(reply(profile ? NOTHING_TO_CONFIRM : NOT_A_CUSTOMER, profile ? MENU : []));
    case "fallback":
      return done(reply(profile ? FALLBACK_TEXT : NOT_A_CUSTOMER, profile ? MENU : []));
    default:
      if (!profile) return done(reply(NOT_A_CUSTOMER));
      return customerIntent(deps, turn, profile);
  }
}

async function customerIntent(deps: FlowDeps, turn: FlowTurn, profile: CustomerProfile): Promise<FlowResult> {
  const { intent } = turn;
  switch (intent.kind) {
    case "balance":
      return done(reply(balanceText(profile.accounts), MENU));
    case "transactions":
      return done(await transactions(deps, profile, intent.count));
    case "payees":
      return done(reply(payeesText(await deps.ledger.listBeneficiaries(profile.customer.id)), MENU));
    case "add_payee":
      return startAddPayee(deps, intent);
    case "transfer":
      return startTransfer(deps, profile, intent);
    default:
      return done(reply(FALLBACK_TEXT, MENU));
  }
}

async function transactions(deps: FlowDeps, profile: CustomerProfile, count: number): Promise<Reply> {
  const { accounts } = profile;
  if (accounts.length === 0) return reply("You have no accounts yet.", MENU);
  const sections: string[] = [];
  for (const account of accounts) {
    const page = await deps.ledger.listPostings(account.id, { limit: count });
    sections.push(transactionsText(account, page.items));
  }
  return reply(sections.join("\n\n"), MENU);
}
