import { consumeOrThrow, type Limiter } from "../../lib/rate-limit.js";
import type { RateGate } from "../domain/conversation-ports.js";
import { DomainError } from "../domain/errors.js";

/**
 * Creates the RateGate port over a limiter from createLimiter: one consume per message, and a
 * spent limit becomes DomainError RATE_LIMITED carrying retryAfterMs for the caller's RetryInfo.
 * A store failure without insurance is rethrown as it is, never reported as a limit.
 */
export function createRateGate(limiter: Limiter, what = "messages"): RateGate {
  const rateLimited = (retryAfterMs: number) => {
    const seconds = Math.ceil(retryAfterMs / 1000);
    return new DomainError("RATE_LIMITED", `Too many ${what}; try again in ${seconds} s.`, { retryAfterMs });
  };
  return {
    consume: (key) => consumeOrThrow(limiter, key, rateLimited),
  };
}
