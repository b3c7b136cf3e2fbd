/**
 * A pending operation of one conversation (DESIGN.md, Conversation: explicit states with
 * timeouts). It is the only state the dialog keeps between messages; a step-up token never is:
 * the token is minted and spent within the turn that received the code, so no chat user and no
 * store ever sees one (issue 5 item 4).
 */
export type Pending = LinkPending | PayeePending | TransferPending;

/** Linking this chat to a bank profile by customer number and a code to the registered phone. */
export interface LinkPending {
  readonly kind: "link";
  readonly step: "customer_number" | "code";
  /** Set once a real challenge was started; unset when the number named no customer. */
  readonly challengeId?: string;
  readonly customerId?: string;
  /** Tries left on a decoy challenge, so an unknown number answers exactly like a known one. */
  readonly decoyTriesLeft?: number;
  readonly expiresAtMs: number;
}

/** Saving a payee: name, account, confirmation, code. */
export interface PayeePending {
  readonly kind: "add_payee";
  readonly step: "name" | "account" | "confirm" | "code";
  readonly name?: string;
  readonly accountId?: string;
  readonly challengeId?: string;
  readonly expiresAtMs: number;
}

/** Sending money to a saved payee: payee choice, confirmation, code. */
export interface TransferPending {
  readonly kind: "transfer";
  readonly step: "payee" | "confirm" | "code";
  readonly fromAccountId: string;
  readonly currency: string;
  /** Minor units as a decimal string (JSON has no bigint). */
  readonly minorUnits: string;
  readonly beneficiaryId?: string;
  readonly challengeId?: string;
  /** The idempotency key of the transfer, fixed before the code is asked for. */
  readonly operationId?: string;
  readonly expiresAtMs: number;
}

/** How long a pending operation waits for the customer's next message: 5 minutes (issue 5 item 4). */
export const PENDING_TIMEOUT_MS = 5 * 60_000;

/**
 * How long a timed-out operation is remembered, so the next message hears that it timed out
 * instead of having a late code read as a new request.
 */
export const PENDING_MEMORY_MS = 60 * 60_000;

/** Where pending operations live between messages (Redis, sealed; or memory). */
export interface PendingStore {
  get(subjectId: string): Promise<Pending | undefined>;
  /** Stores the subject's one pending operation, replacing any other, for `ttlMs`. */
  put(subjectId: string, pending: Pending, ttlMs: number): Promise<void>;
  delete(subjectId: string): Promise<void>;
}
