import { createCore } from "../core/main.js";
import { serveCore } from "../core/serve.js";
import { systemClock } from "../lib/clock.js";
import { type BenchCoreContext, openBenchState, runBenchCore } from "./bench-core.js";
import { announceAndAwaitStop } from "./child-server.js";

/**
 * The subject of the transfers benchmark, run as a child process (bench/child-server.ts): the real
 * core (createCore) on real Redis (a key prefix of its own) and real PostgreSQL (a schema of its
 * own, `SQL_POOL_SIZE` connections), served by serveCore on port 0. Nothing is seeded here: the
 * parent creates customers, payees and step-up tokens through the RPC, as the bank's systems and
 * customers would. Input: BENCH_JWKS, the public key set of the parent's service tokens. It
 * announces its port, Redis key prefix, schema and the durability settings its connections see.
 * On stop it drains calls, closes the core, deletes its Redis prefix and drops its schema.
 */

/** Connections of the core's pool: the integration tests' size (test/support/postgres.ts). */
const SQL_POOL_SIZE = 20;

/**
 * Limits, fraud rules and the step-up lockout set so high they never fire: the benchmark measures
 * the path of a transfer that goes through, not refusals (core/transfer-rules-config.ts: amounts
 * are whole minor units of at most 15 digits, rates "points/window"). The rules still run.
 */
const NEVER_TRIGGER: Readonly<Record<string, string>> = {
  RATE_LIMIT_STEP_UP: "999999999/1m",
  RATE_LIMIT_STEP_UP_SMS: "999999999/1m",
  TRANSFER_LIMIT_PER_TRANSFER: "1000000000000",
  TRANSFER_LIMIT_PER_DAY: "1000000000000",
  TRANSFER_VELOCITY: "999999999/1m",
  PAYEE_COOLING_OFF_AMOUNT: "1000000000000",
  UNUSUAL_AMOUNT_MIN: "1000000000000",
  UNUSUAL_AMOUNT_FACTOR: "1000000000000",
};

async function main(): Promise<void> {
  await runBenchCore("transfer-core-server", NEVER_TRIGGER, serveUntilStopped);
}

/** Builds and serves the core until the parent says stop; pushes each undo step onto `cleanups`, newest first. */
async function serveUntilStopped({ config, logger, cleanups }: BenchCoreContext): Promise<void> {
  const { redis, schema } = await openBenchState(cleanups);
  const core = await createCore({
    config,
    clock: systemClock,
    logger,
    redis: redis.redis,
    keyPrefix: redis.prefix,
    sql: schema.client,
  });
  cleanups.unshift(() => core.close());
  // What the core's own connections see, not the server's defaults: a role or database setting
  // could turn synchronous_commit off for them alone.
  const setting = async (name: "synchronous_commit" | "fsync") => {
    const { rows } = await schema.client.query<{ value: string }>(
      `SELECT current_setting('${name}') AS value`,
      [],
    );
    return rows[0]?.value ?? "unknown";
  };
  const durability = {
    synchronousCommit: await setting("synchronous_commit"),
    fsync: await setting("fsync"),
  };
  const serving = await serveCore(core, {
    host: "127.0.0.1",
    corePort: 0,
    connectPort: 0,
    maxMessageBytes: config.maxBodyBytes,
    logger,
  });
  cleanups.unshift(() => serving.close());
  await announceAndAwaitStop({
    port: serving.corePort,
    schema: schema.schema,
    prefix: redis.prefix,
    poolSize: SQL_POOL_SIZE,
    ...durability,
  });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error("transfer-core-server:", err);
    process.exit(1);
  },
);
