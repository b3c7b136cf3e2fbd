/**
 * The WhatsApp Sender: turns an outbox reply into a Graph API `/messages` request (channels.md §1.6)
 * and the response into a SendOutcome the outbox worker acts on (retry, dead-letter or done).
 */
import { z } from "zod";
import { type Clock, systemClock } from "../../lib/clock.js";
import { readLimitedJson } from "../../lib/limited-body.js";
import { createGraphPost } from "../outbox/graph-post.js";
import { retryAfterMs, transportFailure } from "../outbox/http-outcome.js";
import type { OutboundChoice, OutboundReply, Sender, SendOutcome } from "../outbox/outbox.js";

/** Settings of the WhatsApp Sender; the defaults suit Meta's production Graph API. */
export interface WhatsAppSenderOptions {
  /** "https://graph.facebook.com", or a local stand-in in tests and `teller chat`. */
  readonly apiBaseUrl: string;
  /** Pinned Graph version (channels.md §1.6: pin one in config). Default "v21.0". */
  readonly apiVersion?: string;
  readonly phoneNumberId: string;
  readonly accessToken: string;
  /** Whole-request deadline, response body included. Default 10 000 ms (issue 4). */
  readonly timeoutMs?: number;
  /** Names Teller and its version, e.g. "Teller/0.1.0". */
  readonly userAgent: string;
  readonly fetch?: typeof globalThis.fetch;
  /** Turns an HTTP-date Retry-After into a delay. Default: the system clock. */
  readonly clock?: Clock;
  /** The label of the button that opens a list (≤ 20 characters). Default "Choose". */
  readonly listButtonLabel?: string;
}

/** The Cloud API's size limits (channels.md §1.6), in UTF-16 code units: never more than Meta counts. */
export const WHATSAPP_LIMITS = {
  textBody: 4096,
  buttonBody: 1024,
  buttons: 3,
  buttonId: 256,
  buttonTitle: 20,
  listButton: 20,
  rows: 10,
  rowId: 200,
  rowTitle: 24,
} as const;

/**
 * Graph error codes worth another try whatever the HTTP status (channels.md §1.9: build on the code,
 * not the status): 4 app rate limit, 80007 WABA rate limit, 130429 throughput, 131056 pair rate,
 * 131000 unknown, 131016 service unavailable, 131057 maintenance, 2 temporary service error.
 */
const RETRYABLE_CODES = new Set([2, 4, 80007, 130429, 131056, 131000, 131016, 131057]);
const E164 = /^\+[1-9][0-9]{7,14}$/;
const ERROR_BODY_LIMIT = 64 * 1024;
const graphErrorEnvelope = z.object({ error: z.object({ code: z.number().int() }) });

/**
 * Creates the Sender that delivers replies through the Cloud API messages endpoint. Options are
 * checked here, at startup; `send` itself never throws, and its reasons carry the HTTP status and
 * the Graph error code only — never the access token, the recipient or the text.
 */
export function createWhatsAppSender(options: WhatsAppSenderOptions): Sender {
  const { accessToken, phoneNumberId, userAgent, apiVersion = "v21.0", timeoutMs = 10_000 } = options;
  const problems = [
    !/^https?:\/\/[^/]/.test(options.apiBaseUrl) && "apiBaseUrl must be an http(s) URL",
    !/^v[0-9]+\.[0-9]+$/.test(apiVersion) && "apiVersion must look like v21.0",
    !/^[0-9]{1,32}$/.test(phoneNumberId) && "phoneNumberId must be digits",
    accessToken.length === 0 && "accessToken is required",
    userAgent.length === 0 && "userAgent is required",
    !(Number.isFinite(timeoutMs) && timeoutMs > 0) && "timeoutMs must be positive",
  ].filter((problem) => problem !== false);
  if (problems.length > 0) throw new Error(`WhatsApp sender: ${problems.join("; ")}`);
  const post = createGraphPost({
    url: `${options.apiBaseUrl.replace(/\/+$/, "")}/${apiVersion}/${phoneNumberId}/messages`,
    accessToken,
    userAgent,
    timeoutMs,
    fetch: options.fetch,
  });
  const clock = options.clock ?? systemClock;
  const label = options.listButtonLabel ?? "Choose";
  return {
    async send(reply: OutboundReply): Promise<SendOutcome> {
      if (!E164.test(reply.recipient)) return { kind: "fatal", reason: "recipient not E.164" };
      if (reply.text.trim().length === 0) return { kind: "fatal", reason: "empty reply" };
      try {
        return await classify(await post(buildWhatsAppMessage(reply, label)), clock);
      } catch (error) {
        return transportFailure(error);
      }
    },
  };
}

