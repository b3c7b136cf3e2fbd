import type Koa from "koa";
import type { ReadyReport } from "../lib/admin-server.js";
import type { Clock } from "../lib/clock.js";
import type { Logger } from "../lib/logger.js";
import { createMetrics, type GatewayMetrics } from "../lib/metrics.js";
import { createLimiter } from "../lib/rate-limit.js";
import { createRedisClient, type RedisClient } from "../lib/redis.js";
import { createGatewayApp } from "./app.js";
import { createChannels } from "./channels.js";
import type { GatewayConfig } from "./config.js";
import { createCoreClient } from "./core-client.js";
import type { CoreConversation } from "./core-client-port.js";
import { createMemoryOutbox } from "./outbox/memory-outbox.js";
import type { Outbox } from "./outbox/outbox.js";
import type { OutboxQueue } from "./outbox/queue.js";
import { createRedisOutbox } from "./outbox/redis-outbox.js";
import { createOutboxWorker } from "./outbox/worker.js";

/** The User-Agent of every call to a channel's API: it names Teller and its version (issue 4). */
export const USER_AGENT = "Teller/0.1.0 (+https://github.com/teller-bank/teller)";

/** Collaborators of the gateway root; tests pass their own Redis, key prefix, fetch or core. */
export interface GatewaysDeps {
  readonly config: GatewayConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly redis?: RedisClient;
  readonly keyPrefix?: string;
  /** The HTTP client of the channels' send APIs; globalThis.fetch by default. */
  readonly fetch?: typeof fetch;
  /** A core to call instead of the gRPC client (tests); the gRPC client on CORE_URL otherwise. */
  readonly core?: CoreConversation;
  readonly metrics?: GatewayMetrics;
  /** Tunes the outbox worker (tests shorten its delays). */
  readonly worker?: {
    baseDelayMs?: number;
    maxDelayMs?: number;
    maxAttempts?: number;
    leaseMs?: number;
    pollIntervalMs?: number;
  };
}

/** The running gateways: the Koa app to listen with, readiness, metrics and close(). */
export interface Gateways {
  readonly app: Koa;
  readonly outbox: Outbox & OutboxQueue;
  readonly metrics: GatewayMetrics;
  ready(): Promise<ReadyReport>;
  /** Stops the worker after its in-flight sends, then closes clients this root opened. */
  close(): Promise<void>;
}

/**
 * The composition root of the gateway process (STYLE.md §5): Redis, the per-IP limiter, the core
 * client, the outbox and its worker, the channel routes and the shared app. It never listens.
 */
export function createGateways(deps: GatewaysDeps): Gateways {
  const { config, clock, logger } = deps;
  const redis = deps.redis ?? createRedisClient(config);
  if (!redis)
    logger.warn("REDIS_URL is unset: the outbox and limits live in this process and are not durable");
  const prefix = deps.keyPrefix ?? config.redisKeyPrefix;
  const metrics = deps.metrics ?? createMetrics("gateways", { logger });
  const coreClient = deps.core
    ? undefined
    : createCoreClient({
        coreUrl: config.coreUrl,
        privateJwk: config.privateJwk,
        clock,
        timeoutMs: config.httpTimeoutMs,
        maxMessageBytes: config.maxBodyBytes,
        tls: config.coreTls,
      });
  const core = deps.core ?? (coreClient as CoreConversation);
  const store = redis ? createRedisOutbox({ redis, prefix, clock }) : createMemoryOutbox({ clock });
  // Replies enqueued here wake this process's worker at once instead of at its next poll.
  let nudge = () => {};
  const outbox: Outbox & OutboxQueue = {
    ...store,
    enqueue: async (replies) => {
      await store.enqueue(replies);
      nudge();
    },
  };
  metrics.setOutboxDepthSource(() => outbox.depth());
  const { routes, senders } = createChannels(config, {
    core,
    outbox,
    logger,
    clock,
    redis,
    keyPrefix: prefix,
    timeoutMs: config.httpTimeoutMs,
    userAgent: USER_AGENT,
    fetch: deps.fetch,
    signatureFailed: (channel) => metrics.signatureFailures.inc({ channel }),
  });
  // The series the alerts watch start at 0 for every channel that is on: a series first seen at
  // 1 has no earlier sample, so increase() would miss a channel's first failure or dead letter.
  for (const channel of config.gateways) metrics.signatureFailures.inc({ channel }, 0);
  for (const channel of Object.keys(senders)) {
    metrics.outboxSends.inc({ channel }, 0);
    for (const kind of ["retry", "dead"] as const) metrics.outboxSendFailures.inc({ channel, kind }, 0);
  }
  const worker = createOutboxWorker({
    queue: outbox,
    senders,
    clock,
    logger,
    ...deps.worker,
    onSent: ({ reply }) => metrics.outboxSends.inc({ channel: reply.channel }),
    onFailed: ({ reply }) => metrics.outboxSendFailures.inc({ channel: reply.channel, kind: "retry" }),
    onDeadLetter: ({ reply }) => metrics.outboxSendFailures.inc({ channel: reply.channel, kind: "dead" }),
  });
  const app = createGatewayApp({
    logger,
    ipLimiter: createLimiter({
      redis,
      keyPrefix: `${prefix}:rl:ip`,
      points: config.ratePerIp.points,
      durationSeconds: Math.ceil(config.ratePerIp.durationMs / 1000),
    }),
    routes,
    maxBodyBytes: config.maxBodyBytes,
    corsOrigins: config.corsOrigins,
    trustProxy: config.trustProxy,
    observeRequest: (route, status, seconds) => {
      metrics.requests.inc({ route, status });
      metrics.requestDuration.observe({ route }, seconds);
    },
    onRateLimited: () => metrics.rateLimited.inc({ limit: "ip" }),
  });
  nudge = () => worker.nudge();
  worker.start();
  return {
    app,
    outbox,
    metrics,
    ready: async () => ({
      redis: !redis || redis.status === "ready",
      core: coreClient ? await coreClient.ready() : true,
    }),
    close: async () => {
      await worker.stop();
      coreClient?.close();
      if (redis && !deps.redis) await redis.quit();
    },
  };
}
