/**
 * Parsing of Twilio's inbound-message webhook (channels.md §4.5, §4.7) into the one event the
 * gateway acts on. Runs only after the signature checked out, over the parameters the signature
 * covered; every field we use is validated with zod, and the ones we do not use are ignored,
 * because Twilio adds parameters without notice.
 */
import { z } from "zod";
import { optOutType, reservedKeyword, type TwilioKeyword } from "./keywords.js";

/** Who wrote: the core's channel, the sender's E.164 number, and Twilio's address for replies. */
interface Sender {
  /** "sms", or "whatsapp" for WhatsApp through Twilio (`From: whatsapp:+…`). */
  readonly channel: "sms" | "whatsapp";
  /** E.164, the core's channel user id on both channels. */
  readonly from: string;
  /** `From` as Twilio wrote it ("+1555…" or "whatsapp:+1555…"): the `To` of our replies. */
  readonly address: string;
  /** Twilio's MessageSid: stable across Twilio's retries, so it dedupes them. */
  readonly messageSid: string;
  readonly accountSid: string;
}

/** A text, or a WhatsApp template button's payload, to hand to the core. */
export interface TwilioMessageEvent extends Sender {
  readonly kind: "message";
  readonly text?: string;
  readonly actionPayload?: string;
}

/** A message we cannot read: media (NumMedia > 0), a location, or no text at all. */
export interface TwilioUnsupportedEvent extends Sender {
  readonly kind: "unsupported";
}

/** A reserved keyword (keywords.ts): never passed to the core; only HELP is answered. */
export interface TwilioKeywordEvent extends Sender {
  readonly kind: "keyword";
  readonly keyword: TwilioKeyword;
}

/** Anything else signed by Twilio: a status callback, or a sender that is not a phone number. */
export interface TwilioIgnoredEvent {
  readonly kind: "ignored";
  /** For logs: "status", "sender" — never a value from the payload. */
  readonly reason: "status" | "sender";
}

/** Everything one inbound-message webhook can tell the gateway. */
export type TwilioEvent =
  | TwilioMessageEvent
  | TwilioUnsupportedEvent
  | TwilioKeywordEvent
  | TwilioIgnoredEvent;

// Twilio SIDs are two letters and 32 hex digits ("SM…", "MM…" for messages, "AC…" for accounts).
const sid = (prefix: string) => z.string().regex(new RegExp(`^${prefix}[0-9a-fA-F]{32}$`));
// One value per name: a repeated parameter among those we read is not a message Twilio sends.
const one = z.string();

/** The parameters of an inbound message (or a status callback) that the gateway reads. */
export const twilioFormSchema = z.object({
  MessageSid: sid("[A-Z]{2}"),
  AccountSid: sid("AC"),
  From: one.max(64),
  To: one.max(64),
  Body: one.max(65_536).optional(),
  NumMedia: one.regex(/^[0-9]{1,2}$/).optional(),
  // WhatsApp template quick-reply buttons (channels.md §4.5).
  ButtonPayload: one.max(1024).optional(),
  // Set by Advanced Opt-Out on keyword messages: STOP, START or HELP (keywords.ts).
  OptOutType: one.max(32).optional(),
  // Present only on status callbacks of outbound messages (channels.md §4.7).
  MessageStatus: one.max(32).optional(),
});

const E164 = /^\+[1-9][0-9]{7,14}$/;

/**
 * Reads one webhook's parameters. Never throws: a shape we cannot trust gives `{ error }` naming
 * the field and the zod issue code, never a value (the form holds phone numbers and text).
 */
export function parseTwilioForm(params: Readonly<Record<string, unknown>>): TwilioEvent | { error: string } {
  const parsed = twilioFormSchema.safeParse(params);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { error: `invalid payload at ${issue?.path.map(String).join(".") || "(root)"} (${issue?.code})` };
  }
  const form = parsed.data;
  if (form.MessageStatus !== undefined) return { kind: "ignored", reason: "status" };
  const whatsapp = form.From.startsWith("whatsapp:");
  const from = whatsapp ? form.From.slice("whatsapp:".length) : form.From;
  // Short codes, alphanumeric senders and other Twilio channels ("messenger:…") are not customers.
  if (!E164.test(from)) return { kind: "ignored", reason: "sender" };
  const sender: Sender = {
    channel: whatsapp ? "whatsapp" : "sms",
    from,
    address: form.From,
    messageSid: form.MessageSid,
    accountSid: form.AccountSid,
  };
  if (Number(form.NumMedia ?? "0") > 0) return { kind: "unsupported", ...sender };
  if (whatsapp && form.ButtonPayload !== undefined && form.ButtonPayload.length > 0) {
    return { kind: "message", ...sender, actionPayload: form.ButtonPayload };
  }
  const body = form.Body ?? "";
  if (body.trim().length === 0) return { kind: "unsupported", ...sender };
  // Twilio's own verdict first; without it keywords are an SMS convention (keywords.ts).
  const keyword = optOutType(form.OptOutType) ?? (whatsapp ? undefined : reservedKeyword(body));
  if (keyword !== undefined) return { kind: "keyword", ...sender, keyword };
  return { kind: "message", ...sender, text: body };
}
