import type { Clock } from "../../../lib/clock.js";
import type { MessageLog, StoredHandling } from "../../domain/conversation-ports.js";

/** Collaborators of createMemoryMessageLog. */
export interface MemoryMessageLogDeps {
  readonly clock: Clock;
}

interface Entry {
  readonly subjectId: string;
  readonly handling: StoredHandling;
  readonly expiresAt: number;
}

/**
 * Creates a MessageLog in process memory for a single instance. Entries expire by the injected
 * clock; each put first drops expired entries from the oldest end (a Map keeps insertion order),
 * so memory stays bounded by the traffic of one ttl without a timer. Handlings are kept unsealed:
 * they never leave the process (the Redis log seals them).
 */
export function createMemoryMessageLog(deps: MemoryMessageLogDeps): MessageLog {
  const entries = new Map<string, Entry>();
  const sequences = new Map<string, { value: number; expiresAt: number }>();
  const keyOf = (subjectId: string, messageKey: string) => JSON.stringify([subjectId, messageKey]);

  const evictExpired = (now: number) => {
    for (const [key, entry] of entries) {
      if (entry.expiresAt > now) return;
      entries.delete(key);
    }
  };

  return {
    async get(subjectId, messageKey) {
      const key = keyOf(subjectId, messageKey);
      const entry = entries.get(key);
      if (entry === undefined) return undefined;
      if (entry.expiresAt > deps.clock.now()) return entry.handling;
      entries.delete(key);
      return undefined;
    },
    async put(subjectId, messageKey, handling, ttlMs) {
      const now = deps.clock.now();
      evictExpired(now);
      const key = keyOf(subjectId, messageKey);
      // Re-insert at the end so insertion order stays close to expiry order.
      entries.delete(key);
      entries.set(key, { subjectId, handling: structuredClone(handling), expiresAt: now + ttlMs });
    },
    async nextSequence(subjectId, ttlMs) {
      const now = deps.clock.now();
      const current = sequences.get(subjectId);
      const value = current && current.expiresAt > now ? current.value + 1 : 1;
      // Re-insert so the Map's order stays by last use; sweep expired counters from the front.
      sequences.delete(subjectId);
      sequences.set(subjectId, { value, expiresAt: now + ttlMs });
      for (const [key, entry] of sequences) {
        if (entry.expiresAt > now) break;
        sequences.delete(key);
      }
      return value;
    },
    async erase(subjectId) {
      // A full pass is fine for a rare admin request; memory is the single-instance store.
      for (const [key, entry] of entries) if (entry.subjectId === subjectId) entries.delete(key);
      sequences.delete(subjectId);
    },
  };
}
