import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import request from "supertest";
import { type ServingCore, serveCore } from "../../../core/serve.js";
import { loadGatewayConfig } from "../../../gateways/config.js";
import { createGateways, type Gateways } from "../../../gateways/main.js";
import { systemClock } from "../../../lib/clock.js";
import { createLogger } from "../../../lib/logger.js";
import { startTestCore, type TestCore } from "../core.js";
import type { ChannelHarness, InboundRequest, ProviderReply } from "./harness.js";

/** The public address the harnesses sign against (Twilio signs the URL it called). */
export const PUBLIC_BASE_URL = "https://teller.example.test";

/** A real core (Redis, PostgreSQL) behind grpc-js, one channel's fake provider, and its gateway. */
export interface ChannelRig {
  readonly t: TestCore;
  readonly harness: ChannelHarness;
  readonly gateways: Gateways;
  /** Delivers a request to the gateway as the provider would; resolves with status and body. */
  deliver(request: InboundRequest): Promise<{ status: number; text: string }>;
  /**
   * Delivers a request that must be acknowledged, then waits for exactly one more reply at the
   * provider and returns it.
   */
  turn(request: InboundRequest): Promise<ProviderReply>;
  close(): Promise<void>;
}

/** Starts everything one harness needs, with only its channel turned on. */
export async function startChannelRig(harness: ChannelHarness, coreEnv: Record<string, string> = {}) {
  const t = await startTestCore({ env: { RATE_LIMIT_PER_SUBJECT: "200/1m", ...coreEnv } });
  const silent = createLogger({ level: "silent" });
  let serving: ServingCore | undefined;
  try {
    serving = await serveCore(t.core, {
      host: "127.0.0.1",
      corePort: 0,
      connectPort: 0,
      maxMessageBytes: 1 << 20,
      logger: silent,
    });
    await harness.start({ publicBaseUrl: PUBLIC_BASE_URL });
  } catch (err) {
    await serving?.close();
    await t.close();
    throw err;
  }
  const config = loadGatewayConfig({
    CORE_URL: `127.0.0.1:${serving.corePort}`,
    JWT_PRIVATE_JWK: JSON.stringify(t.keys.privateJwk),
    GATEWAYS: harness.name,
    PUBLIC_BASE_URL,
    HTTP_TIMEOUT: "5s",
    ...harness.env(),
  });
  const logger = createLogger({
    level: "warn",
    destination: new Writable({ write: (_c, _e, done) => done() }),
  });
  const gateways = createGateways({
    config,
    clock: systemClock,
    logger,
    redis: t.redisHandle?.redis,
    keyPrefix: t.prefix,
    worker: { baseDelayMs: 20, maxDelayMs: 200, pollIntervalMs: 10, leaseMs: 2_000 },
  });
  // A channel that reads replies from the gateway itself (the web chat's event streams) needs it
  // listening; the others are driven in-process through supertest.
  let server: Server | undefined;
  if (harness.attach) {
    const listening = createServer(gateways.app.callback());
    server = listening;
    await new Promise<void>((resolve) => listening.listen(0, "127.0.0.1", resolve));
    await harness.attach(`http://127.0.0.1:${(listening.address() as AddressInfo).port}`);
  }
  const deliver = async (inbound: InboundRequest) => {
    const agent = request(gateways.app.callback());
    let call = inbound.method === "GET" ? agent.get(inbound.path) : agent.post(inbound.path);
    for (const [name, value] of Object.entries(inbound.headers)) call = call.set(name, value);
    const res = inbound.body === undefined ? await call : await call.send(inbound.body);
    return { status: res.status, text: res.text };
  };
  const rig: ChannelRig = {
    t,
    harness,
    gateways,
    deliver,
    async turn(inbound) {
      const before = harness.replies.length;
      const res = await deliver(inbound);
      if (res.status < 200 || res.status > 299)
        throw new Error(`${harness.name} answered ${res.status}: ${res.text}`);
      const replies = await harness.waitForReplies(before + 1);
      return replies[before] as ProviderReply;
    },
    async close() {
      if (server) {
        // The visitors' streams end first, so the server closes without waiting for them.
        await harness.close();
        server.closeAllConnections();
        await new Promise((resolve) => server?.close(resolve));
      }
      await gateways.close().catch(() => {});
      await harness.close();
      await serving?.close();
      await t.close();
    },
  };
  return rig;
}
