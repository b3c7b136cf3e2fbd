import type { Money } from "../../lib/money.js";
import { DomainError } from "./errors.js";
import type { Beneficiary, LedgerStore, Transfer } from "./ledger.js";
import { bindingHash, type Payee, type Purpose } from "./step-up-ports.js";
import type { TransferRules } from "./transfer-rules.js";

/** What a verified step-up token tells the payment use cases. */
export interface StepUpProof {
  readonly tokenId: string;
  /** Epoch ms after which the token is worthless; its single-use record may go then. */
  readonly expiresAtMs: number;
}

/**
 * StepUpCheck verifies a step-up token for a customer, purpose and binding hash. It throws
 * DomainError INSUFFICIENT_USER_AUTHENTICATION for a missing, expired or forged token (RFC 9470:
 * the caller runs a challenge) and STEP_UP_MISMATCH for a valid token that authorises something
 * else (another amount, payee, account or customer).
 */
export type StepUpCheck = (
  token: string,
  expect: { customerId: string; purpose: Purpose; bindingHash: string },
) => Promise<StepUpProof>;

/**
 * UsedStepUps records each token's one use (PSD2 RTS art. 4(1), RFC 7519 jti). `claim` returns
 * true the first time for a token, and again only for the same `use` (the same caller and
 * idempotency key retrying), so a retry replays while a second operation is refused.
 */
export interface UsedStepUps {
  claim(tokenId: string, use: string, ttlMs: number): Promise<boolean>;
}

/** Collaborators of the payment use cases. */
export interface PaymentsDeps {
  readonly ledger: LedgerStore;
  readonly checkStepUp: StepUpCheck;
  readonly usedStepUps: UsedStepUps;
  readonly now: () => number;
  /** The configured transfer limits and fraud rules, which the ledger applies atomically. */
  readonly rules: TransferRules;
}

/** A transfer request as the rpc adapter validated it. */
export interface TransferRequest {
  readonly callerId: string;
  readonly idempotencyKey: string;
  readonly fromAccountId: string;
  readonly payee: Payee;
  readonly amount: Money;
  readonly reference: string;
  readonly stepUpToken: string;
}

/** The money-movement use cases of BankingService. */
export interface Payments {
  addBeneficiary(input: {
    customerId: string;
    name: string;
    accountId: string;
    stepUpToken: string;
  }): Promise<Beneficiary>;
  createTransfer(request: TransferRequest): Promise<Transfer>;
}

/**
 * Creates the payment use cases. Nothing moves without a step-up token bound to exactly this
 * operation (dynamic linking, security.md P-7), used once; the ledger then decides the transfer
 * by the limits and fraud rules (post, hold or refuse with TRANSFER_REFUSED), records it at most
 * once per caller and idempotency key, and refuses an overdraft in the database.
 */
export function createPayments(deps: PaymentsDeps): Payments {
  const spend = async (proof: StepUpProof, use: string) => {
    const ttlMs = Math.max(1, proof.expiresAtMs - deps.now());
    if (!(await deps.usedStepUps.claim(proof.tokenId, use, ttlMs))) {
      throw new DomainError("STEP_UP_MISMATCH", "this step-up token was already used; run a new challenge");
    }
  };
  return {
    async addBeneficiary(input) {
      const binding = { kind: "beneficiary" as const, name: input.name, accountId: input.accountId };
      const proof = await deps.checkStepUp(input.stepUpToken, {
        customerId: input.customerId,
        purpose: "add_beneficiary",
        bindingHash: bindingHash("add_beneficiary", binding),
      });
      await spend(proof, `beneficiary:${input.customerId}:${input.accountId}`);
      return deps.ledger.addBeneficiary(input);
    },
    async createTransfer(request) {
      const from = await deps.ledger.getAccount(request.fromAccountId);
      if (!from) throw new DomainError("NOT_FOUND", "The account does not exist.");
      const binding = {
        kind: "transfer" as const,
        fromAccountId: from.id,
        payee: request.payee,
        amount: request.amount,
      };
      const proof = await deps.checkStepUp(request.stepUpToken, {
        customerId: from.customerId,
        purpose: "transfer",
        bindingHash: bindingHash("transfer", binding),
      });
      const toAccountId = await payeeAccount(deps.ledger, from.customerId, request.payee);
      // The token is spent before the rules run, so a refused transfer has used its code: another
      // attempt (later, or for less) needs a new challenge and code (PSD2 RTS art. 4(1)). Only a
      // retry of this very caller and key matches the claim, while the token lives (≤ 5 min).
      await spend(proof, `transfer:${request.callerId}:${request.idempotencyKey}`);
      const { transfer } = await deps.ledger.createTransfer({
        callerId: request.callerId,
        idempotencyKey: request.idempotencyKey,
        fromAccountId: from.id,
        toAccountId,
        amount: request.amount,
        reference: request.reference,
        customerId: from.customerId,
        rules: deps.rules,
      });
      return transfer;
    },
  };
}

/** The account a payee names; a saved payee must belong to the paying customer. */
async function payeeAccount(ledger: LedgerStore, customerId: string, payee: Payee): Promise<string> {
  if ("toAccountId" in payee) return payee.toAccountId;
  const saved = await ledger.getBeneficiary(payee.beneficiaryId);
  if (!saved || saved.customerId !== customerId)
    throw new DomainError("NOT_FOUND", "The payee does not exist.");
  return saved.accountId;
}
