import type { Context } from "koa";
import type { Logger } from "../../lib/logger.js";
import type { ChannelRoute } from "../channel.js";
import type { CoreConversation } from "../core-client-port.js";
import { answerInbound, type InboundTurn } from "../inbound.js";
import { HttpError } from "../middleware/error-handler.js";
import type { Outbox } from "../outbox/outbox.js";
import { TEXT_ONLY } from "../whatsapp/routes.js";
import type { TwilioConfig } from "./config.js";
import { HELP_TEXT } from "./keywords.js";
import { type MenuStore, menuNumber } from "./menus.js";
import {
  parseTwilioForm,
  type TwilioKeywordEvent,
  type TwilioMessageEvent,
  type TwilioUnsupportedEvent,
} from "./parse.js";
import { verifyTwilioRequest } from "./verify.js";

/** Collaborators of the Twilio webhook. */
export interface TwilioRouteDeps {
  readonly config: TwilioConfig;
  readonly core: CoreConversation;
  readonly outbox: Outbox;
  readonly menus: MenuStore;
  readonly logger: Logger;
  readonly onSignatureFailure?: () => void;
}

/**
 * The outbox channel of every Twilio reply, SMS or WhatsApp: it selects the Twilio Sender, whose
 * recipient is Twilio's own address ("+1555…" or "whatsapp:+1555…"). The core's channel ("sms" or
 * "whatsapp") cannot select it, since "whatsapp" is the Cloud API gateway's Sender.
 */
export const TWILIO_OUTBOX_CHANNEL = "twilio";

/** The empty TwiML answer: no reply in the HTTP response, the replies go by the Messages API. */
export const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';

/**
 * The Twilio webhook on /webhooks/twilio (channels.md §4), for SMS and WhatsApp through Twilio.
 * X-Twilio-Signature is checked over PUBLIC_BASE_URL + the path and query as requested, before the
 * form is read as a message; then the message goes to the core and its replies into the outbox,
 * and only once they are stored is Twilio answered 200 with empty TwiML. Replies go through the
 * Messages API rather than TwiML so that the outbox's retries and ordering hold; a failure answers
 * 503, and any redelivery is deduped by MessageSid in the core and the outbox. Only POST: Twilio
 * can be set to GET webhooks, which this route does not take.
 */
export function createTwilioRoute(deps: TwilioRouteDeps): ChannelRoute {
  return {
    channel: "twilio",
    path: "/webhooks/twilio",
    async handle(ctx: Context) {
      if (ctx.method !== "POST") throw new HttpError(405, "method not allowed");
      const url = `${deps.config.publicBaseUrl}${ctx.originalUrl}`;
      const header = ctx.get("x-twilio-signature") || undefined;
      const verified = verifyTwilioRequest(deps.config.authToken, header, url, ctx.state.rawBody);
      if (verified === undefined) {
        deps.onSignatureFailure?.();
        deps.logger.warn({ requestId: ctx.state.requestId, channel: "twilio" }, "webhook signature refused");
        throw new HttpError(401, "bad signature");
      }
      if (verified.kind === "json") {
        // Twilio posts JSON (bodySHA256) for other products, never an inbound message (§4.3, §4.5).
        deps.logger.info({ requestId: ctx.state.requestId, channel: "twilio" }, "json webhook acknowledged");
        return answerTwiml(ctx);
      }
      const event = parseTwilioForm(verified.params);
      try {
        const turn = await turnOf(event, deps, ctx);
        const requestId = ctx.state.requestId;
        if (turn !== undefined)
          await answerInbound(turn, { ...deps, outbox: viaTwilio(deps.outbox), requestId });
      } catch (err) {
        // The core, the outbox or the menu store failed. 503 tells Twilio the message was not
        // handled: it tries the fallback URL, or again per the `#rp` override (channels.md §4.8);
        // a redelivery is deduped by MessageSid.
        deps.logger.error(
          { requestId: ctx.state.requestId, err },
          "webhook not answered; Twilio may retry or call its fallback URL",
        );
        throw new HttpError(503, "try again later");
      }
      answerTwiml(ctx);
    },
  };
}

/**
 * The turn to answer, or undefined for what is acknowledged without a reply: an unreadable form
 * (signed by Twilio yet never going to parse, so a redelivery would not help), a status callback,
 * a sender that is not a phone, another account's message, and the opt-out and opt-in keywords.
 */
async function turnOf(
  event: ReturnType<typeof parseTwilioForm>,
  deps: TwilioRouteDeps,
  ctx: Context,
): Promise<InboundTurn | undefined> {
  const log = { requestId: ctx.state.requestId, channel: "twilio" };
  if ("error" in event) {
    deps.logger.warn({ ...log, reason: event.error }, "webhook payload dropped");
    return undefined;
  }
  if (event.kind === "ignored") {
    deps.logger.info({ ...log, reason: event.reason }, "webhook acknowledged without a reply");
    return undefined;
  }
  if (event.accountSid !== deps.config.accountSid) {
    deps.logger.warn(log, "message for another account ignored");
    return undefined;
  }
  if (event.kind === "keyword" && event.keyword !== "help") {
    deps.logger.info({ ...log, keyword: event.keyword }, "keyword left to Twilio's opt-out handling");
    return undefined;
  }
  return toTurn(event, deps);
}

async function toTurn(
  event: TwilioMessageEvent | TwilioUnsupportedEvent | TwilioKeywordEvent,
  deps: TwilioRouteDeps,
): Promise<InboundTurn> {
  // Namespaced, so a Twilio id can never collide with another provider's in the core's dedupe.
  const base = { channel: event.channel, from: event.from, messageId: `twilio:${event.messageSid}` };
  if (event.kind === "keyword") return { ...base, unsupported: HELP_TEXT };
  if (event.kind === "unsupported") return { ...base, unsupported: TEXT_ONLY };
  if (event.text === undefined) return { ...base, actionPayload: event.actionPayload };
  const number = menuNumber(event.text);
  const picked = number === undefined ? undefined : (await deps.menus.recall(event.address))?.[number - 1];
  // A number past the menu, or with no menu, keeps its plain meaning as text.
  return picked === undefined ? { ...base, text: event.text } : { ...base, actionPayload: picked };
}

/** The outbox as answerInbound sees it, with every reply addressed to the Twilio Sender. */
function viaTwilio(outbox: Outbox): Outbox {
  return {
    enqueue: (replies) =>
      outbox.enqueue(
        replies.map((reply) => ({
          ...reply,
          channel: TWILIO_OUTBOX_CHANNEL,
          recipient: reply.channel === "whatsapp" ? `whatsapp:${reply.recipient}` : reply.recipient,
        })),
      ),
    depth: () => outbox.depth(),
  };
}

function answerTwiml(ctx: Context): void {
  ctx.status = 200;
  ctx.type = "text/xml";
  ctx.body = EMPTY_TWIML;
}
