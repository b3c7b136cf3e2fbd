import type { NewAuditEvent } from "./audit.js";
import type { Binding, StoredChallenge } from "./step-up-ports.js";

/**
 * The audit events of step-up (issue 5 item 5; ASVS 5 16.3.1 "log all authentication attempts",
 * ASVS 4 2.8.5 for TOTP reuse). Attributes hold ids, the purpose, the delivery method, amounts and
 * tries left; NEVER the code, the token, or the binding's free text such as a payee's name
 * (security.md LOG-1, A5-16.2.5): the trail is kept forever and outlives erasure.
 */
export type StepUpAuditType =
  | "stepup.challenge_started"
  | "stepup.verified"
  | "stepup.failed"
  | "stepup.totp_reused"
  | "stepup.locked";

const SUCCESSES: ReadonlySet<StepUpAuditType> = new Set(["stepup.challenge_started", "stepup.verified"]);

/** The challenge fields an event names. */
export type AuditedChallenge = Pick<StoredChallenge, "id" | "customerId" | "purpose" | "method">;

/**
 * Builds one step-up event about `challenge`: the customer, the outcome its type implies, and the
 * challenge id, purpose and method, plus `extra` (which must follow the rule above).
 */
export function stepUpEvent(
  type: StepUpAuditType,
  challenge: AuditedChallenge,
  extra: Readonly<Record<string, string>> = {},
): NewAuditEvent {
  return {
    type,
    customerId: challenge.customerId,
    outcome: SUCCESSES.has(type) ? "success" : "failure",
    attributes: {
      challenge_id: challenge.id,
      purpose: challenge.purpose,
      method: challenge.method,
      ...extra,
    },
  };
}

/**
 * What a binding adds to "stepup.challenge_started": account ids and the amount of a transfer,
 * the payee's account of a new beneficiary. Its name is free text the customer typed, so it stays
 * out (security.md LOG-1).
 */
export function bindingAttributes(binding: Binding | undefined): Record<string, string> {
  if (binding?.kind === "beneficiary") return { payee_account_id: binding.accountId };
  if (binding?.kind !== "transfer") return {};
  const payee: Record<string, string> =
    "toAccountId" in binding.payee
      ? { to_account_id: binding.payee.toAccountId }
      : { beneficiary_id: binding.payee.beneficiaryId };
  return {
    from_account_id: binding.fromAccountId,
    ...payee,
    currency: binding.amount.currency,
    minor_units: binding.amount.minorUnits.toString(),
  };
}
