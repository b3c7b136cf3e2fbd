import type { Money } from "../../lib/money.js";
import type { TransferRules } from "./transfer-rules.js";

/** A bank customer. */
export interface Customer {
  readonly id: string;
  readonly displayName: string;
  /** E.164. */
  readonly phoneNumber: string;
  readonly createdAt: number;
}

/** A customer with their accounts, oldest first. */
export interface CustomerProfile {
  readonly customer: Customer;
  readonly accounts: readonly Account[];
}

/** A customer's account in one currency; balance in minor units, never negative. */
export interface Account {
  readonly id: string;
  readonly customerId: string;
  readonly currency: string;
  readonly balance: bigint;
  readonly openedAt: number;
}

/** One posting on an account: a signed amount (credit positive) and the balance after it. */
export interface Posting {
  readonly id: string;
  readonly transferId: string;
  readonly accountId: string;
  readonly currency: string;
  readonly amount: bigint;
  readonly balanceAfter: bigint;
  readonly reference: string;
  readonly bookedAt: number;
}

/**
 * A double-entry movement between two accounts. A "posted" transfer moved the money; a "held" one
 * was stopped by a fraud rule for review and moved nothing (no entries), `statusReason` telling the
 * customer why. The bank's review ends a hold: released, it is posted; cancelled, it stays without
 * entries for good. Deposits are always posted.
 */
export interface Transfer {
  readonly id: string;
  readonly fromAccountId: string;
  readonly toAccountId: string;
  readonly amount: Money;
  readonly reference: string;
  readonly status: TransferStatus;
  /** Why a held transfer was held, a sentence for the customer; absent otherwise. */
  readonly statusReason?: string;
  readonly createdAt: number;
}

/** Where a transfer stands: "held" is the only state that ever changes, to "posted" or "cancelled". */
export type TransferStatus = "posted" | "held" | "cancelled";

/**
 * The bank's decision on a held transfer (CustomerService.ReleaseHeldTransfer and
 * CancelHeldTransfer). `by` is the deciding service's token subject, for the audit trail.
 */
export interface HoldDecision {
  readonly transferId: string;
  readonly by: string;
}

/**
 * A cancellation: `reason` is a reason code or case reference, 1..64 characters of
 * [A-Za-z0-9_.:-], audited as given, so it never holds free text or personal data.
 */
export interface HoldCancellation extends HoldDecision {
  readonly reason: string;
}

/** One page of postings, newest first; `nextCursor` is absent on the last page. */
export interface PostingPage {
  readonly items: readonly Posting[];
  readonly nextCursor?: string;
}

/** A deposit request: credited from the bank's funding account in the same currency. */
export interface DepositInput {
  readonly accountId: string;
  readonly amount: Money;
  readonly reference: string;
  readonly idempotencyKey: string;
}

/**
 * A customer's saved payee: a name of their choosing for an account at this bank. A customer may
 * save one of their own accounts too (a savings account, say): it is harmless, and a transfer
 * between one's own accounts needs no payee anyway.
 */
export interface Beneficiary {
  readonly id: string;
  readonly customerId: string;
  /** The customer's name for the payee, 1..70 characters. */
  readonly name: string;
  readonly accountId: string;
  readonly createdAt: number;
}

/** A request to save a payee; the account must be a customer account of this bank. */
export interface BeneficiaryInput {
  readonly customerId: string;
  /** 1..70 characters. */
  readonly name: string;
  readonly accountId: string;
}

/**
 * A request to move money between two customer accounts of one currency. The idempotency key is
 * scoped to the caller (security.md ID-9): the same key from another caller is another transfer.
 */
export interface TransferInput {
  /** The service-token subject of the caller, 1..255 characters. */
  readonly callerId: string;
  /** Client-generated, 1..255 characters (ID-2); a UUID is recommended. */
  readonly idempotencyKey: string;
  readonly fromAccountId: string;
  readonly toAccountId: string;
  /** Positive, in the currency of both accounts. */
  readonly amount: Money;
  /** 0..140 characters, customer text: stored with the transfer, never audited. */
  readonly reference: string;
  /** When set, the debited account must belong to this customer, else NOT_FOUND (not "not yours"). */
  readonly customerId?: string;
  /**
   * The limits and fraud rules to decide this transfer by, under the lock that serialises the
   * debited customer's transfers; the payments use case passes the configured ones.
   */
  readonly rules: TransferRules;
}

