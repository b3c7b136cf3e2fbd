import { type CoreConfig, loadCoreConfig } from "../core/config.js";
import { createCore } from "../core/main.js";
import { serveCore } from "../core/serve.js";
import { systemClock } from "../lib/clock.js";
import { ensureDevSecrets } from "../lib/dev-secrets.js";
import { ConfigError, type Env } from "../lib/env.js";
import { createLogger } from "../lib/logger.js";
import { seedDemo } from "./seed-demo.js";

/** `teller core`: loads config, starts the core, serves until SIGTERM or SIGINT. */
export async function runCore(env: Env): Promise<number> {
  return serve(env, false);
}

/** `teller dev`: the core on embedded defaults with a demo customer, and how to talk to it. */
export async function runDev(env: Env): Promise<number> {
  return serve(env, true);
}

async function serve(env: Env, dev: boolean): Promise<number> {
  const config = await loadConfig(env);
  if (!config) return 1;
  const logger = createLogger({ level: config.logLevel, name: "core" });
  const core = await createCore({ config, clock: systemClock, logger });
  const serving = await serveCore(core, {
    host: config.host,
    corePort: config.corePort,
    connectPort: config.connectPort,
    maxMessageBytes: config.maxBodyBytes,
    logger,
  });
  logger.info({ corePort: serving.corePort, connectPort: serving.connectPort }, "core listening");
  if (dev) console.error(await seedDemo(core.ledger, serving, config));
  await new Promise<void>((resolve) => {
    process.once("SIGTERM", () => resolve());
    process.once("SIGINT", () => resolve());
  });
  logger.info("shutting down: draining calls");
  await serving.close();
  await core.close();
  logger.flush();
  return 0;
}

async function loadConfig(env: Env): Promise<CoreConfig | undefined> {
  try {
    const production = env.NODE_ENV === "production";
    const dev = production ? undefined : await ensureDevSecrets(env.DATA_DIR ?? "./data");
    return loadCoreConfig(env, dev);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const problem of err.problems) console.error(`teller: config: ${problem}`);
    return undefined;
  }
}
