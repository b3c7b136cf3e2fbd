import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CoreConfig, loadCoreConfig } from "../core/config.js";
import { createCore } from "../core/main.js";
import { serveCore } from "../core/serve.js";
import { createPostgresChannelLinks } from "../core/stores/postgres/channel-links.js";
import { systemClock } from "../lib/clock.js";
import type { Logger } from "../lib/logger.js";
import type { ServerTls } from "../lib/tls-config.js";
import { createTestSchemaClient } from "../test/support/postgres.js";
import { createTestRedis } from "../test/support/redis.js";
import { linkBenchIdentities } from "./bench-identities.js";
import { createBenchLogger } from "./bench-logger.js";
import { announceAndAwaitStop } from "./child-server.js";
import { CUSTOMER_COUNT, seedCustomers } from "./seed-customers.js";
import { countSql } from "./sql-counter.js";

/**
 * The subject of the HandleMessage benchmark and the core of the webhook benchmark, run as a child
 * process (bench/child-server.ts): the real core (createCore) on real Redis (a key prefix of its
 * own) and real PostgreSQL (a schema of its own), served by serveCore on port 0, with
 * CUSTOMER_COUNT customers seeded through the ledger.
 * Inputs: BENCH_JWKS, the public key set of the parent's service tokens, BENCH_LINK_IDENTITIES
 * ("1" also links every customer's Messenger, Instagram, Telegram and web chat identity, see
 * bench/bench-identities.ts), and the TLS benchmark's BENCH_TLS_CERT_FILE, BENCH_TLS_KEY_FILE and
 * BENCH_TLS_CLIENT_CA_FILE (more ports, see serveTls). It announces its port(s), Redis key prefix
 * and schema, answers `stats` with the SQL it has sent (bench/sql-counter.ts). On stop it drains
 * calls, closes the core, deletes its Redis prefix and drops its schema.
 */

async function main(): Promise<void> {
  const config = loadCoreConfig({
    USER_ID_SALT: randomBytes(24).toString("hex"),
    JWKS: process.env.BENCH_JWKS,
    // A benchmark must not leave checkpoint files in the repository's ./data.
    AUDIT_CHECKPOINT_DIR: mkdtempSync(join(tmpdir(), "teller-bench-checkpoints-")),
    MAX_SESSIONS: "1000000",
    RATE_LIMIT_PER_SUBJECT: "1000000/1m",
    LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
    // Certificates of the TLS benchmark, read by the config as bin/ reads TLS_*_FILE.
    TLS_CERT_FILE: process.env.BENCH_TLS_CERT_FILE,
    TLS_KEY_FILE: process.env.BENCH_TLS_KEY_FILE,
    TLS_CLIENT_CA_FILE: process.env.BENCH_TLS_CLIENT_CA_FILE,
  });
  const logger = createBenchLogger("core", config.logLevel);
  const cleanups: Array<() => Promise<void>> = [];
  const failure = await serveUntilStopped(config, logger, cleanups).then(
    () => undefined,
    (err: unknown) => err,
  );
  // Every step runs even when one fails, so a broken close still leaves no keys and no schema.
  const failures: unknown[] = failure === undefined ? [] : [failure];
  for (const cleanup of cleanups) await cleanup().catch((err: unknown) => failures.push(err));
  logger.flush();
  if (failures.length > 0) throw new AggregateError(failures, "core-server failed");
}

/** Builds, seeds and serves the core until the parent says stop; pushes each undo step onto `cleanups`, newest first. */
async function serveUntilStopped(
  config: CoreConfig,
  logger: Logger,
  cleanups: Array<() => Promise<void>>,
): Promise<void> {
  const redis = await createTestRedis();
  cleanups.unshift(() => redis.cleanup());
  const schema = await createTestSchemaClient();
  cleanups.unshift(() => schema.drop());
  const sql = countSql(schema.client);
  const core = await createCore({
    config,
    clock: systemClock,
    logger,
    redis: redis.redis,
    keyPrefix: redis.prefix,
    sql: sql.client,
  });
  cleanups.unshift(() => core.close());
  const customerIds = await seedCustomers(core.ledger, CUSTOMER_COUNT);
  if (process.env.BENCH_LINK_IDENTITIES === "1") {
    const links = createPostgresChannelLinks({ client: schema.client, clock: systemClock });
    await linkBenchIdentities(links, config.userIdSalt, customerIds);
  }
  const serve = async (tls?: ServerTls) => {
    const serving = await serveCore(core, {
      host: "127.0.0.1",
      corePort: 0,
      connectPort: 0,
      maxMessageBytes: config.maxBodyBytes,
      logger,
      tls,
    });
    cleanups.unshift(() => serving.close());
    return serving.corePort;
  };
  const ports = { port: await serve(), ...(config.tls ? await serveTls(config.tls, serve) : {}) };
  await announceAndAwaitStop(
    { ...ports, customers: CUSTOMER_COUNT, schema: schema.schema, prefix: redis.prefix },
    () => ({ ...sql.counts }),
  );
}

/**
 * With certificates, the same core also listens over TLS (`tlsPort`) and, with a client CA, over
 * mutual TLS (`mutualTlsPort`): the TLS benchmark compares them with the h2c `port` on one
 * process's state, so only the transport differs.
 */
async function serveTls(
  tls: ServerTls,
  serve: (tls?: ServerTls) => Promise<number>,
): Promise<{ tlsPort: number; mutualTlsPort?: number }> {
  const { clientCa, ...serverOnly } = tls;
  const tlsPort = await serve(serverOnly);
  return clientCa === undefined ? { tlsPort } : { tlsPort, mutualTlsPort: await serve(tls) };
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error("core-server:", err);
    process.exit(1);
  },
);
