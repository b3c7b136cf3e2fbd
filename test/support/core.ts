import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { exportJWK, generateKeyPair, type JWK } from "jose";
import { type CoreConfig, loadCoreConfig } from "../../core/config.js";
import { type Core, createCore } from "../../core/main.js";
import { createPgliteClient } from "../../core/stores/postgres/pglite-client.js";
import type { SqlClient } from "../../core/stores/postgres/sql-client.js";
import { type Clock, systemClock } from "../../lib/clock.js";
import { createLogger } from "../../lib/logger.js";
import type { RedisClient } from "../../lib/redis.js";
import { mintServiceToken } from "../../lib/service-token.js";
import { createTestSchemaClient } from "./postgres.js";
import { createTestRedis, type TestRedis } from "./redis.js";
import { createTestClusterRedis, type TestRedisCluster } from "./redis-cluster.js";

/** A signing key of the tests' own, published to the core as its JWKS. */
export interface TestKeys {
  readonly privateJwk: JWK;
  readonly publicJwk: JWK;
}

/** Creates a fresh Ed25519 service-token key pair. */
export async function createTestKeys(kid = "test-key"): Promise<TestKeys> {
  const { privateKey, publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  return {
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: "EdDSA" },
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: "EdDSA" },
  };
}

/** Options of startTestCore. */
export interface TestCoreOptions {
  /** "memory" (no Redis) or "redis" (the real server, a prefix of its own). Default "redis". */
  readonly state?: "memory" | "redis";
  /** "pglite" (in memory) or "postgres" (the real server, a schema of its own). Default "postgres". */
  readonly database?: "pglite" | "postgres";
  /** Extra environment, e.g. MAX_SESSIONS or RATE_LIMIT_PER_SUBJECT. */
  readonly env?: Record<string, string>;
  readonly clock?: Clock;
  readonly keys?: TestKeys;
  /** A SQL client of the test's own (closed by the test), e.g. a wrapper that injects faults. */
  readonly sql?: SqlClient;
  /** Share the Redis key prefix of another test core (two processes on one Redis). */
  readonly shareWith?: TestCore;
  /**
   * Run on this Redis Cluster instead (state "redis"): the core opens its own client from
   * REDIS_URL and REDIS_CLUSTER=true as in production; `redisHandle` is a second client of the test's.
   */
  readonly cluster?: TestRedisCluster;
}

/** A core built for one test, with its log lines captured. */
export interface TestCore {
  readonly core: Core;
  readonly config: CoreConfig;
  readonly keys: TestKeys;
  readonly prefix?: string;
  readonly redisHandle?: TestRedis<RedisClient>;
  readonly schemaHandle?: Awaited<ReturnType<typeof createTestSchemaClient>>;
  /** Every log line written so far, raw JSON text. */
  readonly logs: string[];
  /** Mints a service token with these scopes. */
  token(scopes: string[]): Promise<string>;
  close(): Promise<void>;
}

/** Starts a core on real Redis and PostgreSQL (or the embedded defaults) for one test. */
export async function startTestCore(options: TestCoreOptions = {}): Promise<TestCore> {
  const keys = options.keys ?? options.shareWith?.keys ?? (await createTestKeys());
  const clock = options.clock ?? systemClock;
  // Audit checkpoints go to a directory of this core's own (removed on close), never into ./data.
  const checkpointDir =
    options.env?.AUDIT_CHECKPOINT_DIR === undefined
      ? mkdtempSync(join(tmpdir(), "teller-checkpoints-"))
      : undefined;
  const env = {
    USER_ID_SALT: "test-salt-0123456789abcdefghijklmnopqrstuvwxyz",
    JWKS: JSON.stringify({ keys: [keys.publicJwk] }),
    ...(checkpointDir === undefined ? {} : { AUDIT_CHECKPOINT_DIR: checkpointDir }),
    ...(options.cluster ? { REDIS_URL: options.cluster.url, REDIS_CLUSTER: "true" } : {}),
    ...options.env,
  };
  const config = loadCoreConfig(env);
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      logs.push(...String(chunk).split("\n").filter(Boolean));
      done();
    },
  });
  const logger = createLogger({ level: "debug", destination });
  const redisHandle = await openTestRedis(options);
  const prefix = options.shareWith?.prefix ?? redisHandle?.prefix;
  const schemaHandle =
    options.shareWith?.schemaHandle ??
    ((options.database ?? "postgres") === "postgres" ? await createTestSchemaClient() : undefined);
  const sql = options.sql ?? schemaHandle?.client ?? createPgliteClient();
  // On a cluster the core builds its client from config, as the composition root does in production.
  const redis = options.cluster ? undefined : redisHandle?.redis;
  const core = await createCore({ config, clock, logger, redis, keyPrefix: prefix, sql });
  return {
    core,
    config,
    keys,
    prefix,
    redisHandle,
    schemaHandle,
    logs,
    token: (scopes) =>
      mintServiceToken({ privateJwk: keys.privateJwk, subject: "test", scopes, ttlSeconds: 300, clock }),
    close: async () => {
      await core.close();
      if (checkpointDir !== undefined) rmSync(checkpointDir, { recursive: true, force: true });
      if (redisHandle) await redisHandle.cleanup();
      if (schemaHandle && !options.shareWith) await schemaHandle.drop();
      else if (!schemaHandle && !options.sql) await sql.close();
    },
  };
}

function openTestRedis(options: TestCoreOptions): Promise<TestRedis<RedisClient> | undefined> {
  if ((options.state ?? "redis") !== "redis") return Promise.resolve(undefined);
  return options.cluster ? createTestClusterRedis(options.cluster) : createTestRedis();
}
