import { decrypt, encrypt, type Keyring } from "../../../lib/aead.js";
import { hashTag, type RedisClient } from "../../../lib/redis.js";
import type { Pending, PendingStore } from "../../domain/dialog/pending.js";

/** Settings of createRedisPendingStore. */
export interface RedisPendingStoreOptions {
  readonly redis: RedisClient;
  /** Seals each pending operation: it names payees and amounts (issue 5 item 6). */
  readonly keyring: Keyring;
  /** First part of every key; default "teller". */
  readonly prefix?: string;
}

/** The key of a subject's pending operation, in the subject's slot (DESIGN.md, State). */
export function pendingKey(prefix: string, subjectId: string): string {
  return `${prefix}:${hashTag(subjectId)}:pending`;
}

/**
 * PendingStore on Redis: one sealed value per subject with PX expiry, shared by every core
 * instance so the next message may land anywhere. A value that no longer opens (its key was
 * retired from ENCRYPTION_KEYS) reads as nothing pending: the customer starts over, which is safe.
 */
export function createRedisPendingStore(options: RedisPendingStoreOptions): PendingStore {
  const { redis, keyring } = options;
  const prefix = options.prefix ?? "teller";
  const aad = (subjectId: string) => `pending:${subjectId}`;
  return {
    async get(subjectId) {
      const sealed = await redis.get(pendingKey(prefix, subjectId));
      if (sealed === null) return undefined;
      try {
        return JSON.parse(decrypt(keyring, sealed, aad(subjectId)).toString("utf8")) as Pending;
      } catch {
        return undefined;
      }
    },
    async put(subjectId, pending, ttlMs) {
      const sealed = encrypt(keyring, JSON.stringify(pending), aad(subjectId));
      await redis.set(pendingKey(prefix, subjectId), sealed, "PX", Math.max(1, Math.ceil(ttlMs)));
    },
    async delete(subjectId) {
      await redis.del(pendingKey(prefix, subjectId));
    },
  };
}
