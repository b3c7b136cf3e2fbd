import type { DeliveredChoice, DeliveredReply, ProviderApi } from "./chat-graph.js";

/**
 * What `teller chat` asks of a channel's player (bin/chat-whatsapp.ts, chat-meta.ts,
 * chat-telegram.ts, chat-twilio.ts): the request its provider would make for each line the
 * customer types, and the fake send API the gateway's replies go to. Kept apart from
 * chat-channel.ts, which lists the players, so the players never import the list.
 */

/** What the customer did with one line: typed text, or tapped a choice under a reply. */
export type ChatAction =
  | { readonly text: string }
  | { readonly tap: DeliveredChoice; readonly under: DeliveredReply };

/** A webhook request as the provider makes it, signed or carrying its secret. */
export interface ProviderRequest {
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** One channel as its provider plays it, for one sender. */
export interface ChannelPlayer {
  /** The gateway's webhook path for the channel. */
  readonly path: string;
  /** The request the provider makes to deliver `action`. */
  inbound(action: ChatAction): ProviderRequest;
  /** The provider's send API, where the gateway's outbox delivers the replies. */
  readonly api: ProviderApi;
}
