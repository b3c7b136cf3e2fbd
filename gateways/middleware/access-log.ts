import type { Context, Next } from "koa";
import type { Logger } from "../../lib/logger.js";

/** Receives one observation per request, for metrics. */
export type RequestObserver = (route: string, status: number, seconds: number) => void;

/**
 * One log line per request: method, path without the query string (the WhatsApp handshake puts
 * the verify token there), status, duration and request id. Never headers or bodies (STYLE.md §7).
 * `routes` names the known paths; anything else is recorded as "unmatched" so metric labels stay
 * a small fixed set.
 */
export function accessLog(logger: Logger, routes: ReadonlySet<string>, observe?: RequestObserver) {
  return async function accessLog(ctx: Context, next: Next): Promise<void> {
    const started = performance.now();
    try {
      await next();
    } finally {
      const seconds = (performance.now() - started) / 1000;
      const route = routes.has(ctx.path) ? ctx.path : "unmatched";
      observe?.(route, ctx.status, seconds);
      logger.info(
        {
          requestId: ctx.state.requestId,
          method: ctx.method,
          route,
          status: ctx.status,
          ms: Math.round(seconds * 1000),
        },
        "http",
      );
    }
  };
}
