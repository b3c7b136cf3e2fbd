import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { loadGatewayConfig } from "../gateways/config.js";
import { createGateways } from "../gateways/main.js";
import { systemClock } from "../lib/clock.js";
import { createTestRedis } from "../test/support/redis.js";
import { createBenchLogger } from "./bench-logger.js";
import { announceAndAwaitStop } from "./child-server.js";
import { BENCH_WHATSAPP } from "./whatsapp-bench-secrets.js";

/**
 * The subject of the webhook benchmark, run as a child process (bench/child-server.ts): the real
 * gateways (createGateways: the shared Koa app, the per-IP limit on Redis, the WhatsApp route, the
 * grpc-js core client, the durable Redis outbox and its worker with default settings) on real
 * Redis under a key prefix of its own, listening on port 0 as bin/ does. Inputs: BENCH_CORE_PORT
 * (the core child's gRPC port), BENCH_PRIVATE_JWK (the gateway's signing key, whose public half the
 * core trusts) and BENCH_GRAPH_URL (the Graph API sink). The per-IP limit is set out of the way
 * (100,000,000 a minute): every request comes from 127.0.0.1. On stop it closes the server, lets
 * the worker finish its sends, and deletes its Redis prefix.
 */

async function main(): Promise<void> {
  const config = loadGatewayConfig({
    GATEWAYS: "whatsapp",
    CORE_URL: `127.0.0.1:${required("BENCH_CORE_PORT")}`,
    JWT_PRIVATE_JWK: required("BENCH_PRIVATE_JWK"),
    WHATSAPP_APP_SECRET: BENCH_WHATSAPP.appSecret,
    WHATSAPP_VERIFY_TOKEN: BENCH_WHATSAPP.verifyToken,
    WHATSAPP_ACCESS_TOKEN: BENCH_WHATSAPP.accessToken,
    WHATSAPP_PHONE_NUMBER_ID: BENCH_WHATSAPP.phoneNumberId,
    WHATSAPP_API_BASE_URL: required("BENCH_GRAPH_URL"),
    WHATSAPP_API_VERSION: BENCH_WHATSAPP.apiVersion,
    RATE_LIMIT_PER_IP: "100000000/1m",
    LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
  });
  const logger = createBenchLogger("gateway", config.logLevel);
  const redis = await createTestRedis();
  const failures: unknown[] = [];
  try {
    const gateways = createGateways({
      config,
      clock: systemClock,
      logger,
      redis: redis.redis,
      keyPrefix: redis.prefix,
    });
    try {
      const server = await listen(gateways.app.callback() as RequestListener);
      const { port } = server.address() as AddressInfo;
      await announceAndAwaitStop({ port, prefix: redis.prefix });
      await close(server);
    } finally {
      await gateways.close().catch((err: unknown) => failures.push(err));
    }
  } finally {
    // Runs even when serving failed, so a broken run still leaves no keys behind.
    await redis.cleanup().catch((err: unknown) => failures.push(err));
    logger.flush();
  }
  if (failures.length > 0) throw new AggregateError(failures, "gateway-server failed to close");
}

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`${name} is required`);
  return value;
}

function listen(handler: RequestListener): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(handler);
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error("gateway-server:", err);
    process.exit(1);
  },
);
