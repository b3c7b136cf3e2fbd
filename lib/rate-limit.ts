import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from "rate-limiter-flexible";
import type { RedisClient } from "./redis.js";

/**
 * A limiter built by createLimiter. Only this module touches rate-limiter-flexible (STYLE.md §7);
 * callers hold the value and pass it back to consumeOrThrow.
 */
export type Limiter = RateLimiterAbstract;

/** Settings of createLimiter (security.md RL-1). */
export interface LimiterOptions {
  /** The shared Redis; without it the limit holds per process only. */
  readonly redis?: RedisClient;
  /** Unique per limiter or keys collide: `teller:rl:<purpose>`. */
  readonly keyPrefix: string;
  /** Units allowed per window. */
  readonly points: number;
  /** Window length in seconds, starting at the first consume of a key. */
  readonly durationSeconds: number;
  /** Seconds a key stays blocked once its points are spent; default 0 (until the window ends). */
  readonly blockDurationSeconds?: number;
  /**
   * Points of the in-memory insurance limiter used while Redis is down; default `points`.
   * With N instances set it to about points / N, as each instance counts alone (security.md RL-4).
   */
  readonly insurancePoints?: number;
}

/**
 * Creates a limiter: RateLimiterRedis when `redis` is given, failing fast while the connection
 * is not ready (`rejectIfRedisNotReady`) onto an in-memory insurance limiter so limits keep
 * holding during an outage (security.md RL-2, RL-4); RateLimiterMemory otherwise.
 */
export function createLimiter(options: LimiterOptions): Limiter {
  const common = {
    keyPrefix: options.keyPrefix,
    points: options.points,
    duration: options.durationSeconds,
    blockDuration: options.blockDurationSeconds ?? 0,
  };
  if (options.redis === undefined) {
    return new RateLimiterMemory(common);
  }
  const insuranceLimiter = new RateLimiterMemory({
    ...common,
    points: options.insurancePoints ?? options.points,
  });
  return new RateLimiterRedis({
    ...common,
    storeClient: options.redis,
    rejectIfRedisNotReady: true,
    insuranceLimiter,
  });
}

/**
 * Consumes one point of `key`. A spent limit (a RateLimiterRes rejection) becomes
 * `makeError(retryAfterMs)`, at least 1 ms; a store failure (an Error, only possible without
 * insurance) is rethrown unchanged, so an outage never reads as "limited" (security.md RL-3).
 */
export async function consumeOrThrow(
  limiter: Limiter,
  key: string,
  makeError: (retryAfterMs: number) => Error,
): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (rejection) {
    if (rejection instanceof RateLimiterRes) {
      throw makeError(Math.max(1, Math.ceil(rejection.msBeforeNext)));
    }
    throw rejection;
  }
}

/**
 * Forgets every point `key` consumed, and any block on it: a customer's failures after a success
 * (security.md RL-6 `delete()` on success, RL-8 "reset on success"). A store failure rejects.
 */
export async function resetLimit(limiter: Limiter, key: string): Promise<void> {
  await limiter.delete(key);
}
