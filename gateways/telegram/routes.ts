import type { Context } from "koa";
import type { Logger } from "../../lib/logger.js";
import type { ChannelRoute } from "../channel.js";
import type { CoreConversation } from "../core-client-port.js";
import { answerInbound, type InboundTurn } from "../inbound.js";
import { HttpError } from "../middleware/error-handler.js";
import type { Outbox } from "../outbox/outbox.js";
import type { CallbackData } from "./callback-data.js";
import { botIdOf } from "./config.js";
import { parseTelegramUpdate, type TelegramEvent } from "./parse.js";
import { SECRET_TOKEN_HEADER, verifySecretToken } from "./verify.js";

/** Collaborators of the Telegram webhook. */
export interface TelegramRouteDeps {
  readonly webhookSecret: string;
  /** Only its bot id (the public part) is used: it namespaces message ids. */
  readonly botToken: string;
  readonly core: CoreConversation;
  readonly outbox: Outbox;
  readonly logger: Logger;
  readonly callbackData: CallbackData;
  /** Calls answerCallbackQuery; must not reject (see answerCallbackQuery in channel.ts). */
  readonly answerCallback: (callbackQueryId: string) => Promise<void>;
  readonly onSignatureFailure?: () => void;
}

/** What the gateway answers a sender whose message it cannot read (issue 4). */
export const TEXT_ONLY = "Sorry, I can read text only. Please type your question.";

/** What a tap on a button whose stored payload expired gets. */
export const BUTTON_EXPIRED = "That button has expired. Please type what you would like to do.";

/**
 * The Telegram webhook on /webhooks/telegram (channels.md §3): the secret token is checked before
 * anything is parsed (401 when missing or wrong), then the update's message or button tap goes to
 * the core as the chat's turn and its replies into the outbox. The answer is 200 only once they
 * are stored: a failure answers 503, Telegram redelivers, and the core and the outbox dedupe the
 * redelivery by its update_id.
 *
 * Only private chats reach the core. In a group the chat id would be the "user", so one member
 * linking it would open the account to every member, and every reply would be read by all of
 * them; group updates are acknowledged without a word (a reply in a busy group would be noise,
 * and a bank bot has nothing to say there).
 */
export function createTelegramRoute(deps: TelegramRouteDeps): ChannelRoute {
  const botId = botIdOf(deps.botToken);
  return {
    channel: "telegram",
    path: "/webhooks/telegram",
    async handle(ctx: Context) {
      if (ctx.method !== "POST") throw new HttpError(405, "method not allowed");
      if (!verifySecretToken(ctx.get(SECRET_TOKEN_HEADER) || undefined, deps.webhookSecret)) {
        deps.onSignatureFailure?.();
        deps.logger.warn({ requestId: ctx.state.requestId, channel: "telegram" }, "webhook secret refused");
        throw new HttpError(401, "bad secret token");
      }
      const event = parseTelegramUpdate(ctx.state.rawBody);
      if ("error" in event) {
        // From Telegram yet unreadable: it would never parse, and a non-2xx would have Telegram
        // retry it (and hold back the updates after it), so it is acknowledged, logged and dropped.
        deps.logger.warn({ requestId: ctx.state.requestId, reason: event.error }, "webhook payload dropped");
        return acknowledge(ctx);
      }
      const answering = event.kind === "callback" ? deps.answerCallback(event.callbackQueryId) : undefined;
      try {
        const turn = await turnOf(event, botId, deps, ctx);
        if (turn !== undefined) await answerInbound(turn, { ...deps, requestId: ctx.state.requestId });
      } catch (err) {
        deps.logger.error(
          { requestId: ctx.state.requestId, err },
          "webhook not answered; the provider will redeliver",
        );
        throw new HttpError(503, "try again later");
      } finally {
        await answering;
      }
      acknowledge(ctx);
    },
  };
}

/** The core's turn for an event, or undefined when it gets no answer. */
async function turnOf(
  event: TelegramEvent,
  botId: string,
  deps: TelegramRouteDeps,
  ctx: Context,
): Promise<InboundTurn | undefined> {
  if (event.kind === "other") return undefined;
  const chat = event.chat;
  if (chat === undefined || chat.type !== "private") {
    deps.logger.info(
      { requestId: ctx.state.requestId, channel: "telegram", chatType: chat?.type ?? "none" },
      "update outside a private chat ignored",
    );
    return undefined;
  }
  // update_id is Telegram's id for the delivery, the same on every redelivery; the bot id keeps
  // ids of two bots (or of a bot replaced by another) apart, the channel keeps them from others'.
  const base = { channel: "telegram" as const, from: chat.id, messageId: `tg:${botId}:${event.updateId}` };
  switch (event.kind) {
    case "message":
      return { ...base, sentAt: event.sentAt, text: event.text };
    case "unsupported":
      return { ...base, sentAt: event.sentAt, unsupported: TEXT_ONLY };
    case "callback": {
      if (event.data === undefined) return undefined;
      const payload = await deps.callbackData.decode(event.data);
      return payload === undefined
        ? { ...base, unsupported: BUTTON_EXPIRED }
        : { ...base, actionPayload: payload };
    }
  }
}

function acknowledge(ctx: Context): void {
  // Plain text: a JSON body with a "method" field would be run by Telegram as a Bot API call.
  ctx.status = 200;
  ctx.type = "text/plain";
  ctx.body = "ok";
}
