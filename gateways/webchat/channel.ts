import type { Clock } from "../../lib/clock.js";
import type { Logger } from "../../lib/logger.js";
import type { RedisClient } from "../../lib/redis.js";
import type { ChannelRoute } from "../channel.js";
import type { CoreConversation } from "../core-client-port.js";
import type { Outbox, Sender } from "../outbox/outbox.js";
import type { WebchatConfig } from "./config.js";
import { createMailbox, createMemoryMailboxStore } from "./mailbox.js";
import { createRedisMailboxStore } from "./redis-mailbox.js";
import { createWebchatRoutes, type WebchatRouteDeps } from "./routes.js";
import { createWebchatSender } from "./send.js";
import { createWebchatTokens } from "./session-token.js";

/** Collaborators of the web chat, as the gateway root has them. */
export interface WebchatChannelDeps {
  readonly config: WebchatConfig;
  readonly core: CoreConversation;
  readonly outbox: Outbox;
  readonly logger: Logger;
  readonly clock: Clock;
  /** The shared Redis (the mailbox lives there, for every gateway process); memory without it. */
  readonly redis?: RedisClient;
  readonly keyPrefix: string;
  readonly onSignatureFailure?: () => void;
  readonly stream?: WebchatRouteDeps["stream"];
}

/** The web chat as the gateway root mounts it: its routes and the outbox Sender of channel "web". */
export interface WebchatChannel {
  readonly routes: readonly ChannelRoute[];
  readonly sender: Sender;
}

/**
 * Wires the web chat: session tokens under WEBCHAT_SESSION_SECRET, the visitors' mailboxes (Redis
 * when the gateway has it, so any process's outbox worker can fill a stream held by another), the
 * Sender that fills them and the /chat routes that read them.
 */
export function createWebchatChannel(deps: WebchatChannelDeps): WebchatChannel {
  const store = deps.redis
    ? createRedisMailboxStore({ redis: deps.redis, prefix: deps.keyPrefix })
    : createMemoryMailboxStore({ clock: deps.clock });
  const mailbox = createMailbox(store);
  const tokens = createWebchatTokens({ secret: deps.config.sessionSecret, clock: deps.clock });
  return {
    routes: createWebchatRoutes({ ...deps, tokens, mailbox }),
    sender: createWebchatSender(mailbox),
  };
}
