/**
 * The outbox: replies the core produced, waiting durably until a channel's send API accepts them
 * (DESIGN.md, Gateways: "a reply is never lost when the provider's send API fails for a while or
 * a process restarts"). The webhook is acknowledged only after its replies are enqueued.
 */

/** A quick reply offered under a reply. */
export interface OutboundChoice {
  readonly title: string;
  readonly payload: string;
}

/** One reply to deliver to one recipient on one channel. */
export interface OutboundReply {
  /** Channel name, e.g. "whatsapp"; selects the Sender. */
  readonly channel: string;
  /** Where the channel's send API delivers it (an E.164 number on WhatsApp). Never logged raw. */
  readonly recipient: string;
  /** The inbound message this answers (provider message id); with `index` it makes the reply unique. */
  readonly messageId: string;
  /** Position of the inbound message in its conversation (HandleMessageResponse.sequence). */
  readonly sequence: number;
  /** Position of this reply among the replies to that message, from 0. */
  readonly index: number;
  readonly text: string;
  readonly choices: readonly OutboundChoice[];
}

/**
 * Outbox is the durable queue of replies. Enqueueing the same (channel, recipient, messageId,
 * index) twice stores it once, so a provider retry of a webhook never doubles a reply. Replies to
 * one recipient leave in (sequence, index) order.
 */
export interface Outbox {
  enqueue(replies: readonly OutboundReply[]): Promise<void>;
  /** Replies waiting or in flight, over all recipients (the outbox depth metric). */
  depth(): Promise<number>;
}

/** What a Sender reports for one attempt. */
export type SendOutcome =
  | { readonly kind: "sent" }
  /** Worth another try later (5xx, 429, timeout, network): `afterMs` from Retry-After when given. */
  | { readonly kind: "retry"; readonly reason: string; readonly afterMs?: number }
  /** Will never succeed (4xx other than 429): goes to the dead-letter list at once. */
  | { readonly kind: "fatal"; readonly reason: string };

/** Sends one reply through one channel's API. Must not throw: failures are outcomes. */
export interface Sender {
  send(reply: OutboundReply): Promise<SendOutcome>;
}
