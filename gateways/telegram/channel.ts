/**
 * The Telegram channel as the gateway root registers it: one Bot API client, the callback_data
 * codec, the webhook route and the outbox Sender, wired together so gateways/main.ts adds a
 * route and a sender and nothing else.
 */
import type { Logger } from "../../lib/logger.js";
import type { ChannelDeps, ChannelRoute } from "../channel.js";
import type { Sender } from "../outbox/outbox.js";
import { type BotApi, createBotApi } from "./bot-api.js";
import { createCallbackData } from "./callback-data.js";
import type { TelegramConfig } from "./config.js";
import { createTelegramRoute } from "./routes.js";
import { createTelegramSender } from "./send.js";

/** Collaborators of createTelegramChannel. */
export type TelegramChannelDeps = Omit<ChannelDeps<TelegramConfig>, "clock">;

/** An answerCallbackQuery waits at most this long, since the webhook's 200 waits for it. */
const ANSWER_TIMEOUT_MS = 3_000;

/** Builds the Telegram route and Sender. */
export function createTelegramChannel(deps: TelegramChannelDeps): { route: ChannelRoute; sender: Sender } {
  const { config, logger } = deps;
  const api = (timeoutMs: number) =>
    createBotApi({
      apiBaseUrl: config.apiBaseUrl,
      botToken: config.botToken,
      timeoutMs,
      userAgent: deps.userAgent,
      fetch: deps.fetch,
    });
  const callbackData = createCallbackData({ redis: deps.redis, prefix: deps.keyPrefix });
  const answers = api(Math.min(deps.timeoutMs, ANSWER_TIMEOUT_MS));
  const route = createTelegramRoute({
    ...deps,
    webhookSecret: config.webhookSecret,
    botToken: config.botToken,
    callbackData,
    answerCallback: (id) => answerCallbackQuery(answers, logger, id),
  });
  return { route, sender: createTelegramSender({ api: api(deps.timeoutMs), callbackData }) };
}

/**
 * Stops the client's progress indicator on a tapped button (channels.md §3.4: always answer).
 * The call is made directly from the webhook, at once and in parallel with the core, not through
 * the outbox: the outbox is for messages the customer must read, retried for minutes in order
 * behind that chat's other replies, while an answer is worthless a few seconds later (Telegram
 * refuses an old query id) and its loss costs only a spinner the client ends by itself. So it is
 * tried once, never fails the webhook, and its failure is logged (status only).
 */
export async function answerCallbackQuery(
  api: BotApi,
  logger: Logger,
  callbackQueryId: string,
): Promise<void> {
  const result = await api.call("answerCallbackQuery", { callback_query_id: callbackQueryId });
  if (result.ok) return;
  // A 400 is expected for a redelivered update: its query was answered, or is too old.
  const level = result.status === 400 ? "info" : "warn";
  logger[level]({ channel: "telegram", reason: result.reason }, "answerCallbackQuery failed");
}
