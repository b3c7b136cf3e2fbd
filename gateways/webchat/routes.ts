import type { Context } from "koa";
import type { Clock } from "../../lib/clock.js";
import type { Logger } from "../../lib/logger.js";
import type { ChannelRoute } from "../channel.js";
import type { CoreConversation } from "../core-client-port.js";
import { answerInbound } from "../inbound.js";
import { HttpError } from "../middleware/error-handler.js";
import type { Outbox } from "../outbox/outbox.js";
import { type EventStreamOptions, openEventStream } from "./events.js";
import type { Mailbox } from "./mailbox.js";
import { CHAT_PAGE_CSS, CHAT_PAGE_HTML } from "./page.js";
import { CHAT_PAGE_SCRIPT } from "./page-script.js";
import { parseWebchatMessage } from "./parse.js";
import type { WebchatTokens } from "./session-token.js";
import { authenticateVisitor } from "./verify.js";

/**
 * The Content-Security-Policy of every /chat response, stricter than the app's helmet default:
 * only this origin's app.js, app.css and API; no inline script or style, no plugins, no framing,
 * no form posts and no <base>. Set here, after helmet, so it replaces helmet's header on /chat only.
 */
export const CHAT_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Collaborators of the web chat routes. */
export interface WebchatRouteDeps {
  readonly tokens: WebchatTokens;
  readonly mailbox: Mailbox;
  readonly core: CoreConversation;
  readonly outbox: Outbox;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Counts refused session tokens (the web chat's "signature failures"). */
  readonly onSignatureFailure?: () => void;
  /** Tunes the event stream (tests shorten it). */
  readonly stream?: Pick<EventStreamOptions, "pollMs" | "heartbeatMs" | "maxStreamMs">;
}

/**
 * The web chat under /chat (DESIGN.md, Running it), one route per exact path as the shared app
 * mounts them: the page and its two assets, POST /chat/session (a new visitor's token, or the
 * renewal of a valid one), POST /chat/messages (202 once the core's replies are in the outbox)
 * and GET /chat/events (the replies, as server-sent events). Every API call but a new session
 * needs the visitor's token, checked before the body is read.
 */
export function createWebchatRoutes(deps: WebchatRouteDeps): ChannelRoute[] {
  const authenticate = (ctx: Context) =>
    authenticateVisitor(ctx, deps.tokens, (reason) => {
      deps.onSignatureFailure?.();
      deps.logger.warn({ requestId: ctx.state.requestId, channel: "web", reason }, "session token refused");
    });
  return [
    route("/chat", "GET", async (ctx) => asset(ctx, "html", CHAT_PAGE_HTML)),
    route("/chat/app.js", "GET", async (ctx) => asset(ctx, "js", CHAT_PAGE_SCRIPT)),
    route("/chat/app.css", "GET", async (ctx) => asset(ctx, "css", CHAT_PAGE_CSS)),
    route("/chat/session", "POST", async (ctx) => {
      const renewing = ctx.get("authorization") ? await authenticate(ctx) : undefined;
      const { token, session } = await deps.tokens.mint(renewing);
      ctx.status = 201;
      ctx.body = { token, expiresAt: new Date(session.expiresAt).toISOString() };
    }),
    route("/chat/messages", "POST", async (ctx) => {
      const session = await authenticate(ctx);
      if (!ctx.is("application/json")) throw new HttpError(415, "JSON only");
      const message = parseWebchatMessage(ctx.state.rawBody);
      if ("error" in message) {
        deps.logger.info(
          { requestId: ctx.state.requestId, reason: message.error },
          "web chat message refused",
        );
        throw new HttpError(400, "bad message");
      }
      const turn = {
        channel: "web" as const,
        from: session.visitorId,
        messageId: message.id,
        sentAt: deps.clock.now(),
        text: message.text,
        actionPayload: message.action,
      };
      try {
        await answerInbound(turn, { ...deps, requestId: ctx.state.requestId });
      } catch (err) {
        // The page retries with the same id; the core and the outbox answer it once.
        deps.logger.error({ requestId: ctx.state.requestId, err }, "web chat message not answered");
        throw new HttpError(503, "try again later");
      }
      ctx.status = 202;
      ctx.body = { accepted: message.id };
    }),
    route("/chat/events", "GET", async (ctx) => {
      const session = await authenticate(ctx);
      openEventStream(ctx, session, {
        ...deps.stream,
        mailbox: deps.mailbox,
        clock: deps.clock,
        logger: deps.logger,
      });
    }),
  ];
}

function route(path: string, method: "GET" | "POST", handle: (ctx: Context) => Promise<void>): ChannelRoute {
  return {
    channel: "web",
    path,
    async handle(ctx) {
      ctx.set("Content-Security-Policy", CHAT_CSP);
      ctx.set("Cache-Control", "no-store");
      const allowed = method === "GET" ? ["GET", "HEAD"] : [method];
      if (!allowed.includes(ctx.method)) {
        ctx.set("Allow", allowed.join(", "));
        throw new HttpError(405, "method not allowed");
      }
      await handle(ctx);
    },
  };
}

function asset(ctx: Context, type: "html" | "js" | "css", body: string): void {
  ctx.type = type;
  ctx.body = body;
}
