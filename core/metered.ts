import type { CoreMetrics } from "../lib/metrics.js";
import type { RateGate } from "./domain/conversation-ports.js";
import { DomainError } from "./domain/errors.js";
import type { SessionStore } from "./domain/session.js";

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
