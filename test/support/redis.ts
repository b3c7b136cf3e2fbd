import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { Cluster, Redis } from "ioredis";
import { createRedis, type RedisClient, waitForRedis } from "../../lib/redis.js";

const LOCAL_URL = "redis://127.0.0.1:6379";
const HOW_TO =
  "No Redis for integration tests: set REDIS_URL, run one on 127.0.0.1:6379 (docker run -p 6379:6379 redis:7), or install redis-server.";

let found: Promise<string> | undefined;
let child: ChildProcess | undefined;

/**
 * The Redis URL integration tests use, found once per process: REDIS_URL, else a server
 * answering on 127.0.0.1:6379, else a throwaway redis-server on a free port (stopped at exit).
 */
export function redisUrl(): Promise<string> {
  found ??= findRedis();
  return found;
}

/** A client with a key prefix of its own; cleanup deletes only that prefix and quits. */
export interface TestRedis<C extends RedisClient = Redis> {
  readonly redis: C;
  /** `test:<random>`: every key the test writes starts with it. */
  readonly prefix: string;
  cleanup(): Promise<void>;
}

/**
 * Creates a client and a unique key prefix for one test. Cleanup deletes the prefix's keys with
 * SCAN, never FLUSHDB, because the server may be shared (STYLE.md §8).
 */
export async function createTestRedis(): Promise<TestRedis> {
  const redis = createRedis(await redisUrl());
  await waitForRedis(redis);
  const prefix = `test:${randomBytes(6).toString("hex")}`;
  return { redis, prefix, cleanup: () => deletePrefix(redis, prefix).finally(() => redis.quit()) };
}

/** Deletes every key under `prefix`, on every master of a cluster; never FLUSHDB (STYLE.md §8). */
export async function deletePrefix(redis: RedisClient, prefix: string): Promise<void> {
  const keys = await scanKeys(redis, `${prefix}:*`);
  // One UNLINK per key: on a cluster the keys of one call must share a slot.
  await Promise.all(keys.map((key) => redis.unlink(key)));
}

/**
 * Every key matching `pattern`, by SCAN. A cluster's keyspace is split among its masters and
 * SCAN walks one node's keys only, so on a Cluster it runs on each master (`nodes("master")`).
 */
export async function scanKeys(redis: RedisClient, pattern: string): Promise<string[]> {
  const nodes = redis instanceof Cluster ? redis.nodes("master") : [redis];
  const found = await Promise.all(nodes.map((node) => scanNode(node, pattern)));
  return found.flat();
}

async function scanNode(node: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await node.scan(cursor, "MATCH", pattern, "COUNT", 500);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== "0");
  return keys;
}

async function findRedis(): Promise<string> {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  if (await answers(LOCAL_URL)) return LOCAL_URL;
  const started = await startServer();
  if (started !== undefined) return started;
  throw new Error(HOW_TO);
}

async function answers(url: string): Promise<boolean> {
  const probe = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 500,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  probe.on("error", () => {
    // The probe's failure is its answer: the caller tries the next option.
  });
  try {
    await probe.connect();
    return (await probe.ping()) === "PONG";
  } catch {
    // No answer here is a finding, not a failure: the caller tries the next way to get a Redis.
    return false;
  } finally {
    probe.disconnect();
  }
}

async function startServer(): Promise<string | undefined> {
  const port = await freePort();
  const server = spawn("redis-server", ["--port", String(port), "--save", "", "--appendonly", "no"], {
    stdio: "ignore",
  });
  const spawned = await new Promise<boolean>((resolve) => {
    server.once("spawn", () => resolve(true));
    server.once("error", () => resolve(false));
  });
  if (!spawned) return undefined;
  child = server;
  process.once("exit", () => child?.kill());
  const url = `redis://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 50; attempt++) {
    if (await answers(url)) return url;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  server.kill();
  return undefined;
}

/** A TCP port nobody listens on right now (also used to point a client at a closed port). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
