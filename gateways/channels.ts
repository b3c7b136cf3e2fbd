import type { ChannelParts, ChannelRoute } from "./channel.js";
import type { GatewayConfig } from "./config.js";
import { INSTAGRAM, MESSENGER } from "./messenger/meta-channel.js";
import { createMetaMessagingRoute } from "./messenger/routes.js";
import { createMetaSender } from "./messenger/send.js";
import type { Sender } from "./outbox/outbox.js";
import { createTelegramChannel } from "./telegram/channel.js";
import { createTwilioChannel } from "./twilio/channel.js";
import { createWebchatChannel } from "./webchat/channel.js";
import { createWhatsAppRoute } from "./whatsapp/routes.js";
import { createWhatsAppSender } from "./whatsapp/send.js";

/** The webhook routes to mount and the outbox's sender per channel name. */
export interface Channels {
  readonly routes: ChannelRoute[];
  readonly senders: Record<string, Sender>;
}

/** Builds the routes and senders of the channels GATEWAYS (or the secrets set) turned on. */
export function createChannels(config: GatewayConfig, parts: ChannelParts): Channels {
  const routes: ChannelRoute[] = [];
  const senders: Record<string, Sender> = {};
  const on = (name: GatewayConfig["gateways"][number]) => config.gateways.includes(name);
  const failed = (channel: string) => () => parts.signatureFailed(channel);
  const http = { timeoutMs: parts.timeoutMs, userAgent: parts.userAgent, fetch: parts.fetch };
  if (on("whatsapp")) {
    const { core, outbox, logger } = parts;
    const onSignatureFailure = failed("whatsapp");
    routes.push(createWhatsAppRoute({ config: config.whatsapp, core, outbox, logger, onSignatureFailure }));
    senders.whatsapp = createWhatsAppSender({ ...config.whatsapp, ...http });
  }
  if (on("telegram")) {
    const telegram = createTelegramChannel({
      ...parts,
      config: config.telegram,
      onSignatureFailure: failed("telegram"),
    });
    routes.push(telegram.route);
    senders.telegram = telegram.sender;
  }
  for (const channel of [MESSENGER, INSTAGRAM]) {
    if (!on(channel.name)) continue;
    const settings = config[channel.name];
    const { core, outbox, logger } = parts;
    const onSignatureFailure = failed(channel.name);
    routes.push(
      createMetaMessagingRoute({ channel, config: settings, core, outbox, logger, onSignatureFailure }),
    );
    senders[channel.coreChannel] = createMetaSender({ channel, ...settings, ...http });
  }
  if (on("twilio")) {
    const twilio = createTwilioChannel({
      ...parts,
      config: config.twilio,
      onSignatureFailure: failed("twilio"),
    });
    routes.push(twilio.route);
    senders[twilio.senderName] = twilio.sender;
  }
  if (on("web")) {
    const web = createWebchatChannel({ ...parts, config: config.web, onSignatureFailure: failed("web") });
    routes.push(...web.routes);
    senders.web = web.sender;
  }
  return { routes, senders };
}
