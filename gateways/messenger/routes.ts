import type { Context } from "koa";
import type { Logger } from "../../lib/logger.js";
import type { ChannelRoute } from "../channel.js";
import type { CoreConversation } from "../core-client-port.js";
import { answerInbound, type InboundTurn } from "../inbound.js";
import { HttpError } from "../middleware/error-handler.js";
import type { Outbox } from "../outbox/outbox.js";
import { TEXT_ONLY } from "../whatsapp/routes.js";
import type { MetaMessagingConfig } from "./config.js";
import type { MetaChannel } from "./meta-channel.js";
import { type MetaEvent, parseMetaWebhook } from "./parse.js";
import { splittingOutbox } from "./split.js";
import { checkVerifyHandshake, verifyHubSignature } from "./verify.js";

/** Collaborators of a Messenger or Instagram webhook. */
export interface MetaRouteDeps {
  readonly channel: MetaChannel;
  readonly config: MetaMessagingConfig;
  readonly core: CoreConversation;
  readonly outbox: Outbox;
  readonly logger: Logger;
  readonly onSignatureFailure?: () => void;
}

/**
 * The Messenger or Instagram webhook (channels.md §2): GET is Meta's verification handshake; POST
 * is verified by X-Hub-Signature-256 over the raw bytes with this channel's own app secret before
 * anything is parsed, then each message goes to the core and its replies, split to the channel's
 * text limit, into the outbox. The answer is 200 only once every reply is stored, so a failure
 * makes Meta redeliver, and the core and the outbox dedupe the redelivery by mid.
 */
export function createMetaMessagingRoute(deps: MetaRouteDeps): ChannelRoute {
  const { channel } = deps;
  const outbox = splittingOutbox(deps.outbox, channel.textLimit);
  return {
    channel: channel.name,
    path: channel.path,
    async handle(ctx: Context) {
      if (ctx.method === "GET") return handshake(ctx, deps.config.verifyToken);
      if (ctx.method !== "POST") throw new HttpError(405, "method not allowed");
      const header = ctx.get("x-hub-signature-256") || undefined;
      if (!verifyHubSignature(ctx.state.rawBody, header, deps.config.appSecret)) {
        deps.onSignatureFailure?.();
        deps.logger.warn(
          { requestId: ctx.state.requestId, channel: channel.name },
          "webhook signature refused",
        );
        throw new HttpError(401, "bad signature");
      }
      const parsed = parseMetaWebhook(ctx.state.rawBody, channel);
      if ("error" in parsed) {
        // Signed by Meta yet unreadable: a non-200 would make Meta redeliver it for hours and then
        // unsubscribe the app (channels.md §2.4), and it would never parse; acknowledged and dropped.
        deps.logger.warn(
          { requestId: ctx.state.requestId, channel: channel.name, reason: parsed.error },
          "webhook payload dropped",
        );
        return acknowledge(ctx);
      }
      logIgnored(parsed.events, deps, ctx.state.requestId);
      const answerDeps = { ...deps, outbox, requestId: ctx.state.requestId as string };
      try {
        await Promise.all(
          bySender(parsed.events, channel).map(async (turns) => {
            for (const turn of turns) await answerInbound(turn, answerDeps);
          }),
        );
      } catch (err) {
        // The core or the outbox failed: 503 makes Meta redeliver, and the redelivery is deduped.
        deps.logger.error(
          { requestId: ctx.state.requestId, channel: channel.name, err },
          "webhook not answered; the provider will redeliver",
        );
        throw new HttpError(503, "try again later");
      }
      acknowledge(ctx);
    },
  };
}

function acknowledge(ctx: Context): void {
  ctx.status = 200;
  ctx.body = "EVENT_RECEIVED";
}

function handshake(ctx: Context, verifyToken: string): void {
  const challenge = checkVerifyHandshake(ctx.query, verifyToken);
  if (challenge === undefined) throw new HttpError(403, "verification refused");
  ctx.type = "text/plain";
  ctx.body = challenge;
}

/** Receipts, echoes and the like need no answer; their kinds (fixed labels) go to the debug log. */
function logIgnored(events: readonly MetaEvent[], deps: MetaRouteDeps, requestId: string): void {
  const ignored = events.flatMap((e) => (e.kind === "ignored" ? [e.type] : []));
  if (ignored.length > 0) {
    deps.logger.debug({ requestId, channel: deps.channel.name, ignored }, "webhook events acknowledged");
  }
}

/**
 * Groups the answerable events by sender, in body order: one sender's messages run one after
 * another (the core orders them too), different senders in parallel.
 */
function bySender(events: readonly MetaEvent[], channel: MetaChannel): InboundTurn[][] {
  const groups = new Map<string, InboundTurn[]>();
  for (const event of events) {
    if (event.kind === "ignored") continue;
    const base = {
      channel: channel.coreChannel,
      from: event.from,
      messageId: event.messageId,
      sentAt: event.sentAt,
    };
    const turn: InboundTurn =
      event.kind === "message"
        ? { ...base, text: event.text, actionPayload: event.actionPayload }
        : { ...base, unsupported: TEXT_ONLY };
    const list = groups.get(event.from) ?? [];
    list.push(turn);
    groups.set(event.from, list);
  }
  return [...groups.values()];
}
