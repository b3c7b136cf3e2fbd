import type { Env } from "../lib/env.js";
import {
  loadCore,
  loadGateways,
  loadOrReport,
  loggers,
  type Started,
  startCore,
  startGateways,
} from "./processes.js";
import { devBanner, seedDemo } from "./seed-demo.js";

/** `teller core`: the core service until SIGTERM or SIGINT. */
export async function runCore(env: Env): Promise<number> {
  const config = await loadOrReport(env, loadCore);
  if (!config) return 1;
  const core = await startCore(config, loggers(config.logLevel).core);
  return untilSignal([core]);
}

/** `teller gateways`: every channel's webhooks (or those in GATEWAYS=) until SIGTERM or SIGINT. */
export async function runGateways(env: Env): Promise<number> {
  const config = await loadOrReport(env, loadGateways);
  if (!config) return 1;
  const gateways = await startGateways(config, loggers(config.logLevel).gateways);
  return untilSignal([gateways]);
}

/**
 * `teller dev` (what `make run` starts): the core and the gateways in one process on embedded
 * defaults, a demo customer, and how to talk to it. The gateways' admin port is ADMIN_PORT + 1.
 */
export async function runDev(env: Env): Promise<number> {
  const coreConfig = await loadOrReport(env, loadCore);
  if (!coreConfig) return 1;
  const log = loggers(coreConfig.logLevel);
  const core = await startCore(coreConfig, log.core);
  const coreUrl = `127.0.0.1:${core.value.serving.corePort}`;
  const gatewayConfig = await loadOrReport({ ...env, CORE_URL: env.CORE_URL ?? coreUrl }, loadGateways);
  if (!gatewayConfig) {
    await core.stop();
    return 1;
  }
  const adminPort = coreConfig.adminPort === 0 ? 0 : coreConfig.adminPort + 1;
  const gateways = await startGateways(gatewayConfig, log.gateways, adminPort);
  const seeded = await seedDemo(core.value.core.ledger);
  console.error(devBanner({ seeded, core, gateways, dataDir: coreConfig.dataDir }));
  return untilSignal([gateways, core]);
}

/** Waits for SIGTERM or SIGINT, then stops the parts in order (gateways before the core they call). */
async function untilSignal(parts: readonly Started<unknown>[]): Promise<number> {
  await new Promise<void>((resolve) => {
    process.once("SIGTERM", () => resolve());
    process.once("SIGINT", () => resolve());
  });
  for (const part of parts) await part.stop();
  return 0;
}
