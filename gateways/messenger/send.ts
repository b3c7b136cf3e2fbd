/**
 * The Messenger and Instagram Sender: turns an outbox reply into a Send API request
 * (channels.md §2.3, `POST /<version>/me/messages`) and the answer into a SendOutcome the outbox
 * worker acts on (retry, dead-letter or done).
 */
import { createHmac } from "node:crypto";
import { type Clock, systemClock } from "../../lib/clock.js";
import { createGraphPost } from "../outbox/graph-post.js";
import { transportFailure } from "../outbox/http-outcome.js";
import type { OutboundChoice, OutboundReply, Sender, SendOutcome } from "../outbox/outbox.js";
import { classifyGraphResponse } from "./graph-outcome.js";
import { type MetaChannel, QUICK_REPLY_LIMITS } from "./meta-channel.js";
import { cutText } from "./split.js";

/** Settings of the Meta Send API Sender; the defaults suit Meta's production Graph API. */
export interface MetaSenderOptions {
  readonly channel: MetaChannel;
  /** "https://graph.facebook.com", or a local stand-in in tests and `teller chat`. */
  readonly apiBaseUrl: string;
  /** Pinned Graph version. Default "v21.0". */
  readonly apiVersion?: string;
  /** The Page access token (Instagram: the token of the Page linked to the account). */
  readonly pageAccessToken: string;
  /**
   * The app secret: when set, every call carries `appsecret_proof` (HMAC-SHA256 of the token), so
   * the app may switch on "Require App Secret" and a leaked token alone cannot send.
   */
  readonly appSecret?: string;
  /** Whole-request deadline, response body included. Default 10 000 ms. */
  readonly timeoutMs?: number;
  /** Names Teller and its version, e.g. "Teller/0.1.0". */
  readonly userAgent: string;
  readonly fetch?: typeof globalThis.fetch;
  /** Turns an HTTP-date Retry-After into a delay. Default: the system clock. */
  readonly clock?: Clock;
}

const SCOPED_ID = /^[0-9]{1,64}$/;

/**
 * Creates the Sender that delivers replies through the Send API. Options are checked here, at
 * startup; `send` itself never throws, and its reasons carry the HTTP status and the Graph error
 * code only — never the token, the recipient or the text.
 */
export function createMetaSender(options: MetaSenderOptions): Sender {
  const { channel, pageAccessToken, userAgent, apiVersion = "v21.0", timeoutMs = 10_000 } = options;
  const problems = [
    !/^https?:\/\/[^/]/.test(options.apiBaseUrl) && "apiBaseUrl must be an http(s) URL",
    !/^v[0-9]+\.[0-9]+$/.test(apiVersion) && "apiVersion must look like v21.0",
    pageAccessToken.length === 0 && "pageAccessToken is required",
    userAgent.length === 0 && "userAgent is required",
    !(Number.isFinite(timeoutMs) && timeoutMs > 0) && "timeoutMs must be positive",
  ].filter((problem) => problem !== false);
  if (problems.length > 0) throw new Error(`${channel.name} sender: ${problems.join("; ")}`);
  const post = createGraphPost({
    url: sendApiUrl(options.apiBaseUrl, apiVersion, pageAccessToken, options.appSecret),
    accessToken: pageAccessToken,
    userAgent,
    timeoutMs,
    fetch: options.fetch,
  });
  const clock = options.clock ?? systemClock;
  return {
    async send(reply: OutboundReply): Promise<SendOutcome> {
      if (!SCOPED_ID.test(reply.recipient)) return { kind: "fatal", reason: "recipient not a scoped id" };
      if (reply.text.trim().length === 0) return { kind: "fatal", reason: "empty reply" };
      try {
        return await classifyGraphResponse(await post(buildMetaMessage(reply, channel)), clock);
      } catch (error) {
        return transportFailure(error);
      }
    },
  };
}

/**
 * `<base>/<version>/me/messages`: the Page the token belongs to sends. The token travels in the
 * Authorization header rather than the `access_token` query parameter, which proxies would log.
 */
function sendApiUrl(base: string, version: string, token: string, appSecret?: string): string {
  const url = `${base.replace(/\/+$/, "")}/${version}/me/messages`;
  if (!appSecret) return url;
  const proof = createHmac("sha256", appSecret).update(token).digest("hex");
  return `${url}?appsecret_proof=${proof}`;
}

/**
 * The JSON body of the Send API request for one reply: a RESPONSE to the customer's message
 * (inside the 24-hour window it answers), the text within the channel's limit (replies are split
 * before they are stored, so this cut only guards), and the choices as text quick replies: at most
 * 13, titles shortened to 20 characters and kept unique, choices whose payload is empty or over
 * 1000 characters left out.
 */
export function buildMetaMessage(reply: OutboundReply, channel: MetaChannel): Record<string, unknown> {
  const quickReplies = quickRepliesOf(reply.choices);
  return {
    recipient: { id: reply.recipient },
    messaging_type: "RESPONSE",
    message: {
      text: cutText(reply.text, channel.textLimit),
      ...(quickReplies.length > 0 ? { quick_replies: quickReplies } : {}),
    },
  };
}

function quickRepliesOf(choices: readonly OutboundChoice[]) {
  const limits = QUICK_REPLY_LIMITS;
  const usable = choices
    .filter((c) => c.payload.length > 0 && c.payload.length <= limits.payload)
    .slice(0, limits.count);
  const titles = uniqueTitles(usable, limits.title);
  return usable.map((c, i) => ({ content_type: "text", title: titles[i], payload: c.payload }));
}

/** Titles within `max`, never empty, and unique, so the customer can tell the buttons apart. */
function uniqueTitles(choices: readonly OutboundChoice[], max: number): string[] {
  const used = new Set<string>();
  return choices.map((choice, i) => {
    const wanted = choice.title.trim() || `Option ${i + 1}`;
    let title = cutTitle(wanted, max);
    for (let n = 2; used.has(title); n++) title = `${cutTitle(wanted, max - String(n).length - 1)} ${n}`;
    used.add(title);
    return title;
  });
}

/** A title within `max` UTF-16 code units, cut with "…" and never inside a surrogate pair. */
function cutTitle(title: string, max: number): string {
  return cutText(title, { max, unit: "utf16" });
}
