import type { Redis } from "ioredis";
import { defineScript, hashTag } from "../../../lib/redis.js";
import type { MessageLog, StoredHandling } from "../../domain/conversation-ports.js";

/** Collaborators and settings of createRedisMessageLog. */
export interface RedisMessageLogOptions {
  readonly redis: Redis;
  /** First part of every key; default "teller". */
  readonly prefix?: string;
}

/**
 * The key of one handled message, tagged by subject so it shares a slot with the subject's lock
 * and session (DESIGN.md, State). Only single-key commands touch it.
 */
export function messageLogKey(prefix: string, subjectId: string, messageKey: string): string {
  return `${prefix}:${hashTag(subjectId)}:msg:${messageKey}`;
}

/**
 * Creates a MessageLog on Redis, shared by every core instance so a provider retry that lands
 * on another instance still gets the first handling's replies. Entries are JSON with PX expiry.
 */
// KEYS counter; ARGV ttlMs → the next value. One script: INCR and the expiry move together.
const nextScript = defineScript(`
local value = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return value
`);

/** The key of a subject's conversation counter, in the subject's slot. */
export function sequenceKey(prefix: string, subjectId: string): string {
  return `${prefix}:${hashTag(subjectId)}:seq`;
}

export function createRedisMessageLog(options: RedisMessageLogOptions): MessageLog {
  const { redis } = options;
  const prefix = options.prefix ?? "teller";
  return {
    async get(subjectId, messageKey) {
      const raw = await redis.get(messageLogKey(prefix, subjectId, messageKey));
      return raw === null ? undefined : parseHandling(raw);
    },
    async put(subjectId, messageKey, handling, ttlMs) {
      const value = JSON.stringify({
        sessionId: handling.sessionId,
        replies: handling.replies,
        sequence: handling.sequence,
      });
      await redis.set(
        messageLogKey(prefix, subjectId, messageKey),
        value,
        "PX",
        Math.max(1, Math.ceil(ttlMs)),
      );
    },
    async nextSequence(subjectId, ttlMs) {
      const key = sequenceKey(prefix, subjectId);
      return Number(await nextScript(redis, [key], [Math.max(1, Math.ceil(ttlMs))]));
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
