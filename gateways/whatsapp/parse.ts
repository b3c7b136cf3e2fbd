/**
 * Parsing of the WhatsApp Cloud webhook body (channels.md §1.4–1.5) into the few events the gateway
 * acts on. The body is untrusted even after its signature checks out, so every field we use is
 * validated with zod; fields we do not use are ignored, because Meta adds fields without notice.
 */
import { z } from "zod";

/** A customer's message we can answer: text, a reply-button tap, a list pick or a template button. */
export interface WhatsAppMessageEvent {
  readonly kind: "message";
  /** The `wamid.…` id; the idempotency key of the reply. */
  readonly messageId: string;
  /** The sender in E.164 form ("+16505551234"). */
  readonly from: string;
  /** Our business number's id (metadata.phone_number_id): the tenant and the send path. */
  readonly phoneNumberId: string;
  /** Epoch milliseconds, from Meta's string of Unix seconds. */
  readonly sentAt: number;
  readonly text?: string;
  /** The id of the button or list row tapped, i.e. a payload we sent. */
  readonly actionPayload?: string;
}

/** A customer's message of a type we do not read (image, audio, location, reaction, …). */
export interface WhatsAppUnsupportedEvent {
  readonly kind: "unsupported";
  readonly messageId: string;
  readonly from: string;
  readonly phoneNumberId: string;
  readonly sentAt: number;
  /** Meta's `type`, with the interactive sub-type for interactive messages ("interactive.nfm_reply"). */
  readonly type: string;
}

/** A delivery status of one of OUR outbound messages; acknowledged, never answered. */
export interface WhatsAppStatusEvent {
  readonly kind: "status";
  /** The wamid of the outbound message. */
  readonly messageId: string;
  /** "sent", "delivered", "read", "failed", "played" or a value Meta adds later. */
  readonly status: string;
  readonly phoneNumberId: string;
  /** Epoch milliseconds. */
  readonly at: number;
  /** Graph error codes when the status is "failed" (e.g. 131047: window closed). */
  readonly errorCodes: readonly number[];
}

/** An error Meta reports for the business number (`value.errors`), for logs and metrics. */
export interface WhatsAppErrorEvent {
  readonly kind: "error";
  readonly phoneNumberId: string;
  readonly code: number;
}

/** Everything a webhook body can tell the gateway. */
export type WhatsAppEvent =
  | WhatsAppMessageEvent
  | WhatsAppUnsupportedEvent
  | WhatsAppStatusEvent
  | WhatsAppErrorEvent;

/** A valid webhook body as the events it carries, in body order (possibly none). */
export interface ParsedWebhook {
  readonly events: readonly WhatsAppEvent[];
}

// A WhatsApp id: E.164 digits without "+", 8–15 of them, no leading zero (ITU-T E.164 §6).
const waId = z.string().regex(/^[1-9][0-9]{7,14}$/);
// Unix seconds as a string of digits (channels.md §1.4: "timestamp" is a STRING).
const unixSeconds = z.string().regex(/^[0-9]{1,12}$/);
const wamid = z.string().min(1).max(512);
// Meta's type names ("text", "button_reply", "nfm_reply"); bounded so they are safe in logs and metrics.
const typeName = z.string().regex(/^[a-z0-9_]{1,64}$/);
const graphError = z.object({ code: z.number().int() });

const interactiveSchema = z.object({
  type: typeName,
  // Ids are payloads we sent: at most 256 (button) and 200 (list row) characters (channels.md §1.6).
  button_reply: z.object({ id: z.string().min(1).max(256) }).optional(),
  list_reply: z.object({ id: z.string().min(1).max(200) }).optional(),
});

const messageSchema = z.object({
  from: waId,
  id: wamid,
  timestamp: unixSeconds,
  type: typeName,
  text: z.object({ body: z.string().max(65_536) }).optional(),
  interactive: interactiveSchema.optional(),
  button: z.object({ payload: z.string().min(1).max(1024) }).optional(),
});

const statusSchema = z.object({
  id: wamid,
  status: typeName,
  timestamp: unixSeconds,
  errors: z.array(graphError).optional(),
});

/** The `value` of a change whose `field` is "messages": the part of the webhook we act on. */
export const whatsAppMessagesValueSchema = z.object({
  messaging_product: z.literal("whatsapp"),
  metadata: z.object({ phone_number_id: z.string().regex(/^[0-9]{1,32}$/) }),
  contacts: z.array(z.object({ wa_id: z.string().optional() })).optional(),
  messages: z.array(messageSchema).optional(),
  statuses: z.array(statusSchema).optional(),
  errors: z.array(graphError).optional(),
});

