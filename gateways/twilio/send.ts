/**
 * The Twilio Sender: turns an outbox reply into a Messages API request (channels.md §4.6) — SMS, or
 * WhatsApp through Twilio — and the response into a SendOutcome the outbox worker acts on.
 */
import { type Clock, systemClock } from "../../lib/clock.js";
import { createTwilioMessages, type TwilioAccount, twilioErrorCode } from "../../lib/twilio-messages.js";
import { retryAfterMs, transportFailure } from "../outbox/http-outcome.js";
import type { OutboundChoice, OutboundReply, Sender, SendOutcome } from "../outbox/outbox.js";
import type { MenuStore } from "./menus.js";

/** Settings and collaborators of the Twilio Sender: the account, the senders and the menus. */
export interface TwilioSenderOptions extends TwilioAccount {
  /** `From` of SMS replies. */
  readonly smsFrom: string;
  /** `From` of WhatsApp replies, E.164; sent as "whatsapp:<number>". */
  readonly whatsappFrom: string;
  /** Where the payloads behind a reply's numbered options are kept (menus.ts). */
  readonly menus: MenuStore;
  /** Turns an HTTP-date Retry-After into a delay. Default: the system clock. */
  readonly clock?: Clock;
}

/**
 * The Messages API's `Body` limit: 1,600 characters (channels.md §4.6), which Twilio splits into
 * 160 GSM-7 / 70 UCS-2 character segments on its own. Counted in UTF-16 code units, never more
 * than Twilio counts.
 */
export const TWILIO_BODY_LIMIT = 1600;
/** Options offered under one reply, as in the WhatsApp list; titles are cut to a phone line. */
const MAX_CHOICES = 10;
const MAX_TITLE = 40;
const ADDRESS = /^(whatsapp:)?\+[1-9][0-9]{7,14}$/;

/**
 * Creates the Sender that posts replies to `<base>/2010-04-01/Accounts/<sid>/Messages.json` with
 * basic auth `sid:token` and a form `To`, `From`, `Body`. Options are checked here, at startup;
 * `send` itself never throws, and its reasons carry the HTTP status and Twilio's error code only —
 * never the token, the recipient or the text.
 */
export function createTwilioSender(options: TwilioSenderOptions): Sender {
  const { menus } = options;
  const messages = createTwilioMessages(options, [options.smsFrom.length === 0 && "smsFrom is required"]);
  const clock = options.clock ?? systemClock;
  return {
    async send(reply: OutboundReply): Promise<SendOutcome> {
      if (!ADDRESS.test(reply.recipient)) return { kind: "fatal", reason: "recipient not a phone address" };
      if (reply.text.trim().length === 0) return { kind: "fatal", reason: "empty reply" };
      const whatsapp = reply.recipient.startsWith("whatsapp:");
      if (whatsapp && options.whatsappFrom === "") return { kind: "fatal", reason: "no WhatsApp sender" };
      const from = whatsapp ? `whatsapp:${options.whatsappFrom}` : options.smsFrom;
      const { body, payloads } = renderTwilioBody(reply.text, reply.choices);
      try {
        // Before the send, so the menu is in place by the time the customer can answer it.
        if (payloads.length > 0) await menus.remember(reply.recipient, payloads);
      } catch {
        return { kind: "retry", reason: "menu store unavailable" };
      }
      try {
        const response = await messages.post({ to: reply.recipient, from, body });
        return await classify(response, clock);
      } catch (error) {
        return transportFailure(error);
      }
    },
  };
}

/**
 * The `Body` of one reply and the payloads its numbers stand for. Choices (at most 10) are written
 * under the text as numbers to reply with — "Reply 1 for Confirm, 2 for Cancel." for up to three
 * short titles, else one "n. Title" line each — since SMS has no buttons. The text is cut (at a
 * line or word break, ending in "…") so that text and options together fit TWILIO_BODY_LIMIT: the
 * options are what lets the customer go on, so they are never the part cut.
 */
export function renderTwilioBody(
  text: string,
  choices: readonly OutboundChoice[],
): { body: string; payloads: string[] } {
  const offered = choices.filter((c) => c.payload.length > 0).slice(0, MAX_CHOICES);
  if (offered.length === 0) return { body: cutText(text, TWILIO_BODY_LIMIT), payloads: [] };
  const titles = offered.map((c, i) => cutTitle(c.title.replace(/\s+/g, " ").trim() || `Option ${i + 1}`));
  const inline = titles.length <= 3 && titles.every((t) => !t.includes(","));
  const menu = inline
    ? `Reply ${titles.map((t, i) => `${i + 1} for ${t}`).join(", ")}.`
    : `Reply with a number:\n${titles.map((t, i) => `${i + 1}. ${t}`).join("\n")}`;
  const body = `${cutText(text, TWILIO_BODY_LIMIT - menu.length - 2)}\n\n${menu}`;
  return { body, payloads: offered.map((c) => c.payload) };
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

function cutTitle(title: string): string {
  return title.length <= MAX_TITLE ? title : `${safeSlice(title, MAX_TITLE - 1).trimEnd()}…`;
}

/** The first `n` code units, one fewer when the cut would split a surrogate pair (an emoji). */
function safeSlice(text: string, n: number): string {
  const last = text.charCodeAt(n - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? n - 1 : n);
}

/**
 * 2xx sent; 429 and 5xx retry (with Retry-After when given); any other status is fatal — e.g. 400
 * with code 21610 (the recipient replied STOP), 21211 (invalid To), 63016 (WhatsApp window closed),
 * 401 20003 (credentials) — because repeating the same request cannot change Twilio's answer.
 */
async function classify(response: Response, clock: Clock): Promise<SendOutcome> {
  const { status } = response;
  if (status >= 200 && status < 300) {
    await response.body?.cancel();
    return { kind: "sent" };
  }
  const code = await twilioErrorCode(response);
  const reason = code === undefined ? `twilio ${status}` : `twilio ${status} ${code}`;
  if (status === 429 || status >= 500) {
    const afterMs = retryAfterMs(response.headers.get("retry-after"), clock);
    return afterMs === undefined ? { kind: "retry", reason } : { kind: "retry", reason, afterMs };
  }
  return { kind: "fatal", reason };
}
