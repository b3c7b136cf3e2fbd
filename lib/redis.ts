import { createHash } from "node:crypto";
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from "ioredis";
import { type RedisSettings, splitSeedUrls } from "./redis-config.js";

/**
 * The client the stores take: one Redis server or a Redis Cluster. Both share ioredis's command
 * interface, and every key one script or transaction touches shares a hash tag, so a store runs
 * unchanged on either (DESIGN.md, State).
 */
export type RedisClient = Redis | Cluster;

/** Settings of createRedis and createRedisCluster; every one has a bounded default (STYLE.md §7). */
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
 * Creates the client REDIS_URL and REDIS_CLUSTER describe: a Cluster over the seed nodes when
 * REDIS_CLUSTER=true, else one Redis; undefined without REDIS_URL (state stays in process memory).
 * Both composition roots call it, so the core and the gateways always agree on what they speak.
 */
export function createRedisClient(
  settings: RedisSettings,
  options: RedisClientOptions = {},
): RedisClient | undefined {
  if (settings.redisUrl === undefined) return undefined;
  return settings.redisCluster
    ? createRedisCluster(splitSeedUrls(settings.redisUrl), options)
    : createRedis(settings.redisUrl, options);
}

/**
 * Creates a Redis Cluster client from seed node URLs (all `redis://` or all `rediss://`, one
 * password): the client learns the other nodes and the slot map from them. Every node connection
 * gets the bounds of createRedis; commands go to masters only (scaleReads "master"), as a replica
 * may lag behind a script's write. Auto-pipelining keeps one pipeline per node (ioredis README,
 * Autopipelining). Node addresses are connected to as announced, without resolving them first, so
 * a TLS certificate naming the host still matches (ioredis README, ElastiCache with TLS).
 */
export function createRedisCluster(seedUrls: readonly string[], options: RedisClientOptions = {}): Cluster {
  const urls = seedUrls.map((seed) => new URL(seed));
  const first = urls[0];
  if (first === undefined) throw new Error("A Redis Cluster needs at least one seed node");
  const maxDelay = options.maxReconnectDelayMs ?? 2_000;
  const redisOptions: ClusterOptions["redisOptions"] = {
    connectTimeout: options.connectTimeoutMs ?? 5_000,
    maxRetriesPerRequest: options.maxRetriesPerRequest ?? 2,
    connectionName: options.connectionName,
    username: first.username ? decodeURIComponent(first.username) : undefined,
    password: first.password ? decodeURIComponent(first.password) : undefined,
  };
  if (first.protocol === "rediss:") redisOptions.tls = {};
  const nodes = urls.map((url) => ({
    host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: url.port === "" ? 6379 : Number(url.port),
  }));
  return new Cluster(nodes, {
    scaleReads: "master",
    enableAutoPipelining: true,
    clusterRetryStrategy: (attempt) => Math.min(attempt * 100, maxDelay),
    dnsLookup: (address, callback) => callback(null, address),
    redisOptions,
  });
}

/**
 * Resolves once `redis` is ready for commands, or rejects after `timeoutMs` (default 5,000).
 * Composition roots await it so a wrong REDIS_URL fails at start rather than on the first request.
 * A Cluster is ready once its slot map is loaded and CLUSTER INFO reports the cluster ok.
 */
export function waitForRedis(redis: RedisClient, timeoutMs = 5_000): Promise<void> {
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
  redis: RedisClient,
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
