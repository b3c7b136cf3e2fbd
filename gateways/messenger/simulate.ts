/**
 * The provider's side of the Messenger and Instagram webhooks: builds the request Meta would post
 * for a customer's text, quick-reply tap or postback (channels.md §2.2), signed with the app secret
 * (X-Hub-Signature-256 over the exact bytes sent). Used by the test harnesses and `teller chat`.
 */
import { createHmac, randomBytes } from "node:crypto";
import type { MetaChannel } from "./meta-channel.js";

/** What the customer did: typed text, tapped a quick reply, or pressed a postback button. */
export type SimulatedAction =
  | { readonly text: string }
  | { readonly quickReply: { readonly payload: string; readonly title: string } }
  | { readonly postback: { readonly payload: string; readonly title: string } };

/** One inbound delivery to simulate. */
export interface SimulateOptions {
  readonly channel: MetaChannel;
  readonly appSecret: string;
  /** The customer's page-scoped id (PSID / IGSID). */
  readonly from: string;
  readonly action: SimulatedAction;
  /** The page's id (Instagram: the professional account's id). Default "100000000000002". */
  readonly pageId?: string;
  /** The mid; default a fresh one, shaped like Meta's. */
  readonly messageId?: string;
  /** Epoch milliseconds; default now. */
  readonly timestamp?: number;
}

/** A request as Meta makes it: method, path, headers and the body text that was signed. */
export interface SimulatedRequest {
  readonly method: "POST";
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

const DEFAULT_PAGE_ID = "100000000000002";

/** A fresh mid in Meta's shape ("m_" and base64url). */
export function newMid(): string {
  return `m_${randomBytes(24).toString("base64url")}`;
}

/** The signed webhook POST that delivers one customer action. */
export function simulateMetaInbound(options: SimulateOptions): SimulatedRequest {
  const pageId = options.pageId ?? DEFAULT_PAGE_ID;
  const timestamp = options.timestamp ?? Date.now();
  const mid = options.messageId ?? newMid();
  const event = {
    sender: { id: options.from },
    recipient: { id: pageId },
    timestamp,
    ...actionFields(options.action, mid),
  };
  const body = metaWebhookBody(options.channel, [event], pageId, timestamp);
  return signedMetaRequest(options.channel, body, options.appSecret);
}

/** A webhook body of `channel` carrying `events` as one entry's `messaging` array. */
export function metaWebhookBody(
  channel: MetaChannel,
  events: readonly Record<string, unknown>[],
  pageId = DEFAULT_PAGE_ID,
  time = Date.now(),
): string {
  return JSON.stringify({ object: channel.object, entry: [{ id: pageId, time, messaging: events }] });
}

/** A POST of `body` to the channel's webhook with its X-Hub-Signature-256. */
export function signedMetaRequest(channel: MetaChannel, body: string, appSecret: string): SimulatedRequest {
  return {
    method: "POST",
    path: channel.path,
    headers: { "content-type": "application/json", "x-hub-signature-256": signMetaBody(body, appSecret) },
    body,
  };
}

/** `sha256=<hex HMAC-SHA256(app secret, body bytes)>`. */
export function signMetaBody(body: string | Buffer, appSecret: string): string {
  return `sha256=${createHmac("sha256", appSecret).update(body).digest("hex")}`;
}

function actionFields(action: SimulatedAction, mid: string): Record<string, unknown> {
  if ("text" in action) return { message: { mid, text: action.text } };
  if ("quickReply" in action) {
    // A tap arrives as a message whose text is the button's title (channels.md §2.2).
    const { payload, title } = action.quickReply;
    return { message: { mid, text: title, quick_reply: { payload } } };
  }
  return { postback: { mid, title: action.postback.title, payload: action.postback.payload } };
}
