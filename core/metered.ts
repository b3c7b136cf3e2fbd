import type { CoreMetrics, TransferOutcome } from "../lib/metrics.js";
import type { AuditLog } from "./domain/audit.js";
import type { RateGate } from "./domain/conversation-ports.js";
import { DomainError } from "./domain/errors.js";
import type { LedgerStore } from "./domain/ledger.js";
import type { SessionStore } from "./domain/session.js";
import type { ChallengeStore, StepUpLimiter } from "./domain/step-up-ports.js";

/**
 * Decorators that count what the operations dashboard needs (DESIGN.md, Operations) around the
 * domain's ports, so neither the domain nor the stores know about metrics.
 */

/** Counts sessions created through any path (StartSession or a first message). */
export function meterSessions(
  store: SessionStore,
  metrics: Pick<CoreMetrics, "sessionsCreated">,
): SessionStore {
  return {
    ...store,
    async start(subjectId, channel) {
      const result = await store.start(subjectId, channel);
      if (result.created) metrics.sessionsCreated.inc();
      return result;
    },
  };
}

/** Counts rejections of a rate gate under the `limit` label. */
export function meterRateGate(
  gate: RateGate,
  metrics: Pick<CoreMetrics, "rateLimited">,
  limit: string,
): RateGate {
  return {
    async consume(key) {
      try {
        await gate.consume(key);
      } catch (err) {
        if (err instanceof DomainError && err.code === "RATE_LIMITED") metrics.rateLimited.inc({ limit });
        throw err;
      }
    },
  };
}

/**
 * Counts refused step-up codes and dead challenges at the challenge store, the one place that sees
 * which way a verification failed (the caller is told only "wrong or expired code", PSD2 RTS art.
 * 4(3)(a)). The domain reads a challenge only to verify a code, so a miss on `get` is a code for a
 * challenge that is unknown, expired or used ("expired"); each `recordFailure` is one wrong code
 * ("invalid"), and its 0 means the challenge just died of too many (a lockout); a lost `consume`
 * race is a code for a challenge already used ("expired").
 */
export function meterChallenges(
  store: ChallengeStore,
  metrics: Pick<CoreMetrics, "stepUpFailures" | "stepUpLockouts">,
): ChallengeStore {
  return {
    ...store,
    async get(id) {
      const challenge = await store.get(id);
      if (challenge === undefined) metrics.stepUpFailures.inc({ reason: "expired" });
      return challenge;
    },
    async recordFailure(id, maxAttempts) {
      const attemptsLeft = await store.recordFailure(id, maxAttempts);
      metrics.stepUpFailures.inc({ reason: "invalid" });
      if (attemptsLeft === 0) metrics.stepUpLockouts.inc();
      return attemptsLeft;
    },
    async consume(id) {
      const consumed = await store.consume(id);
      if (!consumed) metrics.stepUpFailures.inc({ reason: "expired" });
      return consumed;
    },
  };
}

/** Counts step-up attempts the customer's lockout refused before any code was compared ("locked"). */
export function meterStepUpLimiter(
  limiter: StepUpLimiter,
  metrics: Pick<CoreMetrics, "stepUpFailures">,
): StepUpLimiter {
  return {
    ...limiter,
    async attempt(customerId) {
      try {
        await limiter.attempt(customerId);
      } catch (err) {
        if (err instanceof DomainError && err.code === "OTP_LOCKED")
          metrics.stepUpFailures.inc({ reason: "locked" });
        throw err;
      }
    },
  };
}

/**
 * Counts each transfer the ledger decides by its outcome (see TransferOutcome). A replay of an
 * idempotency key decides nothing again, so it is not counted twice.
 */
export function meterTransfers(ledger: LedgerStore, metrics: Pick<CoreMetrics, "transfers">): LedgerStore {
  return {
    ...ledger,
    async createTransfer(input) {
      try {
        const result = await ledger.createTransfer(input);
        // A new transfer is posted or held; only a replay can find one cancelled since.
        const { status } = result.transfer;
        if (!result.replayed && status !== "cancelled") metrics.transfers.inc({ outcome: status });
        return result;
      } catch (err) {
        metrics.transfers.inc({ outcome: transferFailure(err) });
        throw err;
      }
    },
  };
}

function transferFailure(err: unknown): TransferOutcome {
  if (!(err instanceof DomainError) || err.code === "UNAVAILABLE") return "failed";
  return err.code === "TRANSFER_REFUSED" ? "refused" : "rejected";
}

/**
 * Counts each walk of the audit hash chain by what it found, so a broken chain pages someone
 * (security.md AUD-3) instead of waiting in an RPC answer nobody reads. A walk that could not run
 * (database down) is no result and is left to the request error rate.
 */
export function meterAuditChain(
  audit: AuditLog,
  metrics: Pick<CoreMetrics, "auditChainVerifications">,
): AuditLog {
  return {
    ...audit,
    async verify() {
      const result = await audit.verify();
      metrics.auditChainVerifications.inc({ result: result.ok ? "ok" : "broken" });
      return result;
    },
  };
}
