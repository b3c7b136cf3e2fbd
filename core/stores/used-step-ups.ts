import type { Clock } from "../../lib/clock.js";
import { defineScript, hashTag, type RedisClient } from "../../lib/redis.js";
import type { UsedStepUps } from "../domain/payments.js";

// KEYS record; ARGV use, ttlMs → 1 when the token is now, or already, spent on this same use.
const claimScript = defineScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then return 1 end
return 0
`);

/** The key recording one step-up token's use, for as long as the token could be presented. */
export function usedStepUpKey(prefix: string, tokenId: string): string {
  return `${prefix}:${hashTag(`stepup-jti:${tokenId}`)}`;
}

/** UsedStepUps on Redis: one atomic script per claim, shared by every core instance. */
export function createRedisUsedStepUps(options: { redis: RedisClient; prefix: string }): UsedStepUps {
  return {
    claim: async (tokenId, use, ttlMs) =>
      (await claimScript(
        options.redis,
        [usedStepUpKey(options.prefix, tokenId)],
        [use, Math.ceil(ttlMs)],
      )) === 1,
  };
}

/** UsedStepUps in process memory (single instance), forgetting records after their TTL. */
export function createMemoryUsedStepUps(options: { clock: Clock }): UsedStepUps {
  const used = new Map<string, { use: string; until: number }>();
  return {
    async claim(tokenId, use, ttlMs) {
      const now = options.clock.now();
      for (const [id, record] of used) if (record.until <= now) used.delete(id);
      const found = used.get(tokenId);
      if (found) return found.use === use;
      used.set(tokenId, { use, until: now + ttlMs });
      return true;
    },
  };
}