/**
 * The JSON body of the `/messages` request for one reply. Choices become reply buttons (1–3
 * choices, text ≤ 1024) or else a list (text ≤ 4096, the first 10 choices); titles are shortened
 * to their limits and kept unique. A reply whose payloads are empty, duplicated or too long for the
 * API, or whose text is too long for any interactive message, goes as plain text (cut at 4096 on a
 * line boundary, ending in "…"), so the customer still reads the answer.
 */
export function buildWhatsAppMessage(
  reply: OutboundReply,
  listButtonLabel = "Choose",
): Record<string, unknown> {
  const base = { messaging_product: "whatsapp", recipient_type: "individual", to: reply.recipient };
  const choices = reply.choices.slice(0, WHATSAPP_LIMITS.rows);
  const text = reply.text;
  const limit = WHATSAPP_LIMITS;
  if (
    choices.length > 0 &&
    choices.length <= limit.buttons &&
    text.length <= limit.buttonBody &&
    idsFit(choices, limit.buttonId)
  ) {
    const titles = uniqueTitles(choices, limit.buttonTitle);
    const buttons = choices.map((c, i) => ({ type: "reply", reply: { id: c.payload, title: titles[i] } }));
    return {
      ...base,
      type: "interactive",
      interactive: { type: "button", body: { text }, action: { buttons } },
    };
  }
  if (choices.length > 0 && text.length <= limit.textBody && idsFit(choices, limit.rowId)) {
    const titles = uniqueTitles(choices, limit.rowTitle);
    const rows = choices.map((c, i) => ({ id: c.payload, title: titles[i] }));
    const action = { button: cutTitle(listButtonLabel, limit.listButton), sections: [{ rows }] };
    return { ...base, type: "interactive", interactive: { type: "list", body: { text }, action } };
  }
  return { ...base, type: "text", text: { preview_url: false, body: cutText(text, limit.textBody) } };
}

/** Text within `max`: cut at the last line break (or else word break) in its second half, plus "…". */
function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  const head = safeSlice(text, max - 1);
  const line = head.lastIndexOf("\n");
  const word = head.lastIndexOf(" ");
  const at = line >= head.length / 2 ? line : word >= head.length / 2 ? word : head.length;
  return `${head.slice(0, at).trimEnd()}…`;
}

function cutTitle(title: string, max: number): string {
  return title.length <= max ? title : `${safeSlice(title, max - 1).trimEnd()}…`;
}

/** The first `n` code units, one fewer when the cut would split a surrogate pair (an emoji). */
function safeSlice(text: string, n: number): string {
  const last = text.charCodeAt(n - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? n - 1 : n);
}

function idsFit(choices: readonly OutboundChoice[], max: number): boolean {
  const ids = choices.map((c) => c.payload);
  return ids.every((id) => id.length > 0 && id.length <= max) && new Set(ids).size === ids.length;
}

/** Titles within `max`, never empty, and unique (the API refuses duplicate button titles). */
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

/** 2xx sent; 429, 5xx and throttling codes retry (with Retry-After); any other status is fatal. */
async function classify(response: Response, clock: Clock): Promise<SendOutcome> {
  const { status } = response;
  if (status >= 200 && status < 300) {
    await response.body?.cancel();
    return { kind: "sent" };
  }
  const code = await graphErrorCode(response);
  const reason = code === undefined ? `graph ${status}` : `graph ${status} ${code}`;
  if (status === 429 || status >= 500 || (code !== undefined && RETRYABLE_CODES.has(code))) {
    const afterMs = retryAfterMs(response.headers.get("retry-after"), clock);
    return afterMs === undefined ? { kind: "retry", reason } : { kind: "retry", reason, afterMs };
  }
  return { kind: "fatal", reason };
}

/** The `error.code` of a Graph error envelope, reading at most 64 KiB of the body. */
async function graphErrorCode(response: Response): Promise<number | undefined> {
  const parsed = graphErrorEnvelope.safeParse(await readLimitedJson(response, ERROR_BODY_LIMIT));
  return parsed.success ? parsed.data.error.code : undefined;
}
