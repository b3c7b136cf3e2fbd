import type { Clock } from "../../../lib/clock.js";
import type { Pending, PendingStore } from "../../domain/dialog/pending.js";

/** PendingStore in process memory (no REDIS_URL): single instance, forgotten on restart. */
export function createMemoryPendingStore(options: { clock: Clock }): PendingStore {
  const entries = new Map<string, { pending: Pending; expiresAtMs: number }>();
  return {
    async get(subjectId) {
      const entry = entries.get(subjectId);
      if (!entry) return undefined;
      if (entry.expiresAtMs > options.clock.now()) return entry.pending;
      entries.delete(subjectId);
      return undefined;
    },
    async put(subjectId, pending, ttlMs) {
      entries.set(subjectId, { pending, expiresAtMs: options.clock.now() + ttlMs });
    },
    async delete(subjectId) {
      entries.delete(subjectId);
    },
  };
}
