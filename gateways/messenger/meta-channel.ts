/**
 * The two Meta messaging channels one implementation serves (channels.md §2): Messenger and
 * Instagram share the verify-token handshake, the X-Hub-Signature-256 scheme, the `messaging`
 * events and the Send API. What differs is named here, so every other file of this folder takes
 * a MetaChannel instead of branching on the channel's name.
 */

/** How the Send API measures `message.text`. */
export interface TextLimit {
  /** The most the API accepts, in `unit`. */
  readonly max: number;
  /** "utf16": characters, counted as UTF-16 code units (never fewer than Meta counts); "utf8": bytes. */
  readonly unit: "utf16" | "utf8";
}

/** One Meta messaging channel. */
export interface MetaChannel {
  /** The GATEWAYS name, the route's label in logs and metrics, and the config field. */
  readonly name: "messenger" | "instagram";
  /** The core's channel (CoreMessage["channel"]), which is also the outbox's Sender key. */
  readonly coreChannel: "facebook" | "instagram";
  /** The webhook path (DESIGN.md, Running it). */
  readonly path: string;
  /** The `object` of the channel's webhook bodies: "page" for Messenger, "instagram" for Instagram. */
  readonly object: "page" | "instagram";
  /** The Send API's limit on `message.text` (channels.md §2.3). */
  readonly textLimit: TextLimit;
}

/** Facebook Messenger: `message.text` up to 2000 characters. */
export const MESSENGER: MetaChannel = Object.freeze({
  name: "messenger",
  coreChannel: "facebook",
  path: "/webhooks/messenger",
  object: "page",
  textLimit: Object.freeze({ max: 2000, unit: "utf16" }),
});

/** Instagram Messaging: `message.text` up to 1000 bytes of UTF-8. */
export const INSTAGRAM: MetaChannel = Object.freeze({
  name: "instagram",
  coreChannel: "instagram",
  path: "/webhooks/instagram",
  object: "instagram",
  textLimit: Object.freeze({ max: 1000, unit: "utf8" }),
});

/** The Send API's quick-reply limits, the same on both channels (channels.md §2.3). */
export const QUICK_REPLY_LIMITS = Object.freeze({ count: 13, title: 20, payload: 1000 });
