import type { ChannelDeps, ChannelRoute } from "../channel.js";
import type { Sender } from "../outbox/outbox.js";
import type { TwilioConfig } from "./config.js";
import { createMemoryMenuStore, createRedisMenuStore } from "./menus.js";
import { createTwilioRoute, TWILIO_OUTBOX_CHANNEL } from "./routes.js";
import { createTwilioSender } from "./send.js";

/** What the gateway root hands the Twilio channel; `redis` keeps the numbered menus shared by every gateway process. */
export type TwilioChannelDeps = ChannelDeps<TwilioConfig>;

/** The Twilio channel as the root registers it: its webhook, and its Sender under `senderName`. */
export interface TwilioChannel {
  readonly route: ChannelRoute;
  /** The outbox channel name of Twilio replies ("twilio"), for `senders[…]`. */
  readonly senderName: string;
  readonly sender: Sender;
}

/**
 * Builds the Twilio channel (SMS and WhatsApp through Twilio): the /webhooks/twilio route and the
 * Messages API Sender, sharing one store of numbered menus, so that the number a customer replies
 * with means the options the Sender last wrote to them.
 */
export function createTwilioChannel(deps: TwilioChannelDeps): TwilioChannel {
  const { config, redis, clock } = deps;
  const menus = redis
    ? createRedisMenuStore({ redis, prefix: deps.keyPrefix })
    : createMemoryMenuStore({ clock });
  return {
    route: createTwilioRoute({ ...deps, menus }),
    senderName: TWILIO_OUTBOX_CHANNEL,
    sender: createTwilioSender({
      ...config,
      menus,
      clock,
      timeoutMs: deps.timeoutMs,
      userAgent: deps.userAgent,
      fetch: deps.fetch,
    }),
  };
}
