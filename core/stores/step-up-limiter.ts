import { consumeOrThrow, type Limiter, resetLimit } from "../../lib/rate-limit.js";
import { DomainError } from "../domain/errors.js";
import type { StepUpLimiter } from "../domain/step-up-ports.js";

/**
 * Creates the StepUpLimiter port over a limiter from createLimiter, keyed by customer id (never
 * IP: for chat users the IP is the provider's, security.md RL-7). Every verification attempt
 * consumes a point; a spent limit becomes DomainError OTP_LOCKED with retryAfterMs; a success
 * deletes the key. A store failure without insurance is rethrown, never read as a lockout.
 */
export function createStepUpLimiter(limiter: Limiter): StepUpLimiter {
  return {
    attempt: (customerId) => consumeOrThrow(limiter, customerId, locked),
    reset: (customerId) => resetLimit(limiter, customerId),
  };
}

function locked(retryAfterMs: number): DomainError {
  const minutes = Math.ceil(retryAfterMs / 60_000);
  return new DomainError("OTP_LOCKED", `Too many wrong codes; try again in ${minutes} min.`, {
    retryAfterMs,
  });
}
