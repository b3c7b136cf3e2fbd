import type { JWK } from "jose";
import type { Clock } from "../lib/clock.js";
import { createStepUpVerifier, StepUpMismatchError } from "../lib/step-up-token.js";
import { DomainError } from "./domain/errors.js";
import type { StepUpCheck } from "./domain/payments.js";

const REFUSED = "a fresh step-up is required: run StepUpService.StartChallenge for this operation";

/**
 * The StepUpCheck port over the core's own step-up key: a missing, expired or forged token is
 * INSUFFICIENT_USER_AUTHENTICATION (RFC 9470, so the caller knows to run a challenge), a valid
 * token bound to another operation is STEP_UP_MISMATCH. jose failures are classified by their
 * `code`; anything else (a bug) propagates as is.
 */
export function createStepUpCheck(publicJwk: JWK, clock: Clock): StepUpCheck {
  const verify = createStepUpVerifier({ jwks: { keys: [publicJwk] } }, clock);
  return async (token, expect) => {
    if (token === "") throw new DomainError("INSUFFICIENT_USER_AUTHENTICATION", REFUSED);
    try {
      const claims = await verify(token, expect);
      return { tokenId: claims.tokenId, expiresAtMs: claims.expiresAt * 1000 };
    } catch (err) {
      if (err instanceof StepUpMismatchError) {
        throw new DomainError("STEP_UP_MISMATCH", "the step-up token authorises another operation", {
          cause: err,
        });
      }
      const code = (err as { code?: unknown }).code;
      if (typeof code === "string" && code.startsWith("ERR_J")) {
        throw new DomainError("INSUFFICIENT_USER_AUTHENTICATION", REFUSED, { cause: err });
      }
      throw err;
    }
  };
}
