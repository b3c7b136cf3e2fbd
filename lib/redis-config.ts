import { type Env, readVar } from "./env.js";

/** Where a process keeps its shared state: REDIS_URL and REDIS_CLUSTER, as both roots read them. */
export interface RedisSettings {
  /**
   * One `redis://` or `rediss://` URL; with `redisCluster`, one or more of them separated by
   * commas (the seed nodes). Unset: state lives in process memory.
   */
  readonly redisUrl?: string;
  /** REDIS_CLUSTER=true: speak the Redis Cluster protocol to the seed nodes of `redisUrl`. */
  readonly redisCluster: boolean;
}

const SCHEMES = ["redis:", "rediss:"];

/**
 * Reads REDIS_URL and REDIS_CLUSTER (`true` or `false`, default false). A cluster's seed URLs must
 * share one scheme and one set of credentials, because ioredis applies the same TLS and password
 * to every node it discovers from them, and name no database but 0 (a cluster has only that one).
 * Problems never echo a URL: it may hold a password.
 */
export function readRedisSettings(env: Env, problems: string[]): RedisSettings {
  const flag = readVar(env, "REDIS_CLUSTER", problems);
  if (flag !== undefined && flag !== "true" && flag !== "false")
    problems.push(`REDIS_CLUSTER must be true or false, got "${flag}"`);
  const redisCluster = flag === "true";
  const raw = readVar(env, "REDIS_URL", problems);
  if (raw === undefined) {
    if (redisCluster) problems.push("REDIS_CLUSTER=true needs REDIS_URL: the seed nodes of the cluster");
    return { redisCluster };
  }
  if (!redisCluster) {
    if (parseRedisUrl(raw) !== undefined) return { redisUrl: raw, redisCluster };
    problems.push(
      raw.includes(",")
        ? "REDIS_URL must be one redis:// or rediss:// URL; for several seed nodes set REDIS_CLUSTER=true"
        : "REDIS_URL must be a redis:// or rediss:// URL",
    );
    return { redisCluster };
  }
  const urls = splitSeedUrls(raw).map(parseRedisUrl);
  if (urls.length === 0 || urls.some((url) => url === undefined)) {
    problems.push("REDIS_URL must list redis:// or rediss:// URLs separated by commas (REDIS_CLUSTER=true)");
    return { redisCluster };
  }
  checkSeeds(urls as URL[], problems);
  return { redisUrl: raw, redisCluster };
}

/** The seed URLs of a cluster's REDIS_URL, in order, without blanks. */
export function splitSeedUrls(value: string): string[] {
  return value
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean);
}

function parseRedisUrl(value: string): URL | undefined {
  try {
    const url = new URL(value);
    return SCHEMES.includes(url.protocol) ? url : undefined;
  } catch {
    // Reported by the caller without echoing the value.
    return undefined;
  }
}

function checkSeeds(urls: URL[], problems: string[]): void {
  const first = urls[0] as URL;
  if (urls.some((url) => url.protocol !== first.protocol))
    problems.push("REDIS_URL seed nodes must all be redis:// or all rediss://");
  if (urls.some((url) => url.username !== first.username || url.password !== first.password))
    problems.push("REDIS_URL seed nodes must all carry the same user and password");
  if (urls.some((url) => !["", "/", "/0"].includes(url.pathname)))
    problems.push("REDIS_URL seed nodes must name no database but 0: a Redis Cluster has only database 0");
}
