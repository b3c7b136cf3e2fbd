/**
 * Quick-reply payloads as Telegram callback_data, which holds at most 64 UTF-8 bytes (channels.md
 * §3.4). A payload that fits travels as itself. A longer one is stored under the SHA-256 of its
 * text and the button carries "~" and that digest (44 bytes); the tap is mapped back here. The
 * digest makes the mapping idempotent: a retried send stores the same key and sends the same data.
 */
import { createHash } from "node:crypto";
import { type Clock, systemClock } from "../../lib/clock.js";
import type { RedisClient } from "../../lib/redis.js";

/** Encodes payloads into callback_data and back. */
export interface CallbackData {
  /** The callback_data for a payload; stores the payload first when it does not fit. */
  encode(payload: string): Promise<string>;
  /** The payload a tap's callback_data stands for; undefined for a stored one that expired. */
  decode(data: string): Promise<string | undefined>;
}

/** Settings of createCallbackData. */
export interface CallbackDataOptions {
  /** Where mapped payloads live; without Redis, in this process (development only). */
  readonly redis?: RedisClient;
  /** First part of the Redis keys (REDIS_KEY_PREFIX). */
  readonly prefix: string;
  /** How long a mapped button stays usable, in ms; default 7 days. */
  readonly ttlMs?: number;
  readonly clock?: Clock;
}

/** Marks callback_data that is a stored payload's digest; payloads starting with it are mapped too. */
const MAPPED = "~";
const MAX_BYTES = 64;
const DEFAULT_TTL_MS = 7 * 24 * 3600_000;
/** Bound of the in-memory map; the oldest entry goes first. */
const MEMORY_ENTRIES = 10_000;

/**
 * Creates the codec. Seven days outlives every dialog step (pending operations time out after
 * five minutes), so only a keyboard left in the chat for a week stops working, and then the
 * customer is told the button expired rather than served a guess.
 */
export function createCallbackData(options: CallbackDataOptions): CallbackData {
  const ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
  const store = options.redis
    ? redisStore(options.redis, `${options.prefix}:telegram:cb:`, ttlMs)
    : memoryStore(ttlMs, options.clock ?? systemClock);
  return {
    async encode(payload) {
      if (Buffer.byteLength(payload, "utf8") <= MAX_BYTES && !payload.startsWith(MAPPED)) return payload;
      const digest = createHash("sha256").update(payload, "utf8").digest("base64url");
      await store.put(digest, payload);
      return `${MAPPED}${digest}`;
    },
    async decode(data) {
      if (!data.startsWith(MAPPED)) return data;
      const digest = data.slice(MAPPED.length);
      return /^[A-Za-z0-9_-]{43}$/.test(digest) ? store.get(digest) : undefined;
    },
  };
}

interface Store {
  put(digest: string, payload: string): Promise<void>;
  get(digest: string): Promise<string | undefined>;
}

function redisStore(redis: RedisClient, keyPrefix: string, ttlMs: number): Store {
  return {
    async put(digest, payload) {
      await redis.set(`${keyPrefix}${digest}`, payload, "PX", ttlMs);
    },
    async get(digest) {
      return (await redis.get(`${keyPrefix}${digest}`)) ?? undefined;
    },
  };
}

function memoryStore(ttlMs: number, clock: Clock): Store {
  const entries = new Map<string, { payload: string; expiresAt: number }>();
  return {
    async put(digest, payload) {
      entries.delete(digest);
      entries.set(digest, { payload, expiresAt: clock.now() + ttlMs });
      if (entries.size > MEMORY_ENTRIES) entries.delete(entries.keys().next().value as string);
    },
    async get(digest) {
      const entry = entries.get(digest);
      return entry !== undefined && entry.expiresAt > clock.now() ? entry.payload : undefined;
    },
  };
}