/** The outcome of createTransfer; `replayed` is true when the key had already recorded this transfer. */
export interface TransferResult {
  readonly transfer: Transfer;
  readonly replayed: boolean;
}

/**
 * LedgerStore is the port for the double-entry ledger. Implementations enforce in the database
 * that customer balances never go negative and that an idempotency key posts at most once.
 * Errors are DomainError: NOT_FOUND, ALREADY_EXISTS, CURRENCY_MISMATCH, IDEMPOTENCY_CONFLICT,
 * INSUFFICIENT_FUNDS, TRANSFER_NOT_HELD (the review of a hold came too late), INVALID_ARGUMENT
 * (bad cursor or field), UNAVAILABLE (database down, or still contended after the bounded
 * retries of a serialization failure).
 */
export interface LedgerStore {
  createCustomer(input: { displayName: string; phoneNumber: string }): Promise<Customer>;
  getCustomer(customerId: string): Promise<Customer | undefined>;
  findCustomerByPhone(phoneNumber: string): Promise<Customer | undefined>;
  /**
   * The customer registered with this phone and their accounts (oldest first), in one read: the
   * lookup every message from a phone channel starts with.
   */
  findProfileByPhone(phoneNumber: string): Promise<CustomerProfile | undefined>;
  openAccount(customerId: string, currency: string): Promise<Account>;
  getAccount(accountId: string): Promise<Account | undefined>;
  /** Accounts of a customer, oldest first; NOT_FOUND for an unknown customer. */
  listAccounts(customerId: string): Promise<readonly Account[]>;
  /** Posts a deposit once per key; a repeat with the same key and fields returns the first result. */
  deposit(input: DepositInput): Promise<{ transfer: Transfer; account: Account }>;
  /** Postings of an account, newest first; NOT_FOUND for an unknown account. */
  listPostings(accountId: string, page: { limit: number; cursor?: string }): Promise<PostingPage>;
  /**
   * Saves a payee for a customer: NOT_FOUND for an unknown customer or account, ALREADY_EXISTS
   * when the customer already saved that account. Audited as "beneficiary.added".
   */
  addBeneficiary(input: BeneficiaryInput): Promise<Beneficiary>;
  /** A customer's payees, oldest first; NOT_FOUND for an unknown customer. */
  listBeneficiaries(customerId: string): Promise<readonly Beneficiary[]>;
  getBeneficiary(beneficiaryId: string): Promise<Beneficiary | undefined>;
  /**
   * Records a transfer exactly once per (caller, key): a repeat with the same fields returns the
   * first transfer, posted or held, with `replayed` true, and decides nothing again; other fields
   * are IDEMPOTENCY_CONFLICT; a concurrent duplicate waits for the first and then replays it.
   * Otherwise the `rules` decide, atomically with the customer's other transfers: a refusal is
   * TRANSFER_REFUSED (its `rule` set, its message for the customer) audited as
   * "transfer.refused"; a hold records the transfer as "held" with no entries, audited as
   * "transfer.held"; else it posts, audited as "transfer.posted". TRANSFER_REFUSED,
   * INSUFFICIENT_FUNDS, CURRENCY_MISMATCH, NOT_FOUND and INVALID_ARGUMENT move nothing and record
   * no key, so a retry with the same key runs again.
   */
  createTransfer(input: TransferInput): Promise<TransferResult>;
  /** A transfer (posted, held or cancelled) or deposit by id. */
  getTransfer(transferId: string): Promise<Transfer | undefined>;
  /**
   * Posts a held transfer after review, in one transaction under the locks of createTransfer:
   * both balances move and it becomes "posted", audited as "transfer.released". The limits are
   * not run again (a person decided), the funds are: INSUFFICIENT_FUNDS leaves it held. A posted
   * transfer (or deposit) is returned unchanged and nothing moves again; a cancelled one is
   * TRANSFER_NOT_HELD; an unknown id NOT_FOUND.
   */
  releaseHeldTransfer(decision: HoldDecision): Promise<Transfer>;
  /**
   * Cancels a held transfer: it becomes "cancelled" and moves nothing, ever, audited as
   * "transfer.cancelled" with the reason. A cancelled transfer is returned unchanged; a posted
   * one is TRANSFER_NOT_HELD; an unknown id NOT_FOUND.
   */
  cancelHeldTransfer(cancellation: HoldCancellation): Promise<Transfer>;
  /** True when the database answers. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
