import { createHmac, randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import type { Redis } from "ioredis";
import { type ServingCore, serveCore } from "../../core/serve.js";
import { loadGatewayConfig } from "../../gateways/config.js";
import { createGateways, type Gateways } from "../../gateways/main.js";
import { systemClock } from "../../lib/clock.js";
import { createLogger } from "../../lib/logger.js";
import { startTestCore, type TestCore } from "./core.js";
import { type FakeGraph, startFakeGraph } from "./fake-graph.js";

export const APP_SECRET = "test-app-secret-0123456789";
export const VERIFY_TOKEN = "test-verify-token-0123456789";
export const ACCESS_TOKEN = "test-access-token-0123456789";
export const PHONE_NUMBER_ID = "106540352242922";

/** A core served on port 0, a fake Graph API and a way to build gateways against both. */
export interface GatewayRig {
  readonly t: TestCore;
  readonly serving: ServingCore;
  readonly graph: FakeGraph;
  /** Log lines of every gateway built by this rig. */
  readonly logs: string[];
  gateways(options?: { redis?: Redis; env?: Record<string, string> }): Gateways;
  close(): Promise<void>;
}

/** Starts a real core (real Redis and PostgreSQL) behind grpc-js and a fake Graph API. */
export async function startGatewayRig(coreEnv: Record<string, string> = {}): Promise<GatewayRig> {
  const t = await startTestCore({ env: coreEnv });
  const logs: string[] = [];
  const silent = createLogger({ level: "silent" });
  const serving = await serveCore(t.core, {
    host: "127.0.0.1",
    corePort: 0,
    connectPort: 0,
    maxMessageBytes: 1 << 20,
    logger: silent,
  });
  const graph = await startFakeGraph({
    token: ACCESS_TOKEN,
    phoneNumberId: PHONE_NUMBER_ID,
    version: "v21.0",
  });
  const built: Gateways[] = [];
  const destination = new Writable({
    write(chunk, _e, done) {
      logs.push(...String(chunk).split("\n").filter(Boolean));
      done();
    },
  });
  const logger = createLogger({ level: "debug", destination });
  return {
    t,
    serving,
    graph,
    logs,
    gateways(options = {}) {
      const config = loadGatewayConfig({
        // Only the channel whose settings follow; a harness's env() names its own GATEWAYS.
        GATEWAYS: "whatsapp",
        CORE_URL: `127.0.0.1:${serving.corePort}`,
        JWT_PRIVATE_JWK: JSON.stringify(t.keys.privateJwk),
        WHATSAPP_APP_SECRET: APP_SECRET,
        WHATSAPP_VERIFY_TOKEN: VERIFY_TOKEN,
        WHATSAPP_ACCESS_TOKEN: ACCESS_TOKEN,
        WHATSAPP_PHONE_NUMBER_ID: PHONE_NUMBER_ID,
        WHATSAPP_API_BASE_URL: graph.baseUrl,
        HTTP_TIMEOUT: "5s",
        ...options.env,
      });
      const gateways = createGateways({
        config,
        clock: systemClock,
        logger,
        redis: options.redis ?? t.redisHandle?.redis,
        keyPrefix: t.prefix,
        worker: { baseDelayMs: 20, maxDelayMs: 200, pollIntervalMs: 10, leaseMs: 2_000 },
      });
      built.push(gateways);
      return gateways;
    },
    async close() {
      for (const g of built) await g.close().catch(() => {});
      await graph.close();
      await serving.close();
      await t.close();
    },
  };
}

/** A signed WhatsApp webhook for one text message (channels.md §1.4), with its wamid. */
export function whatsAppText(from: string, text: string, wamid = `wamid.${randomBytes(9).toString("hex")}`) {
  return signed(
    whatsAppBody({
      from: from.slice(1),
      id: wamid,
      timestamp: "1749416383",
      type: "text",
      text: { body: text },
    }),
    wamid,
  );
}

/** A signed WhatsApp webhook carrying `message` as is. */
export function whatsAppMessage(message: Record<string, unknown>) {
  return signed(whatsAppBody(message), String(message.id));
}

/** A signed body with any `value` of the messages field (statuses, errors, …). */
export function whatsAppValue(value: Record<string, unknown>) {
  const body = JSON.stringify({
    object: "whatsapp_business_account",
    entry: [
      {
        id: "1",
        changes: [
          {
            field: "messages",
            value: {
              messaging_product: "whatsapp",
              metadata: { display_phone_number: "15550783881", phone_number_id: PHONE_NUMBER_ID },
              ...value,
            },
          },
        ],
      },
    ],
  });
  return { body, signature: sign(body), wamid: "" };
}

/** The body Meta posts for one inbound message, addressed to a business number (channels.md §1.4). */
export function whatsAppBody(message: Record<string, unknown>, phoneNumberId = PHONE_NUMBER_ID): string {
  return JSON.stringify({
    object: "whatsapp_business_account",
    entry: [
      {
        id: "102290129340398",
        changes: [
          {
            field: "messages",
            value: {
              messaging_product: "whatsapp",
              metadata: { display_phone_number: "15550783881", phone_number_id: phoneNumberId },
              contacts: [{ profile: { name: "Test" }, wa_id: String(message.from) }],
              messages: [message],
            },
          },
        ],
      },
    ],
  });
}

function signed(body: string, wamid: string) {
  return { body, signature: sign(body), wamid };
}

/** X-Hub-Signature-256 of a body, computed independently of the gateway's code. */
export function sign(body: string, secret = APP_SECRET): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}
