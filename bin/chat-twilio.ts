import type { TwilioConfig } from "../gateways/twilio/config.js";
import { newMessageSid, simulateTwilioMessage } from "../gateways/twilio/simulate.js";
import type { ProviderAnswer, ProviderCall } from "./chat-graph.js";
import type { ChannelPlayer } from "./chat-player.js";

/**
 * `teller chat --channel twilio`: Twilio's side, SMS or (with `--from whatsapp:+…`) WhatsApp
 * through Twilio. Inbound: the form post of simulate.ts, X-Twilio-Signature over `publicBaseUrl` +
 * the path, the URL Twilio would have been told to call. Outbound: the Messages API,
 * POST /2010-04-01/Accounts/<sid>/Messages.json with basic auth sid:token. SMS has no buttons: the
 * menu is part of the text, and the customer answers with the option's number, which the gateway
 * maps back; so replies carry no choices and a typed number goes as it is.
 */
export function twilioPlayer(config: TwilioConfig, from: string, publicBaseUrl: string): ChannelPlayer {
  const whatsapp = from.startsWith("whatsapp:");
  const simulator = {
    accountSid: config.accountSid,
    authToken: config.authToken,
    publicBaseUrl,
    smsTo: config.smsFrom,
    ...(config.whatsappFrom === "" ? {} : { whatsappTo: config.whatsappFrom }),
  };
  const messages = `/2010-04-01/Accounts/${config.accountSid}/Messages.json`;
  const basic = `Basic ${Buffer.from(`${config.accountSid}:${config.authToken}`).toString("base64")}`;
  const senders = [config.smsFrom, `whatsapp:${config.whatsappFrom}`];
  return {
    path: "/webhooks/twilio",
    inbound(action) {
      const body = "text" in action ? action.text : action.tap.title;
      return simulateTwilioMessage(simulator, { from: from.replace(/^whatsapp:/, ""), body, whatsapp });
    },
    api(call: ProviderCall) {
      if (call.method !== "POST" || new URL(call.url, "http://stand-in").pathname !== messages)
        return failure(404, 20404, "The requested resource was not found");
      if (call.headers.authorization !== basic) return failure(401, 20003, "Authenticate");
      const form = new URLSearchParams(call.body);
      const [to, sender, text] = [form.get("To"), form.get("From"), form.get("Body")];
      if (!to) return failure(400, 21604, "A 'To' phone number is required.");
      if (!text) return failure(400, 21602, "Message body is required.");
      if (sender === null || !senders.includes(sender))
        return failure(
          400,
          21606,
          "The From phone number is not a valid, message-capable Twilio phone number",
        );
      const sid = newMessageSid();
      const json = { sid, account_sid: config.accountSid, to, from: sender, body: text, status: "queued" };
      return { status: 201, json, delivered: { to, text, choices: [] } };
    },
  };
}

/** A Messages API error as Twilio answers it. */
function failure(status: number, code: number, message: string): ProviderAnswer {
  return { status, json: { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status } };
}
