import { canonicalJson } from "../../lib/canonical-json.js";
import type { Money } from "../../lib/money.js";
import { sha256Hex } from "../../lib/sha256.js";

/**
 * Types and ports of step-up (DESIGN.md, Identity): what a one-time code authorises, what it is
 * bound to, and the collaborators createStepUp needs. Implementations live in core/stores.
 */

/** What a step-up authorises (proto teller.v1.Purpose). */
export type Purpose = "transfer" | "add_beneficiary" | "link_channel" | "view_history";

/** How a code reaches the customer (proto teller.v1.DeliveryMethod). */
export type DeliveryMethod = "sms" | "totp";

/** The payee of a transfer: a saved beneficiary or an account at this bank. */
export type Payee = { readonly beneficiaryId: string } | { readonly toAccountId: string };

/** What a transfer code is bound to: PSD2 RTS art. 5 dynamic linking (security.md P-7). */
export interface TransferBinding {
  readonly kind: "transfer";
  readonly fromAccountId: string;
  readonly payee: Payee;
  readonly amount: Money;
}

/** What an add-payee code is bound to (PSD2 RTS art. 13(1), security.md P-8). */
export interface BeneficiaryBinding {
  readonly kind: "beneficiary";
  readonly name: string;
  readonly accountId: string;
}

/** The operation a code is bound to, for the purposes that have one. */
export type Binding = TransferBinding | BeneficiaryBinding;

/** The binding kind each purpose requires; purposes not listed take none. */
export const BINDING_OF: Readonly<Partial<Record<Purpose, Binding["kind"]>>> = {
  transfer: "transfer",
  add_beneficiary: "beneficiary",
};

/**
 * The hash a code and its token commit to: hex SHA-256 of the canonical JSON of the purpose and
 * the binding, so any change to amount, payee or account gives another hash (security.md P-7(d),
 * TA-2). The transfer use case computes it again from its own request and compares.
 */
export function bindingHash(purpose: Purpose, binding: Binding): string {
  return sha256Hex(canonicalJson({ purpose, binding }));
}

/** A challenge as stored: the code only as its keyed hash (lib/otp-code.ts). */
export interface StoredChallenge {
  readonly id: string;
  readonly customerId: string;
  readonly purpose: Purpose;
  readonly bindingHash?: string;
  /** hashOtpCode(key, id, code): never the code itself. */
  readonly codeHash: string;
  readonly method: DeliveryMethod;
  /** When the challenge stops working, ms since the epoch. */
  readonly expiresAtMs: number;
}

/** Where challenges live between StartChallenge and VerifyChallenge (Redis, or memory). */
export interface ChallengeStore {
  /** Stores a new challenge that disappears after `ttlMs`. */
  create(challenge: StoredChallenge, ttlMs: number): Promise<void>;
  /** The live challenge, or undefined once expired, consumed, deleted or dead. */
  get(id: string): Promise<StoredChallenge | undefined>;
  /**
   * Counts one wrong code, atomically; returns the tries left. At `maxAttempts` failures the
   * challenge is deleted and 0 returned; an unknown challenge also gives 0.
   */
  recordFailure(id: string, maxAttempts: number): Promise<number>;
  /** Uses the challenge up: true for exactly one caller while it is live, false for all others. */
  consume(id: string): Promise<boolean>;
  /** Removes the challenge (a failed delivery). */
  delete(id: string): Promise<void>;
}

/** Sends a text to a customer's registered phone; resolves to how it was delivered. */
export interface OtpSender {
  send(phoneNumber: string, text: string): Promise<DeliveryMethod>;
}

/** Finds a customer's registered phone (LedgerStore.getCustomer in the core). */
export type CustomerDirectory = (customerId: string) => Promise<{ readonly phoneNumber: string } | undefined>;

/** What an SMS says about a saved payee: the customer's name for it and its account. */
export interface PayeeName {
  readonly name: string;
  readonly accountId: string;
}

/** Finds a customer's own saved payee (undefined for another customer's or an unknown id). */
export type PayeeDirectory = (customerId: string, beneficiaryId: string) => Promise<PayeeName | undefined>;

/** The per-customer lockout (security.md RL-8): counts attempts, refuses with OTP_LOCKED when spent. */
export interface StepUpLimiter {
  /** Counts one verification attempt of `customerId`; throws DomainError OTP_LOCKED when spent. */
  attempt(customerId: string): Promise<void>;
  /** Forgets the customer's attempts after a success (NIST 63B §5.2.2, security.md N-7). */
  reset(customerId: string): Promise<void>;
}

/** What a minted token says; the minter adds acr, jti, iat and exp. */
export interface StepUpGrant {
  readonly customerId: string;
  readonly purpose: Purpose;
  readonly bindingHash?: string;
  readonly method: DeliveryMethod;
  readonly challengeId: string;
  /** When the code was entered, ms since the epoch. */
  readonly authTime: number;
}

/** Signs a step-up token (lib/step-up-token.ts in the core); expiresAtMs is its `exp`. */
export type StepUpTokenMinter = (grant: StepUpGrant) => Promise<{ token: string; expiresAtMs: number }>;
