import { createHmac, randomBytes } from "node:crypto";
import type { WhatsAppConfig } from "../gateways/config.js";
import { type DeliveredReply, jsonObject, type ProviderCall } from "./chat-graph.js";
import { graphError } from "./chat-meta.js";
import type { ChannelPlayer, ChatAction } from "./chat-player.js";

/**
 * `teller chat --channel whatsapp`: WhatsApp Cloud API as Meta plays it. Inbound: the webhook
 * body of one message (channels.md §1.4), signed with the app secret (X-Hub-Signature-256 over the
 * exact bytes). Outbound: POST /<version>/<phone-number-id>/messages with the bearer access token.
 */
export function whatsappPlayer(config: WhatsAppConfig, from: string): ChannelPlayer {
  const messages = new RegExp(`^/v\\d+\\.\\d+/${config.phoneNumberId}/messages$`);
  return {
    path: "/webhooks/whatsapp",
    inbound(action) {
      const body = webhookBody(from, config.phoneNumberId, action);
      const signature = `sha256=${createHmac("sha256", config.appSecret).update(body).digest("hex")}`;
      return {
        path: "/webhooks/whatsapp",
        headers: { "content-type": "application/json", "x-hub-signature-256": signature },
        body,
      };
    },
    api(call: ProviderCall) {
      if (call.method !== "POST" || !messages.test(call.url))
        return { status: 404, json: graphError(100, "Unknown path") };
      if (call.headers.authorization !== `Bearer ${config.accessToken}`)
        return { status: 401, json: graphError(190, "Invalid OAuth access token") };
      const delivered = toReply(call.body);
      if (!delivered) return { status: 400, json: graphError(100, "Invalid parameter") };
      return {
        status: 200,
        json: {
          messaging_product: "whatsapp",
          contacts: [{ input: delivered.to, wa_id: delivered.to.replace(/^\+/, "") }],
          messages: [{ id: `wamid.${randomBytes(12).toString("base64url")}` }],
        },
        delivered,
      };
    },
  };
}

/** A webhook body for one text message, or one tap on a reply button or a list row. */
function webhookBody(from: string, phoneNumberId: string, action: ChatAction): string {
  const waId = from.slice(1);
  const message = {
    from: waId,
    id: `wamid.${randomBytes(16).toString("base64url")}`,
    timestamp: String(Math.floor(Date.now() / 1000)),
    ...("text" in action
      ? { type: "text", text: { body: action.text } }
      : { type: "interactive", interactive: tapOf(action) }),
  };
  const value = {
    messaging_product: "whatsapp",
    metadata: { display_phone_number: "15550000000", phone_number_id: phoneNumberId },
    contacts: [{ profile: { name: "Teller chat" }, wa_id: waId }],
    messages: [message],
  };
  return JSON.stringify({
    object: "whatsapp_business_account",
    entry: [{ id: "0", changes: [{ field: "messages", value }] }],
  });
}

/** Buttons come back as button_reply, list rows as list_reply (channels.md §1.4). */
function tapOf(action: Extract<ChatAction, { tap: unknown }>) {
  const { id, title } = action.tap;
  return action.tap.kind === "row"
    ? { type: "list_reply", list_reply: { id, title } }
    : { type: "button_reply", button_reply: { id, title } };
}

interface SendBody {
  to?: string;
  type?: string;
  text?: { body?: string };
  interactive?: {
    body?: { text?: string };
    action?: {
      buttons?: { reply?: { id?: string; title?: string } }[];
      sections?: { rows?: { id?: string; title?: string }[] }[];
    };
  };
}

/** The message a send body carries: its text, and its reply buttons or list rows as choices. */
function toReply(raw: string): DeliveredReply | undefined {
  const body = jsonObject(raw) as SendBody | undefined;
  if (typeof body?.to !== "string") return undefined;
  if (body.type === "text" && typeof body.text?.body === "string")
    return { to: body.to, text: body.text.body, choices: [] };
  if (body.type !== "interactive") return undefined;
  const action = body.interactive?.action;
  const buttons = (action?.buttons ?? []).map((b) => ({
    id: b.reply?.id ?? "",
    title: b.reply?.title ?? "",
    kind: "button" as const,
  }));
  const rows = (action?.sections ?? [])
    .flatMap((s) => s.rows ?? [])
    .map((r) => ({ id: r.id ?? "", title: r.title ?? "", kind: "row" as const }));
  return { to: body.to, text: body.interactive?.body?.text ?? "", choices: [...buttons, ...rows] };
}
