import { createHash, randomInt } from "node:crypto";
import {
  telegramCallbackUpdate,
  telegramTextUpdate,
  telegramWebhookRequest,
} from "../../../gateways/telegram/simulate.js";
import { SECRET_TOKEN_HEADER } from "../../../gateways/telegram/verify.js";
import { type FakeTelegram, startFakeTelegram } from "../fake-telegram.js";
import type { ChannelHarness, InboundRequest, ProviderReply } from "./harness.js";

/** The bot token the fake Bot API accepts (shape of BotFather's). */
export const TELEGRAM_BOT_TOKEN = "7000000001:AAtest-telegram-bot-token_0123456789";
/** The secret token set on the webhook. */
export const TELEGRAM_WEBHOOK_SECRET = "test-telegram-webhook-secret_0123456789";

/** The Telegram harness, plus what Telegram-only tests need of it. */
export interface TelegramHarness extends ChannelHarness {
  /** The fake Bot API (answerCallbackQuery and setWebhook calls, send attempts). */
  readonly fake: FakeTelegram;
  /** The update_id a request built with `messageId` carries. */
  updateIdOf(messageId: string): number;
}

/**
 * The Telegram channel for the shared behaviour suite: updates shaped as Telegram sends them
 * (gateways/telegram/simulate.ts) with the X-Telegram-Bot-Api-Secret-Token header, and a fake
 * Bot API whose accepted sendMessage calls are the replies. The user id is a private chat's id;
 * `messageId` is the update_id (a decimal string, or any string mapped to a stable number).
 */
export function createTelegramHarness(): TelegramHarness {
  let fake: FakeTelegram | undefined;
  // A random start keeps update ids of different tests apart, as two bots' would be.
  let nextUpdateId = randomInt(1_000_000, 900_000_000);
  const api = () => {
    if (fake === undefined) throw new Error("telegram harness: start() first");
    return fake;
  };
  const updateIdOf = (messageId?: string) => {
    if (messageId === undefined) return nextUpdateId++;
    if (/^[0-9]{1,15}$/.test(messageId)) return Number(messageId);
    return createHash("sha256").update(messageId).digest().readUIntBE(0, 5);
  };
  const asRequest = (update: unknown): InboundRequest =>
    telegramWebhookRequest(update, TELEGRAM_WEBHOOK_SECRET);
  const chat = (from: string, messageId?: string) => ({ chatId: from, updateId: updateIdOf(messageId) });
  const toReply = (m: FakeTelegram["sent"][number]): ProviderReply => ({
    to: String(m.chatId),
    text: m.text,
    choices: m.choices,
  });
  const withHeader = (request: InboundRequest, value: string | undefined): InboundRequest => {
    const headers: Record<string, string> = { ...request.headers };
    delete headers[SECRET_TOKEN_HEADER];
    if (value !== undefined) headers[SECRET_TOKEN_HEADER] = value;
    return { ...request, headers };
  };
  return {
    name: "telegram",
    path: "/webhooks/telegram",
    phoneIdentity: false,
    get fake() {
      return api();
    },
    updateIdOf: (messageId) => updateIdOf(messageId),
    async start() {
      fake = await startFakeTelegram({ token: TELEGRAM_BOT_TOKEN });
    },
    async close() {
      await fake?.close();
      fake = undefined;
    },
    env: () => ({
      GATEWAYS: "telegram",
      TELEGRAM_BOT_TOKEN,
      TELEGRAM_WEBHOOK_SECRET,
      TELEGRAM_API_BASE_URL: api().baseUrl,
    }),
    newUser: () => String(randomInt(100_000_000, 2_000_000_000)),
    text: (from, text, messageId) => asRequest(telegramTextUpdate(chat(from, messageId), text)),
    tap: (from, payload, title, messageId) =>
      asRequest(telegramCallbackUpdate(chat(from, messageId), payload, `Choose: ${title}`)),
    unsigned: (request) => withHeader(request, undefined),
    // Same length and alphabet as the real secret: only its value is wrong (channels.md §3.5).
    forged: (request) =>
      withHeader(
        request,
        TELEGRAM_WEBHOOK_SECRET.replace(/.$/, (c) => (c === "x" ? "y" : "x")),
      ),
    malformed: () => asRequest({ update_id: "not-a-number", message: { text: 42 } }),
    get replies() {
      return api().sent.map(toReply);
    },
    waitForReplies: async (count) => (await api().waitFor(count, 10_000)).map(toReply),
    failNext: (status, count) => api().failNext(status, count),
  };
}
