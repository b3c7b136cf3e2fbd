/**
 * The provider side of the Twilio webhook: the form posts Twilio makes for an inbound SMS or
 * WhatsApp message (channels.md §4.5), signed as Twilio signs them (§4.1). Used by the test
 * harness and by `teller chat --channel twilio`, which play Twilio against a gateway.
 */
import { randomBytes } from "node:crypto";
import { twilioSignature } from "./verify.js";

/** One HTTP request as Twilio would make it to the gateway. */
export interface SimulatedTwilioRequest {
  readonly method: "POST";
  /** Path and query, e.g. "/webhooks/twilio". */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Who plays Twilio: the account, its token, and the address Twilio was told to call. */
export interface TwilioSimulatorOptions {
  readonly accountSid: string;
  readonly authToken: string;
  /** PUBLIC_BASE_URL of the gateway: Twilio signs the URL it calls, base included. */
  readonly publicBaseUrl: string;
  /** Our number, the `To` of SMS (and of WhatsApp unless whatsappTo is set). */
  readonly smsTo: string;
  readonly whatsappTo?: string;
  /** Default "/webhooks/twilio"; may carry a query, which the signature then covers. */
  readonly path?: string;
}

/** One inbound message: its sender (E.164), the text, and what else Twilio may say about it. */
export interface SimulatedMessage {
  readonly from: string;
  readonly body?: string;
  /** True for WhatsApp through Twilio: addresses become "whatsapp:+…". */
  readonly whatsapp?: boolean;
  /** Twilio's MessageSid; a fresh one when absent. Reuse it to play a redelivery. */
  readonly messageSid?: string;
  /** Number of media items attached; media URLs are added for each. */
  readonly numMedia?: number;
  /** Further parameters, which the signature covers like all others. */
  readonly extra?: Readonly<Record<string, string>>;
}

/** A fresh MessageSid: "SM" and 32 hex digits. */
export function newMessageSid(): string {
  return `SM${randomBytes(16).toString("hex")}`;
}

/** The signed form post Twilio makes for `message`. */
export function simulateTwilioMessage(
  options: TwilioSimulatorOptions,
  message: SimulatedMessage,
): SimulatedTwilioRequest {
  const sid = message.messageSid ?? newMessageSid();
  const numMedia = message.numMedia ?? 0;
  const to = message.whatsapp ? `whatsapp:${options.whatsappTo ?? options.smsTo}` : options.smsTo;
  const from = message.whatsapp ? `whatsapp:${message.from}` : message.from;
  const params: Record<string, string> = {
    ToCountry: "US",
    SmsMessageSid: sid,
    NumMedia: String(numMedia),
    SmsSid: sid,
    SmsStatus: "received",
    Body: message.body ?? "",
    To: to,
    NumSegments: "1",
    MessageSid: sid,
    AccountSid: options.accountSid,
    From: from,
    ApiVersion: "2010-04-01",
    ...(message.whatsapp
      ? { ProfileName: "Customer", WaId: message.from.slice(1), MessageType: "text" }
      : {}),
  };
  for (let i = 0; i < numMedia; i++) {
    params[`MediaUrl${i}`] =
      `https://api.twilio.com/2010-04-01/Accounts/${options.accountSid}/Messages/${sid}/Media/ME${i}`;
    params[`MediaContentType${i}`] = "image/jpeg";
  }
  return signedForm(options, { ...params, ...message.extra });
}

/**
 * A tap on an option of a numbered menu: SMS has no buttons, so the customer replies with the
 * number of the option (send.ts renders the menu, menus.ts maps the number back).
 */
export function simulateTwilioTap(
  options: TwilioSimulatorOptions,
  tap: {
    readonly from: string;
    readonly number: number;
    readonly whatsapp?: boolean;
    readonly messageSid?: string;
  },
): SimulatedTwilioRequest {
  return simulateTwilioMessage(options, { ...tap, body: String(tap.number) });
}

/** Any form `params` posted to the webhook, signed over PUBLIC_BASE_URL + path. */
export function signedForm(
  options: Pick<TwilioSimulatorOptions, "authToken" | "publicBaseUrl" | "path">,
  params: Readonly<Record<string, string>>,
): SimulatedTwilioRequest {
  const path = options.path ?? "/webhooks/twilio";
  const url = `${options.publicBaseUrl.replace(/\/+$/, "")}${path}`;
  return {
    method: "POST",
    path,
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "x-twilio-signature": twilioSignature(options.authToken, url, params),
      "user-agent": "TwilioProxy/1.1",
    },
    body: new URLSearchParams(params).toString(),
  };
}
