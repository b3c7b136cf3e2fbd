import { createHmac } from "node:crypto";
import type { MetaMessagingConfig } from "../gateways/messenger/config.js";
import type { MetaChannel } from "../gateways/messenger/meta-channel.js";
import { newMid, simulateMetaInbound } from "../gateways/messenger/simulate.js";
import { type DeliveredReply, jsonObject, type ProviderCall } from "./chat-graph.js";
import type { ChannelPlayer } from "./chat-player.js";

/**
 * `teller chat --channel messenger|instagram`: Meta's side of the two channels. Inbound: the
 * signed `messaging` webhook of simulate.ts (a quick-reply tap carries its payload). Outbound: the
 * Send API, POST /<version>/me/messages with the Page access token, and `appsecret_proof` checked
 * when the call carries one, as Graph checks it.
 */
export function metaPlayer(channel: MetaChannel, config: MetaMessagingConfig, from: string): ChannelPlayer {
  const proof = createHmac("sha256", config.appSecret).update(config.pageAccessToken).digest("hex");
  return {
    path: channel.path,
    inbound(action) {
      return simulateMetaInbound({
        channel,
        appSecret: config.appSecret,
        from,
        action:
          "text" in action
            ? { text: action.text }
            : { quickReply: { payload: action.tap.id, title: action.tap.title } },
      });
    },
    api(call: ProviderCall) {
      const url = new URL(call.url, "http://stand-in");
      if (call.method !== "POST" || !/^\/v\d+\.\d+\/me\/messages$/.test(url.pathname))
        return { status: 404, json: graphError(100, "Unknown path") };
      const token = bearer(call.headers.authorization) ?? url.searchParams.get("access_token");
      if (token !== config.pageAccessToken)
        return { status: 401, json: graphError(190, "Invalid OAuth access token") };
      const given = url.searchParams.get("appsecret_proof");
      if (given !== null && given !== proof)
        return { status: 400, json: graphError(100, "Invalid appsecret_proof provided in the API argument") };
      const delivered = toReply(call.body);
      if (!delivered) return { status: 400, json: graphError(100, "Invalid parameter") };
      return { status: 200, json: { recipient_id: delivered.to, message_id: newMid() }, delivered };
    },
  };
}

/** A Graph API error envelope (channels.md §1.9), as Meta answers a refused call. */
export function graphError(code: number, message: string) {
  return { error: { message, type: "OAuthException", code, fbtrace_id: "teller-chat" } };
}

function bearer(header: string | undefined): string | null {
  return header?.startsWith("Bearer ") ? header.slice("Bearer ".length) : null;
}

interface SendBody {
  recipient?: { id?: unknown };
  message?: { text?: unknown; quick_replies?: { title?: unknown; payload?: unknown }[] };
}

/** The message of a Send API body: its text and its quick replies as choices. */
function toReply(raw: string): DeliveredReply | undefined {
  const body = jsonObject(raw) as SendBody | undefined;
  const to = body?.recipient?.id;
  const text = body?.message?.text;
  if (typeof to !== "string" || typeof text !== "string") return undefined;
  const choices = (body?.message?.quick_replies ?? []).map((q) => ({
    id: String(q.payload ?? ""),
    title: String(q.title ?? ""),
  }));
  return { to, text, choices };
}
