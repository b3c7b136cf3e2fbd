/**
 * The provider side of the Telegram webhook, for test harnesses and `teller chat --channel
 * telegram`: Update bodies shaped as Telegram sends them (channels.md §3.3) and the request that
 * carries one, with the secret token header Telegram adds. Nothing here is used to serve traffic.
 */
import { randomBytes } from "node:crypto";
import { SECRET_TOKEN_HEADER } from "./verify.js";

/** One webhook request as Telegram makes it. */
export interface TelegramWebhookRequest {
  readonly method: "POST";
  readonly path: "/webhooks/telegram";
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Where a simulated update comes from. */
export interface SimulatedChat {
  /** The chat id as a decimal string; positive for a private chat. */
  readonly chatId: string;
  /** "private" unless a test wants a group ("group", "supergroup"). */
  readonly chatType?: string;
  readonly updateId: number;
  /** Unix seconds; default now. */
  readonly date?: number;
}

/** An Update with a text message from `chat`. */
export function telegramTextUpdate(chat: SimulatedChat, text: string): Record<string, unknown> {
  return { update_id: chat.updateId, message: { ...messageFields(chat), text } };
}

/** An Update with a message of another kind, e.g. `{ sticker: {...} }` or `{ photo: [...] }`. */
export function telegramMessageUpdate(
  chat: SimulatedChat,
  content: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  return { update_id: chat.updateId, message: { ...messageFields(chat), ...content } };
}

/**
 * An Update for a tap on an inline keyboard button carrying `data`, under a message the bot
 * sent to `chat` (whose `text` was `shownText`).
 */
export function telegramCallbackUpdate(
  chat: SimulatedChat,
  data: string,
  shownText = "",
): Record<string, unknown> {
  const user = userOf(chat);
  return {
    update_id: chat.updateId,
    callback_query: {
      id: BigInt(`0x${randomBytes(8).toString("hex")}`).toString(),
      from: user,
      message: {
        message_id: 1 + (chat.updateId % 100_000),
        from: { id: 1, is_bot: true, first_name: "Teller", username: "teller_bot" },
        chat: chatOf(chat),
        date: chat.date ?? Math.floor(Date.now() / 1000),
        text: shownText,
      },
      chat_instance: "-7050301093432741539",
      data,
    },
  };
}

/** The POST Telegram makes to deliver `update`, with the secret token set on the webhook. */
export function telegramWebhookRequest(update: unknown, secret: string): TelegramWebhookRequest {
  return {
    method: "POST",
    path: "/webhooks/telegram",
    headers: { "content-type": "application/json", [SECRET_TOKEN_HEADER]: secret },
    body: JSON.stringify(update),
  };
}

function messageFields(chat: SimulatedChat) {
  return {
    message_id: 1 + (chat.updateId % 100_000),
    from: userOf(chat),
    chat: chatOf(chat),
    date: chat.date ?? Math.floor(Date.now() / 1000),
  };
}

function userOf(chat: SimulatedChat) {
  // In a private chat the chat id is the user's id; in a group some member's.
  const id = (chat.chatType ?? "private") === "private" ? Number(chat.chatId) : 731_945_002;
  return { id, is_bot: false, first_name: "Test", username: "test_user", language_code: "en" };
}

function chatOf(chat: SimulatedChat) {
  const type = chat.chatType ?? "private";
  return type === "private"
    ? { id: Number(chat.chatId), first_name: "Test", username: "test_user", type }
    : { id: Number(chat.chatId), title: "Test group", type };
}
