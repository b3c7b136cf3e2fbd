import type { Context } from "koa";

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
