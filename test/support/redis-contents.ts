import type { RedisClient } from "../../lib/redis.js";
import { scanKeys } from "./redis.js";

/** One key under a test prefix and everything it holds, read by type. */
export interface StoredKey {
  readonly key: string;
  readonly type: string;
  /** Every value, member, score, field and element, as Redis returns them. */
  readonly contents: readonly string[];
}

/**
 * Reads every key under `prefix` (on every master of a cluster) with the command of its type, so
 * a test can assert on what a Redis dump or replica would hold. (DUMP itself may LZF-compress
 * values and hide a plaintext.)
 */
export async function readPrefix(redis: RedisClient, prefix: string): Promise<StoredKey[]> {
  const keys = await scanKeys(redis, `${prefix}:*`);
  return Promise.all(keys.map(async (key) => ({ key, ...(await readKey(redis, key)) })));
}

async function readKey(redis: RedisClient, key: string): Promise<{ type: string; contents: string[] }> {
  const type = await redis.type(key);
  switch (type) {
    case "string":
      return { type, contents: [(await redis.get(key)) ?? ""] };
    case "list":
      return { type, contents: await redis.lrange(key, 0, -1) };
    case "set":
      return { type, contents: await redis.smembers(key) };
    case "zset":
      return { type, contents: await redis.zrange(key, 0, -1, "WITHSCORES") };
    case "hash":
      return { type, contents: Object.entries(await redis.hgetall(key)).flat() };
    default:
      return { type, contents: [(await redis.dumpBuffer(key))?.toString("latin1") ?? ""] };
  }
}
