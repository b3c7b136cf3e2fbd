import type { RequestListener } from "node:http";
import type { AddressInfo } from "node:net";
import { loadGatewayConfig } from "../gateways/config.js";
import { createGateways } from "../gateways/main.js";
import { systemClock } from "../lib/clock.js";
import { createTestRedis } from "../test/support/redis.js";
import type { ProviderName } from "./bench-identities.js";
import { createBenchLogger } from "./bench-logger.js";
import {
  BENCH_INSTAGRAM,
  BENCH_MESSENGER,
  BENCH_TELEGRAM,
  BENCH_TWILIO,
  BENCH_WEBCHAT,
  BENCH_WHATSAPP,
} from "./bench-secrets.js";
import { announceAndAwaitStop, closeServer, listenOnLoopback } from "./child-server.js";

/**
 * The subject of the webhook benchmark, run as a child process (bench/child-server.ts): the real
 * gateways (createGateways: the shared Koa app, the per-IP limit on Redis, every channel's route —
 * WhatsApp, Messenger, Instagram, Telegram, Twilio and the web chat —, the grpc-js core client,
 * the durable Redis outbox and its worker with default settings) on real Redis under a key prefix
 * of its own, listening on port 0 as bin/ does. Inputs: BENCH_CORE_PORT (the core child's gRPC
 * port), BENCH_PRIVATE_JWK (the gateway's signing key, whose public half the core trusts) and
 * BENCH_API_BASE_URLS (JSON: each channel's send API base URL, the sink child's fakes). The
 * per-IP limit is set out of the way (100,000,000 a minute): every request comes from 127.0.0.1.
 * On stop it closes the server, lets the worker finish its sends, and deletes its Redis prefix.
 */

async function main(): Promise<void> {
  const apis = JSON.parse(required("BENCH_API_BASE_URLS")) as Record<ProviderName, string>;
  const config = loadGatewayConfig({
    GATEWAYS: "whatsapp,messenger,instagram,telegram,twilio,web",
    CORE_URL: `127.0.0.1:${required("BENCH_CORE_PORT")}`,
    JWT_PRIVATE_JWK: required("BENCH_PRIVATE_JWK"),
    WHATSAPP_APP_SECRET: BENCH_WHATSAPP.appSecret,
    WHATSAPP_VERIFY_TOKEN: BENCH_WHATSAPP.verifyToken,
    WHATSAPP_ACCESS_TOKEN: BENCH_WHATSAPP.accessToken,
    WHATSAPP_PHONE_NUMBER_ID: BENCH_WHATSAPP.phoneNumberId,
    WHATSAPP_API_BASE_URL: apis.whatsapp,
    WHATSAPP_API_VERSION: BENCH_WHATSAPP.apiVersion,
    ...metaEnv("MESSENGER", BENCH_MESSENGER, apis.messenger),
    ...metaEnv("INSTAGRAM", BENCH_INSTAGRAM, apis.instagram),
    TELEGRAM_BOT_TOKEN: BENCH_TELEGRAM.botToken,
    TELEGRAM_WEBHOOK_SECRET: BENCH_TELEGRAM.webhookSecret,
    TELEGRAM_API_BASE_URL: apis.telegram,
    TWILIO_ACCOUNT_SID: BENCH_TWILIO.accountSid,
    TWILIO_AUTH_TOKEN: BENCH_TWILIO.authToken,
    TWILIO_SMS_FROM: BENCH_TWILIO.smsFrom,
    TWILIO_API_BASE_URL: apis.twilio,
    PUBLIC_BASE_URL: BENCH_TWILIO.publicBaseUrl,
    WEBCHAT_SESSION_SECRET: BENCH_WEBCHAT.sessionSecret,
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
      const server = await listenOnLoopback(gateways.app.callback() as RequestListener);
      const { port } = server.address() as AddressInfo;
      await announceAndAwaitStop({ port, prefix: redis.prefix });
      await closeServer(server);
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

/** The variables of one Meta app (Messenger or Instagram), as loadGatewayConfig reads them. */
function metaEnv(
  prefix: "MESSENGER" | "INSTAGRAM",
  settings: typeof BENCH_MESSENGER | typeof BENCH_INSTAGRAM,
  apiBaseUrl: string,
): Record<string, string> {
  return {
    [`${prefix}_APP_SECRET`]: settings.appSecret,
    [`${prefix}_VERIFY_TOKEN`]: settings.verifyToken,
    [`${prefix}_PAGE_ACCESS_TOKEN`]: settings.pageAccessToken,
    [`${prefix}_API_BASE_URL`]: apiBaseUrl,
    [`${prefix}_API_VERSION`]: settings.apiVersion,
  };
}

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`${name} is required`);
  return value;
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error("gateway-server:", err);
    process.exit(1);
  },
);
