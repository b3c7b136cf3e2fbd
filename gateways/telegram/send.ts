/**
 * The Telegram Sender: turns an outbox reply into a Bot API `sendMessage` call (channels.md §3.4)
 * and its answer into a SendOutcome the outbox worker acts on (retry, dead-letter or done).
 */
import type { OutboundReply, Sender, SendOutcome } from "../outbox/outbox.js";
import type { BotApi } from "./bot-api.js";
import type { CallbackData } from "./callback-data.js";

/** Collaborators of the Telegram Sender. */
export interface TelegramSenderDeps {
  readonly api: BotApi;
  readonly callbackData: CallbackData;
}

/**
 * sendMessage limits (channels.md §3.4). Text: 1–4096 characters, counted here in UTF-16 code
 * units, never fewer than Telegram counts. Button labels have no documented limit; 64 is ours,
 * since clients cut long labels anyway. Buttons: at most 100 per keyboard (Bot API, UNVERIFIED).
 */
export const TELEGRAM_LIMITS = { text: 4096, buttonText: 64, buttons: 100 } as const;

/** A private chat's id: a positive integer a double holds exactly. */
const PRIVATE_CHAT_ID = /^[1-9][0-9]{0,15}$/;

/**
 * Creates the Sender that delivers replies with sendMessage. `send` never throws; its reasons
 * carry the HTTP status only, never the token, the chat id or the text. 429 waits
 * `parameters.retry_after`, 5xx and transport failures retry, and any other status (400 bad
 * request, 403 bot blocked by the user, 401 or 404 for a wrong token) is dead-lettered at once.
 */
export function createTelegramSender(deps: TelegramSenderDeps): Sender {
  return {
    async send(reply: OutboundReply): Promise<SendOutcome> {
      if (!PRIVATE_CHAT_ID.test(reply.recipient) || !Number.isSafeInteger(Number(reply.recipient)))
        return { kind: "fatal", reason: "recipient not a private chat id" };
      if (reply.text.trim().length === 0) return { kind: "fatal", reason: "empty reply" };
      let data: string[];
      try {
        const choices = reply.choices.slice(0, TELEGRAM_LIMITS.buttons);
        data = await Promise.all(choices.map((choice) => deps.callbackData.encode(choice.payload)));
      } catch {
        return { kind: "retry", reason: "callback data store unavailable" };
      }
      const result = await deps.api.call("sendMessage", buildTelegramMessage(reply, data));
      if (result.ok) return { kind: "sent" };
      if (result.status === 0 || result.status === 429 || result.status >= 500) {
        return result.retryAfterMs === undefined
          ? { kind: "retry", reason: result.reason }
          : { kind: "retry", reason: result.reason, afterMs: result.retryAfterMs };
      }
      return { kind: "fatal", reason: result.reason };
    },
  };
}

/**
 * The sendMessage parameters for one reply: plain text (no parse_mode, so nothing the core or a
 * customer wrote is ever read as HTML or Markdown), cut to 4096 on a line boundary with "…", and
 * the choices as an inline keyboard, one button per row, each carrying `callbackData[i]` (the
 * encoded payload of choice i). Labels are trimmed to their limit and never empty.
 */
export function buildTelegramMessage(
  reply: OutboundReply,
  callbackData: readonly string[],
): Record<string, unknown> {
  const message: Record<string, unknown> = {
    chat_id: Number(reply.recipient),
    text: cutText(reply.text, TELEGRAM_LIMITS.text),
    link_preview_options: { is_disabled: true },
  };
  const buttons = callbackData.map((data, i) => {
    const title = reply.choices[i]?.title.trim() || `Option ${i + 1}`;
    return [{ text: cutText(title, TELEGRAM_LIMITS.buttonText), callback_data: data }];
  });
  if (buttons.length > 0) message.reply_markup = { inline_keyboard: buttons };
  return message;
}

/** Text within `max`: cut at the last line break (or else word break) in its second half, plus "…". */
function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  const head = safeSlice(text, max - 1);
  const line = head.lastIndexOf("\n");
  const word = head.lastIndexOf(" ");
  const at = line >= head.length / 2 ? line : word >= head.length / 2 ? word : head.length;
  return `${head.slice(0, at).trimEnd()}…`;
}

/** The first `n` code units, one fewer when the cut would split a surrogate pair (an emoji). */
function safeSlice(text: string, n: number): string {
  const last = text.charCodeAt(n - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? n - 1 : n);
}
