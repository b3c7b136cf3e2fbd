import type { Context } from "koa";
import type { Clock } from "../lib/clock.js";
import type { Logger } from "../lib/logger.js";
import type { RedisClient } from "../lib/redis.js";
import type { CoreConversation } from "./core-client-port.js";
import type { Outbox } from "./outbox/outbox.js";

/**
 * A channel's webhook as the shared app mounts it: one path, one handler. By the time `handle`
 * runs, the app has read the raw body (ctx.state.rawBody, a Buffer within the body limit),
 * assigned ctx.state.requestId and applied the per-IP limit; the handler verifies before it parses.
 */
export interface ChannelRoute {
  /** Channel name, for logs and metrics ("whatsapp"). */
  readonly channel: string;
  /** Exact path, e.g. "/webhooks/whatsapp". */
  readonly path: string;
  handle(ctx: Context): Promise<void>;
}

/** What the shared app keeps in ctx.state for every request. */
export interface GatewayState {
  requestId: string;
  rawBody: Buffer;
}

/** What every channel is built from; each takes the parts it needs. */
export interface ChannelParts {
  readonly core: CoreConversation;
  readonly outbox: Outbox;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly redis?: RedisClient;
  readonly keyPrefix: string;
  /** The send APIs' timeout (HTTP_TIMEOUT). */
  readonly timeoutMs: number;
  readonly userAgent: string;
  readonly fetch?: typeof fetch;
  /** Counts a refused signature (or token) of one channel. */
  signatureFailed(channel: string): void;
}

/**
 * What one channel's factory receives: the shared parts, its own config, and the counter of its
 * refused signatures already bound to its name.
 */
export type ChannelDeps<Config> = Omit<ChannelParts, "signatureFailed"> & {
  readonly config: Config;
  readonly onSignatureFailure?: () => void;
};
