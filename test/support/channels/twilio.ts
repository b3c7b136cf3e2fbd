import { createHash, randomInt } from "node:crypto";
import {
  signedForm,
  simulateTwilioMessage,
  simulateTwilioTap,
  type TwilioSimulatorOptions,
} from "../../../gateways/twilio/simulate.js";
import { twilioSignature } from "../../../gateways/twilio/verify.js";
import { type FakeTwilio, type FakeTwilioMessage, startFakeTwilio } from "../fake-twilio.js";
import type { ChannelHarness, HarnessContext, InboundRequest, ProviderReply } from "./harness.js";

/** The account the harness plays; the token signs webhooks and authenticates the Messages API. */
export const TWILIO_ACCOUNT_SID = `AC${"5e".repeat(16)}`;
export const TWILIO_AUTH_TOKEN = "twilio-auth-token-0123456789abcdef";
/** Our number: the `To` of inbound SMS and the `From` of replies. */
export const TWILIO_NUMBER = "+15005550006";

/**
 * The Twilio (SMS) harness: webhooks built and signed as Twilio would (gateways/twilio/simulate.ts,
 * itself held to the official `twilio` package in twilio-verify.test.ts), and the fake Messages
 * API, which checks path, basic auth, form and the 1600-character Body. SMS has no buttons, so a
 * reply's choices are read back from its numbered menu: each choice's `id` is the number to reply
 * with and `text` is the reply without the menu; `tap` replies with the number of the choice whose
 * number, payload or title it is given, in the newest menu sent to that user.
 */
/** The Twilio harness, with its fake Messages API reachable for Twilio-only tests (opt-outs). */
export interface TwilioHarness extends ChannelHarness {
  fake(): FakeTwilio;
}

export function createTwilioHarness(): TwilioHarness {
  let fake: FakeTwilio | undefined;
  let simulator: TwilioSimulatorOptions | undefined;
  const api = (): FakeTwilio => {
    if (fake === undefined) throw new Error("twilio harness: start() it first");
    return fake;
  };
  const sim = (): TwilioSimulatorOptions => {
    if (simulator === undefined) throw new Error("twilio harness: start() it first");
    return simulator;
  };
  const harness: TwilioHarness = {
    fake: api,
    name: "twilio",
    path: "/webhooks/twilio",
    phoneIdentity: true,
    codesInSameChat: true,
    async start(context: HarnessContext) {
      fake = await startFakeTwilio(TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN);
      simulator = {
        accountSid: TWILIO_ACCOUNT_SID,
        authToken: TWILIO_AUTH_TOKEN,
        publicBaseUrl: context.publicBaseUrl,
        smsTo: TWILIO_NUMBER,
      };
    },
    async close() {
      await fake?.close();
      fake = undefined;
    },
    env: () => ({
      GATEWAYS: "twilio",
      TWILIO_ACCOUNT_SID,
      TWILIO_AUTH_TOKEN,
      TWILIO_API_BASE_URL: api().baseUrl,
      TWILIO_SMS_FROM: TWILIO_NUMBER,
      PUBLIC_BASE_URL: sim().publicBaseUrl,
    }),
    // UK numbers reserved for drama (Ofcom: 07700 900000–900999), and a few more digits of chance.
    newUser: (phone) => phone ?? `+447700${randomInt(900000, 1000000)}`,
    text: (from, text, messageId) =>
      simulateTwilioMessage(sim(), { from, body: text, messageSid: sidOf(messageId) }),
    tap: (from, payload, title, messageId) =>
      simulateTwilioTap(sim(), {
        from,
        number: numberOf(harness.replies, from, payload, title),
        messageSid: sidOf(messageId),
      }),
    unsigned: (request) => withHeaders(request, { "x-twilio-signature": undefined }),
    forged: (request) => {
      const url = `${sim().publicBaseUrl}${request.path}`;
      const params = Object.fromEntries(new URLSearchParams(request.body ?? ""));
      return withHeaders(request, {
        "x-twilio-signature": twilioSignature(`not-${TWILIO_AUTH_TOKEN}`, url, params),
      });
    },
    // Signed by Twilio, but not an inbound message: no MessageSid, an AccountSid of the wrong shape.
    malformed: () =>
      signedForm(sim(), { AccountSid: "AC1", From: "+447700900123", Body: "hi", NumMedia: "x" }),
    get replies(): readonly ProviderReply[] {
      return fake?.messages.map(toProviderReply) ?? [];
    },
    waitForReplies: async (count) => (await api().waitFor(count, 10_000)).map(toProviderReply),
    failNext: (status, count) => api().failNext(status, count),
  };
  return harness;
}

/**
 * A reply as the customer reads it, split into its text and its numbered menu (the two forms
 * gateways/twilio/send.ts writes: "Reply 1 for A, 2 for B." or "Reply with a number:" and lines
 * "1. A"). Parsed here independently, so a change of the rendering shows up as a failing test.
 */
export function toProviderReply(message: FakeTwilioMessage): ProviderReply {
  const at = message.body.lastIndexOf("\n\nReply ");
  const menu = at === -1 ? undefined : parseMenu(message.body.slice(at + 2));
  if (at === -1 || menu === undefined) return { to: message.to, text: message.body, choices: [] };
  return { to: message.to, text: message.body.slice(0, at), choices: menu };
}

function parseMenu(menu: string): { id: string; title: string }[] | undefined {
  const lines = menu.startsWith("Reply with a number:\n")
    ? menu
        .split("\n")
        .slice(1)
        .map((line) => /^(\d+)\. (.+)$/.exec(line))
    : (/^Reply (.+)\.$/s.exec(menu)?.[1] ?? "").split(", ").map((part) => /^(\d+) for (.+)$/.exec(part));
  const choices = lines.map((m) => (m === null ? undefined : { id: m[1] as string, title: m[2] as string }));
  const valid = choices.every((c, i) => c !== undefined && c.id === String(i + 1));
  return valid && choices.length > 0 ? (choices as { id: string; title: string }[]) : undefined;
}

/** The number to reply with: given as such, or the choice with that title in the newest menu. */
function numberOf(replies: readonly ProviderReply[], from: string, payload: string, title: string): number {
  if (/^[0-9]{1,2}$/.test(payload)) return Number(payload);
  const menu = [...replies].reverse().find((r) => r.to === from && r.choices.length > 0);
  const choice = menu?.choices.find(
    (c) => c.title === title || c.title.toLowerCase() === payload.toLowerCase(),
  );
  if (choice === undefined) throw new Error(`twilio harness: no option "${title}" in the newest menu`);
  return Number(choice.id);
}

/** A MessageSid for a test's message id: itself when it is one, else derived from it (stable). */
function sidOf(messageId: string | undefined): string | undefined {
  if (messageId === undefined || /^[A-Z]{2}[0-9a-f]{32}$/.test(messageId)) return messageId;
  return `SM${createHash("sha256").update(messageId).digest("hex").slice(0, 32)}`;
}

/** The request with headers replaced (`undefined` removes one). */
function withHeaders(request: InboundRequest, changes: Record<string, string | undefined>): InboundRequest {
  const headers: Record<string, string> = { ...request.headers };
  for (const [name, value] of Object.entries(changes)) {
    if (value === undefined) delete headers[name];
    else headers[name] = value;
  }
  return { ...request, headers };
}
