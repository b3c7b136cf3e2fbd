import type { RequestListener } from "node:http";
import { type CoreConfig, loadCoreConfig } from "../core/config.js";
import { type Core, createCore } from "../core/main.js";
import { type ServingCore, serveCore } from "../core/serve.js";
import { devSmsPath } from "../core/stores/otp/dev-outbox-sender.js";
import { type GatewayConfig, loadGatewayConfig } from "../gateways/config.js";
import { createGateways, type Gateways } from "../gateways/main.js";
import { type AdminServer, createAdminHandler, listenAdmin } from "../lib/admin-server.js";
import { systemClock } from "../lib/clock.js";
import { ensureDevSecrets } from "../lib/dev-secrets.js";
import { ConfigError, type Env } from "../lib/env.js";
import { createLogger, type Logger } from "../lib/logger.js";
import type { ServerTls } from "../lib/tls-config.js";
import { createHttpServer, type HttpServer, listenOn } from "../lib/tls-listen.js";

/** A started process part: what it bound, and how to stop it gracefully. */
export interface Started<T> {
  readonly value: T;
  readonly admin: AdminServer;
  stop(): Promise<void>;
}

/** Loads a config, printing one line per problem and returning undefined when it is invalid. */
export async function loadOrReport<C>(
  env: Env,
  load: (env: Env, dev?: Awaited<ReturnType<typeof ensureDevSecrets>>) => C,
) {
  try {
    const dev = env.NODE_ENV === "production" ? undefined : await ensureDevSecrets(env.DATA_DIR ?? "./data");
    return load(env, dev);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const problem of err.problems) console.error(`teller: config: ${problem}`);
    return undefined;
  }
}

/** Starts the core: both RPC ports and its admin port. */
export async function startCore(
  config: CoreConfig,
  logger: Logger,
): Promise<Started<{ core: Core; serving: ServingCore }>> {
  const core = await createCore({
    config,
    clock: systemClock,
    logger,
    devSmsFile: config.production ? undefined : devSmsPath(config.dataDir),
  });
  const serving = await serveCore(core, {
    host: config.host,
    corePort: config.corePort,
    connectPort: config.connectPort,
    maxMessageBytes: config.maxBodyBytes,
    logger,
    tls: config.tls,
  });
  const admin = await listenAdmin(
    createAdminHandler({ registry: core.metrics.registry, ready: () => core.readiness(), logger }),
    config.host,
    config.adminPort,
    config.tls,
  );
  logger.info(
    {
      corePort: serving.corePort,
      connectPort: serving.connectPort,
      adminPort: admin.port,
      tls: tlsMode(config.tls),
    },
    "core listening",
  );
  return {
    value: { core, serving },
    admin,
    stop: async () => {
      // Stop accepting and drain in-flight calls first; the stores close after the last call.
      await serving.close();
      await admin.close();
      await core.close();
    },
  };
}

/** Starts the gateways: the webhook port, the outbox worker and the admin port. */
export async function startGateways(
  config: GatewayConfig,
  logger: Logger,
  adminPort = config.adminPort,
): Promise<Started<{ gateways: Gateways; port: number }>> {
  const gateways = createGateways({ config, clock: systemClock, logger });
  const server = createHttpServer(gateways.app.callback() as RequestListener, config.tls);
  const port = await listenOn(server, config.host, config.gatewayPort);
  const admin = await listenAdmin(
    createAdminHandler({ registry: gateways.metrics.registry, ready: () => gateways.ready(), logger }),
    config.host,
    adminPort,
    config.tls,
  );
  logger.info(
    {
      gatewayPort: port,
      adminPort: admin.port,
      channels: config.gateways,
      tls: tlsMode(config.tls),
      coreTls: config.coreTls === undefined ? "off" : config.coreTls.cert ? "mutual" : "on",
    },
    "gateways listening",
  );
  return {
    value: { gateways, port },
    admin,
    stop: async () => {
      // Stop accepting webhooks, let in-flight ones finish (their replies reach the outbox), then
      // let the worker finish its sends; what is still queued stays in Redis for the next start.
      await closeServer(server);
      await admin.close();
      await gateways.close();
    },
  };
}

/** The loggers of the two process parts. */
export function loggers(level: string) {
  return { core: createLogger({ level, name: "core" }), gateways: createLogger({ level, name: "gateways" }) };
}

/** Loads both configs for `teller dev`; the gateways call the core at its bound port. */
export function loadCore(env: Env, dev?: Awaited<ReturnType<typeof ensureDevSecrets>>) {
  return loadCoreConfig(env, dev);
}

/** Loads the gateway config. */
export function loadGateways(env: Env, dev?: Awaited<ReturnType<typeof ensureDevSecrets>>) {
  return loadGatewayConfig(env, dev);
}

/** How a process listens, for its start line: "off", "on" or "mutual" (client certificates). */
function tlsMode(tls: ServerTls | undefined): string {
  if (tls === undefined) return "off";
  return tls.clientCa === undefined ? "on" : "mutual";
}

function closeServer(server: HttpServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
