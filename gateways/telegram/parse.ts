/**
 * Parsing of a Telegram webhook body, one `Update` (channels.md §3.3), into the event the gateway
 * acts on. The body is untrusted even after the secret token checks out, so every field we use is
 * validated with zod; the many fields we do not use are ignored, because Telegram adds fields in
 * every Bot API release.
 */
import { z } from "zod";

/** The chat an update came from: its id (decimal, negative for groups) and its type. */
export interface TelegramChat {
  /** Decimal string: ids can exceed 32 bits (channels.md §3.3). */
  readonly id: string;
  /** "private", "group", "supergroup", "channel", or a type Telegram adds later. */
  readonly type: string;
}

/** A text message from a chat; its text has Telegram's bot commands read as words. */
export interface TelegramTextEvent {
  readonly kind: "message";
  readonly updateId: number;
  readonly chat: TelegramChat;
  /** Epoch milliseconds, from the message's Unix `date`. */
  readonly sentAt: number;
  readonly text: string;
}

/** A message we cannot read (photo, sticker, voice, location, …). */
export interface TelegramUnsupportedEvent {
  readonly kind: "unsupported";
  readonly updateId: number;
  readonly chat: TelegramChat;
  readonly sentAt: number;
  /** What it holds, for logs: "photo", "sticker", … or "other". */
  readonly type: string;
}

/** A tap on an inline keyboard button. */
export interface TelegramCallbackEvent {
  readonly kind: "callback";
  readonly updateId: number;
  /** The id answerCallbackQuery needs to stop the client's progress indicator. */
  readonly callbackQueryId: string;
  /** The chat of the message carrying the button; absent for inline-mode messages (we send none). */
  readonly chat?: TelegramChat;
  /** The button's callback_data; absent for game buttons (we send none). */
  readonly data?: string;
}

/** Any other update (edited_message, my_chat_member, …): acknowledged, never answered. */
export interface TelegramOtherEvent {
  readonly kind: "other";
  readonly updateId: number;
  /** The update's field name, for logs. */
  readonly type: string;
}

/** What one webhook body can tell the gateway. */
export type TelegramEvent =
  | TelegramTextEvent
  | TelegramUnsupportedEvent
  | TelegramCallbackEvent
  | TelegramOtherEvent;

/** The largest callback_data Telegram accepts, in UTF-8 bytes (channels.md §3.4). */
export const CALLBACK_DATA_MAX_BYTES = 64;

// Chat and user ids fit a double exactly (Bot API docs); anything beyond is not Telegram's.
const id = z.number().int().safe();
const chatSchema = z.object({ id, type: z.string().regex(/^[a-z_]{1,32}$/) });
const messageSchema = z.object({
  message_id: z.number().int(),
  chat: chatSchema,
  date: z.number().int().nonnegative(),
  text: z.string().max(65_536).optional(),
});
const callbackSchema = z.object({
  id: z.string().min(1).max(256),
  // MaybeInaccessibleMessage: an inaccessible message still carries its chat (date 0).
  message: z.object({ chat: chatSchema }).optional(),
  data: z
    .string()
    .refine((data) => Buffer.byteLength(data, "utf8") <= CALLBACK_DATA_MAX_BYTES)
    .optional(),
});

/** The Update envelope: update_id plus at most one of the optional fields (channels.md §3.3). */
export const telegramUpdateSchema = z.object({
  update_id: z.number().int().nonnegative().safe(),
  message: messageSchema.optional(),
  callback_query: callbackSchema.optional(),
});

type InboundMessage = z.infer<typeof messageSchema>;

// Content fields of a Message, checked in this order to name what a non-text message holds.
const CONTENT_TYPES = [
  "photo",
  "sticker",
  "voice",
  "video",
  "video_note",
  "audio",
  "document",
  "animation",
  "location",
  "venue",
  "contact",
  "poll",
  "dice",
] as const;

/**
 * Parses one webhook body. Never throws: bad JSON or a shape we cannot trust gives `{ error }`
 * with the path and the zod issue code only, never a value (the reason goes to logs, and the
 * body holds chat ids and message text).
 */
export function parseTelegramUpdate(raw: Buffer): TelegramEvent | { error: string } {
  let json: unknown;
  try {
    json = JSON.parse(raw.toString("utf8"));
  } catch {
    return { error: "invalid JSON" };
  }
  const parsed = telegramUpdateSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = (issue?.path ?? []).map(String).join(".");
    return { error: `invalid update at ${path || "(root)"} (${issue?.code ?? "unknown"})` };
  }
  const { update_id: updateId, message, callback_query: callback } = parsed.data;
  if (message !== undefined) return messageEvent(updateId, message, json);
  if (callback !== undefined) {
    return {
      kind: "callback",
      updateId,
      callbackQueryId: callback.id,
      chat: callback.message && chatOf(callback.message.chat),
      data: callback.data,
    };
  }
  return { kind: "other", updateId, type: otherType(json) };
}

function messageEvent(updateId: number, message: InboundMessage, json: unknown): TelegramEvent {
  const base = { updateId, chat: chatOf(message.chat), sentAt: message.date * 1000 };
  if (message.text !== undefined) return { kind: "message", ...base, text: readCommand(message.text) };
  const fields = (json as { message: Record<string, unknown> }).message;
  const type = CONTENT_TYPES.find((name) => fields[name] !== undefined) ?? "other";
  return { kind: "unsupported", ...base, type };
}

/**
 * Bot commands read as the words they stand for: "/balance@TellerBot" is "balance". "/start",
 * which a client sends when the customer first opens the chat, is a greeting; its deep-link
 * parameter is dropped, since anyone can put one in a t.me link and it must not steer the dialog.
 */
export function readCommand(text: string): string {
  const match = /^\/([A-Za-z0-9_]{1,32})(?:@[A-Za-z0-9_]{1,64})?(?:\s+([\s\S]*))?$/.exec(text);
  if (match === null) return text;
  const [, command = "", rest = ""] = match;
  if (command.toLowerCase() === "start") return "hello";
  return rest.trim() === "" ? command : `${command} ${rest.trim()}`;
}

function chatOf(chat: z.infer<typeof chatSchema>): TelegramChat {
  return { id: String(chat.id), type: chat.type };
}

/** The name of the update's one optional field, bounded so it is safe in logs. */
function otherType(json: unknown): string {
  const key = Object.keys(json as object).find((k) => k !== "update_id");
  return key !== undefined && /^[a-z_]{1,32}$/.test(key) ? key : "unknown";
}
