import { createCore } from "../core/main.js";
import { serveCore } from "../core/serve.js";
import { createPostgresChannelLinks } from "../core/stores/postgres/channel-links.js";
import { systemClock } from "../lib/clock.js";
import type { ServerTls } from "../lib/tls-config.js";
import { type BenchCoreContext, openBenchState, runBenchCore } from "./bench-core.js";
import { linkBenchIdentities } from "./bench-identities.js";
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
  const env = {
    MAX_SESSIONS: "1000000",
    RATE_LIMIT_PER_SUBJECT: "1000000/1m",
    // Certificates of the TLS benchmark, read by the config as bin/ reads TLS_*_FILE.
    TLS_CERT_FILE: process.env.BENCH_TLS_CERT_FILE,
    TLS_KEY_FILE: process.env.BENCH_TLS_KEY_FILE,
    TLS_CLIENT_CA_FILE: process.env.BENCH_TLS_CLIENT_CA_FILE,
  };
  await runBenchCore("core-server", env, serveUntilStopped);
}

/** Builds, seeds and serves the core until the parent says stop; pushes each undo step onto `cleanups`, newest first. */
async function serveUntilStopped({ config, logger, cleanups }: BenchCoreContext): Promise<void> {
  const { redis, schema } = await openBenchState(cleanups);
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
