/**
 * Parsing of Messenger and Instagram webhook bodies (channels.md §2.2) into the few events the
 * gateway acts on. The body is untrusted even after its signature checks out, so every field we use
 * is validated with zod; fields we do not use are ignored, because Meta adds fields without notice.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import type { MetaChannel } from "./meta-channel.js";

/** A customer's message we can answer: text, a quick-reply tap or a postback button. */
export interface MetaMessageEvent {
  readonly kind: "message";
  /** The provider's message id (`message.mid`, `postback.mid`), usable as the core's message_id. */
  readonly messageId: string;
  /** The page-scoped id of the sender (PSID, or IGSID on Instagram); the reply's recipient. */
  readonly from: string;
  /** Epoch milliseconds, when Meta gives them. */
  readonly sentAt?: number;
  readonly text?: string;
  /** A quick-reply or postback payload, i.e. a payload we sent. */
  readonly actionPayload?: string;
}

/** A customer's message we do not read: attachments, stickers, content Meta marks unsupported. */
export interface MetaUnsupportedEvent {
  readonly kind: "unsupported";
  readonly messageId: string;
  readonly from: string;
  readonly sentAt?: number;
}

/**
 * An event acknowledged without a reply: echoes of our own messages, delivery and read receipts,
 * reactions, deleted messages, handover and referral events. `type` is a fixed label, safe in logs.
 */
export interface MetaIgnoredEvent {
  readonly kind: "ignored";
  readonly type: string;
}

/** Everything a webhook body can tell the gateway. */
export type MetaEvent = MetaMessageEvent | MetaUnsupportedEvent | MetaIgnoredEvent;

/** A valid webhook body as the events it carries, in body order (possibly none). */
export interface ParsedMetaWebhook {
  readonly events: readonly MetaEvent[];
}

// Page-scoped ids (PSID, IGSID) are numeric strings.
const scopedId = z.string().regex(/^[0-9]{1,64}$/);
const mid = z.string().min(1).max(2048);
// Milliseconds since the epoch (channels.md §2.2: a number, unlike WhatsApp's string of seconds).
const epochMs = z.number().int().nonnegative().max(1e14);

const messageSchema = z.object({
  mid,
  text: z.string().max(65_536).optional(),
  // Payloads are ours: at most 1000 characters (channels.md §2.3).
  quick_reply: z.object({ payload: z.string().min(1).max(1000) }).optional(),
  is_echo: z.boolean().optional(),
  is_deleted: z.boolean().optional(),
  is_unsupported: z.boolean().optional(),
  attachments: z.array(z.unknown()).optional(),
  sticker_id: z.number().optional(),
});

const postbackSchema = z.object({
  mid: mid.optional(),
  payload: z.string().min(1).max(1000),
  title: z.string().max(1000).optional(),
});

const messagingSchema = z.record(z.string(), z.unknown());

/** The webhook envelope: `object` must be the channel's own, `entry[]` may batch several pages. */
const envelopeSchema = z.object({
  object: z.string(),
  entry: z.array(
    z.object({
      id: z.string().optional(),
      messaging: z.array(messagingSchema).optional(),
      // Events of threads another app owns (handover protocol): never ours to answer.
      standby: z.array(z.unknown()).optional(),
    }),
  ),
});

/** Keys of `messaging` events we acknowledge without a reply, checked in this order. */
const IGNORED_KEYS = [
  "delivery",
  "read",
  "reaction",
  "referral",
  "optin",
  "account_linking",
  "policy_enforcement",
  "pass_thread_control",
  "take_thread_control",
  "request_thread_control",
  "app_roles",
  "messaging_feedback",
  "game_play",
] as const;

/**
 * Parses a webhook body of `channel` into its events. Never throws: bad JSON, another channel's
 * `object` or a shape we cannot trust gives `{ error }` with a short reason naming the path and the
 * zod issue code, never a payload value (the reason goes to logs; the body holds message text).
 */
