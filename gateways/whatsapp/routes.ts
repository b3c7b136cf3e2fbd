import type { Context } from "koa";
import type { Logger } from "../../lib/logger.js";
import type { ChannelRoute } from "../channel.js";
import type { WhatsAppConfig } from "../config.js";
import type { CoreConversation } from "../core-client-port.js";
import { answerInbound, type InboundTurn } from "../inbound.js";
import { HttpError } from "../middleware/error-handler.js";
import type { Outbox } from "../outbox/outbox.js";
import { parseWhatsAppWebhook, type WhatsAppEvent } from "./parse.js";
import { checkVerifyHandshake, verifyHubSignature } from "./verify.js";

/** Collaborators of the WhatsApp webhook. */
export interface WhatsAppRouteDeps {
  readonly config: WhatsAppConfig;
  readonly core: CoreConversation;
  readonly outbox: Outbox;
  readonly logger: Logger;
  readonly onSignatureFailure?: () => void;
}

/** What the gateway answers a sender whose message it cannot read (issue 4). */
export const TEXT_ONLY = "Sorry, I can read text only. Please type your question.";

/**
 * The WhatsApp Cloud API webhook on /webhooks/whatsapp (channels.md §1): GET is Meta's
 * verification handshake; POST is verified by X-Hub-Signature-256 over the raw bytes before
 * anything is parsed, then each message goes to the core and its replies into the outbox. The
 * answer is 200 only once every reply is stored, so a failure makes Meta redeliver, and the core
 * and the outbox dedupe the redelivery by wamid.
 */
export function createWhatsAppRoute(deps: WhatsAppRouteDeps): ChannelRoute {
  return {
    channel: "whatsapp",
    path: "/webhooks/whatsapp",
    async handle(ctx: Context) {
      if (ctx.method === "GET") return handshake(ctx, deps);
      if (ctx.method !== "POST") throw new HttpError(405, "method not allowed");
      if (
        !verifyHubSignature(
          ctx.state.rawBody,
          ctx.get("x-hub-signature-256") || undefined,
          deps.config.appSecret,
        )
      ) {
        deps.onSignatureFailure?.();
        deps.logger.warn(
          { requestId: ctx.state.requestId, channel: "whatsapp" },
          "webhook signature refused",
        );
        throw new HttpError(401, "bad signature");
      }
      const parsed = parseWhatsAppWebhook(ctx.state.rawBody);
      if ("error" in parsed) {
        // Signed by Meta yet unreadable: a non-200 would make Meta redeliver it for 7 days, and it
        // would never parse, so it is acknowledged, logged (path and issue only) and dropped.
        deps.logger.warn({ requestId: ctx.state.requestId, reason: parsed.error }, "webhook payload dropped");
        ctx.status = 200;
        ctx.body = "EVENT_RECEIVED";
        return;
      }
      try {
        await Promise.all(bySender(parsed.events, deps).map((turns) => answerInOrder(turns, deps, ctx)));
      } catch (err) {
        // The core or the outbox failed: 503 makes Meta redeliver, and the redelivery is deduped.
        deps.logger.error(
          { requestId: ctx.state.requestId, err },
          "webhook not answered; the provider will redeliver",
        );
        throw new HttpError(503, "try again later");
      }
      ctx.status = 200;
      ctx.body = "EVENT_RECEIVED";
    },
  };
}

function handshake(ctx: Context, deps: WhatsAppRouteDeps): void {
  const challenge = checkVerifyHandshake(ctx.query, deps.config.verifyToken);
  if (challenge === undefined) throw new HttpError(403, "verification refused");
  ctx.type = "text/plain";
  ctx.body = challenge;
}

/**
 * Groups the answerable events by sender, in body order: one sender's messages run one after
 * another (the core orders them too), different senders in parallel.
 */
function bySender(events: readonly WhatsAppEvent[], deps: WhatsAppRouteDeps): InboundTurn[][] {
  const groups = new Map<string, InboundTurn[]>();
  for (const event of events) {
    if (event.kind !== "message" && event.kind !== "unsupported") continue;
    if (event.phoneNumberId !== deps.config.phoneNumberId) {
      deps.logger.warn({ channel: "whatsapp" }, "message for another business number ignored");
      continue;
    }
    const turn: InboundTurn =
      event.kind === "message"
        ? {
            channel: "whatsapp",
            from: event.from,
            messageId: event.messageId,
            sentAt: event.sentAt,
            text: event.text,
            actionPayload: event.actionPayload,
          }
        : {
            channel: "whatsapp",
            from: event.from,
            messageId: event.messageId,
            sentAt: event.sentAt,
            unsupported: TEXT_ONLY,
          };
    const list = groups.get(event.from) ?? [];
    list.push(turn);
    groups.set(event.from, list);
  }
  return [...groups.values()];
}

async function answerInOrder(
  turns: readonly InboundTurn[],
  deps: WhatsAppRouteDeps,
  ctx: Context,
): Promise<void> {
  for (const turn of turns) await answerInbound(turn, { ...deps, requestId: ctx.state.requestId });
}
