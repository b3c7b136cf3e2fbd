import { botIdOf, type TelegramConfig } from "../gateways/telegram/config.js";
import {
  telegramCallbackUpdate,
  telegramTextUpdate,
  telegramWebhookRequest,
} from "../gateways/telegram/simulate.js";
import { type DeliveredReply, jsonObject, type ProviderAnswer, type ProviderCall } from "./chat-graph.js";
import type { ChannelPlayer } from "./chat-player.js";

/**
 * `teller chat --channel telegram`: Telegram's side. Inbound: an Update (a text message, or a
 * callback_query for a tap on an inline keyboard button) with the webhook's secret token in
 * X-Telegram-Bot-Api-Secret-Token. Outbound: the Bot API, POST /bot<token>/<method>, where the
 * token in the path is the credential; sendMessage and answerCallbackQuery are served.
 */
export function telegramPlayer(config: TelegramConfig, chatId: string): ChannelPlayer {
  // The gateway dedupes by update_id for good, so each run starts past the ids of earlier runs.
  let updateId = Date.now();
  let messageId = 0;
  return {
    path: "/webhooks/telegram",
    inbound(action) {
      const chat = { chatId, updateId: updateId++ };
      const update =
        "text" in action
          ? telegramTextUpdate(chat, action.text)
          : telegramCallbackUpdate(chat, action.tap.id, action.under.text);
      return telegramWebhookRequest(update, config.webhookSecret);
    },
    api(call: ProviderCall) {
      const match = /^\/bot([^/]*)\/([A-Za-z]+)$/.exec(new URL(call.url, "http://stand-in").pathname);
      if (call.method !== "POST" || !match) return failure(404, "Not Found");
      if (match[1] !== config.botToken) return failure(401, "Unauthorized");
      const params = jsonObject(call.body);
      if (!params) return failure(400, "Bad Request: invalid JSON");
      if (match[2] === "answerCallbackQuery") {
        return typeof params.callback_query_id === "string"
          ? { status: 200, json: { ok: true, result: true } }
          : failure(400, "Bad Request: query is too old and response timeout expired or query ID is invalid");
      }
      if (match[2] !== "sendMessage") return failure(404, "Not Found");
      const delivered = toReply(params);
      if (!delivered) return failure(400, "Bad Request: message text is empty");
      const message = {
        message_id: ++messageId,
        from: { id: Number(botIdOf(config.botToken)), is_bot: true, first_name: "Teller" },
        chat: { id: Number(delivered.to), type: "private" },
        date: Math.floor(Date.now() / 1000),
        text: delivered.text,
      };
      return { status: 200, json: { ok: true, result: message }, delivered };
    },
  };
}

/** A Bot API error as Telegram answers it. */
function failure(status: number, description: string): ProviderAnswer {
  return { status, json: { ok: false, error_code: status, description } };
}

interface SendMessage {
  chat_id?: unknown;
  text?: unknown;
  reply_markup?: { inline_keyboard?: { text?: unknown; callback_data?: unknown }[][] };
}

/** The message of sendMessage's parameters: its text and its inline keyboard as choices. */
function toReply(params: SendMessage): DeliveredReply | undefined {
  const to = params.chat_id;
  if ((typeof to !== "number" && typeof to !== "string") || typeof params.text !== "string") return undefined;
  if (params.text.trim() === "") return undefined;
  const choices = (params.reply_markup?.inline_keyboard ?? []).flat().map((button) => ({
    id: String(button.callback_data ?? ""),
    title: String(button.text ?? ""),
  }));
  return { to: String(to), text: params.text, choices };
}