export function parseMetaWebhook(raw: Buffer, channel: MetaChannel): ParsedMetaWebhook | { error: string } {
  let json: unknown;
  try {
    json = JSON.parse(raw.toString("utf8"));
  } catch {
    return { error: "invalid JSON" };
  }
  const envelope = envelopeSchema.safeParse(json);
  if (!envelope.success) return { error: describe(envelope.error, []) };
  if (envelope.data.object !== channel.object)
    return { error: "invalid payload at object (not this channel)" };
  const events: MetaEvent[] = [];
  for (const [e, entry] of envelope.data.entry.entries()) {
    for (const [m, item] of (entry.messaging ?? []).entries()) {
      const event = toEvent(item);
      if ("error" in event) return { error: describe(event.error, ["entry", e, "messaging", m]) };
      events.push(event);
    }
    for (const _ of entry.standby ?? []) events.push({ kind: "ignored", type: "standby" });
  }
  return { events };
}

/** One `messaging[]` item as an event, or the zod error of the part we could not trust. */
function toEvent(item: Record<string, unknown>): MetaEvent | { error: z.ZodError } {
  if (item.message !== undefined) return messageEvent(item);
  if (item.postback !== undefined) return postbackEvent(item);
  return { kind: "ignored", type: IGNORED_KEYS.find((key) => item[key] !== undefined) ?? "other" };
}

const senderSchema = z.object({
  // Chat-plugin events name the sender by `user_ref` instead: without an id there is nobody to answer.
  sender: z.object({ id: scopedId.optional() }),
  timestamp: epochMs.optional(),
});

function messageEvent(item: Record<string, unknown>): MetaEvent | { error: z.ZodError } {
  const parsed = senderSchema.extend({ message: messageSchema }).safeParse(item);
  if (!parsed.success) return { error: parsed.error };
  const { sender, timestamp, message } = parsed.data;
  // Echoes repeat what the page sent (Instagram delivers them on the messages field too).
  if (message.is_echo) return { kind: "ignored", type: "echo" };
  if (message.is_deleted) return { kind: "ignored", type: "deleted" };
  if (sender.id === undefined) return { kind: "ignored", type: "no_sender" };
  const base = { messageId: stableId("mid", message.mid), from: sender.id, sentAt: timestamp };
  // A quick-reply tap carries the button's title as text; the payload is what we act on.
  if (message.quick_reply) return { kind: "message", ...base, actionPayload: message.quick_reply.payload };
  if (message.text !== undefined && message.text.trim() !== "" && !message.is_unsupported) {
    return { kind: "message", ...base, text: message.text };
  }
  return { kind: "unsupported", ...base };
}

function postbackEvent(item: Record<string, unknown>): MetaEvent | { error: z.ZodError } {
  const parsed = senderSchema.extend({ postback: postbackSchema }).safeParse(item);
  if (!parsed.success) return { error: parsed.error };
  const { sender, timestamp, postback } = parsed.data;
  if (sender.id === undefined) return { kind: "ignored", type: "no_sender" };
  // Postbacks carry a mid; were one missing, the id is derived from what a redelivery repeats.
  const messageId =
    postback.mid === undefined
      ? stableId("postback", `${sender.id}\n${timestamp ?? ""}\n${postback.payload}`, true)
      : stableId("mid", postback.mid);
  return { kind: "message", messageId, from: sender.id, sentAt: timestamp, actionPayload: postback.payload };
}

/**
 * The core takes message ids of 1–256 printable ASCII characters (HandleMessageRequest.message_id).
 * Meta's mids fit; one that does not (an Instagram mid can be long) is replaced by a digest, which
 * is as stable across redeliveries as the mid itself.
 */
function stableId(kind: string, value: string, alwaysHash = false): string {
  if (!alwaysHash && /^[\x21-\x7e]{1,256}$/.test(value)) return value;
  return `${kind}-sha256:${createHash("sha256").update(value, "utf8").digest("hex")}`;
}

/** "invalid payload at <path> (<code>)" for the first issue; zod's codes never quote the input. */
function describe(error: z.ZodError, prefix: readonly PropertyKey[]): string {
  const issue = error.issues[0];
  const path = [...prefix, ...(issue?.path ?? [])].map(String).join(".");
  return `invalid payload at ${path || "(root)"} (${issue?.code ?? "unknown"})`;
}
