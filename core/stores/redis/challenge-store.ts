import { defineScript, hashTag, type RedisClient } from "../../../lib/redis.js";
import type { ChallengeStore, Purpose, StoredChallenge } from "../../domain/step-up-ports.js";

/** Collaborators and settings of createRedisChallengeStore. */
export interface RedisChallengeStoreOptions {
  readonly redis: RedisClient;
  /** First part of every key; default "teller". */
  readonly prefix?: string;
}

/**
 * The one hash holding a challenge: `<prefix>:{stepup:<id>}:challenge`. One key per challenge,
 * hash-tagged, so each script touches a single slot on a cluster (DESIGN.md, State).
 */
export function challengeKey(prefix: string, challengeId: string): string {
  return `${prefix}:${hashTag(`stepup:${challengeId}`)}:challenge`;
}

// KEYS challenge; ARGV maxAttempts → tries left. One script so two concurrent wrong codes never
// both see "4 left", and the fifth deletes the challenge in the same step (security.md P-4, RL-8).
const recordFailureScript = defineScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local max = tonumber(ARGV[1])
if failures >= max then
  redis.call('DEL', KEYS[1])
  return 0
end
return max - failures
`);

/**
 * Creates the Redis ChallengeStore: one hash per challenge with a PX expiry (5 minutes from the
 * domain), holding the customer id, purpose, binding hash, code hash and failure count — never
 * the code. Failure counting is one Lua script and consuming one DEL, so each is atomic.
 */
export function createRedisChallengeStore(options: RedisChallengeStoreOptions): ChallengeStore {
  const { redis } = options;
  const prefix = options.prefix ?? "teller";
  const key = (id: string) => challengeKey(prefix, id);
  return {
    create: async (challenge, ttlMs) => {
      const fields: Record<string, string> = {
        customer: challenge.customerId,
        purpose: challenge.purpose,
        code: challenge.codeHash,
        method: challenge.method,
        expires: String(challenge.expiresAtMs),
        failures: "0",
      };
      if (challenge.bindingHash !== undefined) fields.binding = challenge.bindingHash;
      // One transaction: a challenge never exists without its expiry.
      const replies = await redis
        .multi()
        .hset(key(challenge.id), fields)
        .pexpire(key(challenge.id), ttlMs)
        .exec();
      const failed = replies?.find(([error]) => error !== null);
      if (!replies || failed) throw failed?.[0] ?? new Error("challenge transaction was discarded");
    },
    get: async (id) => toChallenge(id, await redis.hgetall(key(id))),
    recordFailure: async (id, maxAttempts) =>
      Number(await recordFailureScript(redis, [key(id)], [maxAttempts])),
    // DEL answers 1 to exactly one caller: consuming is deleting, so a used code is gone at once.
    consume: async (id) => (await redis.del(key(id))) === 1,
    delete: async (id) => {
      await redis.del(key(id));
    },
  };
}

function toChallenge(id: string, fields: Record<string, string>): StoredChallenge | undefined {
  if (fields.customer === undefined || fields.code === undefined) return undefined;
  return {
    id,
    customerId: fields.customer,
    purpose: fields.purpose as Purpose,
    bindingHash: fields.binding,
    codeHash: fields.code,
    method: fields.method === "totp" ? "totp" : "sms",
    expiresAtMs: Number(fields.expires),
  };
}
