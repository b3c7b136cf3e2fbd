import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import Koa from "koa";
import { announceAndAwaitStop } from "./child-server.js";
import { BENCH_WHATSAPP } from "./whatsapp-bench-secrets.js";

/**
 * The baseline of the webhook benchmark, run as a child process (bench/child-server.ts): a bare
 * Koa app whose one handler reads the raw body, checks X-Hub-Signature-256 (HMAC-SHA256 of the
 * raw bytes with the app secret, compared with timingSafeEqual) and answers 200, or 401 for a bad
 * signature. No middleware, no parsing, no stores: `gateway ÷ bare` is what everything after the
 * signature check costs (DESIGN.md, Transport and speed).
 */

const PREFIX = "sha256=";

function createBareApp(appSecret: string): Koa {
  const app = new Koa();
  app.use(async function checkHmac(ctx) {
    const chunks: Buffer[] = [];
    for await (const chunk of ctx.req as AsyncIterable<Buffer>) chunks.push(chunk);
    const expected = createHmac("sha256", appSecret).update(Buffer.concat(chunks)).digest();
    const header = ctx.get("x-hub-signature-256");
    const claimed = header.startsWith(PREFIX)
      ? Buffer.from(header.slice(PREFIX.length), "hex")
      : Buffer.alloc(0);
    const valid = claimed.length === expected.length && timingSafeEqual(claimed, expected);
    ctx.status = valid ? 200 : 401;
    ctx.body = valid ? "EVENT_RECEIVED" : "bad signature";
  });
  return app;
}

async function main(): Promise<void> {
  const server = createServer(createBareApp(BENCH_WHATSAPP.appSecret).callback());
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  await announceAndAwaitStop({ port: (server.address() as AddressInfo).port });
  await close(server);
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
    console.error("hmac-server:", err);
    process.exit(1);
  },
);
