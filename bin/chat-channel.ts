import type { GatewayConfig, GatewayName } from "../gateways/config.js";
import { INSTAGRAM, MESSENGER } from "../gateways/messenger/meta-channel.js";
import { metaPlayer } from "./chat-meta.js";
import type { ChannelPlayer } from "./chat-player.js";
import { telegramPlayer } from "./chat-telegram.js";
import { twilioPlayer } from "./chat-twilio.js";
import { whatsappPlayer } from "./chat-whatsapp.js";
import { DEMO_PHONE } from "./seed-demo.js";

/** The channels `teller chat` can play. */
export const CHAT_CHANNELS = ["whatsapp", "messenger", "instagram", "telegram", "twilio"] as const;
export type ChatChannel = (typeof CHAT_CHANNELS)[number] & GatewayName;

/** How a channel names its senders, and the player for one of them. */
interface ChannelSpec {
  /** Default sender: the demo customer's phone, or a made-up id the bank does not know. */
  readonly defaultFrom: string;
  readonly fromPattern: RegExp;
  /** What --from must be, for the error line. */
  readonly fromHint: string;
  player(config: GatewayConfig, from: string, publicBaseUrl: string): ChannelPlayer;
}

const E164 = /^\+[1-9]\d{7,14}$/;
const SCOPED_ID = /^[0-9]{1,20}$/;

/** Every channel's sender ids and player; the secrets come from the gateway's own config. */
export const CHANNEL_SPECS: Readonly<Record<ChatChannel, ChannelSpec>> = {
  whatsapp: {
    defaultFrom: DEMO_PHONE,
    fromPattern: E164,
    fromHint: "an E.164 number such as +447700900123",
    player: (config, from) => whatsappPlayer(config.whatsapp, from),
  },
  messenger: {
    defaultFrom: "7000000000000001",
    fromPattern: SCOPED_ID,
    fromHint: "a page-scoped id (PSID): digits only, such as 7000000000000001",
    player: (config, from) => metaPlayer(MESSENGER, config.messenger, from),
  },
  instagram: {
    defaultFrom: "17841400000000001",
    fromPattern: SCOPED_ID,
    fromHint: "an Instagram-scoped id (IGSID): digits only, such as 17841400000000001",
    player: (config, from) => metaPlayer(INSTAGRAM, config.instagram, from),
  },
  telegram: {
    defaultFrom: "700000001",
    // A private chat's id: the user's id, positive and within a double's exact integers.
    fromPattern: /^[1-9][0-9]{0,14}$/,
    fromHint: "a private chat id: a positive number such as 700000001",
    player: (config, from) => telegramPlayer(config.telegram, from),
  },
  twilio: {
    defaultFrom: DEMO_PHONE,
    fromPattern: /^(whatsapp:)?\+[1-9]\d{7,14}$/,
    fromHint: "an E.164 number such as +447700900123, or whatsapp:+447700900123 for WhatsApp through Twilio",
    player: (config, from, publicBaseUrl) => twilioPlayer(config.twilio, from, publicBaseUrl),
  },
};

/** Narrows a --channel value. */
export function isChatChannel(name: string): name is ChatChannel {
  return (CHAT_CHANNELS as readonly string[]).includes(name);
}
