import { expect } from "chai";
import { Cluster, Redis } from "ioredis";
import { loadCoreConfig } from "../../core/config.js";
import { loadGatewayConfig } from "../../gateways/config.js";
import { createRedisClient } from "../../lib/redis.js";
import { type RedisSettings, readRedisSettings } from "../../lib/redis-config.js";
import { createTestKeys } from "../support/core.js";

const SEEDS = "redis://:s3cret@10.0.0.1:6379, redis://:s3cret@10.0.0.2:6379,redis://:s3cret@10.0.0.3";

function read(env: Record<string, string>): { settings: RedisSettings; problems: string[] } {
  const problems: string[] = [];
  return { settings: readRedisSettings(env, problems), problems };
}

describe("readRedisSettings (REDIS_URL, REDIS_CLUSTER)", () => {
  it("should default to no cluster, and to process memory without REDIS_URL", () => {
    expect(read({})).to.deep.equal({ settings: { redisCluster: false }, problems: [] });
    expect(read({ REDIS_URL: "rediss://:pw@redis.internal:6380/2" })).to.deep.equal({
      settings: { redisUrl: "rediss://:pw@redis.internal:6380/2", redisCluster: false },
      problems: [],
    });
  });

  it("should take comma-separated seed nodes with REDIS_CLUSTER=true", () => {
    expect(read({ REDIS_CLUSTER: "true", REDIS_URL: SEEDS })).to.deep.equal({
      settings: { redisUrl: SEEDS, redisCluster: true },
      problems: [],
    });
    expect(read({ REDIS_CLUSTER: "false", REDIS_URL: "redis://a:6379" }).settings.redisCluster).to.equal(
      false,
    );
  });

  it("should refuse what a cluster cannot be, never echoing a password", () => {
    const cases: [Record<string, string>, string][] = [
      [{ REDIS_CLUSTER: "yes" }, 'REDIS_CLUSTER must be true or false, got "yes"'],
      [{ REDIS_CLUSTER: "true" }, "REDIS_CLUSTER=true needs REDIS_URL: the seed nodes of the cluster"],
      [
        { REDIS_CLUSTER: "true", REDIS_URL: "redis://:s3cret@a:6379,rediss://:s3cret@b:6379" },
        "REDIS_URL seed nodes must all be redis:// or all rediss://",
      ],
      [
        { REDIS_CLUSTER: "true", REDIS_URL: "redis://:s3cret@a:6379,redis://:0ther@b:6379" },
        "REDIS_URL seed nodes must all carry the same user and password",
      ],
      [
        { REDIS_CLUSTER: "true", REDIS_URL: "redis://:s3cret@a:6379/1" },
        "REDIS_URL seed nodes must name no database but 0: a Redis Cluster has only database 0",
      ],
      [
        { REDIS_CLUSTER: "true", REDIS_URL: "redis://:s3cret@a:6379,http://b:80" },
        "REDIS_URL must list redis:// or rediss:// URLs separated by commas (REDIS_CLUSTER=true)",
      ],
      [
        { REDIS_URL: "redis://:s3cret@a:6379,redis://:s3cret@b:6379" },
        "REDIS_URL must be one redis:// or rediss:// URL; for several seed nodes set REDIS_CLUSTER=true",
      ],
    ];
    for (const [env, problem] of cases) {
      const { problems } = read(env);
      expect(problems, JSON.stringify(env)).to.deep.equal([problem]);
      expect(problems.join("\n")).to.not.include("s3cret");
    }
  });

  it("should be read by both the core's and the gateways' config loaders", async () => {
    const keys = await createTestKeys();
    const core = loadCoreConfig({
      USER_ID_SALT: "test-salt-0123456789abcdefghijklmnopqrstuvwxyz",
      JWKS: JSON.stringify({ keys: [keys.publicJwk] }),
      REDIS_CLUSTER: "true",
      REDIS_URL: SEEDS,
    });
    const gateways = loadGatewayConfig({
      GATEWAYS: "web",
      WEBCHAT_SESSION_SECRET: "w".repeat(40),
      JWT_PRIVATE_JWK: JSON.stringify(keys.privateJwk),
      REDIS_CLUSTER: "true",
      REDIS_URL: SEEDS,
    });
    for (const config of [core, gateways]) expect(config).to.include({ redisUrl: SEEDS, redisCluster: true });
  });
});

describe("createRedisClient", () => {
  it("should open nothing without REDIS_URL, one Redis without REDIS_CLUSTER", () => {
    expect(createRedisClient({ redisCluster: false })).to.equal(undefined);
    const single = createRedisClient({ redisUrl: "redis://127.0.0.1:1", redisCluster: false });
    single?.on("error", () => {
      // Nothing listens on port 1; only the client's type matters here.
    });
    single?.disconnect();
    expect(single).to.be.an.instanceOf(Redis);
  });

  it("should give every cluster node the seeds' TLS and password, reading from masters, hosts as announced", async () => {
    const cluster = createRedisClient({
      redisUrl: "rediss://teller:p%40ss@redis-0.example:6380,rediss://teller:p%40ss@redis-1.example:6380",
      redisCluster: true,
    }) as Cluster;
    cluster.on("error", () => {
      // The example hosts do not exist; the options are what is checked.
    });
    cluster.disconnect();
    expect(cluster).to.be.an.instanceOf(Cluster);
    expect(cluster.options.redisOptions).to.deep.include({
      tls: {},
      username: "teller",
      password: "p@ss",
      connectTimeout: 5_000,
      maxRetriesPerRequest: 2,
    });
    expect(cluster.options).to.include({ scaleReads: "master", enableAutoPipelining: true });
    // A hostname reaches the TLS handshake unresolved, so the certificate's name can match it.
    const resolved = await new Promise((resolve) =>
      cluster.options.dnsLookup?.("redis-1.example", (_error, address) => resolve(address)),
    );
    expect(resolved).to.equal("redis-1.example");
  });
});
