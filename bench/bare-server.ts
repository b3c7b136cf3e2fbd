import type { AddressInfo } from "node:net";
import Koa, { type Context } from "koa";
import { SECRET_TOKEN_HEADER, verifySecretToken } from "../gateways/telegram/verify.js";
import { verifyTwilioRequest } from "../gateways/twilio/verify.js";
import { createWebchatTokens } from "../gateways/webchat/session-token.js";
import { authenticateVisitor } from "../gateways/webchat/verify.js";
import { verifyHubSignature } from "../gateways/whatsapp/verify.js";
import { systemClock } from "../lib/clock.js";
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
 * The baseline of the webhook benchmark, run as a child process (bench/child-server.ts): a bare
 * Koa app whose one handler reads the raw body, runs the authenticity check of the channel whose
 * path was called, with the gateway's own check functions, and answers 200 (202 for the web
 * chat), or 401. No middleware, no parsing, no stores: `gateway ÷ bare` is what everything after
 * the check costs (DESIGN.md, Transport and speed). The checks: X-Hub-Signature-256
 * (HMAC-SHA256 of the raw bytes, WhatsApp, Messenger and Instagram, each with its app's secret),
 * Telegram's secret token header (constant time), X-Twilio-Signature (HMAC-SHA1 over the public
 * URL and the sorted form parameters) and the web chat's session token (HS256, jose).
 */

type Check = (ctx: Context, rawBody: Buffer) => boolean | Promise<boolean>;

const tokens = createWebchatTokens({ secret: BENCH_WEBCHAT.sessionSecret, clock: systemClock });
const hub =
  (appSecret: string): Check =>
  (ctx, rawBody) =>
    verifyHubSignature(rawBody, ctx.get("x-hub-signature-256"), appSecret);

const CHECKS = new Map<string, { check: Check; status: number }>([
  ["/webhooks/whatsapp", { check: hub(BENCH_WHATSAPP.appSecret), status: 200 }],
  ["/webhooks/messenger", { check: hub(BENCH_MESSENGER.appSecret), status: 200 }],
  ["/webhooks/instagram", { check: hub(BENCH_INSTAGRAM.appSecret), status: 200 }],
  [
    "/webhooks/telegram",
    {
      check: (ctx) =>
        verifySecretToken(ctx.get(SECRET_TOKEN_HEADER) || undefined, BENCH_TELEGRAM.webhookSecret),
      status: 200,
    },
  ],
  [
    "/webhooks/twilio",
    {
      check: (ctx, rawBody) => {
        const url = `${BENCH_TWILIO.publicBaseUrl}${ctx.originalUrl}`;
        const header = ctx.get("x-twilio-signature") || undefined;
        return verifyTwilioRequest(BENCH_TWILIO.authToken, header, url, rawBody) !== undefined;
      },
      status: 200,
    },
  ],
  [
    "/chat/messages",
    {
      check: (ctx) =>
        authenticateVisitor(ctx, tokens).then(
          () => true,
          () => false,
        ),
      status: 202,
    },
  ],
]);

function createBareApp(): Koa {
  const app = new Koa();
  app.use(async function checkAuthenticity(ctx) {
    const chunks: Buffer[] = [];
    for await (const chunk of ctx.req as AsyncIterable<Buffer>) chunks.push(chunk);
    const route = CHECKS.get(ctx.path);
    if (route === undefined) {
      ctx.status = 404;
      return;
    }
    const valid = await route.check(ctx, Buffer.concat(chunks));
    ctx.status = valid ? route.status : 401;
    ctx.body = valid ? "EVENT_RECEIVED" : "bad signature";
  });
  return app;
}

async function main(): Promise<void> {
  const server = await listenOnLoopback(createBareApp().callback());
  await announceAndAwaitStop({ port: (server.address() as AddressInfo).port });
  await closeServer(server);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error("bare-server:", err);
    process.exit(1);
  },
);
