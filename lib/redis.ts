import { createHash } from "node:crypto";
import { Redis, type RedisOptions } from "ioredis";

/** Settings of createRedis; every one has a bounded default (STYLE.md §7). */
export interface RedisClientOptions {
  /** Time allowed to open the connection, in ms; default 5,000. */
  readonly connectTimeoutMs?: number;
  /** Reconnect attempts a queued command survives before it fails; default 2. */
  readonly maxRetriesPerRequest?: number;
  /** Longest pause between reconnect attempts, in ms; default 2,000. */
  readonly maxReconnectDelayMs?: number;
  /** Name shown by CLIENT LIST, to tell the processes apart. */
  readonly connectionName?: string;
}

/**
 * Creates the ioredis client of a process from `REDIS_URL` (`redis://` or `rediss://` for TLS).
 * Auto-pipelining batches the many small commands of concurrent requests into one round trip;
 * the connect timeout and retries per request are bounded so a dead Redis fails requests
 * quickly instead of queueing them forever, while the client keeps reconnecting in the background.
 */
export function createRedis(url: string, options: RedisClientOptions = {}): Redis {
  const maxDelay = options.maxReconnectDelayMs ?? 2_000;
  const settings: RedisOptions = {
    enableAutoPipelining: true,
    connectTimeout: options.connectTimeoutMs ?? 5_000,
    maxRetriesPerRequest: options.maxRetriesPerRequest ?? 2,
    retryStrategy: (attempt) => Math.min(attempt * 100, maxDelay),
    connectionName: options.connectionName,
  };
  if (/^rediss:\/\//i.test(url)) {
    settings.tls = {};
  }
  return new Redis(url, settings);
}

/**
 * Resolves once `redis` is ready for commands, or rejects after `timeoutMs` (default 5,000).
 * Composition roots await it so a wrong REDIS_URL fails at start rather than on the first request.
 */
export function waitForRedis(redis: Redis, timeoutMs = 5_000): Promise<void> {
  if (redis.status === "ready") {
    return Promise.resolve();
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`Redis not ready after ${timeoutMs} ms`)), timeoutMs);
    const onReady = () => finish();
    const onEnd = () => finish(new Error("Redis connection ended before it was ready"));
    function finish(error?: Error): void {
      clearTimeout(timer);
      redis.off("ready", onReady);
      redis.off("end", onEnd);
      if (error) reject(error);
      else resolve();
    }
    redis.on("ready", onReady);
    redis.on("end", onEnd);
  });
}

/** A Lua script bound to its SHA1; see defineScript. */
export type RedisScript = (
  redis: Redis,
  keys: readonly string[],
  args: readonly (string | number)[],
) => Promise<unknown>;

/**
 * Defines a Lua script that runs by EVALSHA and falls back to EVAL when the server does not
 * know it yet (after a restart or failover), so the body is sent once rather than on every call.
 * Every key a script touches must be passed in `keys` and share one hash tag (DESIGN.md, State).
 */
export function defineScript(lua: string): RedisScript {
  const sha = createHash("sha1").update(lua).digest("hex");
  return async (redis, keys, args) => {
    try {
      return await redis.evalsha(sha, keys.length, ...keys, ...args);
    } catch (error) {
      // NOSCRIPT is the error code Redis puts first in the reply (redis.io, EVALSHA).
      if (error instanceof Error && error.message.startsWith("NOSCRIPT")) {
        return redis.eval(lua, keys.length, ...keys, ...args);
      }
      throw error;
    }
  };
}

/**
 * Wraps `value` as a Redis Cluster hash tag (`{value}`): keys sharing a tag share a slot, so one
 * script or transaction may touch them together (DESIGN.md, State). Braces inside would move the
 * tag, so they are refused.
 */
export function hashTag(value: string): string {
  if (value.length === 0 || /[{}]/.test(value)) {
    throw new Error("A hash tag must be non-empty and free of braces");
  }
  return `{${value}}`;
}
