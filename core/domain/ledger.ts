import type { Money } from "../../lib/money.js";

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

/** A double-entry movement between two accounts. */
export interface Transfer {
  readonly id: string;
  readonly fromAccountId: string;
  readonly toAccountId: string;
  readonly amount: Money;
  readonly reference: string;
  readonly status: "posted";
  readonly createdAt: number;
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
 * LedgerStore is the port for the double-entry ledger. Implementations enforce in the database
 * that customer balances never go negative and that an idempotency key posts at most once.
 * Errors are DomainError: NOT_FOUND, ALREADY_EXISTS, CURRENCY_MISMATCH, IDEMPOTENCY_CONFLICT,
 * INVALID_ARGUMENT (bad cursor), UNAVAILABLE (database down).
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
  /** True when the database answers. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