/**
 * The webhook envelope. Changes of other fields (template status, account updates, …) keep an
 * unchecked `value` and are skipped, so subscribing to more fields never makes us refuse a body.
 */
export const whatsAppWebhookSchema = z.object({
  object: z.literal("whatsapp_business_account"),
  entry: z.array(
    z.object({
      id: z.string().optional(),
      changes: z.array(z.object({ field: z.string(), value: z.unknown() })),
    }),
  ),
});

type MessagesValue = z.infer<typeof whatsAppMessagesValueSchema>;
type InboundMessage = z.infer<typeof messageSchema>;

/**
 * Parses a webhook body into its events. Never throws: bad JSON or a shape we cannot trust gives
 * `{ error }` with a short reason naming the path and the zod issue code, never a payload value
 * (the reason goes to logs, the body holds phone numbers and message text).
 */
export function parseWhatsAppWebhook(raw: Buffer): ParsedWebhook | { error: string } {
  let json: unknown;
  try {
    json = JSON.parse(raw.toString("utf8"));
  } catch {
    return { error: "invalid JSON" };
  }
  const envelope = whatsAppWebhookSchema.safeParse(json);
  if (!envelope.success) return { error: describe(envelope.error, []) };
  const events: WhatsAppEvent[] = [];
  for (const [e, entry] of envelope.data.entry.entries()) {
    for (const [c, change] of entry.changes.entries()) {
      if (change.field !== "messages") continue;
      const value = whatsAppMessagesValueSchema.safeParse(change.value);
      if (!value.success) return { error: describe(value.error, ["entry", e, "changes", c, "value"]) };
      const problem = collect(value.data, events);
      if (problem !== undefined)
        return { error: `invalid payload at entry.${e}.changes.${c}.value.${problem}` };
    }
  }
  return { events };
}

/** Appends the events of one change value; returns the relative path of a bad message, if any. */
function collect(value: MessagesValue, events: WhatsAppEvent[]): string | undefined {
  const phoneNumberId = value.metadata.phone_number_id;
  for (const [m, message] of (value.messages ?? []).entries()) {
    const event = toMessageEvent(message, phoneNumberId);
    if (event === undefined) return `messages.${m} (missing ${message.type} content)`;
    events.push(event);
  }
  for (const status of value.statuses ?? []) {
    events.push({
      kind: "status",
      messageId: status.id,
      status: status.status,
      phoneNumberId,
      at: Number(status.timestamp) * 1000,
      errorCodes: (status.errors ?? []).map((error) => error.code),
    });
  }
  for (const error of value.errors ?? []) events.push({ kind: "error", phoneNumberId, code: error.code });
  return undefined;
}

/**
 * Maps one inbound message. A type we read but whose content object is missing is malformed
 * (undefined); any other type, including interactive sub-types we never send, is "unsupported".
 */
function toMessageEvent(message: InboundMessage, phoneNumberId: string): WhatsAppEvent | undefined {
  const base = {
    messageId: message.id,
    from: `+${message.from}`,
    phoneNumberId,
    sentAt: Number(message.timestamp) * 1000,
  };
  switch (message.type) {
    case "text":
      return message.text && { kind: "message", ...base, text: message.text.body };
    case "button":
      return message.button && { kind: "message", ...base, actionPayload: message.button.payload };
    case "interactive":
      return interactiveEvent(message.interactive, base);
    default:
      return { kind: "unsupported", ...base, type: message.type };
  }
}

function interactiveEvent(
  interactive: InboundMessage["interactive"],
  base: Omit<WhatsAppMessageEvent, "kind">,
): WhatsAppEvent | undefined {
  if (interactive === undefined) return undefined;
  if (interactive.type === "button_reply") {
    return (
      interactive.button_reply && { kind: "message", ...base, actionPayload: interactive.button_reply.id }
    );
  }
  if (interactive.type === "list_reply") {
    return interactive.list_reply && { kind: "message", ...base, actionPayload: interactive.list_reply.id };
  }
  return { kind: "unsupported", ...base, type: `interactive.${interactive.type}` };
}

/** "invalid payload at <path> (<code>)" for the first issue; zod's codes never quote the input. */
function describe(error: z.ZodError, prefix: readonly PropertyKey[]): string {
  const issue = error.issues[0];
  const path = [...prefix, ...(issue?.path ?? [])].map(String).join(".");
  return `invalid payload at ${path || "(root)"} (${issue?.code ?? "unknown"})`;
}
