import type { Clock } from "../../../lib/clock.js";
import type { ChallengeStore, StoredChallenge } from "../../domain/step-up-ports.js";

/** Collaborators of createMemoryChallengeStore. */
export interface MemoryChallengeStoreOptions {
  readonly clock: Clock;
}

interface Entry {
  readonly challenge: StoredChallenge;
  readonly expiresAtMs: number;
  failures: number;
}

/**
 * Creates a ChallengeStore in process memory, for a single instance without REDIS_URL
 * (DESIGN.md, State), with the Redis store's behaviour: expiry judged by the injected clock on
 * every access, failures counted up to a kill, and consume true for one caller only. JavaScript
 * runs each method to its first await without interleaving, so every operation is atomic.
 */
export function createMemoryChallengeStore(options: MemoryChallengeStoreOptions): ChallengeStore {
  const { clock } = options;
  const entries = new Map<string, Entry>();
  const live = (id: string): Entry | undefined => {
    const entry = entries.get(id);
    if (entry && entry.expiresAtMs <= clock.now()) entries.delete(id);
    return entry && entry.expiresAtMs > clock.now() ? entry : undefined;
  };
  const sweep = () => {
    for (const [id] of entries) live(id);
  };
  return {
    create: async (challenge, ttlMs) => {
      // Bounded memory: expired challenges go whenever a new one arrives.
      sweep();
      entries.set(challenge.id, { challenge, expiresAtMs: clock.now() + ttlMs, failures: 0 });
    },
    get: async (id) => live(id)?.challenge,
    recordFailure: async (id, maxAttempts) => {
      const entry = live(id);
      if (!entry) return 0;
      entry.failures += 1;
      if (entry.failures < maxAttempts) return maxAttempts - entry.failures;
      entries.delete(id);
      return 0;
    },
    consume: async (id) => live(id) !== undefined && entries.delete(id),
    delete: async (id) => {
      entries.delete(id);
    },
  };
}
