import { decrypt, encrypt, type Keyring } from "../../../lib/aead.js";
import { defineScript, hashTag, type RedisClient } from "../../../lib/redis.js";
import type { MessageLog, StoredHandling } from "../../domain/conversation-ports.js";

/** Collaborators and settings of createRedisMessageLog. */
export interface RedisMessageLogOptions {
  readonly redis: RedisClient;
  /** config.data.encryption: handlings are sealed with it, as their replies hold balances and payee names. */
  readonly keyring: Keyring;
  /** First part of every key; default "teller". */
  readonly prefix?: string;
}

/**
 * The key of one handled message, tagged by subject so it shares a slot with the subject's lock
 * and session (DESIGN.md, State).
 */
export function messageLogKey(prefix: string, subjectId: string, messageKey: string): string {
  return `${prefix}:${hashTag(subjectId)}:msg:${messageKey}`;
}

/** The key of a subject's conversation counter, in the subject's slot. */
export function sequenceKey(prefix: string, subjectId: string): string {
  return `${prefix}:${hashTag(subjectId)}:seq`;
}

/**
 * The index of a subject's stored message keys (a sorted set scored by expiry, in the subject's
 * slot), so erasure finds them without scanning the keyspace.
 */
export function messageIndexKey(prefix: string, subjectId: string): string {
  return `${prefix}:${hashTag(subjectId)}:msgs`;
}

// KEYS counter; ARGV ttlMs → the next value. One script: INCR and the expiry move together.
const nextScript = defineScript(`
local value = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return value
`);

// KEYS entry, index; ARGV value, ttlMs, messageKey. Stores the entry and indexes it by its expiry
// on Redis's own clock (the one PX uses); expired members are pruned so the index stays bounded
// by one ttl of traffic, and the index lives as long as its longest-lived entry.
const putScript = defineScript(`
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZADD', KEYS[2], now + ttl, ARGV[3])
if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
return 1
`);

/** Keys deleted per DEL on erasure, so one command stays small. */
const ERASE_BATCH = 500;

/**
 * Creates a MessageLog on Redis, shared by every core instance so a provider retry that lands
 * on another instance still gets the first handling's replies. Entries have a PX expiry and are
 * sealed with AES-256-GCM under an AAD naming the subject and message key, so a Redis dump holds
 * no reply text and an entry moved to another subject or message fails to open (security.md §10).
 */
export function createRedisMessageLog(options: RedisMessageLogOptions): MessageLog {
  const { redis, keyring } = options;
  const prefix = options.prefix ?? "teller";
  const aad = (subjectId: string, messageKey: string) => `message-log:${subjectId}:${messageKey}`;
  return {
    async get(subjectId, messageKey) {
      const raw = await redis.get(messageLogKey(prefix, subjectId, messageKey));
      if (raw === null) return undefined;
      return parseHandling(decrypt(keyring, raw, aad(subjectId, messageKey)).toString("utf8"));
    },
    async put(subjectId, messageKey, handling, ttlMs) {
      const json = JSON.stringify({
        sessionId: handling.sessionId,
        replies: handling.replies,
        sequence: handling.sequence,
      });
      const value = encrypt(keyring, json, aad(subjectId, messageKey));
      const keys = [messageLogKey(prefix, subjectId, messageKey), messageIndexKey(prefix, subjectId)];
      await putScript(redis, keys, [value, Math.max(1, Math.ceil(ttlMs)), messageKey]);
    },
    async nextSequence(subjectId, ttlMs) {
      const key = sequenceKey(prefix, subjectId);
      return Number(await nextScript(redis, [key], [Math.max(1, Math.ceil(ttlMs))]));
    },
    async erase(subjectId) {
      const index = messageIndexKey(prefix, subjectId);
      const messageKeys = await redis.zrange(index, 0, -1);
      const keys = messageKeys.map((messageKey) => messageLogKey(prefix, subjectId, messageKey));
      // Every key shares the subject's hash tag, so a multi-key DEL is valid on a cluster too.
      for (let i = 0; i < keys.length; i += ERASE_BATCH) await redis.del(...keys.slice(i, i + ERASE_BATCH));
      await redis.del(index, sequenceKey(prefix, subjectId));
    },
  };
}

function parseHandling(raw: string): StoredHandling {
  const parsed = JSON.parse(raw) as StoredHandling;
  if (
    typeof parsed.sessionId !== "string" ||
    !Array.isArray(parsed.replies) ||
    typeof parsed.sequence !== "number"
  ) {
    throw new Error("Malformed stored handling in the message log");
  }
  return parsed;
}
